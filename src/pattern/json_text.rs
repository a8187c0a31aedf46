//! Matching an object pattern straight from an item's JSON text, without building the
//! document's tree: serde_json reads the text once, the members the pattern names are matched as
//! they pass, and every other value is read (and so validated) without being kept.
//!
//! This is only a faster way to a success. It says "matched" when matching the parsed tree would
//! have passed with the same captures in the same order, and "cannot tell" otherwise (a
//! mismatch, JSON that is not valid, a key missing, repeated or not allowed): the caller then
//! matches the tree as before, so every failure is still found and worded by one code path.
//!
//! Why the answers agree: the text goes through the same `serde_json::Deserializer` a parse
//! into a tree uses, with values read through `deserialize_any` as `Value` reads them (not
//! `IgnoredAny`, which lets a lone surrogate or a number out of range pass), the same recursion
//! limit and the same check for trailing characters. A member's value is handed to the tree's
//! own matcher as the `Value` it would be in the tree (an object the pattern looks into is read
//! the same way, member by member), so only object membership is decided here.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::Captures;
use super::json::match_json;
use crate::ast::{JsonPattern, JsonPatternKind, Spanned};

/// Members of one object pattern read from the text; a pattern with more takes the tree (each
/// member has one bit of a `u64`).
const MAX_MEMBERS: usize = 64;

/// Matches `text`, the JSON of an item, against `pattern` without parsing it into a tree. `true`
/// when it matched, its captures appended to `captures` exactly as [`match_json`] on the parsed
/// value would append them; `false` when this cannot tell, `captures` left as they were: match
/// the parsed value then.
pub fn matched_from_text(pattern: &JsonPattern, text: &str, captures: &mut Captures) -> bool {
    if read_into(pattern).is_none() {
        return false;
    }
    let start = captures.len();
    let mut reader = serde_json::Deserializer::from_str(text);
    let matched = PatternSeed { pattern, captures }
        .deserialize(&mut reader)
        .and_then(|()| reader.end())
        .is_ok();
    if !matched {
        captures.truncate(start);
    }
    matched
}

/// The members of an object pattern whose value is read member by member, and whether it is
/// `exact`; `None` for a pattern matched against a whole `Value`. An object pattern that
/// captures the object itself takes the `Value` (the capture is that value).
fn read_into(pattern: &JsonPattern) -> Option<(&[(Spanned<String>, JsonPattern)], bool)> {
    match &pattern.kind {
        JsonPatternKind::Object { members, exact }
            if pattern.capture.is_none() && members.len() <= MAX_MEMBERS =>
        {
            Some((members, *exact))
        }
        _ => None,
    }
}

/// Ends the reading: the answer is "cannot tell". Never shown to anyone.
fn cannot_tell<E: de::Error>() -> E {
    E::custom("not decided from the text")
}

/// One value of the document, matched against one pattern.
struct PatternSeed<'p, 'c> {
    pattern: &'p JsonPattern,
    captures: &'c mut Captures,
}

impl<'de> DeserializeSeed<'de> for PatternSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match read_into(self.pattern) {
            Some((members, exact)) => deserializer.deserialize_map(ObjectVisitor {
                members,
                exact,
                captures: self.captures,
            }),
            None => {
                let value = <Value as serde::Deserialize>::deserialize(deserializer)?;
                match_json(self.pattern, &value, self.captures).map_err(|_| cannot_tell())
            }
        }
    }
}

/// An object read against an object pattern's members.
struct ObjectVisitor<'p, 'c> {
    members: &'p [(Spanned<String>, JsonPattern)],
    exact: bool,
    captures: &'c mut Captures,
}

impl<'de> Visitor<'de> for ObjectVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: u64 = 0;
        // The tree's matcher appends captures in the pattern's order of members; here they come
        // in the document's order, which is fine as long as the members that capture come in
        // the pattern's order too.
        let mut last_capturing: Option<usize> = None;
        while let Some(named) = map.next_key_seed(KeySeed(self.members))? {
            let Some(index) = named else {
                if self.exact {
                    return Err(cannot_tell());
                }
                map.next_value_seed(Skip)?;
                continue;
            };
            // A key repeated: the tree keeps the last value, this would match the first.
            let bit = 1u64 << index;
            if seen & bit != 0 {
                return Err(cannot_tell());
            }
            seen |= bit;
            let before = self.captures.len();
            map.next_value_seed(PatternSeed {
                pattern: &self.members[index].1,
                captures: self.captures,
            })?;
            if self.captures.len() > before {
                if last_capturing.is_some_and(|last| last > index) {
                    return Err(cannot_tell());
                }
                last_capturing = Some(index);
            }
        }
        let every_member = match self.members.len() {
            MAX_MEMBERS => u64::MAX,
            count => (1u64 << count) - 1,
        };
        if seen == every_member {
            Ok(())
        } else {
            Err(cannot_tell())
        }
    }
}

/// A key of an object: which of the pattern's members it names, if any.
struct KeySeed<'p>(&'p [(Spanned<String>, JsonPattern)]);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|(name, _)| name.value == key))
    }
}

/// A value no pattern looks at, read as a parse into a tree reads it (so it is validated the
/// same way) and dropped.
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Skip)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

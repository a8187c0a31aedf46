//! Matching an object pattern straight from an item's JSON text, without building the
//! document's tree: one pass over the text checks that it is JSON, matches the members the
//! pattern names as they pass, and reads over everything else without keeping it.
//!
//! This is only a faster way to a success. It says "matched" when matching the parsed tree would
//! have passed with the same captures in the same order, and "cannot tell" otherwise: the caller
//! then matches the tree as before, so every failure is still found and worded by one code path.
//! "Cannot tell" covers a mismatch, text that is not JSON, a key missing, repeated or not allowed
//! (`exact`), and the few things this pass leaves to serde_json rather than repeat its rules: a
//! `\u` escape of a surrogate, a number that may lie outside the range of `f64`, nesting near
//! serde_json's depth limit. Everything else it accepts is exactly what serde_json accepts.
//!
//! A member's value is handed to the tree's own matcher as the `Value` serde_json makes of its
//! text (built here only for a plain integer or a string with no escape, read by serde_json
//! otherwise), so only object membership is decided here; an object the pattern looks into is
//! read the same way, member by member.

use serde_json::{Number, Value};

use super::Captures;
use super::json::match_json;
use crate::ast::{JsonPattern, JsonPatternKind, JsonType, Spanned};

/// Members of one object pattern read from the text; a pattern with more takes the tree (each
/// member has one bit of a `u64`).
const MAX_MEMBERS: usize = 64;

/// Nesting this deep is left to serde_json, whose limit is 128.
const MAX_DEPTH: u32 = 100;

/// Digits a number may have before its exponent, plus its exponent, and still be read here:
/// such a number is certainly below `f64::MAX` (about 1.8e308), so serde_json takes it too.
const MAX_MAGNITUDE: i64 = 300;

/// Matches `text`, the JSON of an item, against `pattern` without parsing it into a tree. `true`
/// when it matched, its captures appended to `captures` exactly as [`match_json`] on the parsed
/// value would append them; `false` when this cannot tell, `captures` left as they were: match
/// the parsed value then.
pub fn matched_from_text(pattern: &JsonPattern, text: &str, captures: &mut Captures) -> bool {
    let Some((members, exact)) = read_into(pattern) else {
        return false;
    };
    let start = captures.len();
    let mut scan = Scan {
        text,
        at: 0,
        depth: 0,
    };
    let matched = scan
        .object(members, exact, captures)
        .and_then(|()| scan.end())
        .is_ok();
    if !matched {
        captures.truncate(start);
    }
    matched
}

/// A member of an object pattern: its key and the pattern of its value.
type Member = (Spanned<String>, JsonPattern);

/// The members of an object pattern whose value is read member by member, and whether it is
/// `exact`; `None` for a pattern matched against a whole `Value`. An object pattern that
/// captures the object itself takes the `Value` (the capture is that value).
fn read_into(pattern: &JsonPattern) -> Option<(&[Member], bool)> {
    match &pattern.kind {
        JsonPatternKind::Object { members, exact }
            if pattern.capture.is_none() && members.len() <= MAX_MEMBERS =>
        {
            Some((members, *exact))
        }
        _ => None,
    }
}

/// The answer is "cannot tell": the tree decides.
struct CannotTell;

type Step<T = ()> = Result<T, CannotTell>;

/// What a value's first byte says it is.
enum Token {
    /// A string with no escape: its text is its value.
    PlainString,
    /// An integer with no sign, fraction or exponent that fits a `u64`, or a negative one that
    /// fits an `i64`: serde_json makes the same `Number` of it.
    Integer,
    /// Anything else: serde_json makes the `Value` of its text.
    Other,
}

impl Token {
    /// Whether a value of this token passes `pattern` whatever its text, so no `Value` need be
    /// made of it: `_`, and a type its kind always has (`integer` or `number` for an integer
    /// token, `string` for a plain string), with no length and no capture. The value has been
    /// read and checked already; anything else is matched on the `Value`, as the tree is.
    fn passes_unread(&self, pattern: &JsonPattern) -> bool {
        if pattern.capture.is_some() {
            return false;
        }
        matches!(
            (&pattern.kind, self),
            (JsonPatternKind::Any, _)
                | (
                    JsonPatternKind::Type {
                        kind: JsonType::Integer | JsonType::Number,
                        len: None,
                    },
                    Token::Integer,
                )
                | (
                    JsonPatternKind::Type {
                        kind: JsonType::String,
                        len: None,
                    },
                    Token::PlainString,
                )
        )
    }
}

/// Whether two short byte strings are equal, compared inline: keys are a few bytes, and for
/// them a call to compare memory costs more than the comparison.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// A position in the text, read left to right.
struct Scan<'t> {
    text: &'t str,
    at: usize,
    depth: u32,
}

impl<'t> Scan<'t> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// Whitespace as JSON (and serde_json) has it.
    fn space(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Step {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(CannotTell)
        }
    }

    /// After a member or an element: a `,` (another follows: `false`) or the `close` that ends
    /// the object or array (`true`), past whitespace.
    fn closed_after_value(&mut self, close: u8) -> Step<bool> {
        self.space();
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                Ok(false)
            }
            Some(byte) if byte == close => {
                self.at += 1;
                Ok(true)
            }
            _ => Err(CannotTell),
        }
    }

    /// Only whitespace is left.
    fn end(&mut self) -> Step {
        self.space();
        if self.at == self.text.len() {
            Ok(())
        } else {
            Err(CannotTell)
        }
    }

    /// An object, against an object pattern's members.
    fn object(&mut self, members: &[Member], exact: bool, captures: &mut Captures) -> Step {
        self.space();
        self.open(b'{')?;
        let mut seen: u64 = 0;
        // The tree's matcher appends captures in the pattern's order of members; here they come
        // in the document's order, which is fine as long as the members that capture come in
        // the pattern's order too.
        let mut last_capturing: Option<usize> = None;
        self.space();
        if self.peek() == Some(b'}') {
            self.at += 1;
        } else {
            loop {
                self.space();
                let named = self.key(members)?;
                self.space();
                self.eat(b':')?;
                match named {
                    None if exact => return Err(CannotTell),
                    None => {
                        self.value()?;
                    }
                    Some(index) => {
                        // A key repeated: the tree keeps the last value, this would match the
                        // first.
                        let bit = 1u64 << index;
                        if seen & bit != 0 {
                            return Err(CannotTell);
                        }
                        seen |= bit;
                        let before = captures.len();
                        self.member(&members[index].1, captures)?;
                        if captures.len() > before {
                            if last_capturing.is_some_and(|last| last > index) {
                                return Err(CannotTell);
                            }
                            last_capturing = Some(index);
                        }
                    }
                }
                self.space();
                match self.peek() {
                    Some(b',') => self.at += 1,
                    Some(b'}') => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err(CannotTell),
                }
            }
        }
        self.depth -= 1;
        let every_member = match members.len() {
            MAX_MEMBERS => u64::MAX,
            count => (1u64 << count) - 1,
        };
        if seen == every_member {
            Ok(())
        } else {
            Err(CannotTell)
        }
    }

    /// `{` or `[`, one level deeper.
    fn open(&mut self, byte: u8) -> Step {
        self.eat(byte)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CannotTell);
        }
        Ok(())
    }

    /// A key: which of the pattern's members it names, if any.
    fn key(&mut self, members: &[Member]) -> Step<Option<usize>> {
        let start = self.at;
        let plain = self.string()?;
        if plain {
            let key = &self.text.as_bytes()[start + 1..self.at - 1];
            return Ok(members
                .iter()
                .position(|(name, _)| same_bytes(name.value.as_bytes(), key)));
        }
        let key: String =
            serde_json::from_str(&self.text[start..self.at]).map_err(|_| CannotTell)?;
        Ok(members.iter().position(|(name, _)| name.value == key))
    }

    /// A member's value against its pattern.
    fn member(&mut self, pattern: &JsonPattern, captures: &mut Captures) -> Step {
        if let Some((members, exact)) = read_into(pattern) {
            return self.object(members, exact, captures);
        }
        self.space();
        let start = self.at;
        let token = self.value()?;
        if token.passes_unread(pattern) {
            return Ok(());
        }
        let text = &self.text[start..self.at];
        let value = match token {
            Token::PlainString => Value::String(text[1..text.len() - 1].to_string()),
            Token::Integer => Value::Number(integer(text).ok_or(CannotTell)?),
            Token::Other => serde_json::from_str(text).map_err(|_| CannotTell)?,
        };
        match_json(pattern, &value, captures).map_err(|_| CannotTell)
    }

    /// Any value, read over and checked; what kind of token it was.
    fn value(&mut self) -> Step<Token> {
        self.space();
        match self.peek() {
            Some(b'"') => Ok(if self.string()? {
                Token::PlainString
            } else {
                Token::Other
            }),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'{') => {
                self.open(b'{')?;
                self.space();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                } else {
                    loop {
                        self.space();
                        self.string()?;
                        self.space();
                        self.eat(b':')?;
                        self.value()?;
                        if self.closed_after_value(b'}')? {
                            break;
                        }
                    }
                }
                self.depth -= 1;
                Ok(Token::Other)
            }
            Some(b'[') => {
                self.open(b'[')?;
                self.space();
                if self.peek() == Some(b']') {
                    self.at += 1;
                } else {
                    loop {
                        self.value()?;
                        if self.closed_after_value(b']')? {
                            break;
                        }
                    }
                }
                self.depth -= 1;
                Ok(Token::Other)
            }
            _ => {
                let rest = &self.text.as_bytes()[self.at..];
                let word: &[u8] = [&b"true"[..], b"false", b"null"]
                    .into_iter()
                    .find(|word| rest.starts_with(word))
                    .ok_or(CannotTell)?;
                self.at += word.len();
                Ok(Token::Other)
            }
        }
    }

    /// A string, from its opening quote; `true` when it has no escape (its text is its value).
    fn string(&mut self) -> Step<bool> {
        self.eat(b'"')?;
        let bytes = self.text.as_bytes();
        let mut plain = true;
        loop {
            match bytes.get(self.at).copied() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(plain);
                }
                Some(b'\\') => {
                    plain = false;
                    self.at += 1;
                    match bytes.get(self.at).copied() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.at += 1
                        }
                        Some(b'u') => {
                            let hex = bytes.get(self.at + 1..self.at + 5).ok_or(CannotTell)?;
                            let code = hex.iter().try_fold(0u32, |code, &digit| {
                                let digit = char::from(digit).to_digit(16).ok_or(CannotTell)?;
                                Ok(code * 16 + digit)
                            })?;
                            // A surrogate must pair with another: left to serde_json.
                            if (0xD800..=0xDFFF).contains(&code) {
                                return Err(CannotTell);
                            }
                            self.at += 5;
                        }
                        _ => return Err(CannotTell),
                    }
                }
                // A control character must be escaped.
                Some(0..=0x1F) | None => return Err(CannotTell),
                Some(_) => self.at += 1,
            }
        }
    }

    /// A number, checked against JSON's grammar and bounded in size.
    fn number(&mut self) -> Step<Token> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let leading_zero = self.peek() == Some(b'0');
        let digits = self.digits();
        if digits == 0 || (leading_zero && digits > 1) {
            return Err(CannotTell);
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.at += 1;
            integer = false;
            if self.digits() == 0 {
                return Err(CannotTell);
            }
        }
        let mut exponent: i64 = 0;
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            integer = false;
            let negative_exponent = match self.peek() {
                Some(b'-') => true,
                Some(b'+') => false,
                _ => {
                    self.at -= 1;
                    false
                }
            };
            self.at += 1;
            let start = self.at;
            let count = self.digits();
            if count == 0 || count > 4 {
                return Err(CannotTell);
            }
            exponent = self.text[start..self.at].parse().map_err(|_| CannotTell)?;
            if negative_exponent {
                exponent = -exponent;
            }
        }
        if digits as i64 + exponent.max(0) > MAX_MAGNITUDE {
            return Err(CannotTell);
        }
        // serde_json reads `-0` as a float; longer integers may not fit.
        let fits = if negative {
            digits <= 18 && !leading_zero
        } else {
            digits <= 19
        };
        Ok(if integer && fits {
            Token::Integer
        } else {
            Token::Other
        })
    }

    /// Decimal digits, read over; how many.
    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        self.at - start
    }
}

/// The `Number` serde_json makes of an integer [`Token::Integer`] stands for: a `u64` for one
/// with no sign, an `i64` for a negative one.
fn integer(text: &str) -> Option<Number> {
    match text.strip_prefix('-') {
        Some(_) => text.parse::<i64>().ok().map(Number::from),
        None => text.parse::<u64>().ok().map(Number::from),
    }
}

#[cfg(test)]
mod tests;

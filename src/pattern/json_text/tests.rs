//! The text path against the tree path: wherever the text path says "matched", matching the
//! parsed tree passes too, with the same captures; on tricky documents and on generated ones.

use serde_json::Value;

use super::matched_from_text;
use crate::ast::{DataMatcher, EntryKind, Expectation, ItemPatternKind, JsonPattern, StepKind};
use crate::pattern::{Captures, match_json};
use crate::source::SourceFile;

/// The JSON pattern of `data: json <source>` in a one-test spec.
fn pattern(source: &str) -> JsonPattern {
    let text = format!(
        "test \"t\" {{\n  GET http://x/\n  expect sse {{\n    data: json {source}\n  }}\n}}\n"
    );
    let spec = crate::syntax::parse(&SourceFile::new("t.stream", text)).unwrap_or_else(|errors| {
        panic!(
            "{source}: {:?}",
            errors.iter().map(|e| &e.message).collect::<Vec<_>>()
        )
    });
    let entries = spec.tests[0]
        .steps
        .iter()
        .find_map(|step| match &step.kind {
            StepKind::Expect(Expectation::Stream(block)) => Some(block.entries.clone()),
            _ => None,
        })
        .unwrap_or_default();
    match entries.into_iter().next().map(|entry| entry.kind) {
        Some(EntryKind::Item(line)) => match line.pattern.kind {
            ItemPatternKind::Sse(sse) => match sse.data {
                Some(DataMatcher::Json(json)) => json,
                other => panic!("{source}: data {other:?}"),
            },
            other => panic!("{source}: {other:?}"),
        },
        other => panic!("{source}: {other:?}"),
    }
}

/// Matches `document` both ways and panics where they disagree; whether the text path matched.
/// Each starts with a capture already there, which must stay first and untouched.
fn agree(pattern_source: &str, pattern: &JsonPattern, document: &str) -> bool {
    let earlier: Captures = vec![("earlier".to_string(), Value::Null)];
    let mut from_tree = earlier.clone();
    let tree_matched = match serde_json::from_str::<Value>(document) {
        Ok(value) => {
            let matched = match_json(pattern, &value, &mut from_tree).is_ok();
            if !matched {
                from_tree.truncate(earlier.len());
            }
            matched
        }
        Err(_) => false,
    };
    let mut from_text = earlier.clone();
    let text_matched = matched_from_text(pattern, document, &mut from_text);
    if text_matched {
        assert!(
            tree_matched,
            "{pattern_source} matched {document:?} from the text but not as a tree"
        );
        assert_eq!(
            from_text, from_tree,
            "{pattern_source} on {document:?}: captures differ"
        );
    } else {
        assert_eq!(
            from_text, earlier,
            "{pattern_source} on {document:?}: captures left after \"cannot tell\""
        );
    }
    text_matched
}

fn check(pattern_source: &str, document: &str) -> bool {
    agree(pattern_source, &pattern(pattern_source), document)
}

#[test]
fn a_few_keys_are_matched_from_the_text() {
    let seq = r#"{ "seq": integer }"#;
    assert!(check(seq, r#"{"seq":7}"#));
    assert!(check(seq, r#"{"id":"x","seq":7,"more":[1,{"a":null}]}"#));
    assert!(check(seq, " \t\r\n{ \"seq\" : 7 }\n "));
    // An escaped key is the key it spells.
    assert!(check(seq, r#"{"se\u0071":7}"#));
    // Numbers as serde_json reads them: 1e2 and -0 are whole, so is a u64 past i64.
    for number in [
        "1e2",
        "-0",
        "1E+2",
        "18446744073709551615",
        "-9223372036854775808",
    ] {
        assert!(check(seq, &format!(r#"{{"seq":{number}}}"#)), "{number}");
    }
    assert!(check(
        r#"{ "a": { "b": [1, ...] } }"#,
        r#"{"a":{"c":2,"b":[1,2]}}"#
    ));
    assert!(check("{}", r#"{"x":[]}"#));
    assert!(check("exact { \"seq\": _ }", r#"{"seq":[]}"#));
}

#[test]
fn what_the_text_cannot_settle_is_left_to_the_tree() {
    let seq = r#"{ "seq": integer }"#;
    for document in [
        // A mismatch, or no such key: the tree's matcher words the failure.
        r#"{"seq":1.5}"#,
        r#"{"seq":"7"}"#,
        r#"{"sequence":7}"#,
        "[7]",
        "7",
        // Not JSON, or more than one value.
        r#"{"seq":7"#,
        r#"{"seq":7} x"#,
        r#"{"seq":7}{}"#,
        r#"{"seq":07}"#,
        r#"{"seq":7,}"#,
        "\u{feff}{\"seq\":7}",
        "",
        // Read over, yet validated as the tree validates it: a lone surrogate, a number out
        // of range, a control character, a bad escape, nesting past serde_json's limit.
        r#"{"seq":7,"x":"\ud800"}"#,
        r#"{"seq":7,"x":1e400}"#,
        "{\"seq\":7,\"x\":\"a\u{1}b\"}",
        r#"{"seq":7,"x":"\q"}"#,
        &format!(r#"{{"seq":7,"x":{}{}}}"#, "[".repeat(200), "]".repeat(200)),
        // A repeated key: the tree keeps the last value.
        r#"{"seq":"x","seq":7}"#,
        r#"{"seq":7,"seq":"x"}"#,
    ] {
        assert!(!check(seq, document), "{document:?}");
    }
    // Both values of a repeated key match: the capture must be the last one.
    assert!(!check(r#"{ "seq": _ -> s }"#, r#"{"seq":1,"seq":2}"#));
    // `exact`: a key it does not name.
    assert!(!check("exact { \"seq\": _ }", r#"{"seq":7,"x":1}"#));
}

#[test]
fn captures_come_in_the_order_the_tree_gives_them() {
    let both = r#"{ "seq": _ -> s, "a": { "b": _ -> b } }"#;
    assert!(check(both, r#"{"seq":1,"a":{"b":[2]}}"#));
    // Out of the pattern's order: the tree path puts them in order.
    assert!(!check(both, r#"{"a":{"b":2},"seq":1}"#));
    // One that captures among ones that do not, in any order.
    assert!(check(
        r#"{ "seq": 1, "a": _ -> a }"#,
        r#"{"a":"x","seq":1}"#
    ));
    // An object captured whole is read as the tree holds it (the last of a repeated key).
    assert!(check(
        r#"{ "a": { "b": _ } -> a }"#,
        r#"{"a":{"b":1,"c":2,"c":3}}"#
    ));
}

/// Documents from a small grammar full of the cases above, some of them broken, each matched
/// both ways against a set of patterns.
#[test]
fn generated_documents_agree() {
    const PATTERNS: &[&str] = &[
        r#"{ "seq": integer }"#,
        r#"{ "seq": 1 }"#,
        r#"{ "seq": number }"#,
        r#"{ "seq": 0..100 }"#,
        r#"{ "seq": > 5 }"#,
        r#"{ "seq": "abc" }"#,
        r#"{ "seq": string }"#,
        r#"{ "seq": integer -> n }"#,
        r#"{ "a": string len 3 }"#,
        "exact { \"seq\": _ }",
        "exact {}",
        "{}",
        r#"{ "a": string, "b": _ -> b }"#,
        r#"{ "seq": _ -> s, "a": _ -> a }"#,
        r#"{ "a": { "seq": _ -> inner } -> whole }"#,
        r#"{ "a": { "b": _ }, "seq": _ }"#,
        r#"{ "a": [1, ...] }"#,
        r#"{ "a": /b/ }"#,
        r#"{ "a": object len 1 }"#,
        r#"{ "": null }"#,
    ];
    let patterns: Vec<JsonPattern> = PATTERNS.iter().map(|source| pattern(source)).collect();
    let mut rng = fastrand::Rng::with_seed(14);
    let (mut decided, mut tree_matched) = (0, 0);
    for _ in 0..6000 {
        let mut document = if rng.u8(0..10) == 0 {
            value(&mut rng, 0)
        } else {
            object(&mut rng, 0)
        };
        if rng.u8(0..5) == 0 {
            document = broken(&mut rng, document);
        }
        for (source, pattern) in PATTERNS.iter().zip(&patterns) {
            decided += usize::from(agree(source, pattern, &document));
            tree_matched += usize::from(
                serde_json::from_str::<Value>(&document)
                    .is_ok_and(|value| match_json(pattern, &value, &mut Vec::new()).is_ok()),
            );
        }
    }
    // Not a test of nothing: the text path settles most matches (all but those with a
    // repeated key, captures out of order, or an object pattern that takes a `Value`).
    assert!(
        decided * 10 > tree_matched * 7 && tree_matched > 6000,
        "the text path matched {decided} times, the tree {tree_matched} times"
    );
}

const KEYS: &[&str] = &[
    r#""seq""#,
    r#""se\u0071""#,
    r#""a""#,
    r#""b""#,
    r#""x""#,
    r#""""#,
];

fn space(rng: &mut fastrand::Rng) -> &'static str {
    [""; 6]
        .iter()
        .chain(&[" ", "\n", "\t ", "\r\n"])
        .copied()
        .nth(rng.usize(0..10))
        .unwrap_or("")
}

fn object(rng: &mut fastrand::Rng, depth: u32) -> String {
    let members: Vec<String> = (0..rng.usize(0..5))
        .map(|_| {
            let key = KEYS[rng.usize(0..KEYS.len())];
            format!(
                "{}{key}{}:{}{}",
                space(rng),
                space(rng),
                space(rng),
                value(rng, depth + 1)
            )
        })
        .collect();
    format!("{{{}}}", members.join(","))
}

fn value(rng: &mut fastrand::Rng, depth: u32) -> String {
    const NUMBERS: &[&str] = &[
        "0",
        "7",
        "-3",
        "100",
        "1.5",
        "1e2",
        "1E+2",
        "1e-2",
        "-1.5E-3",
        "0e5",
        "-0",
        "-0.0",
        "0.5e-3",
        "1e-400",
        "1e0300",
        "1e308",
        "2e308",
        "123456789012345678",
        "1234567890123456789",
        "12345678901234567890",
        "-123456789012345678",
        "-1234567890123456789",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "9007199254740993",
        "0.1000000000000000055511151231257827",
    ];
    const STRINGS: &[&str] = &[
        r#""""#,
        r#""abc""#,
        r#""b""#,
        r#""se\u0071""#,
        r#""\ud83d\ude00""#,
        r#""é""#,
        r#""quote\"d""#,
        r#""\/\b\f\n\r\t""#,
        r#""\u0000""#,
        r#""\u00e9\u00E9""#,
        "\"\u{7f}\"",
        r#""a/b""#,
    ];
    /// Tokens serde_json refuses, each somewhere a value can be.
    const INVALID: &[&str] = &[
        "1e400",
        "-1e400",
        "01",
        "-01",
        "00",
        "1.",
        ".5",
        "+1",
        "-",
        "--1",
        "1e",
        "1e+",
        "1.e5",
        "0x1",
        "1e5.5",
        "tru",
        "truee",
        "nul",
        "NaN",
        "Infinity",
        r#""\ud800""#,
        r#""\udc00""#,
        r#""\ud800\u0041""#,
        r#""\x""#,
        "\"tab\tinside\"",
        r#""\u00""#,
        r#""\u12G4""#,
        r#""\u+123""#,
        "'a'",
        "[1,]",
        "{,}",
        r#"{"a" 1}"#,
        r#"{"a":}"#,
        "[",
        r#"{"a":1"#,
        "\"open",
        "{1:2}",
    ];
    if rng.u8(0..40) == 0 {
        return INVALID[rng.usize(0..INVALID.len())].to_string();
    }
    let kinds = if depth > 3 { 5 } else { 7 };
    match rng.u8(0..kinds) {
        0 => "null".to_string(),
        1 => ["true", "false"][rng.usize(0..2)].to_string(),
        2 => NUMBERS[rng.usize(0..NUMBERS.len())].to_string(),
        3 => rng.i64(..).to_string(),
        4 => STRINGS[rng.usize(0..STRINGS.len())].to_string(),
        5 => object(rng, depth),
        _ => {
            let items: Vec<String> = (0..rng.usize(0..4))
                .map(|_| format!("{}{}", space(rng), value(rng, depth + 1)))
                .collect();
            format!("[{}]", items.join(","))
        }
    }
}

/// The document damaged in one of the ways a server gets JSON wrong.
fn broken(rng: &mut fastrand::Rng, document: String) -> String {
    const CHARACTERS: &[char] = &[
        '"', '\\', '{', '}', '[', ']', ',', ':', '-', '+', '.', 'e', '0', '1', ' ', 't', 'n', 'u',
        '\u{1}', 'é',
    ];
    let chars: Vec<char> = document.chars().collect();
    let at = rng.usize(0..=chars.len());
    let (before, after): (String, String) =
        (chars[..at].iter().collect(), chars[at..].iter().collect());
    match rng.u8(0..7) {
        0 => before,
        1 => format!(
            "{document}{}",
            [" x", ",", "}", " ", "{}", "\n\n"][rng.usize(0..6)]
        ),
        2 => format!("\u{feff}{document}"),
        3 => format!(
            "{before}{}{after}",
            ["\"", ",", ":", "\\", "\u{0}", "]"][rng.usize(0..6)]
        ),
        4 => format!("{before}{}", after.chars().skip(1).collect::<String>()),
        5 => format!(
            "{before}{}{after}",
            CHARACTERS[rng.usize(0..CHARACTERS.len())]
        ),
        _ => format!("{document}{document}"),
    }
}

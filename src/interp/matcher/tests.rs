//! The block matcher, fed lines and JSON values of small blocks.

use super::*;
use crate::ast::{Expectation, StepKind};
use crate::source::SourceFile;
use crate::transport::item::Item;

/// The entries of the first `expect lines { … }` block of a one-test spec.
fn block(body: &str) -> Vec<Entry> {
    block_of("lines", body)
}

fn block_of(kind: &str, body: &str) -> Vec<Entry> {
    let text = format!("test \"t\" {{\n  GET http://x/\n  expect {kind} {{\n{body}\n  }}\n}}\n");
    let file = SourceFile::new("t.stream", text);
    let spec = match crate::syntax::parse(&file) {
        Ok(spec) => spec,
        Err(errors) => panic!(
            "{:?}",
            errors.iter().map(|e| &e.message).collect::<Vec<_>>()
        ),
    };
    spec.tests[0]
        .steps
        .iter()
        .find_map(|step| match &step.kind {
            StepKind::Expect(Expectation::Stream(block)) => Some(block.entries.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Feeds lines at 10 ms intervals; returns what happened to each, stopping at a failure.
fn feed(matcher: &mut BlockMatcher<'_>, lines: &[&str]) -> Result<Vec<Fed>, FailureKind> {
    let mut fed = Vec::new();
    let mut previous = Duration::ZERO;
    for (index, line) in lines.iter().enumerate() {
        let item = Item::Line(line.to_string());
        let at = Duration::from_millis(10 * (index as u64 + 1));
        let result = matcher
            .feed(&ItemView::new(&item), at, previous, &mut Vec::new(), &())
            .map_err(|f| f.kind)?;
        previous = at;
        fed.push(result);
    }
    Ok(fed)
}

fn runs(body: &str, lines: &[&str], terminal: Terminal) -> Result<(), FailureKind> {
    let entries = block(body);
    let mut matcher = BlockMatcher::new(&entries);
    feed(&mut matcher, lines)?;
    matcher.finish(&terminal).map(|_| ()).map_err(|f| f.kind)
}

#[test]
fn exact_sequence_then_end() {
    assert_eq!(
        runs("\"a\"\n\"b\"\nend", &["a", "b"], Terminal::End),
        Ok(())
    );
    assert!(matches!(
        runs("\"a\"\n\"b\"\nend", &["a", "c"], Terminal::End),
        Err(FailureKind::Mismatch { .. })
    ));
    assert!(matches!(
        runs("\"a\"\nend", &["a", "b"], Terminal::End),
        Err(FailureKind::ExpectedTerminal { .. })
    ));
    assert!(matches!(
        runs("\"a\"\n\"b\"\nend", &["a"], Terminal::End),
        Err(FailureKind::EndedEarly { .. })
    ));
    assert!(matches!(
        runs("\"a\"\nend", &["a"], Terminal::Dropped("reset".into())),
        Err(FailureKind::WrongTerminal { .. })
    ));
    assert_eq!(
        runs("\"a\"\ndropped", &["a"], Terminal::Dropped("reset".into())),
        Ok(())
    );
}

#[test]
fn optional_repetition_gives_way_to_what_follows() {
    let body = "* times { /x/ }\n\"end-marker\"\nend";
    assert_eq!(
        runs(body, &["x1", "x2", "end-marker"], Terminal::End),
        Ok(())
    );
    assert_eq!(runs(body, &["end-marker"], Terminal::End), Ok(()));
    let body = "2..3 times { \"a\" }\n\"b\"";
    assert_eq!(runs(body, &["a", "a", "b"], Terminal::End), Ok(()));
    assert_eq!(runs(body, &["a", "a", "a", "b"], Terminal::End), Ok(()));
    assert!(runs(body, &["a", "b"], Terminal::End).is_err());
    assert!(runs(body, &["a", "a", "a", "a"], Terminal::End).is_err());
}

#[test]
fn repetitions_are_greedy_and_never_backtrack() {
    // `_` also matches the marker, so the repetition takes it and the marker is missing.
    let body = "* times { _ }\n\"done\"\nend";
    assert!(matches!(
        runs(body, &["a", "done"], Terminal::End),
        Err(FailureKind::EndedEarly { .. })
    ));
    // `until` is the way to stop at a marker.
    let body = "until \"done\" { _ }\nend";
    assert_eq!(runs(body, &["a", "b", "done"], Terminal::End), Ok(()));
}

#[test]
fn multi_item_bodies_repeat_as_a_whole() {
    let body = "2 times {\n\"start\"\n\"stop\"\n}\nend";
    assert_eq!(
        runs(body, &["start", "stop", "start", "stop"], Terminal::End),
        Ok(())
    );
    assert!(runs(body, &["start", "stop", "start"], Terminal::End).is_err());
    // Nested optional repetitions leave in turn when an item fits neither.
    let body = "* times {\n* times { \"a\" }\n\"b\"\n}\n\"c\"";
    assert_eq!(
        runs(body, &["a", "a", "b", "b", "c"], Terminal::End),
        Ok(())
    );
}

#[test]
fn any_order_finds_an_assignment_for_overlapping_patterns() {
    let body = "any order {\n_\n\"a\"\n}\nend";
    // `a` first takes `_`; `b` fits only `_`, so `a` moves over to `"a"`.
    assert_eq!(runs(body, &["a", "b"], Terminal::End), Ok(()));
    assert!(matches!(
        runs("any order {\n\"a\"\n\"b\"\n}", &["a", "a"], Terminal::End),
        Err(FailureKind::NoneInAnyOrder { .. })
    ));
}

#[test]
fn any_order_captures_follow_the_final_assignment() {
    let entries = block("any order {\n/\\d+/ -> n\n\"42\"\n}");
    let mut matcher = BlockMatcher::new(&entries);
    let mut all = Vec::new();
    for line in ["42", "84"] {
        let item = Item::Line(line.to_string());
        let mut captures = Vec::new();
        let fed = matcher.feed(
            &ItemView::new(&item),
            Duration::ZERO,
            Duration::ZERO,
            &mut captures,
            &(),
        );
        assert!(fed.is_ok());
        all.extend(captures);
    }
    assert_eq!(all, [("n".to_string(), serde_json::json!("84"))]);
}

#[test]
fn skip_ignore_and_completion() {
    assert_eq!(
        runs("...\n\"x\"\nend", &["a", "b", "x"], Terminal::End),
        Ok(())
    );
    assert_eq!(
        runs(
            "ignore \"ping\"\n\"a\"\n\"b\"\nend",
            &["ping", "a", "ping", "b"],
            Terminal::End
        ),
        Ok(())
    );
    // Without `end`, the block is complete once its last item matched.
    let entries = block("\"a\"");
    let mut matcher = BlockMatcher::new(&entries);
    assert!(!matcher.is_complete());
    assert_eq!(feed(&mut matcher, &["a"]).map(|f| f.len()), Ok(1));
    assert!(matcher.is_complete());
}

#[test]
fn timing_bounds_are_checked_on_arrival() {
    // Items arrive 10 ms apart in `feed`.
    assert_eq!(
        runs("\"a\"\n\"b\" within 50ms", &["a", "b"], Terminal::End),
        Ok(())
    );
    assert!(matches!(
        runs("\"a\"\n\"b\" within 5ms", &["a", "b"], Terminal::End),
        Err(FailureKind::Timing { .. })
    ));
    assert!(matches!(
        runs("\"a\"\n\"b\" after 20ms", &["a", "b"], Terminal::End),
        Err(FailureKind::Timing { .. })
    ));
    assert!(matches!(
        runs("first within 5ms\n\"a\"", &["a"], Terminal::End),
        Err(FailureKind::Timing { .. })
    ));
}

#[test]
fn controls_are_handed_out_at_their_position() {
    let entries = block("\"a\"\npace 10ms\n\"b\"\nabort");
    let mut matcher = BlockMatcher::new(&entries);
    assert!(matcher.take_action().is_none());
    assert!(feed(&mut matcher, &["a"]).is_ok());
    assert!(matches!(matcher.take_action(), Some((Control::Pace(_), _))));
    assert!(matcher.take_action().is_none());
}

/// Feeds NDJSON values (as text) to an `expect ndjson` block, then the ending.
fn runs_json(body: &str, values: &[&str], terminal: Terminal) -> Result<(), FailureKind> {
    let entries = block_of("ndjson", body);
    let mut matcher = BlockMatcher::new(&entries);
    let mut previous = Duration::ZERO;
    for (index, text) in values.iter().enumerate() {
        let item = Item::Json(
            Box::new(serde_json::from_str(text).unwrap_or_default()),
            None,
        );
        let at = Duration::from_millis(10 * (index as u64 + 1));
        matcher
            .feed(&ItemView::new(&item), at, previous, &mut Vec::new(), &())
            .map_err(|f| f.kind)?;
        previous = at;
    }
    matcher.finish(&terminal).map(|_| ()).map_err(|f| f.kind)
}

const TWO_KEYS: &str =
    "where k == \"a\" { { \"n\": 1 }\n{ \"n\": 2 } }\nwhere k == \"b\" { { \"n\": 1 } }\nend";

#[test]
fn where_groups_keep_the_order_of_each_key_only() {
    let a1 = r#"{"k":"a","n":1}"#;
    let a2 = r#"{"k":"a","n":2}"#;
    let b1 = r#"{"k":"b","n":1}"#;
    assert_eq!(runs_json(TWO_KEYS, &[a1, b1, a2], Terminal::End), Ok(()));
    assert_eq!(runs_json(TWO_KEYS, &[b1, a1, a2], Terminal::End), Ok(()));
    assert!(matches!(
        runs_json(TWO_KEYS, &[a2, a1, b1], Terminal::End),
        Err(FailureKind::Mismatch { .. })
    ));
    assert!(matches!(
        runs_json(TWO_KEYS, &[a1, r#"{"k":"c","n":1}"#], Terminal::End),
        Err(FailureKind::NoGroup { found, .. }) if found == "k \"c\""
    ));
    assert!(matches!(
        runs_json(TWO_KEYS, &[b1, b1], Terminal::End),
        Err(FailureKind::GroupComplete { .. })
    ));
    assert!(matches!(
        runs_json(TWO_KEYS, &[a1, b1], Terminal::End),
        Err(FailureKind::EndedEarly { .. })
    ));
    // Once every group has its items, what follows takes the next item.
    let body = "where k == \"a\" { { \"n\": 1 } }\n{ \"done\": true }\nend";
    assert_eq!(
        runs_json(body, &[a1, r#"{"done":true}"#], Terminal::End),
        Ok(())
    );
}

#[test]
fn where_group_timing_is_measured_within_the_group() {
    // `b` arrives between the two `a`s: `a`'s bound runs from its own previous item.
    let body =
        "where k == \"a\" { { \"n\": 1 }\n{ \"n\": 2 } within 15ms }\nwhere k == \"b\" { _ }";
    let a1 = r#"{"k":"a","n":1}"#;
    let a2 = r#"{"k":"a","n":2}"#;
    let b1 = r#"{"k":"b","n":1}"#;
    assert!(matches!(
        runs_json(body, &[a1, b1, a2], Terminal::End),
        Err(FailureKind::Timing { .. })
    ));
    assert_eq!(runs_json(body, &[b1, a1, a2], Terminal::End), Ok(()));
}

#[test]
fn all_patterns_check_every_item() {
    let body = "all { \"n\": 0..5 }\n* times { _ }\nend";
    assert_eq!(
        runs_json(body, &[r#"{"n":1}"#, r#"{"n":5}"#], Terminal::End),
        Ok(())
    );
    assert!(matches!(
        runs_json(body, &[r#"{"n":1}"#, r#"{"n":7}"#], Terminal::End),
        Err(FailureKind::Mismatch { expected, .. }) if expected == "all { \"n\": 0..5 }"
    ));
}

#[test]
fn remainder_lists_what_is_still_expected() {
    let entries = block("\"a\"\n3 times { \"b\" }\nend");
    let mut matcher = BlockMatcher::new(&entries);
    assert!(feed(&mut matcher, &["a", "b"]).is_ok());
    let texts: Vec<String> = matcher.remainder(10).into_iter().map(|e| e.text).collect();
    assert_eq!(texts, ["\"b\"", "\"b\"", "end"]);
}

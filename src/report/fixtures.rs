//! Outcomes built by hand for the reporters' unit tests: a test whose branches read named
//! streams and met at a barrier, as the interpreter reports one.

use std::sync::Arc;
use std::time::Duration;

use crate::outcome::{BarrierReport, StreamReport, TestOutcome};
use crate::source::{SourceFile, Span};

pub const PARALLEL_SPEC: &str = r#"test "readers see one feed" {
  parallel {
    branch reader 2 times {
      GET {{base}}/feed as feed
      barrier go
      expect sse from feed { 2 times { data: _ } }
    }
    branch writer { barrier go; POST {{base}}/publish }
  }
  GET {{base}}/sse/empty
  expect sse { end }
}
"#;

/// The span of the first `needle` in `file`, at or after byte `from`.
pub fn span_of(file: &SourceFile, needle: &str, from: usize) -> Span {
    let start = from
        + file.text[from..]
            .find(needle)
            .unwrap_or_else(|| panic!("`{needle}` is in the fixture"));
    Span::new(start, start + needle.len())
}

/// A stream as `run -v` shows it, with fixed figures.
pub fn stream(file: &Arc<SourceFile>, line_text: &str) -> StreamReport {
    StreamReport {
        kind: "sse",
        span: span_of(file, line_text, 0),
        items: 2,
        bytes: 40,
        ttfb: Some(Duration::from_millis(2)),
        first_item: Some(Duration::from_millis(3)),
        duration: Some(Duration::from_millis(10)),
        connections: 1,
        ..StreamReport::default()
    }
}

/// [`PARALLEL_SPEC`] passed: each `reader` read its own `feed`, the three branch instances met
/// at `barrier go`, then the test read an unnamed stream.
pub fn parallel_outcome() -> TestOutcome {
    let file = SourceFile::new("a.stream", PARALLEL_SPEC);
    let named = |instance: usize| StreamReport {
        name: Some(format!("feed[{instance}]")),
        branch: Some(format!("reader[{instance}]")),
        ..stream(&file, "expect sse from feed")
    };
    TestOutcome {
        span: span_of(&file, "\"readers see one feed\"", 0),
        name: "readers see one feed".to_string(),
        duration: Duration::from_millis(250),
        failures: Vec::new(),
        streams: vec![named(1), named(2), stream(&file, "expect sse { end }")],
        barriers: vec![BarrierReport {
            name: "go".to_string(),
            span: span_of(&file, "barrier go", 0),
            branches: 3,
            spread: Duration::from_micros(400),
            branch: None,
        }],
        tokens: None,
        tokens_counted: false,
        file,
    }
}

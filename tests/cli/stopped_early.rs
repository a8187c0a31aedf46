//! Measures of a stream whose block stopped reading once its last item matched: the help to end
//! the block with `end` comes only where reading the rest could still change the verdict.

use crate::servers;
use crate::support::fails;

/// A count only grows as more is read (so do a byte count and a duration, see
/// `interp::unread_rest`): once it is past an upper bound, reading the whole stream cannot help,
/// so `end` is not suggested there; below a bound it still is.
#[test]
fn end_is_suggested_only_when_reading_more_could_help() {
    fails(
        servers::demo(),
        r#"
        test "stopped after three of five" {
          GET {{base}}/sse/ticker?count=5&interval=0ms
          expect sse {
            data: _
            data: _
            data: _
          }
          expect count < 2
          expect count in 1..2
          expect count == 5
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: stopped after three of five

        error: expected count < 2, got 3
         --> a.stream:8:16
          |
        8 |   expect count < 2
          |                ^^^ count was 3

        error: expected count 1..2, got 3
         --> a.stream:9:16
          |
        9 |   expect count in 1..2
          |                ^^^^^^^ count was 3

        error: expected count == 5, got 3
          --> a.stream:10:16
           |
        10 |   expect count == 5
           |                ^^^^ count was 3
           |
           = help: the `expect sse` block on line 3 stopped reading once its last item matched; end it with `end` to read the whole stream

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: stopped after three of five
        "#,
    );
}

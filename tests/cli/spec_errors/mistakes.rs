//! Mistakes that used to get a diagnostic pointing the wrong way: a JSON key without its `:`,
//! placeholders written with one brace, a `$`, or unbalanced braces.

use crate::support::{Test, check_fails};

#[test]
fn a_key_without_its_colon() {
    check_fails(
        r#"
        test "a number after the key" {
          GET http://example.invalid/
          expect ndjson {
            { "seq" 1 }
          }
        }

        test "an equals sign" {
          GET http://example.invalid/
          expect ndjson { { "seq" = 2 } }
        }

        test "nested" {
          POST http://example.invalid/
          body json { "outer": { "inner" 3 } }
        }

        test "the value on the next line" {
          GET http://example.invalid/
          expect ndjson {
            { "seq"
              4 }
          }
        }
        "#,
        r#"
        error: expected `:` after the key, found `1`
         --> a.stream:4:12
          |
        4 |     { "seq" 1 }
          |            ^ expected `:` after the key

        error: expected `:` after the key, found `=`
          --> a.stream:10:26
           |
        10 |   expect ndjson { { "seq" = 2 } }
           |                          ^ expected `:` after the key

        error: expected `:` after the key, found `3`
          --> a.stream:15:33
           |
        15 |   body json { "outer": { "inner" 3 } }
           |                                 ^ expected `:` after the key

        error: expected `:` after the key, found `4`
          --> a.stream:21:12
           |
        21 |     { "seq"
           |            ^ expected `:` after the key

        4 errors
        "#,
    );
}

#[test]
fn a_key_without_double_quotes() {
    check_fails(
        r#"
        test "a bare word" {
          GET http://example.invalid/
          expect ndjson { { seq: 1 } }
        }

        test "single quotes" {
          GET http://example.invalid/
          expect ndjson { { "a": 1, 'seq': 2 } }
        }
        "#,
        r#"
        error: expected a key in double quotes, found `seq`
         --> a.stream:3:21
          |
        3 |   expect ndjson { { seq: 1 } }
          |                     ^^^ expected a key in double quotes
          |
          = help: write the key in double quotes: `"seq"`

        error: expected a key in double quotes, found `'`
         --> a.stream:8:29
          |
        8 |   expect ndjson { { "a": 1, 'seq': 2 } }
          |                             ^ expected a key in double quotes
          |
          = help: write the key in double quotes: `"seq"`

        2 errors
        "#,
    );
}

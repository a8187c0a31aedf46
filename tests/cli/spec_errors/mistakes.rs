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

#[test]
fn a_variable_written_with_one_brace_or_a_dollar() {
    check_fails(
        r#"
        let base = "http://127.0.0.1:7878"
        let user = "7"

        test "one brace" {
          GET {base}/events
        }

        test "a dollar" {
          GET $base/events
        }

        test "a dollar and one brace" {
          GET ${base}/events
        }

        test "inside the URL" {
          GET {{base}}/users/{user}?from=$user&$filter=x
        }

        test "in a header" {
          GET {{base}}/events
          header x-user: $user
        }
        "#,
        r#"
        error: `{base}` is not a placeholder
         --> a.stream:5:7
          |
        5 |   GET {base}/events
          |       ^^^^^^ placeholders are written `{{name}}`
          |
          = help: did you mean `{{base}}`?

        error: `$base` is not a placeholder
         --> a.stream:9:7
          |
        9 |   GET $base/events
          |       ^^^^^ placeholders are written `{{name}}`
          |
          = help: did you mean `{{base}}`?

        error: `${base}` is not a placeholder
          --> a.stream:13:7
           |
        13 |   GET ${base}/events
           |       ^^^^^^^ placeholders are written `{{name}}`
           |
           = help: did you mean `{{base}}`?

        error: `{user}` is not a placeholder
          --> a.stream:17:22
           |
        17 |   GET {{base}}/users/{user}?from=$user&$filter=x
           |                      ^^^^^^ placeholders are written `{{name}}`
           |
           = help: did you mean `{{user}}`?

        error: `$user` is not a placeholder
          --> a.stream:17:34
           |
        17 |   GET {{base}}/users/{user}?from=$user&$filter=x
           |                                  ^^^^^ placeholders are written `{{name}}`
           |
           = help: did you mean `{{user}}`?

        error: `$user` is not a placeholder
          --> a.stream:22:18
           |
        22 |   header x-user: $user
           |                  ^^^^^ placeholders are written `{{name}}`
           |
           = help: did you mean `{{user}}`?

        6 errors
        "#,
    );
}

#[test]
fn unbalanced_placeholder_braces() {
    check_fails(
        r#"
        let base = "http://127.0.0.1:7878"

        test "a brace missing" {
          GET {{base}/events
        }

        test "a brace too many" {
          GET {{base}}}/events
        }

        test "three braces" {
          GET {{{base}}}/events
        }

        test "in a header" {
          GET {{base}}/events
          header authorization: Bearer {{token}
        }

        test "not a name" {
          GET {{base}}/events
          header x-user: {{two words}}
        }
        "#,
        r#"
        error: `{{base}` is not a placeholder
         --> a.stream:4:7
          |
        4 |   GET {{base}/events
          |       ^^^^^^^ placeholders are written `{{name}}`
          |
          = help: did you mean `{{base}}`?

        error: `{{base}}}` has a `}` too many
         --> a.stream:8:7
          |
        8 |   GET {{base}}}/events
          |       ^^^^^^^^^ placeholders are written `{{name}}`
          |
          = help: did you mean `{{base}}`?

        error: `{{{base}}` is not a placeholder
          --> a.stream:12:7
           |
        12 |   GET {{{base}}}/events
           |       ^^^^^^^^^ placeholders are written `{{name}}`
           |
           = help: did you mean `{{base}}`?

        error: `{{token}` is not a placeholder
          --> a.stream:17:32
           |
        17 |   header authorization: Bearer {{token}
           |                                ^^^^^^^^ placeholders are written `{{name}}`
           |
           = help: did you mean `{{token}}`?

        error: `{{two words}}` is not a placeholder
          --> a.stream:22:18
           |
        22 |   header x-user: {{two words}}
           |                  ^^^^^^^^^^^^^ placeholders are written `{{name}}`
           |
           = help: a name is letters, digits, `_`, `.` and `-`

        5 errors
        "#,
    );
}

#[test]
fn placeholders_with_blanks_inside_are_placeholders_in_urls_too() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            let base = "http://127.0.0.1:7878"
            let n = "3"

            test "blanks" {
              GET {{ base }}/sse/ticker?count={{ n }}
              expect status 200
            }

            test "a gRPC target" {
              grpc {{ base }} stock.StockService/GetQuote
              expect status OK
            }
            "#,
        )
        .args(["check", "a.stream"])
        .stdout("checked 2 tests in 1 file: no problems")
        .run();
}

#[test]
fn a_placeholder_with_a_blank_in_its_name_in_a_url() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/events?q={{two words}}
        }
        "#,
        r#"
        error: expected a new line (or `;`), found `words`
         --> a.stream:2:45
          |
        2 |   GET http://example.invalid/events?q={{two words}}
          |                                             ^^^^^ expected a new line (or `;`)
          |
          = help: a URL ends at a blank, and a placeholder's name has none: `{{two words}}` is not a placeholder

        "#,
    );
}

//! The length facet — `string len 3..10`, `array len 2..`, `object len 1`, `bytes len N` for
//! base64 data — and the spec error for a regex too large to compile, which names the facet.

use crate::servers;
use crate::support::{Test, all_passed, check_fails, fails};

#[test]
fn lengths_of_strings_arrays_objects_and_base64_data_pass() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "lengths" {
              POST {{base}}/echo
              body json { "name": "café", "tags": [1, 2], "meta": { "a": 1 }, "payload": "AAAA" }
              expect json { "tags": array len 2.., "meta": object len < 2, "payload": bytes len 3 }  $.name == string len in 1..4
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        .stdout(&all_passed(1, &[("a.stream", "lengths")]))
        .run();
}

#[test]
fn a_length_out_of_bounds_says_how_long_the_value_was() {
    fails(
        servers::demo(),
        r#"
        test "too short" {
          POST {{base}}/echo
          body json { "name": "abc", "payload": "AAAA" }
          expect json { "name": string len 5..10 }
        }

        test "too many bytes" {
          POST {{base}}/echo
          body json { "payload": "AAAA" }
          expect json { "payload": bytes len < 3 }
        }
        "#,
        r#"
        Running 2 tests from 1 file
          FAIL [TIME] a.stream: too short

        error: the body does not match
         --> a.stream:4:15
          |
        4 |   expect json { "name": string len 5..10 }
          |               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `.name`: expected string len 5..10, found "abc" (3 characters)
          |
          = diff of expected (-) and observed (+) items:
            - { "name": string len 5..10 }
            + { "name": "abc", "payload": "AAAA" }  # [TIME]

          FAIL [TIME] a.stream: too many bytes

        error: the body does not match
          --> a.stream:10:15
           |
        10 |   expect json { "payload": bytes len < 3 }
           |               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `.payload`: expected bytes len < 3, found "AAAA" (3 bytes)
           |
           = diff of expected (-) and observed (+) items:
             - { "payload": bytes len < 3 }
             + { "payload": "AAAA" }  # [TIME]

        Summary 2 tests: 0 passed, 2 failed [TIME]
          FAIL a.stream:1: too short
          FAIL a.stream:7: too many bytes
        "#,
    );
}

#[test]
fn bytes_that_are_not_base64_do_not_match() {
    fails(
        servers::demo(),
        r#"
        test "not base64" {
          POST {{base}}/echo
          body json { "payload": "not base64!" }
          expect json { "payload": bytes }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: not base64

        error: the body does not match
         --> a.stream:4:15
          |
        4 |   expect json { "payload": bytes }
          |               ^^^^^^^^^^^^^^^^^^^^ at `.payload`: expected bytes, found "not base64!"
          |
          = diff of expected (-) and observed (+) items:
            - { "payload": bytes }
            + { "payload": "not base64!" }  # [TIME]

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: not base64
        "#,
    );
}

#[test]
fn len_after_a_value_without_a_length_is_a_spec_error_saying_what_to_write() {
    check_fails(
        r#"
        test "a" {
          POST http://example.invalid/echo
          expect json { "n": number len 3, "s": "abc" len 3, "x": _ len 2 }
          expect lines { "abc" len 3 }
        }
        "#,
        r#"
        error: `len` cannot follow `number`
         --> a.stream:3:29
          |
        3 |   expect json { "n": number len 3, "s": "abc" len 3, "x": _ len 2 }
          |                             ^^^^^ a number has no length
          |
          = help: `len` counts the characters of a `string`, the items of an `array`, the keys of an `object` and the bytes of `bytes` (base64)

        error: `len` cannot follow `"abc"`
         --> a.stream:3:47
          |
        3 |   expect json { "n": number len 3, "s": "abc" len 3, "x": _ len 2 }
          |                                               ^^^^^ `len` goes after a type
          |
          = help: this value is matched as written; for any string of that length, write `string len 3`

        error: `len` cannot follow `_`
         --> a.stream:3:61
          |
        3 |   expect json { "n": number len 3, "s": "abc" len 3, "x": _ len 2 }
          |                                                             ^^^^^ `len` goes after a type
          |
          = help: write `string len 2`, `array len 2`, `object len 2` or `bytes len 2`

        error: `len` fits JSON values, and this is text
         --> a.stream:4:24
          |
        4 |   expect lines { "abc" len 3 }
          |                        ^^^^^ not a JSON value
          |
          = help: the length of a line or chunk in bytes is `size`: `size 3..10`; in JSON, write `string len 3..10`

        4 errors
        "#,
    );
}

#[test]
fn a_regex_too_large_to_compile_is_a_spec_error_pointing_to_the_length_facet() {
    check_fails(
        r#"
        test "a" {
          POST http://example.invalid/echo
          expect json { "payload": /^A{418879}=$/ }
        }
        "#,
        r#"
        error: this regular expression is too large to compile (over the limit of 10 MiB compiled)
         --> a.stream:3:28
          |
        3 |   expect json { "payload": /^A{418879}=$/ }
          |                            ^^^^^^^^^^^^^^ `{418879}` makes it too large
          |
          = help: to check how long a value is, use its length: `string len N` (or a range, `string len 3..10`), `bytes len N` for base64 data, `size N` for a line or chunk

        "#,
    );
}

#[test]
fn fmt_writes_lengths_canonically_and_keeps_them() {
    let output = Test::new()
        .spec(
            "a.stream",
            r#"
            test "a" {
              POST http://example.invalid/echo
              expect json {"s":string   len  ==  3,"a":array len in 2..,"b":bytes len 1..}
            }
            "#,
        )
        .args(["fmt", "a.stream"])
        .stdout("formatted a.stream")
        .run();
    let formatted = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(
        formatted,
        crate::support::unindent(
            r#"
            test "a" {
              POST http://example.invalid/echo
              expect json { "s": string len 3, "a": array len 2.., "b": bytes len 1.. }
            }
            "#
        )
    );
}

#[test]
fn a_misspelt_len_is_suggested_and_a_missing_comma_is_not_hidden_by_it() {
    check_fails(
        r#"
        test "a" {
          POST http://example.invalid/echo
          expect json { "a": string lne 3 }
        }

        test "b" {
          POST http://example.invalid/echo
          expect json { "a": "x" "b": 1 }
        }
        "#,
        r#"
        error: unknown keyword `lne`
         --> a.stream:3:29
          |
        3 |   expect json { "a": string lne 3 }
          |                             ^^^
          |
          = help: did you mean `len`?

        error: expected `,`, `->` or `}`, found `"`
         --> a.stream:8:26
          |
        8 |   expect json { "a": "x" "b": 1 }
          |                          ^ expected `,`, `->` or `}`

        2 errors
        "#,
    );
}

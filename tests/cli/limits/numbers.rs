//! Integer literals that do not fit: repetition bounds, `abort after N items`, sizes and the
//! bounds of counts are refused at the number, never wrapped, saturated or rounded (a bound of
//! `99999999999999999999.. times` read as `0..` passed any stream).

use crate::support::{Test, check_fails};

#[test]
fn repetition_bounds_beyond_u64_are_refused() {
    check_fails(
        r#"
        test "big" {
          GET http://127.0.0.1:9/
          expect ndjson {
            99999999999999999999.. times { _ }
            99999999999999999999 times { _ }
            1..99999999999999999999 times { _ }
            18446744073709551615 times { _ }
          }
        }
        "#,
        "
        error: number too large
         --> a.stream:4:5
          |
        4 |     99999999999999999999.. times { _ }
          |     ^^^^^^^^^^^^^^^^^^^^ at most 18446744073709551615

        error: number too large
         --> a.stream:5:5
          |
        5 |     99999999999999999999 times { _ }
          |     ^^^^^^^^^^^^^^^^^^^^ at most 18446744073709551615

        error: number too large
         --> a.stream:6:8
          |
        6 |     1..99999999999999999999 times { _ }
          |        ^^^^^^^^^^^^^^^^^^^^ at most 18446744073709551615

        3 errors
        ",
    );
}

#[test]
fn a_repetition_bound_beyond_u64_never_passes_a_stream() {
    // `99999999999999999999.. times` was read as `0.. times`: it passed an empty stream.
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "big" {
              GET {{base}}/sse/empty
              expect sse {
                99999999999999999999.. times { data: _ }
                end
              }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", crate::servers::demo())
        .stderr(
            "
            error: number too large
             --> a.stream:4:5
              |
            4 |     99999999999999999999.. times { data: _ }
              |     ^^^^^^^^^^^^^^^^^^^^ at most 18446744073709551615

            no tests were run: fix the errors above first
            ",
        )
        .status(2)
        .run();
}

#[test]
fn counts_and_sizes_that_cannot_be_compared_exactly_are_refused() {
    check_fails(
        r#"
        test "big" {
          GET http://127.0.0.1:9/
          expect chunks {
            abort after 99999999999999999999 items
            size 18446744073709551616
            size 9007199254740993
            size < 1e300
          }
          expect count == 99999999999999999999
          expect bytes in 0..9007199254740993
          expect connections > -9007199254740993
          expect test count <= 9007199254740992
        }
        "#,
        "
        error: number too large
         --> a.stream:4:17
          |
        4 |     abort after 99999999999999999999 items
          |                 ^^^^^^^^^^^^^^^^^^^^ at most 18446744073709551615

        error: number too large
         --> a.stream:5:10
          |
        5 |     size 18446744073709551616
          |          ^^^^^^^^^^^^^^^^^^^^ at most 18446744073709551615

        error: number too large
         --> a.stream:6:10
          |
        6 |     size 9007199254740993
          |          ^^^^^^^^^^^^^^^^ counts and sizes are compared exactly up to 9007199254740992

        error: number too large
         --> a.stream:7:12
          |
        7 |     size < 1e300
          |            ^^^^^ counts and sizes are compared exactly up to 9007199254740992

        error: number too large
         --> a.stream:9:19
          |
        9 |   expect count == 99999999999999999999
          |                   ^^^^^^^^^^^^^^^^^^^^ counts and sizes are compared exactly up to 9007199254740992

        error: number too large
          --> a.stream:10:22
           |
        10 |   expect bytes in 0..9007199254740993
           |                      ^^^^^^^^^^^^^^^^ counts and sizes are compared exactly up to 9007199254740992

        error: number too large
          --> a.stream:11:24
           |
        11 |   expect connections > -9007199254740993
           |                        ^^^^^^^^^^^^^^^^^ counts and sizes are compared exactly up to 9007199254740992

        7 errors
        ",
    );
}

#[test]
fn retry_values_and_whole_numbers_in_json_that_cannot_be_compared_exactly_are_refused() {
    // `retry: 9007199254740993` passed a stream sending 9007199254740992, and
    // `{ "n": 18446744073709551616 }` matched 18446744073709551615: both were rounded.
    check_fails(
        r#"
        test "big" {
          GET http://127.0.0.1:9/
          expect sse {
            retry: 9007199254740993
            retry: 400..18446744073709551616
            data: json { "n": 18446744073709551616, "m": -9223372036854775809 }
            data: json { "ok": [18446744073709551615, -9223372036854775808, 1e300] }
          }
        }
        "#,
        r#"
        error: number too large
         --> a.stream:4:12
          |
        4 |     retry: 9007199254740993
          |            ^^^^^^^^^^^^^^^^ counts and sizes are compared exactly up to 9007199254740992

        error: number too large
         --> a.stream:5:17
          |
        5 |     retry: 400..18446744073709551616
          |                 ^^^^^^^^^^^^^^^^^^^^ counts and sizes are compared exactly up to 9007199254740992

        error: number too large
         --> a.stream:6:23
          |
        6 |     data: json { "n": 18446744073709551616, "m": -9223372036854775809 }
          |                       ^^^^^^^^^^^^^^^^^^^^ whole numbers are compared exactly from -9223372036854775808 to 18446744073709551615

        error: number too large
         --> a.stream:6:50
          |
        6 |     data: json { "n": 18446744073709551616, "m": -9223372036854775809 }
          |                                                  ^^^^^^^^^^^^^^^^^^^^ whole numbers are compared exactly from -9223372036854775808 to 18446744073709551615

        4 errors
        "#,
    );
}

#[test]
fn a_number_written_in_another_notation_matches_the_same_double() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "tiny" {
              POST {{base}}/echo
              header content-type: application/x-ndjson
              body text "{\"d\": 0.000000000000000000000000000001}\n"
              expect ndjson {
                { "d": 1e-30 }
                end
              }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", crate::servers::demo())
        .stdout(
            "
            Running 1 test from 1 file
              PASS [TIME] a.stream: tiny
            Summary 1 test: 1 passed, 0 failed [TIME]
            ",
        )
        .run();
}

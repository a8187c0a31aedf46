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

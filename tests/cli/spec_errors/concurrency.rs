//! Check errors of `repeat`, `parallel`/`branch`, `barrier`, named streams (`GET … as NAME`,
//! `expect sse from NAME`), `expect same items in NAME` and aggregates `in NAME`.

use crate::support::{Test, check_fails};

/// `repeat 0`, `branch a 0 times`, a `repeat` over `MAX_REPEAT` and a `parallel` over
/// `MAX_BRANCHES` instances in all.
#[test]
fn repeat_and_branch_counts_are_at_least_one_and_within_their_limits() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          repeat 0 { GET http://example.invalid/ }
          repeat 100001 times { GET http://example.invalid/ }
          parallel {
            branch a 0 times { GET http://example.invalid/ }
            branch b 6000 times { GET http://example.invalid/ }
            branch c 5000 times { GET http://example.invalid/ }
          }
        }
        "#,
        r#"
        error: a `repeat` of zero times
         --> a.stream:3:10
          |
        3 |   repeat 0 { GET http://example.invalid/ }
          |          ^ runs nothing

        error: a `repeat` runs its steps at most 100000 times
         --> a.stream:4:10
          |
        4 |   repeat 100001 times { GET http://example.invalid/ }
          |          ^^^^^^ more than that

        error: a `parallel` starts at most 10000 branch instances
         --> a.stream:5:3
          |
        5 |   parallel {
          |   ^^^^^^^^ this one starts 11000

        error: a branch of zero times
         --> a.stream:6:14
          |
        6 |     branch a 0 times { GET http://example.invalid/ }
          |              ^ runs nothing

        4 errors
        "#,
    );
}

/// A `parallel` without branches, and two branches of one name.
#[test]
fn a_parallel_needs_branches_with_names_of_their_own() {
    check_fails(
        r#"
        test "a" {
          parallel { }
          parallel {
            branch reader { GET http://example.invalid/ }
            branch reader { GET http://example.invalid/ }
          }
        }
        "#,
        r#"
        error: this `parallel` has no branches
         --> a.stream:2:3
          |
        2 |   parallel { }
          |   ^^^^^^^^ nothing to run
          |
          = help: a branch looks like `branch name { GET http://… }`

        error: branch name `reader` is used twice in this `parallel`
         --> a.stream:5:12
          |
        5 |     branch reader { GET http://example.invalid/ }
          |            ^^^^^^ also the name of the branch on line 4

        2 errors
        "#,
    );
}

/// A barrier outside any branch, in a `repeat` of a branch, twice in one branch, and reached by
/// one branch instance only (a nested `parallel`'s branches have their own barriers).
#[test]
fn barriers_stand_once_in_a_branch_and_something_waits_there() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          barrier start
          parallel {
            branch a {
              GET http://example.invalid/
              repeat 2 { barrier tick }
              barrier go
              barrier go
              barrier alone
            }
            branch b 3 times {
              barrier go
            }
            branch c {
              barrier done
              parallel {
                branch x { barrier done }
                branch y { barrier done }
              }
            }
          }
        }
        "#,
        r#"
        error: `barrier` goes inside a `branch`
         --> a.stream:3:3
          |
        3 |   barrier start
          |   ^^^^^^^^^^^^^ no branches run alongside here
          |
          = help: a barrier makes the branches of a `parallel` wait for each other

        error: `barrier` cannot go inside a `repeat`
         --> a.stream:7:18
          |
        7 |       repeat 2 { barrier tick }
          |                  ^^^^^^^^^^^^ a barrier is passed once per branch instance
          |
          = help: put it before or after the `repeat`

        error: this branch passes `barrier go` twice
         --> a.stream:9:7
          |
        9 |       barrier go
          |       ^^^^^^^^^^ also on line 8
          |
          = help: a barrier is passed once per branch instance

        error: only one branch instance reaches `barrier alone`
          --> a.stream:10:7
           |
        10 |       barrier alone
           |       ^^^^^^^^^^^^^ no other branch waits here
           |
           = help: put `barrier alone` in another branch of this `parallel` as well

        error: only one branch instance reaches `barrier done`
          --> a.stream:16:7
           |
        16 |       barrier done
           |       ^^^^^^^^^^^^ no other branch waits here
           |
           = help: put `barrier done` in another branch of this `parallel` as well

        5 errors
        "#,
    );
}

/// Two branches passing the same two barriers in the other order would wait for each other.
#[test]
fn barriers_passed_in_opposite_orders_would_wait_forever() {
    check_fails(
        r#"
        test "a" {
          parallel {
            branch a { GET http://example.invalid/; barrier one; barrier two }
            branch b { barrier two; barrier one; GET http://example.invalid/ }
          }
        }
        "#,
        r#"
        error: `barrier two` comes before `barrier one` here, and after it in branch `a`
         --> a.stream:4:16
          |
        4 |     branch b { barrier two; barrier one; GET http://example.invalid/ }
          |                ^^^^^^^^^^^ the branches would wait for each other forever
          |
          = help: pass the barriers in the same order in every branch

        "#,
    );
}

/// `from NAME`: misspelt, opened only later, the parent's (from a branch), a sibling branch's
/// (running at the same time), and a joined branch's (closed at the end of it).
#[test]
fn a_block_holds_only_a_stream_its_own_sequence_opened() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/sub as sub
          expect sse from sbu { data: _ }
          expect sse from later { data: _ }
          GET http://example.invalid/later as later
          expect sse from later { data: _ }
          parallel {
            branch a {
              GET http://example.invalid/a as feed
              expect sse from sub { data: _ }
            }
            branch b {
              GET http://example.invalid/b as other
              expect sse from feed { data: _ }
            }
          }
          expect sse from other { data: _ }
        }
        "#,
        r#"
        error: no stream is opened as `sbu` before this line
         --> a.stream:3:19
          |
        3 |   expect sse from sbu { data: _ }
          |                   ^^^ not opened
          |
          = help: did you mean `sub`?

        error: no stream is opened as `later` before this line
         --> a.stream:4:19
          |
        4 |   expect sse from later { data: _ }
          |                   ^^^^^ not opened
          |
          = help: `later` is opened on line 5; a stream can be held only after the request that opens it

        error: a branch cannot hold `sub`, which is opened outside it
          --> a.stream:10:23
           |
        10 |       expect sse from sub { data: _ }
           |                       ^^^ opened on line 2, before the `parallel`
           |
           = help: several instances of the branch would hold it at once; hold it before or after the `parallel`, or open a stream in this branch

        error: `feed` is opened in branch `a`, which runs at the same time as this one
          --> a.stream:14:23
           |
        14 |       expect sse from feed { data: _ }
           |                       ^^^^ not opened in this branch
           |
           = help: a branch holds only the streams it opens; after the `parallel`, check them with `expect same items in feed` or `expect count in feed …`

        error: stream `other` is closed by now
          --> a.stream:17:19
           |
        17 |   expect sse from other { data: _ }
           |                   ^^^^^ opened in branch `b` on line 13
           |
           = help: streams are closed at the end of the branch that opened them; after the `parallel`, check them with `expect same items in other` or `expect count in other …`

        5 errors
        "#,
    );
}

/// One name read as `sse` then `ndjson`; an SSE block on a gRPC call; `messages` on an HTTP
/// stream.
#[test]
fn a_named_stream_is_read_with_one_kind_of_block_that_fits_it() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/ as feed
          expect sse { data: _ }
          grpc http://127.0.0.1:1 chat.Chat/Talk as call
          expect ndjson from feed { { "n": 1 } }
          expect sse from call { data: _ }
          expect messages from feed { { "n": 1 } }
        }
        "#,
        r#"
        error: `feed` is read as `sse` on line 3, and here as `ndjson`
         --> a.stream:5:10
          |
        5 |   expect ndjson from feed { { "n": 1 } }
          |          ^^^^^^ another kind of block
          |
          = help: a stream's items are framed by the first block that reads it: read `feed` as `sse` here too

        error: `expect sse` is for HTTP responses, and `call` is a gRPC call
         --> a.stream:6:10
          |
        6 |   expect sse from call { data: _ }
          |          ^^^ `call` is opened on line 4
          |
          = help: a gRPC call's replies are read with `expect messages from call { … }`

        error: `expect messages` is for gRPC calls, and `feed` is an HTTP request
         --> a.stream:7:10
          |
        7 |   expect messages from feed { { "n": 1 } }
          |          ^^^^^^^^ `feed` is opened on line 2
          |
          = help: an HTTP response's items are read with `expect sse|ndjson|lines|chunks from feed { … }`

        3 errors
        "#,
    );
}

/// A stream in a branch named as a branch of its `parallel`: `in NAME` would be ambiguous.
#[test]
fn a_stream_in_a_branch_does_not_take_a_branchs_name() {
    check_fails(
        r#"
        test "a" {
          parallel {
            branch a { GET http://example.invalid/a as feed; expect sse { data: _ } }
            branch b { GET http://example.invalid/b as feed; expect sse { data: _ } }
            branch feed { GET http://example.invalid/c as a; expect sse { data: _ } }
          }
          expect count in feed == 2
        }
        "#,
        r#"
        error: stream `feed` has the name of a branch
         --> a.stream:3:48
          |
        3 |     branch a { GET http://example.invalid/a as feed; expect sse { data: _ } }
          |                                                ^^^^ also the name of the branch on line 5
          |
          = help: `in NAME` and `expect same items in NAME` could not tell them apart: give the stream a name of its own

        error: stream `feed` has the name of a branch
         --> a.stream:4:48
          |
        4 |     branch b { GET http://example.invalid/b as feed; expect sse { data: _ } }
          |                                                ^^^^ also the name of the branch on line 5
          |
          = help: `in NAME` and `expect same items in NAME` could not tell them apart: give the stream a name of its own

        error: stream `a` has the name of a branch
         --> a.stream:5:51
          |
        5 |     branch feed { GET http://example.invalid/c as a; expect sse { data: _ } }
          |                                                   ^ also the name of the branch on line 3
          |
          = help: `in NAME` and `expect same items in NAME` could not tell them apart: give the stream a name of its own

        3 errors
        "#,
    );
}

/// `in NAME` and `expect same items in NAME`: unknown, the parent's stream from a branch, the
/// branch itself, a sibling's stream, and `expect test …` with `in`.
#[test]
fn in_name_measures_streams_and_branches_joined_before() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/ as feed
          expect sse { data: _ }
          expect same items in fede
          expect count in feed == 1
          parallel {
            branch reader 2 times {
              GET http://example.invalid/ as copy
              expect sse { data: _ }
              expect count in feed == 1
              expect duration in reader < 1s
            }
            branch writer {
              POST http://example.invalid/
              expect same items in copy
            }
          }
          expect same items in copy
          expect duration in reader < 5s
          expect test count in feed == 2
        }
        "#,
        r#"
        error: no stream or branch is named `fede` before this line
         --> a.stream:4:24
          |
        4 |   expect same items in fede
          |                        ^^^^ unknown name
          |
          = help: did you mean `feed`?

        error: `feed` is opened outside this branch
          --> a.stream:10:23
           |
        10 |       expect count in feed == 1
           |                       ^^^^ opened on line 2, before the `parallel`
           |
           = help: measure it before or after the `parallel`

        error: branch `reader` is not joined yet here
          --> a.stream:11:26
           |
        11 |       expect duration in reader < 1s
           |                          ^^^^^^ still running
           |
           = help: measure a branch after its `parallel`

        error: `copy` is opened in branch `reader`, which runs at the same time as this one
          --> a.stream:15:28
           |
        15 |       expect same items in copy
           |                            ^^^^ not opened in this branch
           |
           = help: measure it after the `parallel`

        error: `expect test …` and `in feed` do not go together
          --> a.stream:20:24
           |
        20 |   expect test count in feed == 2
           |                        ^^^^ measures the streams named `feed`
           |
           = help: `expect test …` measures every stream of the test; keep one of them

        5 errors
        "#,
    );
}

/// A capture of a sibling branch, a branch's capture after the join without its branch's name,
/// and `as i` indexes out of their braces.
#[test]
fn a_branch_sees_the_captures_before_its_parallel_and_later_steps_see_branch_dot_name() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect header x-token exists -> token
          parallel {
            branch a {
              GET http://example.invalid/a?t={{token}}
              expect header x-a exists -> one
            }
            branch b 2 times as n {
              GET http://example.invalid/b?one={{one}}&n={{n}}
            }
          }
          repeat 2 as i { GET http://example.invalid/r?i={{i}}&one={{a.one}} }
          GET http://example.invalid/c?one={{one}}&n={{n}}&i={{i}}
        }
        "#,
        r#"
        error: variable `one` is not defined
          --> a.stream:10:40
           |
        10 |       GET http://example.invalid/b?one={{one}}&n={{n}}
           |                                        ^^^^^^^ undefined variable
           |
           = help: `one` is captured in branch `a` on line 7, which runs at the same time as this one; a branch sees the captures made before its `parallel`, and its own

        error: variable `one` is not defined
          --> a.stream:14:36
           |
        14 |   GET http://example.invalid/c?one={{one}}&n={{n}}&i={{i}}
           |                                    ^^^^^^^ undefined variable
           |
           = help: `one` is captured in branch `a` on line 7; after the `parallel`, write `{{a.one}}`

        error: variable `n` is not defined
          --> a.stream:14:46
           |
        14 |   GET http://example.invalid/c?one={{one}}&n={{n}}&i={{i}}
           |                                              ^^^^^ undefined variable
           |
           = help: `n` numbers the instances of branch `b` on line 9, and is known only inside its braces

        error: variable `i` is not defined
          --> a.stream:14:54
           |
        14 |   GET http://example.invalid/c?one={{one}}&n={{n}}&i={{i}}
           |                                                      ^^^^^ undefined variable
           |
           = help: `i` counts the times round the `repeat` on line 13, and is known only inside its braces

        4 errors
        "#,
    );
}

/// Steps in `repeat` and branch bodies: an attached block read again each time round, a branch's
/// first expectation without a request of its own, HTTP steps on a gRPC call and a `timeout` in a
/// branch; a `from` block leaves the current request as it was (`expect ndjson` on line 9).
#[test]
fn steps_in_bodies_get_the_checks_of_the_test_level() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/ as sub
          expect status 200
          repeat 2 {
            expect sse { data: _ }
          }
          POST http://example.invalid/
          expect sse from sub { data: _ }
          expect ndjson { { "ok": true } }
          header x-a: b
          parallel {
            branch a {
              expect status 200
              grpc http://127.0.0.1:1 chat.Chat/Talk
              header x-a: b
              timeout 1s
            }
          }
        }
        "#,
        r#"
        error: the body of this response is already read
         --> a.stream:5:5
          |
        5 |     expect sse { data: _ }
          |     ^^^^^^^^^^^^^^^^^^^^^^ the `repeat` around it reads it again; send a request inside the `repeat` to read again

        error: `header` must come before the request's expectations
          --> a.stream:10:3
           |
        10 |   header x-a: b
           |   ^^^^^^^^^^^^^ the request was already sent

        error: `expect status` needs a request before it
          --> a.stream:13:7
           |
        13 |       expect status 200
           |       ^^^^^^^^^^^^^^^^^ no request yet in this branch

        error: `header` is for HTTP requests, and this is a gRPC call
          --> a.stream:15:7
           |
        15 |       header x-a: b
           |       ^^^^^^^^^^^^^ a gRPC call takes `metadata name: value`

        error: `timeout` sets the test's deadline, and goes outside `repeat` and `parallel`
          --> a.stream:16:7
           |
        16 |       timeout 1s
           |       ^^^^^^^^^^ inside branch `a`

        5 errors
        "#,
    );
}

/// After the outer join, a capture of a nested branch is `outer.inner.x`, not `inner.x`.
#[test]
fn a_nested_branchs_capture_is_written_with_every_branch_around_it() {
    check_fails(
        r#"
        test "a" {
          parallel {
            branch outer {
              GET http://example.invalid/
              parallel {
                branch inner 2 times { GET http://example.invalid/; expect header x exists -> x }
              }
              GET http://example.invalid/o?x={{inner.x}}
            }
          }
          GET http://example.invalid/z?x={{outer.inner.x}}&y={{inner.x}}
        }
        "#,
        r#"
        error: variable `inner.x` is not defined
          --> a.stream:11:54
           |
        11 |   GET http://example.invalid/z?x={{outer.inner.x}}&y={{inner.x}}
           |                                                      ^^^^^^^^^^^ undefined variable
           |
           = help: `x` is captured on line 6, in branch `inner`; here it is written `{{outer.inner.x}}`

        "#,
    );
}

/// `in NAME` after `retry` and captures' measures (`ids` takes it: each stream's own order); a branch's capture measured after the
/// join as `b.y` (and not as `y`); `in` before a range stays a range.
#[test]
fn in_name_fits_only_measures_of_streams_and_a_branch_capture_is_dotted_after_the_join() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/ as feed
          expect sse { data: _ -> x }
          expect retry in feed == 500
          expect ids in feed increasing
          expect x joined in feed == "a"
          expect x distinct in feed
          parallel {
            branch b { GET http://example.invalid/; expect sse { data: _ -> y } }
          }
          expect b.y count == 1
          expect b.y distinct
          expect y count == 1
          expect x count in 1..3
          expect retry in 100..900
        }
        "#,
        r#"
        error: `in feed` does not go with `expect retry`
         --> a.stream:4:19
          |
        4 |   expect retry in feed == 500
          |                   ^^^^ not measured over a group of streams
          |
          = help: `in NAME` goes with count, bytes, connections, ttfb, duration, first item, reconnect delay, gaps and ids

        error: `in feed` does not go with `expect x joined`
         --> a.stream:6:22
          |
        6 |   expect x joined in feed == "a"
          |                      ^^^^ not measured over a group of streams
          |
          = help: captures belong to the test, not to a stream; a branch's captures are written `branch.name` after its `parallel`

        error: `in feed` does not go with `expect x distinct`
         --> a.stream:7:24
          |
        7 |   expect x distinct in feed
          |                        ^^^^ not measured over a group of streams
          |
          = help: captures belong to the test, not to a stream; a branch's captures are written `branch.name` after its `parallel`

        error: nothing captures `y` before this line
          --> a.stream:13:10
           |
        13 |   expect y count == 1
           |          ^ not captured
           |
           = help: `y` is captured in branch `b` on line 9; after the `parallel`, write `b.y`

        4 errors
        "#,
    );
}

/// A named stream nothing holds is only read in the background: a warning, not an error.
#[test]
fn a_stream_nothing_holds_is_a_warning() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "a" {
              GET http://example.invalid/ as feed
              POST http://example.invalid/publish
              expect status 200
            }
            "#,
        )
        .args(["check", "a.stream"])
        .stdout("checked 1 test in 1 file: 1 warning")
        .stderr(
            "
            warning: stream `feed` is read in the background but never held against a block
             --> a.stream:2:34
              |
            2 |   GET http://example.invalid/ as feed
              |                                  ^^^^ never held
              |
              = help: its figures appear in `-v`; hold it with `expect sse|ndjson|lines|chunks from feed { … }`

            ",
        )
        .run();
}

/// The constructs as the issue writes them check clean: `{{i}}` inside its `repeat`, a
/// branch's stream held by `from` after other steps, barriers in two branches, the branches'
/// captures after the join as `{{writer.id}}`, and measures `in` a stream name or a branch.
#[test]
fn the_concurrency_constructs_check_clean() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            let base = "http://example.invalid"

            test "fan out" {
              GET {{base}}/channels/a/subscribe as sub
              expect status 200
              expect sse { event: "subscribed" }
              POST {{base}}/channels/a/publish
              expect status 200
              expect sse from sub { event: "message" }
              repeat 3 as i {
                POST {{base}}/channels/a/publish?n={{i}}
                expect status 200
              }
              parallel {
                branch reader 5 times as n {
                  GET {{base}}/channels/b/subscribe?reader={{n}} as feed
                  expect sse { event: "subscribed" -> first }
                  barrier go
                  expect sse from feed { event: "message"; data: _ -> last }
                }
                branch writer {
                  barrier go
                  POST {{base}}/channels/b/publish
                  expect header x-id exists -> id
                }
              }
              GET {{base}}/done?id={{writer.id}}&last={{reader.last}}
              expect status 200
              expect same items in feed
              expect count in feed == 50
              expect duration in reader < 5s
              expect connections in feed == 5
              grpc http://127.0.0.1:1 chat.Chat/Talk as call
              message { "text": "hi" }
              POST {{base}}/x
              expect status 200
              expect messages from call { { "text": string } }
            }
            "#,
        )
        .args(["check", "a.stream"])
        .stdout("checked 1 test in 1 file: no problems")
        .run();
}

/// A test whose only requests are in a branch sends requests.
#[test]
fn requests_in_a_branch_are_the_tests_requests() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "a" {
              parallel {
                branch a { GET http://example.invalid/ }
              }
              repeat 2 { GET http://example.invalid/ }
            }
            "#,
        )
        .args(["check", "a.stream"])
        .stdout("checked 1 test in 1 file: no problems")
        .run();
}

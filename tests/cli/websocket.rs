//! WebSocket against the demo's endpoints: failures, misbehaving servers and refused
//! handshakes, each with the exact report; `--update` and `fmt` on WebSocket steps.

use crate::servers;
use crate::support::{Test, fails};

/// A text message other than the one expected: the diff shows both.
#[test]
fn a_message_that_differs_shows_in_the_diff() {
    fails(
        servers::demo(),
        r#"
        test "echo answers something else" {
          ws {{base}}/ws/echo
          send "hello"
          expect message "goodbye"
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: echo answers something else

        error: item 1 does not match
         --> a.stream:4:18
          |
        4 |   expect message "goodbye"
          |                  ^^^^^^^^^ expected "goodbye", found "hello"
          |
          = diff of expected (-) and observed (+) items:
            - "goodbye"
            + "hello"  # [TIME]
              … (stopped reading here)

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: echo answers something else
        "#,
    );
}

/// A close frame with 4000 is not a clean `end`: the diff says what came.
#[test]
fn a_close_with_another_code_than_1000_ends_the_block_as_dropped() {
    fails(
        servers::demo(),
        r#"
        test "the server closes with another code" {
          ws {{base}}/ws/close?code=4000&reason=bye&after=1
          expect messages { { "n": 1 }; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: the server closes with another code

        error: expected a clean end, but the server closed the WebSocket with close 4000 "bye"
         --> a.stream:3:33
          |
        3 |   expect messages { { "n": 1 }; end }
          |                                 ^^^ expected a clean end
          |
          = diff of expected (-) and observed (+) items:
              { "n": 1 }  # [TIME]
            - end
            + dropped  # close 4000 "bye"

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: the server closes with another code
        "#,
    );
}

/// `expect close` with another code, and a reason that does not match.
#[test]
fn expect_close_names_the_code_and_reason_the_server_sent() {
    fails(
        servers::demo(),
        r#"
        test "another code" {
          ws {{base}}/ws/close?code=4000&reason=bye
          expect close 1000
        }

        test "another reason" {
          ws {{base}}/ws/close?code=4000&reason=bye
          expect close 4000 ~ /^see you/
        }

        test "no close frame" {
          ws {{base}}/bad/ws/cut?after=1
          expect close
        }
        "#,
        r#"
        Running 3 tests from 1 file
          FAIL [TIME] a.stream: another code

        error: expected close 1000, got close 4000 "bye"
         --> a.stream:3:16
          |
        3 |   expect close 1000
          |                ^^^^ the server closed with 4000

          FAIL [TIME] a.stream: another reason

        error: the close reason does not match: expected text matching /^see you/, found "bye"
         --> a.stream:8:23
          |
        8 |   expect close 4000 ~ /^see you/
          |                       ^^^^^^^^^^ this reason

          FAIL [TIME] a.stream: no close frame

        error: expected a close frame from the server, but the connection ended without a valid one
          --> a.stream:13:3
           |
        13 |   expect close
           |   ^^^^^^^^^^^^ expected a close frame
           |
           = note: the connection was dropped: the connection closed without a close frame

        Summary 3 tests: 0 passed, 3 failed [TIME]
          FAIL a.stream:1: another code
          FAIL a.stream:6: another reason
          FAIL a.stream:11: no close frame
        "#,
    );
}

/// A handshake answered 401 (or a plain 200): the status and the start of the body.
#[test]
fn a_refused_handshake_shows_its_status_and_body() {
    fails(
        servers::demo(),
        r#"
        test "refused without the token" {
          ws {{base}}/ws/private
          send "x"
          expect message "x"
        }

        test "not a WebSocket endpoint" {
          ws {{base}}/health
          expect status 101
        }
        "#,
        r#"
        Running 2 tests from 1 file
          FAIL [TIME] a.stream: refused without the token

        error: the server answered the WebSocket handshake with 401 Unauthorized, not 101 Switching Protocols
         --> a.stream:3:3
          |
        3 |   send "x"
          |   ^^^^^^^^ needs an open WebSocket
          |
          = note: the body began: "{\"error\":\"missing or wrong token\"}"

          FAIL [TIME] a.stream: not a WebSocket endpoint

        error: expected status 101, got 200 OK
         --> a.stream:9:17
          |
        9 |   expect status 101
          |                 ^^^ the server answered 200
          |
          = note: the body began: "ok"

        Summary 2 tests: 0 passed, 2 failed [TIME]
          FAIL a.stream:1: refused without the token
          FAIL a.stream:7: not a WebSocket endpoint
        "#,
    );
}

/// A text frame that is not UTF-8 ends the socket, saying so.
#[test]
fn invalid_utf8_in_a_text_message() {
    fails(
        servers::demo(),
        r#"
        test "invalid utf-8" {
          ws {{base}}/bad/ws/invalid-utf8
          expect messages { { "n": 1 }; "AB"; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: invalid utf-8

        error: the connection was dropped after 1 item: the server sent a text message that is not valid UTF-8
         --> a.stream:3:33
          |
        3 |   expect messages { { "n": 1 }; "AB"; end }
          |                                 ^^^^ still expected `"AB"`
          |
          = diff of expected (-) and observed (+) items:
              { "n": 1 }  # [TIME]
            - "AB"
            - end
            + dropped  # the server sent a text message that is not valid UTF-8

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: invalid utf-8
        "#,
    );
}

/// A frame announcing more than `--max-item-size` is refused from its header.
#[test]
fn a_message_over_the_maximum_item_size() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "oversized" {
              ws {{base}}/bad/ws/oversized?size=2000000
              expect messages { { "n": 1 }; binary; end }
            }
            "#,
        )
        .args(["run", "a.stream", "--max-item-size", "1MiB"])
        .var("base", servers::demo())
        .stdout(
            r#"
            Running 1 test from 1 file
             ERROR [TIME] a.stream: oversized

            error: item 2 is larger than the maximum item size of 1 MiB
             --> a.stream:3:10
              |
            3 |   expect messages { { "n": 1 }; binary; end }
              |          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ reading this `messages` stream
              |
              = help: streamspec holds one item in memory at a time; raise the limit with --max-item-size

            Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
             ERROR a.stream:1: oversized
            "#,
        )
        .status(1)
        .run();
}

/// No close frame: `dropped`, and `end` fails saying so.
#[test]
fn a_connection_cut_without_a_close_frame_is_dropped() {
    fails(
        servers::demo(),
        r#"
        test "cut" {
          ws {{base}}/bad/ws/cut?after=2
          expect messages { 2 times { { "n": integer } }; end }
        }

        test "cut, as expected" {
          ws {{base}}/bad/ws/cut?after=2
          expect messages { 2 times { { "n": integer } }; dropped }
        }
        "#,
        r#"
        Running 2 tests from 1 file
          FAIL [TIME] a.stream: cut

        error: expected a clean end, but the connection was dropped: the connection closed without a close frame
         --> a.stream:3:51
          |
        3 |   expect messages { 2 times { { "n": integer } }; end }
          |                                                   ^^^ expected a clean end
          |
          = diff of expected (-) and observed (+) items:
              { "n": 1 }  # [TIME]
              { "n": 2 }  # [TIME]
            - end
            + dropped  # the connection closed without a close frame

          PASS [TIME] a.stream: cut, as expected
        Summary 2 tests: 1 passed, 1 failed [TIME]
          FAIL a.stream:1: cut
        "#,
    );
}

/// A reserved opcode, a fragmented ping and a close code that may not be sent: the failure names the violation.
#[test]
fn protocol_violations_name_what_the_server_did() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "reserved opcode" {
              ws {{base}}/bad/ws/reserved-opcode
              expect messages { { "n": 1 }; end }
            }

            test "fragmented ping" {
              ws {{base}}/bad/ws/fragmented-ping
              expect messages { { "n": 1 }; end }
            }

            test "bad close code" {
              ws {{base}}/bad/ws/bad-close-code
              expect messages { { "n": 1 }; end }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        .stdout(
            r#"
            Running 3 tests from 1 file
              FAIL [TIME] a.stream: reserved opcode

            error: expected a clean end, but the connection was dropped: the server broke the protocol: a frame with the reserved opcode 0x3
             --> a.stream:3:33
              |
            3 |   expect messages { { "n": 1 }; end }
              |                                 ^^^ expected a clean end
              |
              = diff of expected (-) and observed (+) items:
                  { "n": 1 }  # [TIME]
                - end
                + dropped  # the server broke the protocol: a frame with the reserved opcode 0x3

              FAIL [TIME] a.stream: fragmented ping

            error: expected a clean end, but the connection was dropped: the server broke the protocol: a fragmented control frame
             --> a.stream:8:33
              |
            8 |   expect messages { { "n": 1 }; end }
              |                                 ^^^ expected a clean end
              |
              = diff of expected (-) and observed (+) items:
                  { "n": 1 }  # [TIME]
                - end
                + dropped  # the server broke the protocol: a fragmented control frame

              FAIL [TIME] a.stream: bad close code

            error: expected a clean end, but the connection was dropped: the server broke the protocol: a close frame with the code 1005, which may not be sent
              --> a.stream:13:33
               |
            13 |   expect messages { { "n": 1 }; end }
               |                                 ^^^ expected a clean end
               |
               = diff of expected (-) and observed (+) items:
                   { "n": 1 }  # [TIME]
                 - end
                 + dropped  # the server broke the protocol: a close frame with the code 1005, which may not be sent

            Summary 3 tests: 0 passed, 3 failed [TIME]
              FAIL a.stream:1: reserved opcode
              FAIL a.stream:6: fragmented ping
              FAIL a.stream:11: bad close code
            "#,
        )
        .status(1)
        .run();
}

/// A 101 with no `Sec-WebSocket-Accept`, or a wrong one.
#[test]
fn a_101_without_the_right_accept_key_fails_the_handshake() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "no accept" {
              ws {{base}}/bad/ws/no-accept
              expect status 101
            }

            test "wrong accept" {
              ws {{base}}/bad/ws/wrong-accept
              expect messages { end }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        // The key is new for each handshake, and so is the answer it needs.
        .redact(r#"is "[^"]+"; for the key sent it must be "[^"]+""#, r#"is "[WRONG]"; for the key sent it must be "[ACCEPT]""#)
        .stdout(
            r#"
            Running 2 tests from 1 file
             ERROR [TIME] a.stream: no accept

            error: the server answered 101 without a `Sec-WebSocket-Accept` header
             --> a.stream:2:6
              |
            2 |   ws {{base}}/bad/ws/no-accept
              |      ^^^^^^^^^^^^^^^^^^^^^^^^^ opening this WebSocket

             ERROR [TIME] a.stream: wrong accept

            error: the server's `Sec-WebSocket-Accept` is "[WRONG]"; for the key sent it must be "[ACCEPT]"
             --> a.stream:7:6
              |
            7 |   ws {{base}}/bad/ws/wrong-accept
              |      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^ opening this WebSocket

            Summary 2 tests: 0 passed, 0 failed, 2 errors [TIME]
             ERROR a.stream:1: no accept
             ERROR a.stream:6: wrong accept
            "#,
        )
        .status(1)
        .run();
}

/// No answer to the upgrade, or nothing after it: the timeout names what was awaited.
#[test]
fn a_server_that_never_answers_runs_into_the_timeout() {
    fails(
        servers::demo(),
        r#"
        test "silent handshake" {
          timeout 1s
          ws {{base}}/bad/ws/silent-handshake
          expect status 101
        }

        test "silent" {
          timeout 1s
          ws {{base}}/bad/ws/silent
          expect messages { { "n": 1 } }
        }
        "#,
        r#"
        Running 2 tests from 1 file
         ERROR [TIME] a.stream: silent handshake

        error: the test timed out after 1s waiting for the answer to the upgrade request
         --> a.stream:3:6
          |
        3 |   ws {{base}}/bad/ws/silent-handshake
          |      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ opening this WebSocket

         ERROR [TIME] a.stream: silent

        error: the test timed out after 1s and 0 items (waiting for `{ "n": 1 }`)
          --> a.stream:10:10
           |
        10 |   expect messages { { "n": 1 } }
           |          ^^^^^^^^^^^^^^^^^^^^^^^ while reading this stream
           |
           = note: the stream neither sent a matching item nor ended; raise the limit with `timeout` in the test or `--timeout`
           = diff of expected (-) and observed (+) items:
             - { "n": 1 }
               … (stopped reading here)

        Summary 2 tests: 0 passed, 0 failed, 2 errors [TIME]
         ERROR a.stream:1: silent handshake
         ERROR a.stream:7: silent
        "#,
    );
}

/// A block that expects pings from a server that sends none.
#[test]
fn pings_a_block_asks_for_must_come() {
    fails(
        servers::demo(),
        r#"
        test "pings asked for, none come" {
          ws {{base}}/ws/ticker?count=2&interval=10ms
          expect messages { ping; { "n": 1 }; ping; { "n": 2 }; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: pings asked for, none come

        error: item 1 does not match
         --> a.stream:3:21
          |
        3 |   expect messages { ping; { "n": 1 }; ping; { "n": 2 }; end }
          |                     ^^^^ expected a ping, found a text message
          |
          = diff of expected (-) and observed (+) items:
            - ping
            + { "n": 1 }  # [TIME]
            - { "n": 1 }
            - ping
              { "n": 2 }  # [TIME]
              end  # close 1000 "done"

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: pings asked for, none come
        "#,
    );
}

/// `--update` records a WebSocket's messages (JSON bare, binary in hex, pongs), its close code,
/// and the handshake's status; the result is formatted and passes.
#[test]
fn update_records_messages_and_the_close() {
    crate::update::round_trip(
        r#"
        test "ticker" {
          ws {{base}}/ws/ticker?count=3&interval=1ms
          expect status 200
          expect messages { }
          expect close 1001
        }

        test "echo" {
          ws {{base}}/ws/echo
          send binary hex "0a0b"
          expect message binary hex "ffff"
          send ping "hi"
          expect message pong "ho"
          send "plain text"
          expect message "other text"
        }
        "#,
        r#"
        test "ticker" {
          ws {{base}}/ws/ticker?count=3&interval=1ms
          expect status 101
          expect messages {
            { "n": 1 }
            { "n": 2 }
            { "n": 3 }
            end
          }
          expect close 1000
        }

        test "echo" {
          ws {{base}}/ws/echo
          send binary hex "0a0b"
          expect message binary hex "0a0b"
          send ping "hi"
          expect message pong "hi"
          send "plain text"
          expect message "plain text"
        }
        "#,
        ("base", servers::demo()),
    );
}

/// `fmt` lays out every WebSocket construct in its canonical form, keeping how bytes were
/// written (hex or base64).
#[test]
fn fmt_lays_out_websocket_steps_and_patterns() {
    let output = Test::new()
        .spec(
            "a.stream",
            r#"
            test "all of it" {
              ws   {{base}}/ws/chat
              protocol   a,b ,  c
              insecure
              send    { "type" :"hi" }
              send json   "q"
              send binary   base64 "AQI="
              send ping
              expect messages {
                binary   hex "0102"   size 2
                pong  /p/
                { "a": 1 }    within 1s
                json   _   $.n > 5
                text   /^h/   size 5
                close   4000   "bye"
                end
              }
              expect close 4000|4001   ~ /bye/
            }
            "#,
        )
        .args(["fmt", "a.stream"])
        .stdout("formatted a.stream")
        .run();
    let formatted = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("a.stream");
    assert_eq!(
        formatted,
        crate::support::unindent(
            r#"
            test "all of it" {
              ws {{base}}/ws/chat
              protocol a, b, c
              insecure
              send { "type": "hi" }
              send json "q"
              send binary base64 "AQI="
              send ping
              expect messages {
                binary hex "0102"  size 2
                pong /p/
                { "a": 1 }  within 1s
                json _  $.n > 5
                text /^h/  size 5
                close 4000 "bye"
                end
              }
              expect close 4000 | 4001 ~ /bye/
            }
            "#
        )
    );
}

/// `text _` is any text message, never a binary one.
#[test]
fn text_matches_text_messages_only() {
    fails(
        servers::demo(),
        r#"
        test "a binary message where text is expected" {
          ws {{base}}/ws/echo
          send binary hex "01"
          expect message text _
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: a binary message where text is expected

        error: item 1 does not match
         --> a.stream:4:18
          |
        4 |   expect message text _
          |                  ^^^^^^ expected a text message, found a binary message of 1 byte
          |
          = diff of expected (-) and observed (+) items:
            - text _
            + binary hex "01"  # [TIME]
              … (stopped reading here)

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: a binary message where text is expected
        "#,
    );
}

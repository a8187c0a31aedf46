//! Check errors of WebSocket steps: what fits a `ws` exchange and what is for HTTP or gRPC.

use crate::support::check_fails;

/// A close code outside the ranges a client may send, one in `expect close` a frame cannot
/// carry, a reason over 123 bytes, and `send` after `close`.
#[test]
fn close_codes_must_be_valid_and_nothing_is_sent_after_close() {
    check_fails(
        r#"
        test "a" {
          ws ws://example.invalid/chat
          send "hi"
          close 1005
          send "late"
          expect close 999 | 1000
        }
        test "b" {
          ws ws://example.invalid/chat
          close 4000 "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr"
        }
        "#,
        r#"
        error: 1005 is not a close code a client may send
         --> a.stream:4:9
          |
        4 |   close 1005
          |         ^^^^ not a valid close code
          |
          = help: the codes are 1000–1003, 1007–1014 and 3000–4999 (1000 is a normal close; 4000–4999 are for applications)

        error: `send` after the WebSocket's close frame was sent
         --> a.stream:5:3
          |
        5 |   send "late"
          |   ^^^^^^^^^^^ `close` on line 4 sent it

        error: 999 is not a code a close frame can carry
         --> a.stream:6:16
          |
        6 |   expect close 999 | 1000
          |                ^^^ not a valid close code
          |
          = help: the codes are 1000–1003, 1007–1014 and 3000–4999, and 1005 for a close frame without a code; no close frame at all is `dropped`

        error: a close reason may take at most 123 bytes
          --> a.stream:10:14
           |
        10 |   close 4000 "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr"
           |              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ 124 bytes

        4 errors
        "#,
    );
}

/// WebSocket steps on an HTTP request or a gRPC call, and HTTP and gRPC steps on a WebSocket.
#[test]
fn websocket_steps_fit_only_websockets_and_the_others_do_not_fit_them() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          protocol chat.v1
          expect close 1000
        }
        test "b" {
          grpc http://example.invalid stock.StockService/TradeChat
          send binary hex "0102"
          close 1000
        }
        test "c" {
          ws ws://example.invalid/chat
          protocol a, b, a
          body text "x"
          expect sse { data: _ }
          expect status OK
        }
        "#,
        r#"
        error: `protocol` is for WebSocket requests
         --> a.stream:3:3
          |
        3 |   protocol chat.v1
          |   ^^^^^^^^^^^^^^^^ the exchange before it is not a `ws` request

        error: `expect close` is for WebSockets
         --> a.stream:4:3
          |
        4 |   expect close 1000
          |   ^^^^^^^^^^^^^^^^^ the exchange before it is not a `ws` request

        error: this `send` is for WebSockets, and this is a gRPC call
         --> a.stream:8:3
          |
        8 |   send binary hex "0102"
          |   ^^^^^^^^^^^^^^^^^^^^^^ a gRPC call sends messages as `send { … }` or `send file "…"`

        error: a close code is for WebSockets, and this is a gRPC call
         --> a.stream:9:3
          |
        9 |   close 1000
          |   ^^^^^^^^^^ a gRPC call's `close` half-closes its request stream, with no code

        error: the subprotocol `a` is asked for twice
          --> a.stream:13:18
           |
        13 |   protocol a, b, a
           |                  ^ already in the list

        error: `body` is for HTTP requests, and this is a WebSocket
          --> a.stream:14:3
           |
        14 |   body text "x"
           |   ^^^^^^^^^^^^^ a WebSocket sends messages with `send`

        error: this block does not fit a WebSocket
          --> a.stream:15:3
           |
        15 |   expect sse { data: _ }
           |   ^^^^^^^^^^^^^^^^^^^^^^ a WebSocket's messages are read with `expect messages { … }`

        error: a named status does not fit a WebSocket
          --> a.stream:16:3
           |
        16 |   expect status OK
           |   ^^^^^^^^^^^^^^^^ a WebSocket's handshake has a number: `expect status 101`

        8 errors
        "#,
    );
}

/// Bad bytes in a binary pattern, a ping or pong with more than its payload, a message matched
/// as text and as JSON at once, and text matchers on a binary message.
#[test]
fn message_patterns_say_what_does_not_fit() {
    check_fails(
        r#"
        test "a" {
          ws ws://example.invalid/chat
          expect messages {
            binary hex "0g"
            binary base64 "!!"
            pong "p" size 3
            "text" { "a": 1 }
            binary contains "x"
          }
          send text { "a": 1 }
        }
        "#,
        r#"
        error: `0g` is not a hex byte
         --> a.stream:4:16
          |
        4 |     binary hex "0g"
          |                ^^^^ not valid here

        error: `!` is not base64 (character 1 of the text)
         --> a.stream:5:19
          |
        5 |     binary base64 "!!"
          |                   ^^^^ not valid here

        error: a ping or pong is matched by its payload alone
         --> a.stream:6:14
          |
        6 |     pong "p" size 3
          |              ^^^^^^ does not fit a control frame

        error: a message is matched as text or as JSON, not both
         --> a.stream:7:5
          |
        7 |     "text" { "a": 1 }
          |     ^^^^^^^^^^^^^^^^^ text and JSON on one line
          |
          = help: match the message as text (`"…"`, `/regex/`, `contains`) or as JSON (`{ … }`, `json …`, `$.path` checks)

        error: a binary message is matched by its bytes (`hex`, `base64`) and `size`
         --> a.stream:8:12
          |
        8 |     binary contains "x"
          |            ^^^^^^^^^^^^ does not fit a binary message

        error: `send text` takes a string
          --> a.stream:10:13
           |
        10 |   send text { "a": 1 }
           |             ^^^^^^^^^^ not a string

        6 errors
        "#,
    );
}

/// `send` before any `ws` or `grpc`, and payloads a `send` writes out that could never be sent:
/// bad hex or base64, a ping over 125 bytes.
#[test]
fn sends_need_a_socket_and_payloads_that_can_be_sent() {
    check_fails(
        r#"
        test "a" {
          send "x"
          ws ws://example.invalid/echo
          send binary hex "abc"
          send binary base64 "@@@"
          send ping "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
        }
        "#,
        r#"
        error: `send` is for WebSockets and gRPC calls
         --> a.stream:2:3
          |
        2 |   send "x"
          |   ^^^^^^^^ no `ws` request or `grpc` call before it
          |
          = help: open a WebSocket first (`ws ws://host/path`), or start a call (`grpc http://host:port package.Service/Method`); an HTTP request sends its `body` at once

        error: hex needs two digits for each byte
         --> a.stream:4:19
          |
        4 |   send binary hex "abc"
          |                   ^^^^^ not valid here

        error: `@` is not base64 (character 1 of the text)
         --> a.stream:5:22
          |
        5 |   send binary base64 "@@@"
          |                      ^^^^^ not valid here

        error: a ping's payload may take at most 125 bytes
         --> a.stream:6:13
          |
        6 |   send ping "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
          |             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ 126 bytes

        4 errors
        "#,
    );
}

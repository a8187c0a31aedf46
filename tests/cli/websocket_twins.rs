//! The failing twins of specs/ws/: the demo's chat room, GraphQL and JSON-RPC endpoints, its
//! subprotocols and its slow producer, each with the exact report.

use crate::servers;
use crate::support::{Test, fails};

/// Chat: a member expecting the writer's messages in another order fails, naming its branch.
#[test]
fn a_member_that_expects_another_order_fails_in_its_branch() {
    fails(
        servers::demo(),
        r#"
        test "members and a writer" {
          parallel {
            branch member {
              ws {{base}}/ws/chat/{{test_id}}?user=member as room
              expect message { "type": "welcome" }
              barrier joined
              expect messages from room {
                ignore { "type": "join" }
                { "type": "message", "text": "two" }
                { "type": "message", "text": "one" }
              }
            }
            branch writer {
              barrier joined
              ws {{base}}/ws/chat/{{test_id}}?user=writer
              expect message { "type": "welcome" }
              send { "text": "one" }
              send { "text": "two" }
            }
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: members and a writer

        error: branch member: item 1 does not match
         --> a.stream:9:9
          |
        9 |         { "type": "message", "text": "two" }
          |         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `.text`: expected "two", found "one"
          |
          = note: 2 items were left out by `ignore` in this block
          = diff of expected (-) and observed (+) items:
            - { "type": "message", "text": "two" }
            + { "type": "message", "user": "writer", "text": "one", "seq": 3 }  # [TIME]
            - { "type": "message", "text": "one" }
            + { "type": "message", "user": "writer", "text": "two", "seq": 4 }  # [TIME]
              … (stopped reading here)

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: members and a writer
        "#,
    );
}

/// GraphQL: a countdown that does not start where the spec says.
#[test]
fn a_subscription_that_counts_differently() {
    fails(
        servers::demo(),
        r#"
        test "countdown" {
          ws {{base}}/ws/graphql
          protocol graphql-transport-ws
          send { "type": "connection_init" }
          expect message { "type": "connection_ack" }
          send { "id": "1", "type": "subscribe", "payload": { "query": "subscription { countdown(from: 2) }" } }
          expect messages {
            { "type": "next", "payload": { "data": { "countdown": 3 } } }
            { "type": "complete" }
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: countdown

        error: item 1 does not match
         --> a.stream:8:5
          |
        8 |     { "type": "next", "payload": { "data": { "countdown": 3 } } }
          |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `.payload.data.countdown`: expected 3, found 2
          |
          = diff of expected (-) and observed (+) items:
            - { "type": "next", "payload": { "data": { "countdown": 3 } } }
            + { "id": "1", "type": "next", "payload": { "data": { "countdown": 2 } } }  # [TIME]
            - { "type": "complete" }
            + { "id": "1", "type": "next", "payload": { "data": { "countdown": 1 } } }  # [TIME]
              … (stopped reading here)

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: countdown
        "#,
    );
}

/// JSON-RPC: a result other than the one expected, the request paired by id.
#[test]
fn a_json_rpc_result_that_differs() {
    fails(
        servers::demo(),
        r#"
        test "add" {
          ws {{base}}/ws/jsonrpc
          send { "jsonrpc": "2.0", "id": 1, "method": "add", "params": [2, 3] }
          expect message { "id": 1, "result": 6 }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: add

        error: item 1 does not match
         --> a.stream:4:18
          |
        4 |   expect message { "id": 1, "result": 6 }
          |                  ^^^^^^^^^^^^^^^^^^^^^^^^ at `.result`: expected 6, found 5
          |
          = diff of expected (-) and observed (+) items:
            - { "id": 1, "result": 6 }
            + { "jsonrpc": "2.0", "result": 5, "id": 1 }  # [TIME]
              … (stopped reading here)

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: add
        "#,
    );
}

/// The handshake: a subprotocol asked for that the server does not know, and a close reason that differs.
#[test]
fn a_subprotocol_the_server_did_not_choose() {
    fails(
        servers::demo(),
        r#"
        test "protocol" {
          ws {{base}}/ws/echo
          protocol chat.v9
          expect header sec-websocket-protocol == chat.v9
        }

        test "ticker" {
          ws {{base}}/ws/ticker?count=1&interval=1ms
          expect messages { { "n": 1 }; end }
          expect close 1000 "finished"
        }
        "#,
        r#"
        Running 2 tests from 1 file
          FAIL [TIME] a.stream: protocol

        error: header `sec-websocket-protocol` does not match
         --> a.stream:4:3
          |
        4 |   expect header sec-websocket-protocol == chat.v9
          |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ expected == "chat.v9", found no such header

          FAIL [TIME] a.stream: ticker

        error: the close reason does not match: expected "finished", found "done"
          --> a.stream:10:21
           |
        10 |   expect close 1000 "finished"
           |                     ^^^^^^^^^^ this reason

        Summary 2 tests: 0 passed, 2 failed [TIME]
          FAIL a.stream:1: protocol
          FAIL a.stream:7: ticker
        "#,
    );
}

/// The slow consumer source: more messages than the block says before the end.
#[test]
fn a_fast_producer_sends_more_than_expected() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "slow" {
              ws {{base}}/ws/slow?count=3&size=10
              expect messages {
                pace 1ms
                2 times { { "seq": integer } }
                end
              }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        // How long the server waited on the socket depends on the machine's load.
        .redact(r#""blocked_ms": \d+"#, r#""blocked_ms": [MS]"#)
        .stdout(
            r#"
            Running 1 test from 1 file
              FAIL [TIME] a.stream: slow

            error: expected the stream to end, but item 3 arrived
             --> a.stream:6:5
              |
            6 |     end
              |     ^^^ expected the stream to end here
              |
              = diff of expected (-) and observed (+) items:
                  { "seq": 1, "pad": "" }  # [TIME]
                  { "seq": 2, "pad": "" }  # [TIME]
                + { "seq": 3, "pad": "" }  # [TIME]
                + { "done": true, "blocked_ms": [MS] }  # [TIME]
                  end  # close 1000

            Summary 1 test: 0 passed, 1 failed [TIME]
              FAIL a.stream:1: slow
            "#,
        )
        .status(1)
        .run();
}

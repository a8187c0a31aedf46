//! What a call gets of its schema: the types its method reaches (so a large schema costs
//! little), and every type when its replies may hold an `Any`.

use crate::grpc_servers;
use crate::support::Test;

#[test]
fn an_any_in_a_reply_is_read_with_a_type_only_the_any_names() {
    Test::new()
        .file("anys.proto", grpc_servers::ANYS_PROTO)
        .spec(
            "a.stream",
            r#"
            test "an envelope" {
              grpc {{grpc}} anys.Anys/Open
              proto "anys.proto"
              expect message {
                "payload": { "@type": "type.googleapis.com/anys.Elsewhere", "inner": { "where": "here" } }
              }
              expect status OK
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("grpc", grpc_servers::any_reply())
        .stdout(
            r#"
            Running 1 test from 1 file
              PASS [TIME] a.stream: an envelope
            Summary 1 test: 1 passed, 0 failed [TIME]
            "#,
        )
        .run();
}

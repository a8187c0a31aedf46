//! Settings of a load that cannot work, refused before the load starts: a `--tokens` capture no
//! test makes.

use super::COUNTS;
use crate::servers;
use crate::support::Test;

const CHAT: &str = r#"
test "chat" {
  POST {{base}}/v1/chat/completions
  body json { "model": "m", "stream": true, "messages": [] }
  expect sse {
    8 times { data: json { "choices": [{ "delta": { "content": string -> token } }] } }
    data: json { "choices": [{ "finish_reason": "stop" }] }
    data: "[DONE]"
    end
  }
}
"#;

#[test]
fn tokens_from_a_capture_no_test_makes_are_refused_before_the_load() {
    Test::new()
        .spec("chat.stream", CHAT)
        .var("base", servers::demo())
        .args(["load", "chat.stream", "--users", "1", "--iterations", "1"])
        .args(["--tokens", "tokn"])
        .stderr("error: --tokens tokn: none of the load's tests captures `tokn`; did you mean `token`?\n")
        .status(2)
        .run();
    Test::new()
        .spec("counts.stream", COUNTS)
        .var("base", servers::demo())
        .config(
            r#"
            [load]
            users = 1
            iterations = 1
            tokens = "token"
            "#,
        )
        .args(["load", "."])
        .stderr(
            "error: `tokens = \"token\"`: none of the load's tests captures `token` (tokens are counted from a capture such as `-> token`)
 --> ./streamspec.toml:4:10
  |
4 | tokens = \"token\"
  |          ^^^^^^^ no test captures this

",
        )
        .status(2)
        .run();
}

//! `--update` never writes a secret into a spec: not when a server sends it split across
//! events too short to hold its start or end (an LLM streaming a key token by token, as text or
//! in JSON), and not when it comes escaped (PHP's `\/`) so that the spec's text holds it only
//! once its escapes are read. Such a fix is refused, saying why without the secret; the others
//! are written; the run fails. The reports mask each event that holds part of the secret.

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use std::sync::OnceLock;

use crate::secrets::everything_shown;
use crate::support::Test;

/// 46 characters; the first and last 5 come in events of their own.
const SECRET: &str = "sk-live/Q7fR2xW9mK4tZ8pL1vB6nJ3hD5cY0gAeUoTiSs";

/// The server of this file, started once.
fn echo() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        crate::servers::serve(
            Router::new()
                .route("/split/{kind}", post(split))
                .route("/php", post(php)),
        )
    })
}

/// `POST /split/{kind}`: the request body in 3 SSE events (its first 5 characters, the middle,
/// its last 5), each a text (`text`) or a chat completion chunk (`llm`).
async fn split(Path(kind): Path<String>, body: String) -> impl IntoResponse {
    let chars: Vec<char> = body.chars().collect();
    let cut = chars.len().saturating_sub(5);
    let parts: Vec<String> = [&chars[..5.min(cut)], &chars[5.min(cut)..cut], &chars[cut..]]
        .iter()
        .map(|part| part.iter().collect())
        .collect();
    let mut stream = String::new();
    for part in parts {
        let data = match kind.as_str() {
            "llm" => {
                serde_json::json!({ "choices": [{ "delta": { "content": part } }] }).to_string()
            }
            _ => part,
        };
        stream.push_str(&format!("data: {data}\n\n"));
    }
    ([(header::CONTENT_TYPE, "text/event-stream")], stream)
}

/// `POST /php`: the request body in a JSON object, as PHP's `json_encode` writes it (`/` as `\/`).
async fn php(body: String) -> impl IntoResponse {
    let escaped = serde_json::Value::from(body)
        .to_string()
        .replace('/', "\\/");
    (
        [(header::CONTENT_TYPE, "text/plain")],
        format!(r#"{{"token": {escaped}}}"#),
    )
}

const SPEC: &str = r#"
    test "a secret in three events" {
      POST {{echo}}/split/text
      body text "{{token}}"
      expect sse {
        data: "nope"
        end
      }
    }

    test "a secret in three chat tokens" {
      POST {{echo}}/split/llm
      body text "{{token}}"
      expect sse {
        data: json { "choices": [{ "delta": { "content": "nope" } }] }
        end
      }
    }

    test "a secret escaped by PHP" {
      POST {{echo}}/php
      body text "{{token}}"
      expect text "nope"
    }

    test "no secret" {
      POST {{echo}}/split/text
      body text "hello, world"
      expect sse {
        data: "nope"
        end
      }
    }
"#;

#[test]
fn update_writes_no_secret_split_across_events_or_escaped() {
    let secret = format!("token={SECRET}");
    let output = Test::new()
        .spec("a.stream", SPEC)
        .args(["run", "a.stream", "--update=in-place", "--secret", &secret])
        .var("echo", echo())
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    let spec = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    let chars: Vec<char> = SECRET.chars().collect();
    for window in chars.windows(6) {
        let part: String = window.iter().collect();
        assert!(!spec.contains(&part), "`{part}` was written:\n{spec}");
    }
    // The test without a secret was updated; the others were left as they were.
    assert!(spec.contains(r#"data: "world""#), "{spec}");
    assert_eq!(spec.matches(r#""nope""#).count(), 3, "{spec}");
    let why = "what was observed holds a secret's value, which --update does not write into a \
               spec; update it by hand";
    let refused = output
        .stdout
        .lines()
        .filter(|line| line.starts_with("not updated: a.stream:") && line.ends_with(why))
        .count();
    assert_eq!(refused, 3, "{}", output.stdout);
    // Nor is it shown: each event that holds part of it is masked.
    for (name, text) in everything_shown(&output, &["a.stream"]) {
        for window in chars.windows(6) {
            let part: String = window.iter().collect();
            assert!(!text.contains(&part), "`{part}` shows in {name}:\n{text}");
        }
    }
}

//! A load's time to first token and inter-token latency with `--tokens`: timed by the items that
//! took a token, not by every item. An OpenAI-style stream opens with a chunk that carries the
//! role only, and closes with the finish reason and `[DONE]`: timed by its items, the time to
//! first token was the role's (a model that thought for a second passed `p99 ttft < 500ms`) and
//! one gap in ten was the near-zero one before `[DONE]`.

use crate::servers;
use crate::support::Test;

/// The demo's chat reply: the role at once, the first of 8 tokens 600ms later, then one every
/// 20ms, the finish reason and `[DONE]`.
const THINKING: &str = r#"
test "chat" {
  POST {{base}}/v1/chat/completions?interval=20ms
  header x-test-pattern: role:600ms
  body json { "stream": true, "messages": [] }
  expect sse {
    $.choices[0].delta.role == "assistant"
    8 times { $.choices[0].delta.content == string -> token }
    $.choices[0].finish_reason == "stop"
    data: "[DONE]"
    end
  }
}
"#;

fn report(output: &crate::support::Output) -> serde_json::Value {
    serde_json::from_str(&output.stdout).expect("a JSON report")
}

#[test]
fn the_time_to_first_token_and_the_gaps_between_tokens_are_the_tokens() {
    let output = Test::new()
        .spec("chat.stream", THINKING)
        .var("base", servers::demo())
        .args(["load", "chat.stream", "--users", "2", "--iterations", "4"])
        .args(["--tokens", "token", "--format", "json"])
        .args(["--threshold", "p99 ttft < 500ms"])
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    let report = report(&output);
    let metrics = &report["total"]["metrics"];
    let ms = |metric: &str, stat: &str| metrics[metric][stat].as_f64().expect(metric);
    // The role came at once; the first token 600ms later.
    assert!(ms("first_item", "max") < 500.0, "{metrics}");
    assert!(ms("first_token", "min") >= 600.0, "{metrics}");
    // The seven gaps between the 8 tokens of each stream (20ms apart as sent; two read
    // together on a busy machine are less): none of the near-zero ones before `[DONE]`, nor
    // the 600ms after the role.
    assert_eq!(metrics["token_gap"]["count"], 4 * 7, "{metrics}");
    assert!(ms("token_gap", "max") < 500.0, "{metrics}");
    // 8 tokens over the ~160ms from the first token to the end, not the ~760ms from the role.
    assert!(ms("tokens_per_second", "min") > 20.0, "{metrics}");
    let verdict = &report["thresholds"][0];
    assert_eq!(verdict["threshold"], "p99 ttft < 500ms");
    assert_eq!(verdict["passed"], false, "{verdict}");
}

#[test]
fn without_tokens_counted_every_item_is_a_token() {
    let output = Test::new()
        .spec("chat.stream", THINKING)
        .var("base", servers::demo())
        .args(["load", "chat.stream", "--users", "1", "--iterations", "1"])
        .args(["--format", "json", "--threshold", "p99 ttft < 500ms"])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    assert_eq!(
        output.stderr,
        "warning: `p99 ttft < 500ms`: without --tokens every item counts as a token, so it measures `first item` (an OpenAI-style stream's first chunk carries only the role); name the capture that takes each token with --tokens NAME\n"
    );
    let report = report(&output);
    // No rows of their own: they would repeat `first item` and `gap`.
    assert!(report["total"]["metrics"].get("first_token").is_none());
    assert_eq!(report["thresholds"][0]["passed"], true);
}

#[test]
fn the_empty_content_of_the_role_chunk_is_no_token() {
    // Written as specs often are: one repetition takes every chunk's content, the role
    // chunk's `""` too.
    let spec = THINKING.replace(
        "    $.choices[0].delta.role == \"assistant\"\n    8 times {",
        "    9 times {",
    );
    let output = Test::new()
        .spec("chat.stream", &spec)
        .var("base", servers::demo())
        .args(["load", "chat.stream", "--users", "1", "--iterations", "2"])
        .args(["--tokens", "token", "--format", "json"])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let metrics = &report(&output)["total"]["metrics"];
    assert_eq!(metrics["tokens"]["max"].as_f64(), Some(8.0), "{metrics}");
    assert!(
        metrics["first_token"]["min"].as_f64() >= Some(600.0),
        "{metrics}"
    );
    assert_eq!(metrics["token_gap"]["count"], 2 * 7, "{metrics}");
}

#[test]
fn a_first_token_that_never_came_counts_the_time_waited_for_it() {
    // The first token comes 600ms after the role; the spec gives it 300ms.
    let spec = THINKING.replace(
        "    8 times { $.choices[0].delta.content == string -> token }",
        "    $.choices[0].delta.content == string -> token  within 300ms\n    7 times { $.choices[0].delta.content == string -> token }",
    );
    let output = Test::new()
        .spec("chat.stream", &spec)
        .var("base", servers::demo())
        .args(["load", "chat.stream", "--users", "1", "--iterations", "2"])
        .args(["--tokens", "token", "--format", "json"])
        .args([
            "--threshold",
            "p99 ttft < 100ms",
            "--threshold",
            "failures <= 100%",
        ])
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    let report = report(&output);
    let metrics = &report["total"]["metrics"];
    // Not the role chunk's time: the wait, a lower bound of the first token's.
    assert_eq!(metrics["first_token"]["count"], 2, "{metrics}");
    assert!(
        metrics["first_token"]["min"].as_f64() >= Some(300.0),
        "{metrics}"
    );
    assert_eq!(report["thresholds"][0]["passed"], false, "{report}");
}

#[test]
fn numbers_taken_one_per_item_are_tokens_and_one_number_alone_is_a_count() {
    let load = |block: &str| {
        let spec = format!(
            "test \"ids\" {{\n  GET {{{{base}}}}/sse/ticker?count=5&interval=10ms\n  expect sse {{\n    {block}\n    end\n  }}\n}}\n"
        );
        let output = Test::new()
            .spec("ids.stream", &spec)
            .var("base", servers::demo())
            .args(["load", "ids.stream", "--users", "1", "--iterations", "2"])
            .args(["--tokens", "token", "--format", "json"])
            .run_unchecked();
        assert_eq!(output.status, Some(0), "{}", output.stderr);
        report(&output)["total"]["metrics"].clone()
    };
    // Token ids, one per event.
    let ids = load("5 times { data: json { \"count\": integer -> token } }");
    assert_eq!(ids["tokens"]["max"].as_f64(), Some(5.0), "{ids}");
    assert_eq!(ids["token_gap"]["count"], 2 * 4, "{ids}");
    // One number: a count (the ticker's last count is 5), and the items stand for the tokens.
    let count = load("4 times { data: _ }\n    data: json { \"count\": integer -> token }");
    assert_eq!(count["tokens"]["max"].as_f64(), Some(5.0), "{count}");
    assert_eq!(count["first_token"]["count"], 2, "{count}");
    assert_eq!(
        count["first_token"]["max"], count["first_item"]["max"],
        "{count}"
    );
}

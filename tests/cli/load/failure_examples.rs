//! The summary of a load shows the first example of each of the most frequent failures, not of
//! the most frequent alone, and says where the others' are.

use axum::Router;
use axum::extract::Query;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::servers;
use crate::support::Test;

#[derive(serde::Deserialize)]
struct Events {
    n: u32,
}

/// `GET /events?n=N`: the SSE events `data: 1` to `data: N`, then the end.
fn events_server() -> String {
    async fn events(Query(Events { n }): Query<Events>) -> impl IntoResponse {
        let body: String = (1..=n).map(|k| format!("data: {k}\n\n")).collect();
        ([(header::CONTENT_TYPE, "text/event-stream")], body)
    }
    servers::serve(Router::new().route("/events", get(events)))
}

/// Iteration N reads N events: the first three iterations each fail at another line (5, 6 and
/// 7: the stream ended early), the fourth passes, and every later one fails at line 8 (an event
/// where the end should be).
const COUNTED: &str = r#"
test "counted" {
  GET {{base}}/events?n={{iteration}}
  expect sse {
    data: "1"
    data: "2"
    data: "3"
    data: "4"
    end
  }
}
"#;

fn load(iterations: &str) -> Test {
    Test::new()
        .spec("counted.stream", COUNTED)
        .var("base", events_server())
        .args(["load", "counted.stream", "--users", "1"])
        .args(["--iterations", iterations])
        .redact(r"(?s)\A.*?\nfailures, by", "[...]\nfailures, by")
        .redact(r"(?s)\nload generator: .*\z", "\n[...]\n")
        .kill_after(std::time::Duration::from_secs(60))
        .status(1)
}

#[test]
fn the_first_example_of_each_of_the_three_most_frequent_failures_is_shown() {
    load("6")
        .stdout(
            r#"[...]
failures, by the spec line that failed
  2× counted.stream:8:5: expected the stream to end, but item 5 arrived
  1× counted.stream:5:5: the stream ended after 1 item
  1× counted.stream:6:5: the stream ended after 2 items
  1× counted.stream:7:5: the stream ended after 3 items

the first of each of the 3 most frequent, as `streamspec run` shows it:
  error: expected the stream to end, but item 5 arrived
   --> counted.stream:8:5
    |
  8 |     end
    |     ^^^ expected the stream to end here
    |
    = diff of expected (-) and observed (+) items:
        … 1 item earlier
        data: "2"  # [TIME]
        data: "3"  # [TIME]
        data: "4"  # [TIME]
      + data: "5"  # [TIME]
        end

  error: the stream ended after 1 item
   --> counted.stream:5:5
    |
  5 |     data: "2"
    |     ^^^^^^^^^ still expected `data: "2"`
    |
    = diff of expected (-) and observed (+) items:
        data: "1"  # [TIME]
      - data: "2"
      - data: "3"
      - data: "4"
        end

  error: the stream ended after 2 items
   --> counted.stream:6:5
    |
  6 |     data: "3"
    |     ^^^^^^^^^ still expected `data: "3"`
    |
    = diff of expected (-) and observed (+) items:
        data: "1"  # [TIME]
        data: "2"  # [TIME]
      - data: "3"
      - data: "4"
        end

the first of the other one: in the JSON report (`--report-json FILE`)

[...]
"#,
        )
        .run();
}

#[test]
fn with_three_failures_or_fewer_each_one_s_first_example_is_shown() {
    load("2")
        .stdout(
            r#"[...]
failures, by the spec line that failed
  1× counted.stream:5:5: the stream ended after 1 item
  1× counted.stream:6:5: the stream ended after 2 items

the first of each, as `streamspec run` shows it:
  error: the stream ended after 1 item
   --> counted.stream:5:5
    |
  5 |     data: "2"
    |     ^^^^^^^^^ still expected `data: "2"`
    |
    = diff of expected (-) and observed (+) items:
        data: "1"  # [TIME]
      - data: "2"
      - data: "3"
      - data: "4"
        end

  error: the stream ended after 2 items
   --> counted.stream:6:5
    |
  6 |     data: "3"
    |     ^^^^^^^^^ still expected `data: "3"`
    |
    = diff of expected (-) and observed (+) items:
        data: "1"  # [TIME]
        data: "2"  # [TIME]
      - data: "3"
      - data: "4"
        end

[...]
"#,
        )
        .run();
}

//! The counters (scenario 22): ten simultaneous increments count ten, and the unsafe twin never
//! counts more than it was asked to.

use futures_util::future::join_all;
use serde_json::json;

use super::events::{get_json, get_text, post_text};
use super::start;

/// Sends ten increments at once to `url` and returns the values they answered, sorted.
async fn ten_at_once(url: &str) -> Vec<u64> {
    let answers = join_all((0..10).map(|_| post_text(url.to_owned(), ""))).await;
    let mut values: Vec<u64> = answers
        .into_iter()
        .map(|(status, body)| {
            assert_eq!(status, 200, "{body}");
            let json: serde_json::Value = serde_json::from_str(&body).unwrap();
            json["value"].as_u64().unwrap()
        })
        .collect();
    values.sort_unstable();
    values
}

#[tokio::test]
async fn ten_simultaneous_increments_count_ten() {
    let base = start().await;
    assert_eq!(
        get_json(format!("{base}/counters/race")).await,
        (200, json!({"value": 0}))
    );
    let values = ten_at_once(&format!("{base}/counters/race/increment")).await;
    assert_eq!(values, (1..=10).collect::<Vec<_>>());
    assert_eq!(
        get_json(format!("{base}/counters/race")).await,
        (200, json!({"value": 10}))
    );
    // Counters are independent.
    assert_eq!(
        get_json(format!("{base}/counters/other")).await.1["value"],
        0
    );
}

#[tokio::test]
async fn unsafe_increments_never_count_more_than_asked() {
    let base = start().await;
    ten_at_once(&format!("{base}/counters/loose/increment?unsafe=1")).await;
    let (_, value) = get_json(format!("{base}/counters/loose")).await;
    let value = value["value"].as_u64().unwrap();
    assert!((1..=10).contains(&value), "{value}");
}

#[tokio::test]
async fn bad_counter_requests_are_refused_with_a_reason() {
    let base = start().await;
    assert_eq!(
        post_text(format!("{base}/counters/a%20b/increment"), "").await,
        (
            400,
            "bad name `a b`: a name is 1 to 128 of A-Z, a-z, 0-9, `.`, `_` and `-`\n".to_owned()
        )
    );
    assert_eq!(
        post_text(format!("{base}/counters/c/increment?unsafe=maybe"), "").await,
        (
            400,
            "bad query parameter `unsafe`: expected 1 or 0, got `maybe`\n".to_owned()
        )
    );
    assert_eq!(get_text(format!("{base}/counters/c?x=1"), &[]).await.0, 400);
}

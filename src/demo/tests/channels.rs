//! The pub/sub channels (scenarios 19 and 21): publish while subscribed, resume with nothing lost,
//! gaps, broadcast order, the channel's state, refusals and limits.

use serde_json::json;

use std::sync::Arc;

use super::events::{Event, Events, get_json, get_text, post_text, start_with, wait_for_json};
use super::start;
use crate::demo::AppState;
use crate::demo::channels::{Channels, Limits};

/// The `subscribed` event of a subscription to `channel` that made `n` subscribers.
fn subscribed(channel: &str, n: u64) -> Event {
    Event::named(
        "subscribed",
        &format!("{{\"channel\":\"{channel}\",\"subscribers\":{n}}}"),
    )
}

async fn publish(base: &str, channel: &str, body: &str) -> (u16, String) {
    post_text(
        format!("{base}/channels/{channel}/publish"),
        body.to_owned(),
    )
    .await
}

/// Publishes `{"n":n}` to `channel` and checks the id it got.
async fn publish_n(base: &str, channel: &str, n: u64) {
    let answer = publish(base, channel, &format!("{{\"n\":{n}}}")).await;
    assert_eq!(answer, (200, format!("{{\"id\":{n}}}")));
}

fn message_n(n: u64) -> Event {
    Event::message(n, &format!("{{\"n\":{n}}}"))
}

fn messages_n(ns: impl IntoIterator<Item = u64>) -> Vec<Event> {
    ns.into_iter().map(message_n).collect()
}

#[tokio::test]
async fn a_message_published_while_subscribed_is_delivered() {
    let base = start().await;
    let mut subscriber = Events::open(format!("{base}/channels/news/subscribe"), &[]).await;
    // Live before anything is published: the subscription is in place when this arrives.
    assert_eq!(subscriber.expect().await, subscribed("news", 1));
    // Any JSON, passed on compact and with its keys in the order published.
    let answer = publish(&base, "news", "{ \"b\": [1, 2],\n \"a\": \"x y\" }").await;
    assert_eq!(answer, (200, "{\"id\":1}".to_owned()));
    assert_eq!(
        subscriber.expect().await,
        Event::message(1, r#"{"b":[1,2],"a":"x y"}"#)
    );
    assert_eq!(publish(&base, "news", "42").await.1, "{\"id\":2}");
    assert_eq!(subscriber.expect().await, Event::message(2, "42"));
    // Ids are per channel.
    assert_eq!(publish(&base, "other", "null").await.1, "{\"id\":1}");
}

#[tokio::test]
async fn a_resumed_subscription_replays_exactly_the_missed_messages() {
    let base = start().await;
    let url = format!("{base}/channels/resumed/subscribe");
    let mut first = Events::open(url.clone(), &[]).await;
    assert_eq!(first.expect().await, subscribed("resumed", 1));
    publish_n(&base, "resumed", 1).await;
    publish_n(&base, "resumed", 2).await;
    assert_eq!(first.take(2).await, messages_n(1..=2));
    drop(first);

    // Published while nobody listens: kept for the subscriber that comes back.
    publish_n(&base, "resumed", 3).await;
    publish_n(&base, "resumed", 4).await;
    let mut resumed = Events::open(url.clone(), &[("Last-Event-ID", "2")]).await;
    let head = resumed.take(3).await;
    assert_eq!(head[0].event.as_deref(), Some("subscribed"));
    assert_eq!(&head[1..], messages_n(3..=4));
    // Then live, with no gap and no repeat between the replay and the live messages.
    publish_n(&base, "resumed", 5).await;
    assert_eq!(resumed.expect().await, message_n(5));

    // `after=` does the same for clients that cannot set headers; `count` ends the stream.
    let after = Events::open(format!("{url}?after=3&count=2"), &[]).await;
    let events = after.rest().await;
    assert_eq!(events[0].event.as_deref(), Some("subscribed"));
    assert_eq!(&events[1..], messages_n(4..=5));
    // Resuming at the last message: nothing to replay, only what comes next.
    let mut caught_up = Events::open(format!("{url}?count=1"), &[("Last-Event-ID", "5")]).await;
    caught_up.expect().await;
    publish_n(&base, "resumed", 6).await;
    assert_eq!(caught_up.rest().await, [message_n(6)]);
}

#[tokio::test]
async fn a_resume_from_before_the_buffer_starts_with_a_gap() {
    let channels = Channels::new(Limits {
        messages: 3,
        ..Limits::default()
    });
    let base = start_with(AppState {
        channels: Arc::new(channels),
        ..AppState::default()
    })
    .await;
    for n in 1..=5 {
        publish_n(&base, "short", n).await;
    }
    let url = format!("{base}/channels/short/subscribe?count=3");
    // Messages 1 and 2 are no longer kept: the subscriber is told how many it missed.
    let events = Events::open(url.clone(), &[("Last-Event-ID", "0")])
        .await
        .rest()
        .await;
    let mut expected = vec![
        subscribed("short", 1),
        Event::named("gap", "{\"missed\":2}"),
    ];
    expected.extend(messages_n(3..=5));
    assert_eq!(events, expected);
    let events = Events::open(format!("{url}&after=1"), &[])
        .await
        .rest()
        .await;
    assert_eq!(events[1], Event::named("gap", "{\"missed\":1}"));
    // From within the buffer, no gap.
    let events = Events::open(format!("{url}&after=2"), &[])
        .await
        .rest()
        .await;
    assert_eq!(&events[1..], messages_n(3..=5));
}

#[tokio::test]
async fn five_subscribers_see_every_message_in_the_same_order() {
    let base = start().await;
    let mut subscribers = Vec::new();
    for n in 1..=5 {
        let url = format!("{base}/channels/fanout/subscribe?count=20");
        let mut subscriber = Events::open(url, &[]).await;
        assert_eq!(subscriber.expect().await, subscribed("fanout", n));
        subscribers.push(subscriber);
    }
    for n in 1..=20 {
        publish_n(&base, "fanout", n).await;
    }
    for subscriber in subscribers {
        assert_eq!(subscriber.rest().await, messages_n(1..=20));
    }
}

#[tokio::test]
async fn the_channel_state_counts_subscribers_and_messages() {
    let base = start().await;
    let state_url = format!("{base}/channels/counted");
    // An unknown channel is an empty one (and asking does not create it).
    let empty = json!({"channel": "counted", "subscribers": 0, "last_id": 0, "buffered": 0});
    assert_eq!(get_json(state_url.clone()).await, (200, empty));

    let mut subscriber = Events::open(format!("{base}/channels/counted/subscribe"), &[]).await;
    subscriber.expect().await;
    publish_n(&base, "counted", 1).await;
    publish_n(&base, "counted", 2).await;
    let state = json!({"channel": "counted", "subscribers": 1, "last_id": 2, "buffered": 2});
    assert_eq!(get_json(state_url.clone()).await, (200, state));
    // The server sees a subscriber leave even while it has nothing to send it.
    drop(subscriber);
    let left = wait_for_json(state_url, |s| s["subscribers"] == 0).await;
    assert_eq!(left["buffered"], 2);
}

#[tokio::test]
async fn bad_names_bodies_and_ids_are_refused_with_a_reason() {
    let base = start().await;
    let bad_name = "bad name `a b`: a name is 1 to 128 of A-Z, a-z, 0-9, `.`, `_` and `-`\n";
    assert_eq!(
        publish(&base, "a%20b", "1").await,
        (400, bad_name.to_owned())
    );
    let subscribe = get_text(format!("{base}/channels/a%20b/subscribe"), &[]).await;
    assert_eq!(subscribe, (400, bad_name.to_owned()));
    assert_eq!(
        get_text(format!("{base}/channels/a%20b"), &[]).await,
        (400, bad_name.to_owned())
    );
    let long = "x".repeat(129);
    let (status, reason) = publish(&base, &long, "1").await;
    assert_eq!(status, 400);
    assert!(reason.starts_with("bad name `xxx"), "{reason}");
    assert_eq!(publish(&base, &"x".repeat(128), "1").await.0, 200);

    let (status, reason) = publish(&base, "c", "{nope").await;
    assert_eq!(status, 400);
    assert!(
        reason.starts_with("the message must be JSON: key must be a string at line 1"),
        "{reason}"
    );
    assert_eq!(
        publish(&base, "c", "").await,
        (
            400,
            "the message must be JSON: EOF while parsing a value at line 1 column 0\n".to_owned()
        )
    );
    let huge = format!("\"{}\"", "x".repeat(64 * 1024));
    assert_eq!(
        publish(&base, "c", &huge).await,
        (
            413,
            "a message is at most 65536 bytes; this one is more\n".to_owned()
        )
    );
    // Nothing refused was published.
    assert_eq!(get_json(format!("{base}/channels/c")).await.1["last_id"], 0);

    let url = format!("{base}/channels/c/subscribe");
    assert_eq!(
        get_text(url.clone(), &[("Last-Event-ID", "3")]).await,
        (
            400,
            "cannot resume after message 3: channel `c` has published 0 messages\n".to_owned()
        )
    );
    assert_eq!(
        get_text(format!("{url}?cuont=1"), &[]).await,
        (
            400,
            "unknown query parameter `cuont`; known parameters: after, count\n".to_owned()
        )
    );
}

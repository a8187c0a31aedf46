//! The resumable chat streams (scenario 20): a generation runs on the server whoever is
//! connected, and a reconnection continues it with nothing lost or repeated.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::events::{Event, Events, get_json, get_text, wait_for_json};
use super::start;

/// The content of token `i` (1-based): the words below in turn, space-separated.
fn token(i: u64) -> String {
    const WORDS: [&str; 12] = [
        "Every",
        "token",
        "arrives",
        "once",
        "and",
        "in",
        "order",
        "however",
        "often",
        "the",
        "client",
        "reconnects",
    ];
    let word = WORDS[((i - 1) % 12) as usize];
    if i == 1 {
        word.to_owned()
    } else {
        format!(" {word}")
    }
}

/// Checks that `events` are tokens 1..=`tokens` of stream `id` and then `[DONE]`.
fn assert_complete(id: &str, tokens: u64, events: &[Event]) {
    assert_eq!(events.len() as u64, tokens + 1, "{events:#?}");
    for (i, event) in (1..).zip(&events[..tokens as usize]) {
        assert_eq!(event.number(), i);
        let finish = if i == tokens {
            json!("stop")
        } else {
            Value::Null
        };
        assert_eq!(
            event.json(),
            json!({
                "id": id, "object": "chat.completion.chunk", "index": i,
                "choices": [{"index": 0, "delta": {"content": token(i)}, "finish_reason": finish}]
            })
        );
    }
    let done = &events[tokens as usize];
    assert_eq!((done.number(), done.data.as_str()), (tokens + 1, "[DONE]"));
    assert_eq!(done.event, None);
}

#[tokio::test]
async fn a_chat_stream_sends_its_tokens_then_done() {
    let base = start().await;
    let events = Events::open(format!("{base}/chat/streams/g1?tokens=5&pace=1ms"), &[])
        .await
        .rest()
        .await;
    assert_complete("g1", 5, &events);
    // Joining a finished generation replays it whole.
    let again = Events::open(format!("{base}/chat/streams/g1"), &[]).await;
    assert_complete("g1", 5, &again.rest().await);
    // Resuming after `[DONE]` finds nothing left.
    let after_done = Events::open(format!("{base}/chat/streams/g1?after=6"), &[]).await;
    assert_eq!(after_done.rest().await, []);
}

#[tokio::test]
async fn the_generation_goes_on_while_no_client_is_connected() {
    let base = start().await;
    let mut stream = Events::open(format!("{base}/chat/streams/g2?tokens=8&pace=5ms"), &[]).await;
    assert_eq!(stream.expect().await.number(), 1);
    drop(stream);
    let state_url = format!("{base}/chat/streams/g2/state");
    let done = wait_for_json(state_url, |s| s["done"] == true).await;
    assert_eq!(
        done,
        json!({"id": "g2", "tokens": 8, "pace_ms": 5, "produced": 8, "connected": 0, "done": true})
    );
    let resumed = Events::open(format!("{base}/chat/streams/g2"), &[("Last-Event-ID", "1")]).await;
    let events = resumed.rest().await;
    assert_eq!(
        events.iter().map(Event::number).collect::<Vec<_>>(),
        (2..=9).collect::<Vec<_>>()
    );
}

/// Reads `stream` until it has `n` more events, adding them to `seen` by index.
async fn read_into(stream: &mut Events, n: usize, seen: &mut BTreeMap<u64, Event>) -> u64 {
    let mut last = 0;
    for event in stream.take(n).await {
        last = event.number();
        let earlier = seen.insert(last, event);
        assert!(earlier.is_none(), "event {last} came twice");
    }
    last
}

#[tokio::test]
async fn three_chat_streams_survive_two_refreshes_with_nothing_lost_or_repeated() {
    let base = start().await;
    let ids = ["run-1", "run-2", "run-3"];
    let url = |id: &str| format!("{base}/chat/streams/{id}?tokens=40&pace=10ms");
    let mut seen: Vec<BTreeMap<u64, Event>> = vec![BTreeMap::new(); 3];
    let mut last = [0u64; 3];
    let mut streams = Vec::new();
    for id in ids {
        streams.push(Events::open(url(id), &[]).await);
    }
    for refresh in 0..2 {
        for (i, stream) in streams.iter_mut().enumerate() {
            last[i] = read_into(stream, 3, &mut seen[i]).await;
        }
        // A page refresh: every connection drops at once...
        streams.clear();
        // ...and each comes back with its last id, the first time in the header, the second
        // in the query.
        for (i, id) in ids.iter().enumerate() {
            let resumed = if refresh == 0 {
                Events::open(url(id), &[("Last-Event-ID", &last[i].to_string())]).await
            } else {
                Events::open(format!("{}&after={}", url(id), last[i]), &[]).await
            };
            streams.push(resumed);
        }
    }
    for (i, stream) in streams.into_iter().enumerate() {
        for event in stream.rest().await {
            let n = event.number();
            assert!(seen[i].insert(n, event).is_none(), "event {n} came twice");
        }
        let events: Vec<Event> = seen[i].values().cloned().collect();
        assert_complete(ids[i], 40, &events);
    }
}

#[tokio::test]
async fn the_state_counts_connected_clients() {
    let base = start().await;
    let state_url = format!("{base}/chat/streams/g3/state");
    let mut stream = Events::open(format!("{base}/chat/streams/g3?tokens=3&pace=10s"), &[]).await;
    assert_eq!(stream.expect().await.number(), 1);
    let state = json!({"id": "g3", "tokens": 3, "pace_ms": 10000, "produced": 1, "connected": 1, "done": false});
    assert_eq!(get_json(state_url.clone()).await, (200, state));
    drop(stream);
    wait_for_json(state_url, |s| s["connected"] == 0).await;
}

#[tokio::test]
async fn conflicting_unknown_and_bad_streams_are_refused_with_a_reason() {
    let base = start().await;
    let streams = format!("{base}/chat/streams");
    let mut running = Events::open(format!("{streams}/c1?tokens=3&pace=10s"), &[]).await;
    running.expect().await;
    assert_eq!(
        get_text(format!("{streams}/c1?tokens=4"), &[]).await,
        (
            409,
            "generation `c1` is already running with tokens=3 and pace=10000ms; \
             this request asks for tokens=4 and pace=10000ms\n"
                .to_owned()
        )
    );
    assert_eq!(get_text(format!("{streams}/c1?pace=1ms"), &[]).await.0, 409);
    // The same parameters, or none, join it.
    let mut joined = Events::open(format!("{streams}/c1?tokens=3"), &[]).await;
    assert_eq!(joined.expect().await.number(), 1);

    assert_eq!(
        get_text(format!("{streams}/c1"), &[("Last-Event-ID", "5")]).await,
        (
            400,
            "cannot resume after event 5: generation `c1` ends with event 4\n".to_owned()
        )
    );
    assert_eq!(
        get_text(format!("{streams}/gone"), &[("Last-Event-ID", "2")]).await,
        (
            404,
            "no generation `gone` to resume (a finished one is kept for 10m)\n".to_owned()
        )
    );
    assert_eq!(
        get_text(format!("{streams}/gone/state"), &[]).await,
        (404, "no generation `gone`\n".to_owned())
    );
    assert_eq!(
        get_text(format!("{streams}/big?tokens=10001"), &[]).await,
        (
            400,
            "bad query parameter `tokens`: 10001 is more than the maximum, 10000\n".to_owned()
        )
    );
    assert_eq!(
        get_text(format!("{streams}/slow?pace=11s"), &[]).await,
        (
            400,
            "bad query parameter `pace`: at most 10s between tokens\n".to_owned()
        )
    );
    assert_eq!(get_text(format!("{streams}/a%2Fb"), &[]).await.0, 400);
    // Nothing was started by a refused request.
    assert_eq!(get_text(format!("{streams}/big/state"), &[]).await.0, 404);
}

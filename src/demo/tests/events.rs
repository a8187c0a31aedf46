//! Helpers for the tests of long-lived streams (channels, resumable chat): an SSE reader that
//! hands out one parsed event at a time, each wait bounded, and small JSON request helpers.

use serde_json::Value;

use super::{LIMIT, assert_sse_headers, client, get, text, within};

/// Serves the demo on `state` (smaller limits, say) and returns its base URL.
pub async fn start_with(state: crate::demo::AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, crate::demo::router_with(state)).await });
    format!("http://{addr}")
}

/// One SSE event as the tests compare it: the fields the demo writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

impl Event {
    /// `id: N`, `event: message` and `data`, a message of a channel.
    pub fn message(id: u64, data: &str) -> Event {
        Event {
            id: Some(id.to_string()),
            event: Some("message".to_owned()),
            data: data.to_owned(),
        }
    }

    /// An event with a name and no id (`subscribed`, `gap`).
    pub fn named(event: &str, data: &str) -> Event {
        Event {
            id: None,
            event: Some(event.to_owned()),
            data: data.to_owned(),
        }
    }

    /// The id as a number.
    pub fn number(&self) -> u64 {
        let id = self
            .id
            .as_deref()
            .unwrap_or_else(|| panic!("no id: {self:?}"));
        id.parse().unwrap()
    }

    /// The data as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// An open SSE response read event by event.
pub struct Events {
    response: reqwest::Response,
    pending: Vec<u8>,
}

impl Events {
    /// Opens `url` with `headers`, asserting a successful SSE response.
    pub async fn open(url: String, headers: &[(&str, &str)]) -> Events {
        let response = get(url, headers).await;
        assert_sse_headers(&response);
        Events {
            response,
            pending: Vec::new(),
        }
    }

    /// The next event, or `None` at a clean end. Fails the test on a broken body, a partial
    /// event at the end, or a wait longer than [`LIMIT`].
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.pending.drain(..end + 2).collect();
                return Some(parse(std::str::from_utf8(&block).unwrap()));
            }
            match within("the next event", self.response.chunk()).await {
                Ok(Some(chunk)) => self.pending.extend_from_slice(&chunk),
                Ok(None) => {
                    assert!(self.pending.is_empty(), "a partial event at the end");
                    return None;
                }
                Err(e) => panic!("the stream broke: {e}"),
            }
        }
    }

    /// The next event, failing the test if the stream ended.
    pub async fn expect(&mut self) -> Event {
        self.next().await.expect("an event, not the end")
    }

    /// The next `n` events.
    pub async fn take(&mut self, n: usize) -> Vec<Event> {
        let mut events = Vec::with_capacity(n);
        for _ in 0..n {
            events.push(self.expect().await);
        }
        events
    }

    /// Every event up to a clean end.
    pub async fn rest(mut self) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event);
        }
        events
    }
}

fn parse(block: &str) -> Event {
    let mut event = Event {
        id: None,
        event: None,
        data: String::new(),
    };
    for line in block.lines().filter(|l| !l.is_empty()) {
        let (field, value) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        match field {
            "id" => event.id = Some(value.to_owned()),
            "event" => event.event = Some(value.to_owned()),
            "data" => {
                assert!(event.data.is_empty(), "one data line per event: {block:?}");
                event.data = value.to_owned();
            }
            _ => panic!("unexpected field {line:?}"),
        }
    }
    event
}

/// `GET url`, with the status and the body parsed as JSON.
pub async fn get_json(url: String) -> (u16, Value) {
    let response = get(url, &[]).await;
    let status = response.status().as_u16();
    let body = text(response).await;
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    (status, json)
}

/// `POST url` with `body`: the status and the body as text.
pub async fn post_text(url: String, body: impl Into<reqwest::Body>) -> (u16, String) {
    let request = client().post(&url).body(body);
    let response = within(&url, request.send()).await.unwrap();
    let status = response.status().as_u16();
    (status, text(response).await)
}

/// `GET url`: the status and the body as text.
pub async fn get_text(url: String, headers: &[(&str, &str)]) -> (u16, String) {
    let response = get(url, headers).await;
    let status = response.status().as_u16();
    (status, text(response).await)
}

/// Polls `url` (a JSON endpoint) until `done` holds, failing after [`LIMIT`].
pub async fn wait_for_json(url: String, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let (_, json) = get_json(url.clone()).await;
        if done(&json) {
            return json;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{url} never got there: {json}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

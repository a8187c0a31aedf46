//! Pub/sub channels under `/channels/` (scenarios 19 and 21): an HTTP publish appends a JSON
//! message to the channel's buffer and wakes every subscriber; an SSE subscription delivers what
//! is published after it began, or, resumed with `Last-Event-ID`/`after`, what came after that id
//! first.
//!
//! Each subscriber is a cursor over the channel's one buffer, not a queue of its own: replay and
//! live delivery are the same read, so a resume can neither miss nor repeat a message published
//! while it starts, and a slow subscriber holds no memory. One that falls behind the buffer (or
//! resumes from before it) is told so with `event: gap` and `data: {"missed":N}`, then goes on
//! from the oldest message kept; it is not disconnected.
//!
//! Bounded: the last [`Limits::messages`] messages per channel, [`MAX_MESSAGE`] bytes per
//! message, [`Limits::channels`] channels and [`Limits::buffered_bytes`] of messages in all (a
//! publish past either of the last two answers 503). A channel with no subscriber and no
//! publish for [`Limits::idle`] is dropped: it starts afresh (ids from 1) when next used.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::AppState;
use super::body::{self, PIECE, SSE, push_u64};
use super::params::{self, BadRequest, Params, QueryPairs, Refused, resume_after};
use crate::duration::format_duration;

/// The largest message (the request body of a publish), in bytes.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// What the channels may hold.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Messages kept per channel for resuming subscribers; older ones are dropped.
    pub messages: usize,
    /// Channels at a time.
    pub channels: usize,
    /// Bytes of messages (their JSON) kept across all channels.
    pub buffered_bytes: usize,
    /// How long a channel with no subscriber and no publish is kept.
    pub idle: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            messages: 1000,
            channels: 10_000,
            buffered_bytes: 256 * 1024 * 1024,
            idle: Duration::from_secs(10 * 60),
        }
    }
}

/// Every channel of one router.
#[derive(Debug)]
pub struct Channels {
    limits: Limits,
    /// One lock for the map and the byte count, taken before a channel's own lock: publishing,
    /// subscribing and dropping idle channels under it cannot race one another.
    registry: Mutex<Registry>,
}

impl Default for Channels {
    fn default() -> Channels {
        Channels::new(Limits::default())
    }
}

#[derive(Debug, Default)]
struct Registry {
    channels: HashMap<String, Arc<Channel>>,
    /// The sum of every channel's [`Log::bytes`].
    buffered_bytes: usize,
}

#[derive(Debug)]
struct Channel {
    log: Mutex<Log>,
    /// The id of the last message, to wake subscribers; each subscriber holds a receiver, so
    /// the receiver count is the subscriber count.
    published: watch::Sender<u64>,
}

#[derive(Debug)]
struct Log {
    /// The kept messages, oldest first, ids consecutive.
    messages: VecDeque<Message>,
    last_id: u64,
    /// The JSON bytes of `messages`, as counted against [`Limits::buffered_bytes`].
    bytes: usize,
    /// The last publish, subscription or unsubscription.
    last_active: Instant,
}

#[derive(Debug)]
struct Message {
    id: u64,
    /// The length of the JSON, as counted.
    size: usize,
    /// The whole SSE event, formatted once for every subscriber.
    event: Bytes,
}

/// What a subscriber finds after its cursor.
#[derive(Debug, PartialEq)]
enum Read {
    Nothing,
    /// Messages were dropped from the buffer before the subscriber got them; it goes on after
    /// `resume_after`.
    Gap {
        missed: u64,
        resume_after: u64,
    },
    /// Events up to message `last`, `count` of them, in one chunk.
    Messages {
        chunk: Bytes,
        last: u64,
        count: u64,
    },
}

impl Channels {
    pub fn new(limits: Limits) -> Channels {
        Channels {
            limits: Limits {
                messages: limits.messages.max(1),
                ..limits
            },
            registry: Mutex::default(),
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        lock(&self.registry)
    }

    /// Appends `message` to `name` (created if need be) and wakes its subscribers; its id.
    fn publish(&self, name: &str, message: &Value) -> Result<u64, Refused> {
        let data = message.to_string();
        let now = Instant::now();
        let mut registry = self.registry();
        if !self.room_for(&registry, name, data.len()) {
            self.drop_idle(&mut registry, now);
            if !self.room_for(&registry, name, data.len()) {
                return Err(Refused(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "the channels hold {} bytes of messages, the most the demo keeps; \
                         a channel is dropped after {} with no subscriber and no publish",
                        self.limits.buffered_bytes,
                        format_duration(self.limits.idle)
                    ),
                ));
            }
        }
        let channel = self.open(&mut registry, name, now)?;
        let mut log = lock(&channel.log);
        let id = log.last_id + 1;
        log.messages.push_back(Message {
            id,
            size: data.len(),
            event: message_event(id, &data),
        });
        log.last_id = id;
        log.bytes += data.len();
        registry.buffered_bytes += data.len();
        while log.messages.len() > self.limits.messages {
            let Some(dropped) = log.messages.pop_front() else {
                break;
            };
            log.bytes -= dropped.size;
            registry.buffered_bytes -= dropped.size;
        }
        log.last_active = now;
        channel.published.send_replace(id);
        Ok(id)
    }

    /// Whether a message of `size` bytes published to `name` keeps the bytes buffered within
    /// [`Limits::buffered_bytes`], counting the message it pushes out of a full buffer.
    fn room_for(&self, registry: &Registry, name: &str, size: usize) -> bool {
        let freed = registry.channels.get(name).map_or(0, |channel| {
            let log = lock(&channel.log);
            match log.messages.front() {
                Some(oldest) if log.messages.len() >= self.limits.messages => oldest.size,
                _ => 0,
            }
        });
        registry.buffered_bytes - freed + size <= self.limits.buffered_bytes
    }

    /// A subscription to `name` (created if need be) from after message `after`, or from now.
    fn subscribe(
        &self,
        name: &str,
        after: Option<u64>,
        count: Option<u64>,
    ) -> Result<Subscription, Refused> {
        let now = Instant::now();
        let mut registry = self.registry();
        if let Some(after) = after {
            let last_id = self
                .live(&mut registry, name, now)
                .map_or(0, |c| c.last_id());
            if after > last_id {
                return Err(BadRequest(format!(
                    "cannot resume after message {after}: channel `{name}` has published \
                     {last_id} messages"
                ))
                .into());
            }
        }
        let channel = self.open(&mut registry, name, now)?;
        let receiver = channel.published.subscribe();
        let cursor = {
            let mut log = lock(&channel.log);
            log.last_active = now;
            after.unwrap_or(log.last_id)
        };
        let greeting = json!({"channel": name, "subscribers": channel.subscribers()});
        Ok(Subscription {
            greeting: Some(Bytes::from(format!(
                "event: subscribed\ndata: {greeting}\n\n"
            ))),
            channel,
            receiver,
            cursor,
            remaining: count,
        })
    }

    /// `GET /channels/{name}`'s answer; an unknown channel is an empty one.
    fn state(&self, name: &str) -> Value {
        let mut registry = self.registry();
        let (subscribers, last_id, buffered) = match self.live(&mut registry, name, Instant::now())
        {
            Some(channel) => {
                let log = lock(&channel.log);
                (channel.subscribers(), log.last_id, log.messages.len())
            }
            None => (0, 0, 0),
        };
        json!({"channel": name, "subscribers": subscribers, "last_id": last_id, "buffered": buffered})
    }

    /// The channel `name` unless it is unknown or idle past [`Limits::idle`] (then it is
    /// dropped here: it starts afresh when next used).
    fn live(&self, registry: &mut Registry, name: &str, now: Instant) -> Option<Arc<Channel>> {
        let channel = registry.channels.get(name)?;
        if !channel.idle(now, self.limits.idle) {
            return Some(Arc::clone(channel));
        }
        if let Some(channel) = registry.channels.remove(name) {
            registry.buffered_bytes -= lock(&channel.log).bytes;
        }
        None
    }

    /// The channel `name`, created if need be (dropping idle channels to make room).
    fn open(
        &self,
        registry: &mut Registry,
        name: &str,
        now: Instant,
    ) -> Result<Arc<Channel>, Refused> {
        if let Some(channel) = self.live(registry, name, now) {
            return Ok(channel);
        }
        if registry.channels.len() >= self.limits.channels {
            self.drop_idle(registry, now);
            if registry.channels.len() >= self.limits.channels {
                return Err(Refused(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "the demo holds {} channels, its most; a channel is dropped after \
                         {} with no subscriber and no publish",
                        self.limits.channels,
                        format_duration(self.limits.idle)
                    ),
                ));
            }
        }
        let channel = Arc::new(Channel {
            log: Mutex::new(Log {
                messages: VecDeque::new(),
                last_id: 0,
                bytes: 0,
                last_active: now,
            }),
            published: watch::Sender::new(0),
        });
        registry
            .channels
            .insert(name.to_owned(), Arc::clone(&channel));
        Ok(channel)
    }

    fn drop_idle(&self, registry: &mut Registry, now: Instant) {
        let mut freed = 0;
        registry.channels.retain(|_, channel| {
            let idle = channel.idle(now, self.limits.idle);
            if idle {
                freed += lock(&channel.log).bytes;
            }
            !idle
        });
        registry.buffered_bytes -= freed;
    }
}

impl Channel {
    fn subscribers(&self) -> usize {
        self.published.receiver_count()
    }

    fn last_id(&self) -> u64 {
        lock(&self.log).last_id
    }

    /// Whether nobody is subscribed and nothing happened for `idle`.
    fn idle(&self, now: Instant, idle: Duration) -> bool {
        self.subscribers() == 0 && now.duration_since(lock(&self.log).last_active) >= idle
    }

    /// What follows message `cursor`: a gap if the buffer no longer holds the next message,
    /// else up to `limit` messages (and about [`PIECE`] bytes) in one chunk.
    fn read_after(&self, cursor: u64, limit: Option<u64>) -> Read {
        let log = lock(&self.log);
        let Some(oldest) = log.messages.front().map(|m| m.id) else {
            return Read::Nothing;
        };
        if cursor >= log.last_id {
            return Read::Nothing;
        }
        if cursor + 1 < oldest {
            return Read::Gap {
                missed: oldest - cursor - 1,
                resume_after: oldest - 1,
            };
        }
        let mut chunk = Vec::new();
        let (mut last, mut count) = (cursor, 0);
        for message in log.messages.range((cursor + 1 - oldest) as usize..) {
            if limit.is_some_and(|limit| count >= limit) || chunk.len() >= PIECE {
                break;
            }
            chunk.extend_from_slice(&message.event);
            (last, count) = (message.id, count + 1);
        }
        Read::Messages {
            chunk: Bytes::from(chunk),
            last,
            count,
        }
    }
}

/// `id: N`, `event: message`, `data: <json>`.
fn message_event(id: u64, data: &str) -> Bytes {
    let mut buf = Vec::with_capacity(data.len() + 40);
    buf.extend_from_slice(b"id: ");
    push_u64(&mut buf, id);
    buf.extend_from_slice(b"\nevent: message\ndata: ");
    buf.extend_from_slice(data.as_bytes());
    buf.extend_from_slice(b"\n\n");
    Bytes::from(buf)
}

/// One subscriber: the `subscribed` event, then whatever follows its cursor as it comes.
struct Subscription {
    greeting: Option<Bytes>,
    channel: Arc<Channel>,
    receiver: watch::Receiver<u64>,
    /// The id of the last message delivered (or skipped over by a gap).
    cursor: u64,
    /// Messages still to deliver before the stream ends (`count=`), if bounded.
    remaining: Option<u64>,
}

impl Subscription {
    /// The next body chunk, waiting for a publish if need be; `None` once `count` are sent.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(greeting) = self.greeting.take() {
            return Some(greeting);
        }
        loop {
            if self.remaining == Some(0) {
                return None;
            }
            // Seen before reading, so a publish after the read is sure to wake the wait below.
            self.receiver.mark_unchanged();
            match self.channel.read_after(self.cursor, self.remaining) {
                Read::Gap {
                    missed,
                    resume_after,
                } => {
                    self.cursor = resume_after;
                    let event = format!("event: gap\ndata: {}\n\n", json!({"missed": missed}));
                    return Some(Bytes::from(event));
                }
                Read::Messages { chunk, last, count } => {
                    self.cursor = last;
                    if let Some(remaining) = &mut self.remaining {
                        *remaining -= count;
                    }
                    return Some(chunk);
                }
                // The channel holds the sender as long as this holds the channel: no error.
                Read::Nothing => self.receiver.changed().await.ok()?,
            }
        }
    }
}

impl Drop for Subscription {
    /// Leaving counts as activity: the channel is kept for [`Limits::idle`] from now, so the
    /// subscriber can come back and resume.
    fn drop(&mut self) {
        lock(&self.channel.log).last_active = Instant::now();
    }
}

/// `POST /channels/{name}/publish` with a JSON body (at most [`MAX_MESSAGE`] bytes):
/// `{"id": N}`.
pub async fn publish(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Refused> {
    Params::new(query, &[])?;
    let name = params::name(&name)?;
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a message is at most {MAX_MESSAGE} bytes; this one is more"),
        ),
        status => Refused(status, rejection.body_text()),
    })?;
    let message: Value = serde_json::from_slice(&body)
        .map_err(|e| BadRequest(format!("the message must be JSON: {e}")))?;
    let id = state.channels.publish(name, &message)?;
    Ok(Json(json!({"id": id})).into_response())
}

/// `GET /channels/{name}/subscribe[?after=K][&count=N]` (or `Last-Event-ID: K`): SSE, first
/// `event: subscribed` at once, then the messages after K (a gap first if the buffer no longer
/// reaches back to K), then each message as it is published; ends after N messages if asked.
pub async fn subscribe(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(query): QueryPairs,
) -> Result<Response, Refused> {
    let params = Params::new(query, &["after", "count"])?;
    let name = params::name(&name)?;
    let count = params.opt_u64("count")?;
    let after = resume_after(&headers, &params)?;
    let subscription = state.channels.subscribe(name, after, count)?;
    let chunks = stream::unfold(subscription, |mut subscription| async move {
        let chunk = subscription.next_chunk().await?;
        Some((Ok(chunk), subscription))
    });
    Ok(body::streaming(&state, SSE, chunks.boxed()))
}

/// `GET /channels/{name}`: `{"channel", "subscribers", "last_id", "buffered"}`.
pub async fn state(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): QueryPairs,
) -> Result<Json<Value>, BadRequest> {
    Params::new(query, &[])?;
    let name = params::name(&name)?;
    Ok(Json(state.channels.state(name)))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another request panicked mid-update; every update here leaves
    // the data consistent at each step that can panic (none should).
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(messages: usize) -> Channels {
        Channels::new(Limits {
            messages,
            ..Limits::default()
        })
    }

    async fn next(subscription: &mut Subscription) -> String {
        let chunk = tokio::time::timeout(Duration::from_secs(5), subscription.next_chunk())
            .await
            .expect("a chunk in time")
            .expect("a chunk, not the end");
        String::from_utf8(chunk.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_the_buffer_gets_a_gap() {
        let channels = small(3);
        let mut subscription = channels.subscribe("c", None, None).unwrap();
        assert_eq!(
            next(&mut subscription).await,
            "event: subscribed\ndata: {\"channel\":\"c\",\"subscribers\":1}\n\n"
        );
        for n in 1..=5 {
            assert_eq!(channels.publish("c", &json!(n)), Ok(n));
        }
        // Messages 1 and 2 left the buffer before this subscriber read them.
        assert_eq!(
            next(&mut subscription).await,
            "event: gap\ndata: {\"missed\":2}\n\n"
        );
        assert_eq!(
            next(&mut subscription).await,
            "id: 3\nevent: message\ndata: 3\n\nid: 4\nevent: message\ndata: 4\n\n\
             id: 5\nevent: message\ndata: 5\n\n"
        );
        channels.publish("c", &json!(6)).unwrap();
        assert_eq!(
            next(&mut subscription).await,
            "id: 6\nevent: message\ndata: 6\n\n"
        );
    }

    #[test]
    fn buffers_and_byte_counts_stay_within_their_limits() {
        let channels = Channels::new(Limits {
            messages: 2,
            buffered_bytes: 10,
            ..Limits::default()
        });
        // 4 bytes of JSON each; from the third on, each pushes the oldest out, so a budget of
        // 10 bytes has room for them all.
        for n in 1..=4 {
            channels.publish("a", &json!("xy")).unwrap();
            assert_eq!(channels.registry().buffered_bytes, 4 * n.min(2));
        }
        assert_eq!(channels.state("a")["buffered"], 2);
        channels.publish("b", &json!(1)).unwrap();
        let refused = channels.publish("b", &json!("long text")).unwrap_err();
        assert_eq!(refused.0, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            refused.1.starts_with("the channels hold 10 bytes"),
            "{}",
            refused.1
        );
        assert_eq!(channels.registry().buffered_bytes, 9);
    }

    #[test]
    fn idle_channels_are_dropped_and_start_afresh() {
        let channels = Channels::new(Limits {
            channels: 1,
            idle: Duration::ZERO,
            ..Limits::default()
        });
        assert_eq!(channels.publish("a", &json!(1)), Ok(1));
        // Idle at once (no subscriber, an idle time of zero): a fresh channel, ids from 1.
        assert_eq!(channels.publish("a", &json!(1)), Ok(1));
        // Full, but `a` is idle, so it makes room for `b`.
        assert_eq!(channels.publish("b", &json!(1)), Ok(1));
        assert_eq!(channels.state("a")["last_id"], 0);
        // A subscriber keeps its channel (`b` was idle, so it is a fresh one), and a full map
        // then refuses another.
        let subscription = channels.subscribe("b", None, None).unwrap();
        assert_eq!(channels.publish("b", &json!(1)), Ok(1));
        assert_eq!(channels.publish("b", &json!(2)), Ok(2));
        let refused = channels.publish("c", &json!(1)).unwrap_err();
        assert_eq!(refused.0, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            refused.1.starts_with("the demo holds 1 channels"),
            "{}",
            refused.1
        );
        drop(subscription);
        assert_eq!(channels.publish("c", &json!(1)), Ok(1));
        assert_eq!(channels.registry().channels.len(), 1);
        assert_eq!(channels.registry().buffered_bytes, 1);
        assert_eq!(channels.state("b")["last_id"], 0);
    }

    #[test]
    fn reads_after_a_cursor() {
        let channels = small(3);
        let subscription = channels.subscribe("c", None, None).unwrap();
        let channel = &subscription.channel;
        assert_eq!(channel.read_after(0, None), Read::Nothing);
        for n in 1..=4 {
            channels.publish("c", &json!(n)).unwrap();
        }
        assert_eq!(
            channel.read_after(0, None),
            Read::Gap {
                missed: 1,
                resume_after: 1
            }
        );
        let Read::Messages { chunk, last, count } = channel.read_after(1, Some(2)) else {
            panic!("messages expected");
        };
        assert_eq!((last, count), (3, 2));
        assert_eq!(
            &chunk[..],
            b"id: 2\nevent: message\ndata: 2\n\nid: 3\nevent: message\ndata: 3\n\n"
        );
        assert_eq!(channel.read_after(4, None), Read::Nothing);
    }
}

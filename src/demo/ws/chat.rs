//! `GET /ws/chat/{room}?user=NAME[&token=T][&after=SEQ]`: chat rooms with broadcast. Every room
//! event (join, message, leave) gets the room's next `seq` and goes to every member in one order,
//! since it is numbered and queued to all members under one lock. A room keeps its last events so
//! that a client can resume with the token its welcome gave; a member too slow to take its events
//! is closed rather than allowed to stall the room.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use super::ticker::bad;
use super::upgrade::{self, Handshake, Socket};
use crate::demo::AppState;
use crate::demo::params::{self, BadRequest, Params, QueryPairs};

/// The bounds of the chat rooms.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Rooms kept; past it, the least recently active one is dropped (its members closed).
    pub rooms: usize,
    /// Events a room keeps for resuming.
    pub events: usize,
    /// Events waiting for one member; a member with a full queue is closed 1008 `too slow`.
    pub queue: usize,
    /// The longest `text` of a message, in bytes.
    pub text: usize,
    /// Resume tokens a room keeps (one per user; the oldest forgotten first).
    pub tokens: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            rooms: 1000,
            events: 1000,
            queue: 1000,
            text: 1024,
            tokens: 1000,
        }
    }
}

/// Every chat room of one router.
pub struct Rooms {
    limits: Limits,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    rooms: HashMap<String, Room>,
    /// Counts room activity, to find the least recently active room.
    clock: u64,
    next_member: u64,
}

#[derive(Default)]
struct Room {
    seq: u64,
    /// The last events, oldest first, with their seq.
    events: VecDeque<(u64, Utf8Bytes)>,
    members: Vec<Member>,
    /// `(user, token)`, oldest first.
    tokens: VecDeque<(String, String)>,
    last_active: u64,
}

struct Member {
    id: u64,
    user: String,
    queue: mpsc::Sender<Utf8Bytes>,
    kick: Arc<Kick>,
}

/// Why and when a member's connection is closed by the room rather than by its client.
#[derive(Default)]
struct Kick {
    reason: OnceLock<(u16, &'static str)>,
    kicked: CancellationToken,
}

impl Kick {
    fn kick(&self, code: u16, reason: &'static str) {
        let _ = self.reason.set((code, reason));
        self.kicked.cancel();
    }
}

/// Why a join was refused.
enum Refusal {
    UnknownToken,
    TooFarBehind,
}

/// A member's place in a room: what it gets first, its queue of live events, and its kick.
/// Dropping it leaves the room.
struct Membership {
    rooms: Arc<Rooms>,
    room: String,
    id: u64,
    first: Vec<Utf8Bytes>,
    queue: mpsc::Receiver<Utf8Bytes>,
    kick: Arc<Kick>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.rooms.leave(&self.room, self.id);
    }
}

impl Default for Rooms {
    fn default() -> Self {
        Rooms::new(Limits::default())
    }
}

impl Rooms {
    pub fn new(limits: Limits) -> Rooms {
        Rooms {
            limits,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent rooms (every change is one step).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `token` is `user`'s resume token in `room`.
    fn knows(&self, room: &str, user: &str, token: &str) -> bool {
        self.lock().rooms.get(room).is_some_and(|r| {
            r.tokens
                .iter()
                .any(|(u, t)| u.as_str() == user && t.as_str() == token)
        })
    }

    /// Adds `user` to `room` (made if new): its welcome and, when resuming, the kept events
    /// after `resume`'s seq come first; then the join goes to every member.
    fn join(
        self: &Arc<Self>,
        room_name: &str,
        user: &str,
        resume: Option<(&str, Option<u64>)>,
    ) -> Result<Membership, Refusal> {
        let limits = self.limits;
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        inner.next_member += 1;
        let id = inner.next_member;
        if !inner.rooms.contains_key(room_name) {
            if inner.rooms.len() >= limits.rooms {
                evict_least_active(&mut inner.rooms);
            }
            inner.rooms.insert(room_name.to_owned(), Room::default());
        }
        let Some(room) = inner.rooms.get_mut(room_name) else {
            return Err(Refusal::UnknownToken);
        };
        room.last_active = clock;
        let mut first = Vec::new();
        let token = match resume {
            Some((token, after)) => {
                if !room.tokens.iter().any(|(u, t)| u == user && t == token) {
                    return Err(Refusal::UnknownToken);
                }
                if let Some(after) = after {
                    let oldest_kept = room.events.front().map_or(room.seq + 1, |(seq, _)| *seq);
                    if after.saturating_add(1) < oldest_kept {
                        return Err(Refusal::TooFarBehind);
                    }
                    first.extend(
                        room.events
                            .iter()
                            .filter(|(seq, _)| *seq > after)
                            .map(|(_, event)| event.clone()),
                    );
                }
                token.to_owned()
            }
            None => match room.tokens.iter().find(|(u, _)| u == user) {
                Some((_, token)) => token.clone(),
                None => uuid::Uuid::new_v4().simple().to_string(),
            },
        };
        room.tokens.retain(|(u, _)| u != user);
        room.tokens.push_back((user.to_owned(), token.clone()));
        while room.tokens.len() > limits.tokens {
            room.tokens.pop_front();
        }
        let welcome = json!({"type": "welcome", "user": user, "token": token, "seq": room.seq});
        first.insert(0, Utf8Bytes::from(welcome.to_string()));
        let (sender, queue) = mpsc::channel(limits.queue.max(1));
        let kick = Arc::new(Kick::default());
        room.members.push(Member {
            id,
            user: user.to_owned(),
            queue: sender,
            kick: kick.clone(),
        });
        publish(room, &limits, json!({"type": "join", "user": user}));
        Ok(Membership {
            rooms: self.clone(),
            room: room_name.to_owned(),
            id,
            first,
            queue,
            kick,
        })
    }

    /// `user`'s message, to every member.
    fn say(&self, room_name: &str, user: &str, text: &str) {
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        if let Some(room) = inner.rooms.get_mut(room_name) {
            room.last_active = clock;
            publish(
                room,
                &self.limits,
                json!({"type": "message", "user": user, "text": text}),
            );
        }
    }

    /// Removes member `id` (if the room did not already) and tells the others.
    fn leave(&self, room_name: &str, id: u64) {
        let mut inner = self.lock();
        let Some(room) = inner.rooms.get_mut(room_name) else {
            return;
        };
        let Some(at) = room.members.iter().position(|m| m.id == id) else {
            return;
        };
        let member = room.members.remove(at);
        publish(
            room,
            &self.limits,
            json!({"type": "leave", "user": member.user}),
        );
    }
}

/// Drops the room active the longest ago, closing its members' connections.
fn evict_least_active(rooms: &mut HashMap<String, Room>) {
    let oldest = rooms
        .iter()
        .min_by_key(|(_, room)| room.last_active)
        .map(|(name, _)| name.clone());
    if let Some(room) = oldest.and_then(|name| rooms.remove(&name)) {
        for member in room.members {
            member.kick.kick(1001, "room evicted");
        }
    }
}

/// Numbers `event` (a JSON object) with the room's next seq, its last field, keeps it, and queues
/// it to every member; a member whose queue is full is dropped (closed `too slow`) and its leave
/// follows.
fn publish(room: &mut Room, limits: &Limits, mut event: Value) {
    room.seq += 1;
    event["seq"] = json!(room.seq);
    let event = Utf8Bytes::from(event.to_string());
    room.events.push_back((room.seq, event.clone()));
    while room.events.len() > limits.events {
        room.events.pop_front();
    }
    let mut gone = Vec::new();
    room.members
        .retain(|member| match member.queue.try_send(event.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                member.kick.kick(1008, "too slow");
                gone.push(member.user.clone());
                false
            }
            // Its connection ended and its leave is on the way (see `Membership`'s drop).
            Err(TrySendError::Closed(_)) => true,
        });
    // Bounded: each round removes members, and the room has finitely many.
    for user in gone {
        publish(room, limits, json!({"type": "leave", "user": user}));
    }
}

/// `GET /ws/chat/{room}?user=NAME[&token=T][&after=SEQ]`.
pub async fn chat(
    State(state): State<AppState>,
    Path(room): Path<String>,
    Query(query): QueryPairs,
    request: Request,
) -> Result<Response, Response> {
    let params = Params::new(query, &["user", "token", "after"]).map_err(bad)?;
    let room = params::name(&room).map_err(bad)?.to_owned();
    if !params.has("user") {
        return Err(bad(BadRequest(
            "query parameter `user` is required: the name shown to the room".to_owned(),
        )));
    }
    let user = params::name(params.str("user", ""))
        .map_err(bad)?
        .to_owned();
    let after = params.opt_u64("after").map_err(bad)?;
    let token = params
        .has("token")
        .then(|| params.str("token", "").to_owned());
    if after.is_some() && token.is_none() {
        return Err(bad(BadRequest(
            "query parameter `after` needs `token`: the resume token of the welcome".to_owned(),
        )));
    }
    let rooms = state.chat_rooms.clone();
    if let Some(token) = &token
        && !rooms.knows(&room, &user, token)
    {
        return Err((
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "unknown resume token\n",
        )
            .into_response());
    }
    let handshake = Handshake::check(request)?;
    Ok(handshake.accept("chat", None, move |socket| async move {
        let resume = token.as_deref().map(|token| (token, after));
        match rooms.join(&room, &user, resume) {
            Ok(membership) => serve(socket, &rooms, &room, &user, membership).await,
            Err(Refusal::TooFarBehind) => {
                upgrade::close(socket, Some(upgrade::close_frame(4410, "too far behind"))).await
            }
            // The room was dropped between the handshake and now.
            Err(Refusal::UnknownToken) => {
                let frame = upgrade::close_frame(1008, "unknown resume token");
                upgrade::close(socket, Some(frame)).await
            }
        }
    }))
}

/// How a member's connection ends, once it has left the room.
enum End {
    /// The connection failed or ended.
    Gone,
    /// The client sent its close (tungstenite queued the reply).
    ClientClosed,
    /// The server closes with this code and reason.
    Close(u16, &'static str),
}

async fn serve(socket: Socket, rooms: &Rooms, room: &str, user: &str, membership: Membership) {
    let (socket, end) = member(socket, rooms, room, user, membership).await;
    // The membership is gone now: the others got the leave before the close handshake.
    match end {
        End::Gone => {}
        End::ClientClosed => upgrade::finish(socket).await,
        End::Close(code, reason) => {
            upgrade::close(socket, Some(upgrade::close_frame(code, reason))).await
        }
    }
}

/// Serves one member until its connection ends, is kicked, or idles.
async fn member(
    mut socket: Socket,
    rooms: &Rooms,
    room: &str,
    user: &str,
    mut membership: Membership,
) -> (Socket, End) {
    let kick = membership.kick.clone();
    let kicked = || {
        let (code, reason) = kick.reason.get().copied().unwrap_or((1008, "too slow"));
        End::Close(code, reason)
    };
    for event in std::mem::take(&mut membership.first) {
        if socket.send(Message::Text(event)).await.is_err() {
            return (socket, End::Gone);
        }
    }
    let limit = rooms.limits.text;
    loop {
        tokio::select! {
            biased;
            () = kick.kicked.cancelled() => return (socket, kicked()),
            event = membership.queue.recv() => {
                let Some(event) = event else { return (socket, kicked()) };
                // A slow client holds this send back; its queue fills meanwhile and the room
                // kicks it, which must not wait for the send.
                tokio::select! {
                    sent = socket.send(Message::Text(event)) => if sent.is_err() {
                        return (socket, End::Gone);
                    },
                    () = kick.kicked.cancelled() => return (socket, kicked()),
                }
            }
            message = upgrade::next_message(&mut socket) => {
                let error = match message {
                    Ok(Some(Message::Text(text))) => match said(&text, limit) {
                        Ok(said) => {
                            rooms.say(room, user, &said);
                            continue;
                        }
                        Err(why) => why,
                    },
                    Ok(Some(Message::Binary(_))) => {
                        "binary messages are not chat: send `{\"text\":\"…\"}` as text".to_owned()
                    }
                    Ok(Some(Message::Close(_))) => return (socket, End::ClientClosed),
                    Ok(Some(_)) => continue,
                    Ok(None) => return (socket, End::Gone),
                    Err(()) => return (socket, End::Close(1001, "idle for 5m")),
                };
                let error = json!({"type": "error", "message": error}).to_string();
                if socket.send(Message::text(error)).await.is_err() {
                    return (socket, End::Gone);
                }
            }
        }
    }
}

/// The text of a member's message `{"text":"…"}`, or why it is not one.
fn said(message: &str, limit: usize) -> Result<String, String> {
    let value: Value = serde_json::from_str(message)
        .map_err(|e| format!("expected JSON such as {{\"text\":\"hi\"}}: {e}"))?;
    let Some(text) = value.get("text").and_then(Value::as_str) else {
        return Err("expected a JSON object with a string `text`".to_owned());
    };
    if text.len() > limit {
        return Err(format!("`text` is longer than {limit} bytes"));
    }
    Ok(text.to_owned())
}

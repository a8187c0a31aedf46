//! `GET /ws/graphql`: GraphQL over `graphql-transport-ws` (the protocol of the `graphql-ws`
//! library): `connection_init`/`connection_ack`, `ping`/`pong`, `subscribe` answered with `next`s
//! and a `complete` (or an `error`), a client's `complete` stopping a subscription, and the
//! protocol's close codes for each way a client breaks it. Subscriptions run side by side, each
//! in a task of its own that hands its messages to the connection's one writer.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Query, Request};
use axum::response::Response;
use futures_util::SinkExt;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};
use tokio_tungstenite::tungstenite::Message;

use super::graphql_query::{self, Operation};
use super::ticker::bad;
use super::upgrade::{self, Handshake, Socket};
use crate::demo::params::{Params, QueryPairs};

/// The subprotocol, as `graphql-ws` names it.
const PROTOCOL: &str = "graphql-transport-ws";

/// How long a client has to send `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(3);

/// The gap between a countdown's numbers.
const COUNTDOWN_PACE: Duration = Duration::from_millis(20);

/// Subscriptions one connection may run at once (past it, the new one gets an `error`).
const MAX_SUBSCRIPTIONS: usize = 100;

/// What a subscription's task hands the writer.
enum Out {
    Next {
        id: String,
        run: u64,
        payload: Value,
    },
    Done {
        id: String,
        run: u64,
    },
}

/// `GET /ws/graphql`.
pub async fn graphql(Query(query): QueryPairs, request: Request) -> Result<Response, Response> {
    Params::new(query, &[]).map_err(bad)?;
    let handshake = Handshake::check(request)?;
    let protocol = handshake.pick(&[PROTOCOL]);
    Ok(
        handshake.accept("graphql", protocol, move |socket| async move {
            if protocol.is_none() {
                let frame = upgrade::close_frame(4406, "Subprotocol not acceptable");
                return upgrade::close(socket, Some(frame)).await;
            }
            if let Some((socket, code, reason)) = serve(socket).await {
                upgrade::close(socket, Some(upgrade::close_frame(code, &reason))).await;
            }
        }),
    )
}

/// One connection's subscriptions: id → the run number (so a finished run's late messages are
/// not taken for a new one with the same id) and its task.
#[derive(Default)]
struct Subscriptions {
    active: HashMap<String, (u64, AbortHandle)>,
    runs: u64,
    tasks: JoinSet<()>,
}

impl Subscriptions {
    fn is_current(&self, id: &str, run: u64) -> bool {
        self.active.get(id).is_some_and(|(r, _)| *r == run)
    }
}

/// Serves until the client goes away (`None`) or the connection must close with a code.
async fn serve(mut socket: Socket) -> Option<(Socket, u16, String)> {
    let (sender, mut outbox) = mpsc::channel::<Out>(64);
    let mut subscriptions = Subscriptions::default();
    let mut acknowledged = false;
    let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
    tokio::pin!(init_deadline);
    loop {
        let reply = tokio::select! {
            () = &mut init_deadline, if !acknowledged => {
                return Some((socket, 4408, "Connection initialisation timeout".to_owned()));
            }
            Some(out) = outbox.recv() => match out {
                Out::Next { id, run, payload } if subscriptions.is_current(&id, run) => {
                    json!({"id": id, "type": "next", "payload": payload})
                }
                Out::Done { id, run } if subscriptions.is_current(&id, run) => {
                    subscriptions.active.remove(&id);
                    json!({"id": id, "type": "complete"})
                }
                // The client completed this one meanwhile.
                _ => continue,
            },
            Some(_) = subscriptions.tasks.join_next() => continue,
            message = upgrade::next_message(&mut socket) => {
                let text = match message {
                    Ok(Some(Message::Text(text))) => text,
                    Ok(Some(Message::Binary(_))) => {
                        let why = "Invalid message received: binary messages are not \
                                   graphql-transport-ws";
                        return Some((socket, 4400, why.to_owned()));
                    }
                    Ok(Some(Message::Close(_))) => {
                        upgrade::finish(socket).await;
                        return None;
                    }
                    Ok(Some(_)) => continue,
                    Ok(None) => return None,
                    Err(()) => return Some((socket, 1001, "idle for 5m".to_owned())),
                };
                match received(&text, &mut acknowledged, &mut subscriptions, &sender) {
                    Ok(Some(reply)) => reply,
                    Ok(None) => continue,
                    Err((code, reason)) => return Some((socket, code, reason)),
                }
            }
        };
        if socket.send(Message::text(reply.to_string())).await.is_err() {
            return None;
        }
    }
}

/// What the client's message `text` calls for: a reply, nothing, or a close code and reason.
fn received(
    text: &str,
    acknowledged: &mut bool,
    subscriptions: &mut Subscriptions,
    sender: &mpsc::Sender<Out>,
) -> Result<Option<Value>, (u16, String)> {
    let invalid = |why: String| (4400, format!("Invalid message received: {why}"));
    let message: Map<String, Value> = match serde_json::from_str(text) {
        Ok(Value::Object(message)) => message,
        Ok(_) => return Err(invalid("not a JSON object".to_owned())),
        Err(e) => return Err(invalid(format!("not JSON ({e})"))),
    };
    let Some(kind) = message.get("type").and_then(Value::as_str) else {
        return Err(invalid("no string `type`".to_owned()));
    };
    let payload = message.get("payload");
    match kind {
        "connection_init" => {
            if !matches!(payload, None | Some(Value::Null | Value::Object(_))) {
                return Err(invalid(
                    "`payload` of connection_init is not an object".to_owned(),
                ));
            }
            if *acknowledged {
                return Err((4429, "Too many initialisation requests".to_owned()));
            }
            *acknowledged = true;
            Ok(Some(json!({"type": "connection_ack"})))
        }
        "ping" => Ok(Some(match payload {
            Some(payload @ Value::Object(_)) => json!({"type": "pong", "payload": payload}),
            _ => json!({"type": "pong"}),
        })),
        "pong" => Ok(None),
        "subscribe" => {
            let id = id_of(&message).map_err(invalid)?;
            let Some(Value::Object(payload)) = payload else {
                return Err(invalid(
                    "`payload` of subscribe is not an object".to_owned(),
                ));
            };
            let Some(query) = payload.get("query").and_then(Value::as_str) else {
                return Err(invalid(
                    "`payload.query` of subscribe is not a string".to_owned(),
                ));
            };
            let variables = match payload.get("variables") {
                None | Some(Value::Null) => None,
                Some(variables @ Value::Object(_)) => Some(variables),
                Some(_) => {
                    return Err(invalid("`payload.variables` is not an object".to_owned()));
                }
            };
            if !*acknowledged {
                return Err((4401, "Unauthorized".to_owned()));
            }
            if subscriptions.active.contains_key(&id) {
                return Err((4409, format!("Subscriber for {id} already exists")));
            }
            let operation = match graphql_query::parse(query, variables) {
                Ok(operation) => operation,
                Err(error) => return Ok(Some(error_message(&id, &error))),
            };
            if subscriptions.active.len() >= MAX_SUBSCRIPTIONS {
                let error = format!("at most {MAX_SUBSCRIPTIONS} subscriptions at once");
                return Ok(Some(error_message(&id, &error)));
            }
            subscriptions.runs += 1;
            let run = subscriptions.runs;
            let task =
                subscriptions
                    .tasks
                    .spawn(execute(operation, id.clone(), run, sender.clone()));
            subscriptions.active.insert(id, (run, task));
            Ok(None)
        }
        "complete" => {
            let id = id_of(&message).map_err(invalid)?;
            // No `complete` back: the client knows. An unknown id is one already finished.
            if let Some((_, task)) = subscriptions.active.remove(&id) {
                task.abort();
            }
            Ok(None)
        }
        other => Err(invalid(format!("unexpected message of type \"{other}\""))),
    }
}

fn id_of(message: &Map<String, Value>) -> Result<String, String> {
    match message.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err("no non-empty string `id`".to_owned()),
    }
}

fn error_message(id: &str, error: &str) -> Value {
    json!({"id": id, "type": "error", "payload": [{"message": error}]})
}

/// Runs one subscription, handing its `next`s and its end to the writer.
async fn execute(operation: Operation, id: String, run: u64, sender: mpsc::Sender<Out>) {
    let next = |payload: Value| Out::Next {
        id: id.clone(),
        run,
        payload,
    };
    match operation {
        Operation::Hello => {
            if sender
                .send(next(json!({"data": {"hello": "world"}})))
                .await
                .is_err()
            {
                return;
            }
        }
        Operation::Countdown(from) => {
            for n in (0..=from).rev() {
                if sender
                    .send(next(json!({"data": {"countdown": n}})))
                    .await
                    .is_err()
                {
                    return;
                }
                if n > 0 {
                    tokio::time::sleep(COUNTDOWN_PACE).await;
                }
            }
        }
    }
    let _ = sender.send(Out::Done { id, run }).await;
}

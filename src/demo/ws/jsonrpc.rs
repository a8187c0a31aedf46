//! `GET /ws/jsonrpc`: JSON-RPC 2.0 over WebSocket, each text message a request, a notification
//! or a batch. Requests are served concurrently (each message in a task of its own), so replies
//! come in the order they are ready and only their ids pair them with the requests; `subscribe`
//! sends `tick` notifications after its result.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Query, Request};
use axum::response::Response;
use futures_util::SinkExt;
use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use super::ticker::bad;
use super::upgrade::{self, Handshake, Socket};
use crate::demo::params::{Params, QueryPairs};

/// The longest `sleep`, in milliseconds.
const MAX_SLEEP_MS: u64 = 5000;

/// The most ticks of one `subscribe`.
const MAX_TICKS: u64 = 10_000;

/// The gap between ticks.
const TICK_PACE: Duration = Duration::from_millis(10);

/// Messages one connection may have in progress; past it, a request is refused with -32000.
const MAX_IN_FLIGHT: usize = 100;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
const SERVER_BUSY: i64 = -32000;

/// `GET /ws/jsonrpc`.
pub async fn jsonrpc(Query(query): QueryPairs, request: Request) -> Result<Response, Response> {
    Params::new(query, &[]).map_err(bad)?;
    let handshake = Handshake::check(request)?;
    Ok(handshake.accept("jsonrpc", None, serve))
}

/// What the tasks of one connection share: the writer's queue and the subscription ids.
#[derive(Clone)]
struct Connection {
    outbox: mpsc::Sender<Value>,
    subscriptions: Arc<AtomicU64>,
}

async fn serve(mut socket: Socket) {
    let (outbox, mut replies) = mpsc::channel(64);
    let connection = Connection {
        outbox,
        subscriptions: Arc::default(),
    };
    let mut in_flight = JoinSet::new();
    loop {
        let reply = tokio::select! {
            Some(reply) = replies.recv() => reply,
            Some(_) = in_flight.join_next() => continue,
            message = upgrade::next_message(&mut socket) => match message {
                Ok(Some(Message::Text(text))) => {
                    let text = text.to_string();
                    if in_flight.len() >= MAX_IN_FLIGHT {
                        let why = format!("at most {MAX_IN_FLIGHT} messages in progress at once");
                        error(SERVER_BUSY, &why, Value::Null)
                    } else {
                        in_flight.spawn(serve_message(text, connection.clone()));
                        continue;
                    }
                }
                Ok(Some(Message::Binary(_))) => {
                    error(INVALID_REQUEST, "Invalid Request: send JSON as text messages", Value::Null)
                }
                Ok(Some(Message::Close(_))) => return upgrade::finish(socket).await,
                Ok(Some(_)) => continue,
                Ok(None) => return,
                Err(()) => return upgrade::close(socket, Some(upgrade::idle_close())).await,
            },
        };
        if socket.send(Message::text(reply.to_string())).await.is_err() {
            return;
        }
    }
}

/// A subscription's ticks, to send once its result is on its way.
struct Ticks {
    subscription: String,
    count: u64,
}

/// Answers one message: a request, a notification or a batch.
async fn serve_message(text: String, connection: Connection) {
    let (reply, ticks) = match serde_json::from_str::<Value>(&text) {
        Err(_) => (Some(error(PARSE_ERROR, "Parse error", Value::Null)), vec![]),
        Ok(Value::Array(batch)) if batch.is_empty() => (
            Some(error(INVALID_REQUEST, "Invalid Request", Value::Null)),
            vec![],
        ),
        Ok(Value::Array(batch)) => {
            let answers = join_all(batch.into_iter().map(|r| respond(r, &connection))).await;
            let (replies, ticks): (Vec<_>, Vec<_>) = answers.into_iter().unzip();
            let replies: Vec<Value> = replies.into_iter().flatten().collect();
            let reply = (!replies.is_empty()).then_some(Value::Array(replies));
            (reply, ticks.into_iter().flatten().collect())
        }
        Ok(request) => {
            let (reply, ticks) = respond(request, &connection).await;
            (reply, ticks.into_iter().collect())
        }
    };
    if let Some(reply) = reply
        && connection.outbox.send(reply).await.is_err()
    {
        return;
    }
    let runs = ticks
        .into_iter()
        .map(|ticks| tick(ticks, &connection.outbox));
    join_all(runs).await;
}

async fn tick(ticks: Ticks, outbox: &mpsc::Sender<Value>) {
    for n in 1..=ticks.count {
        if n > 1 {
            tokio::time::sleep(TICK_PACE).await;
        }
        let notification = json!({
            "jsonrpc": "2.0",
            "method": "tick",
            "params": {"subscription": ticks.subscription, "n": n},
        });
        if outbox.send(notification).await.is_err() {
            return;
        }
    }
}

fn error(code: i64, message: &str, id: Value) -> Value {
    json!({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": id})
}

/// The response to one request (`None` for a notification), and the ticks it started.
async fn respond(request: Value, connection: &Connection) -> (Option<Value>, Option<Ticks>) {
    let invalid = |id: Value| (Some(error(INVALID_REQUEST, "Invalid Request", id)), None);
    let Value::Object(request) = request else {
        return invalid(Value::Null);
    };
    let id = request.get("id").cloned();
    if !matches!(
        id,
        None | Some(Value::Null | Value::String(_) | Value::Number(_))
    ) {
        return invalid(Value::Null);
    }
    let reply_id = id.clone().unwrap_or(Value::Null);
    let params = request.get("params").cloned();
    if request.get("jsonrpc") != Some(&json!("2.0"))
        || !matches!(params, None | Some(Value::Array(_) | Value::Object(_)))
    {
        return invalid(reply_id);
    }
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return invalid(reply_id);
    };
    let (outcome, ticks) = match method {
        "add" => (add(params.as_ref()), None),
        "echo" => (Ok(params.unwrap_or(Value::Null)), None),
        "sleep" => (sleep(params.as_ref()).await, None),
        "subscribe" => match subscribe(params.as_ref(), connection) {
            Ok(ticks) => (Ok(json!(ticks.subscription)), Some(ticks)),
            Err(e) => (Err(e), None),
        },
        _ => (Err((METHOD_NOT_FOUND, "Method not found".to_owned())), None),
    };
    // A notification gets no response, whatever happened.
    let Some(id) = id else {
        return (None, ticks);
    };
    let response = match outcome {
        Ok(result) => json!({"jsonrpc": "2.0", "result": result, "id": id}),
        Err((code, message)) => error(code, &message, id),
    };
    (Some(response), ticks)
}

type Outcome = Result<Value, (i64, String)>;

fn invalid_params(usage: &str) -> (i64, String) {
    (INVALID_PARAMS, format!("Invalid params: {usage}"))
}

/// `add` `[a, b]`: their sum, an integer when both are (and it fits).
fn add(params: Option<&Value>) -> Outcome {
    let usage = || invalid_params("add takes [a, b], two numbers");
    let Some([a, b]) = params
        .and_then(Value::as_array)
        .and_then(|p| <&[Value; 2]>::try_from(p.as_slice()).ok())
    else {
        return Err(usage());
    };
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64())
        && let Some(sum) = a.checked_add(b)
    {
        return Ok(json!(sum));
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) => Ok(json!(a + b)),
        _ => Err(usage()),
    }
}

/// `sleep` `{"ms": N}`: `"slept N"` after N ms.
async fn sleep(params: Option<&Value>) -> Outcome {
    let ms = params
        .and_then(|p| p.get("ms"))
        .and_then(Value::as_u64)
        .filter(|ms| *ms <= MAX_SLEEP_MS)
        .ok_or_else(|| {
            invalid_params(&format!(
                "sleep takes {{\"ms\": N}}, N from 0 to {MAX_SLEEP_MS}"
            ))
        })?;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(json!(format!("slept {ms}")))
}

/// `subscribe` `{"count": N}`: a new subscription id; its ticks follow the result.
fn subscribe(params: Option<&Value>, connection: &Connection) -> Result<Ticks, (i64, String)> {
    let count = params
        .and_then(|p| p.get("count"))
        .and_then(Value::as_u64)
        .filter(|n| *n <= MAX_TICKS)
        .ok_or_else(|| {
            invalid_params(&format!(
                "subscribe takes {{\"count\": N}}, N from 0 to {MAX_TICKS}"
            ))
        })?;
    let n = connection.subscriptions.fetch_add(1, Ordering::Relaxed) + 1;
    Ok(Ticks {
        subscription: format!("sub-{n}"),
        count,
    })
}

//! Resumable chat streams under `/chat/streams/` (scenario 20): one generation per client-chosen
//! id, running on the server from its first request whether or not a client is connected, as
//! persistent-streaming LLM services run them. A connection reads it from the start, or, with
//! `Last-Event-ID`/`after`, from the event after that id: the tokens made while it was away,
//! then the live ones, none lost and none twice.
//!
//! Events are OpenAI-style chunks with the token's 1-based index as the SSE id and in the
//! chunk; `data: [DONE]`, id N+1, ends the stream. Tokens are a fixed text, so a spec can check
//! every one.
//!
//! Bounded: at most [`Limits::tokens`] tokens, [`Limits::pace`] between them, and
//! [`Limits::generations`] generations (running or finished; then 503). A finished generation is
//! kept for [`Limits::keep`], then dropped: the id starts a new one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::AppState;
use super::body::{self, PIECE, SSE, push_u64};
use super::params::{self, BadRequest, Params, QueryPairs, Refused, resume_after};
use crate::duration::format_duration;

/// The words the tokens cycle through; token 1 is the first word, every later one has a space
/// before it.
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

const DEFAULT_TOKENS: u64 = 20;
const DEFAULT_PACE: Duration = Duration::from_millis(50);

/// What the generations may be.
#[derive(Debug, Clone)]
pub struct Limits {
    pub tokens: u64,
    pub pace: Duration,
    /// Generations at a time, running or finished.
    pub generations: usize,
    /// How long a finished generation is kept for clients to resume.
    pub keep: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            tokens: 10_000,
            pace: Duration::from_secs(10),
            generations: 10_000,
            keep: Duration::from_secs(10 * 60),
        }
    }
}

/// Every generation of one router.
#[derive(Debug)]
pub struct Generations {
    limits: Limits,
    running: Mutex<HashMap<String, Arc<Generation>>>,
}

impl Default for Generations {
    fn default() -> Generations {
        Generations::new(Limits::default())
    }
}

#[derive(Debug)]
struct Generation {
    id: String,
    tokens: u64,
    pace: Duration,
    /// How many tokens are made; each connected client holds a receiver.
    produced: watch::Sender<u64>,
    /// When the last token was made.
    finished: OnceLock<Instant>,
}

/// What a request asks of a generation; `None` where it leaves it to the generation.
#[derive(Debug, Clone, Copy)]
struct Asked {
    tokens: Option<u64>,
    pace: Option<Duration>,
}

impl Generations {
    pub fn new(limits: Limits) -> Generations {
        Generations {
            limits,
            running: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Generation>>> {
        // A poisoned lock only means another request panicked mid-update; the map is intact.
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The generation `id` (started now if need be, unless `resuming`) and a reader's receiver.
    fn join(
        &self,
        id: &str,
        asked: Asked,
        resuming: bool,
    ) -> Result<(Arc<Generation>, watch::Receiver<u64>), Refused> {
        let now = Instant::now();
        let mut running = self.lock();
        if let Some(generation) = self.live(&mut running, id, now) {
            let tokens = asked.tokens.unwrap_or(generation.tokens);
            let pace = asked.pace.unwrap_or(generation.pace);
            if (tokens, pace) != (generation.tokens, generation.pace) {
                return Err(Refused(
                    StatusCode::CONFLICT,
                    format!(
                        "generation `{id}` is already running with tokens={} and pace={}ms; \
                         this request asks for tokens={tokens} and pace={}ms",
                        generation.tokens,
                        generation.pace.as_millis(),
                        pace.as_millis()
                    ),
                ));
            }
            let receiver = generation.produced.subscribe();
            return Ok((generation, receiver));
        }
        if resuming {
            return Err(Refused(
                StatusCode::NOT_FOUND,
                format!(
                    "no generation `{id}` to resume (a finished one is kept for {})",
                    format_duration(self.limits.keep)
                ),
            ));
        }
        if running.len() >= self.limits.generations {
            running.retain(|_, generation| !generation.expired(now, self.limits.keep));
        }
        if running.len() >= self.limits.generations {
            return Err(Refused(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the demo holds {} generations, its most; a finished one is dropped after {}",
                    self.limits.generations,
                    format_duration(self.limits.keep)
                ),
            ));
        }
        let generation = Arc::new(Generation {
            id: id.to_owned(),
            tokens: asked.tokens.unwrap_or(DEFAULT_TOKENS),
            pace: asked.pace.unwrap_or(DEFAULT_PACE),
            produced: watch::Sender::new(0),
            finished: OnceLock::new(),
        });
        running.insert(id.to_owned(), Arc::clone(&generation));
        let receiver = generation.produced.subscribe();
        tokio::spawn(generate(Arc::clone(&generation)));
        Ok((generation, receiver))
    }

    /// The generation `id` unless it is unknown or finished longer than [`Limits::keep`] ago
    /// (then it is dropped here).
    fn live(
        &self,
        running: &mut HashMap<String, Arc<Generation>>,
        id: &str,
        now: Instant,
    ) -> Option<Arc<Generation>> {
        let generation = running.get(id)?;
        if !generation.expired(now, self.limits.keep) {
            return Some(Arc::clone(generation));
        }
        running.remove(id);
        None
    }

    /// `GET /chat/streams/{id}/state`'s answer, if there is such a generation.
    fn state(&self, id: &str) -> Option<Value> {
        let generation = self.live(&mut self.lock(), id, Instant::now())?;
        Some(json!({
            "id": generation.id,
            "tokens": generation.tokens,
            "pace_ms": generation.pace.as_millis() as u64,
            "produced": *generation.produced.borrow(),
            "connected": generation.produced.receiver_count(),
            "done": generation.finished.get().is_some(),
        }))
    }
}

impl Generation {
    fn expired(&self, now: Instant, keep: Duration) -> bool {
        self.finished
            .get()
            .is_some_and(|at| now.duration_since(*at) >= keep)
    }
}

/// Makes the tokens of `generation`, the first at once and then one every `pace`, whoever is
/// listening: the generation is the server's, not a connection's.
async fn generate(generation: Arc<Generation>) {
    if generation.pace.is_zero() {
        generation.produced.send_replace(generation.tokens);
    } else {
        // `interval` keeps the schedule itself, so the pace does not drift with the time
        // spent; a tick missed under load is late rather than a burst.
        let mut timer = tokio::time::interval(generation.pace);
        timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        for produced in 1..=generation.tokens {
            timer.tick().await;
            generation.produced.send_replace(produced);
        }
    }
    let _ = generation.finished.set(Instant::now());
}

/// The content of token `i` (1-based).
fn token(i: u64) -> String {
    let word = WORDS[((i - 1) % WORDS.len() as u64) as usize];
    if i == 1 {
        word.to_owned()
    } else {
        format!(" {word}")
    }
}

/// The event of token `i` of `generation`; the last one says `finish_reason: stop`.
fn token_event(generation: &Generation, i: u64) -> Vec<u8> {
    let finish = if i == generation.tokens {
        "\"stop\""
    } else {
        "null"
    };
    let content = Value::from(token(i));
    let mut buf = Vec::with_capacity(160);
    buf.extend_from_slice(b"id: ");
    push_u64(&mut buf, i);
    // The id is a checked name (letters, digits, `._-`): nothing to escape.
    let data = format!(
        "\ndata: {{\"id\":\"{}\",\"object\":\"chat.completion.chunk\",\"index\":{i},\
         \"choices\":[{{\"index\":0,\"delta\":{{\"content\":{content}}},\
         \"finish_reason\":{finish}}}]}}\n\n",
        generation.id
    );
    buf.extend_from_slice(data.as_bytes());
    buf
}

/// One connection's reading of a generation.
struct Reader {
    generation: Arc<Generation>,
    receiver: watch::Receiver<u64>,
    /// The id of the last event sent: token `cursor`, or `[DONE]` when past the tokens.
    cursor: u64,
}

impl Reader {
    /// The tokens after the cursor that are made (waiting for the next if none is), or
    /// `[DONE]`; `None` after `[DONE]`.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        let tokens = self.generation.tokens;
        loop {
            if self.cursor > tokens {
                return None;
            }
            if self.cursor == tokens {
                self.cursor += 1;
                let mut done = b"id: ".to_vec();
                push_u64(&mut done, self.cursor);
                done.extend_from_slice(b"\ndata: [DONE]\n\n");
                return Some(Bytes::from(done));
            }
            let produced = *self.receiver.borrow_and_update();
            if produced > self.cursor {
                let mut chunk = Vec::new();
                while self.cursor < produced && chunk.len() < PIECE {
                    self.cursor += 1;
                    chunk.extend_from_slice(&token_event(&self.generation, self.cursor));
                }
                return Some(Bytes::from(chunk));
            }
            // The reader holds the generation, which holds the sender: no error.
            self.receiver.changed().await.ok()?;
        }
    }
}

/// `GET /chat/streams/{id}?tokens=20&pace=50ms` (or `Last-Event-ID: K`, `after=K`): SSE of
/// generation `id`, started by the first request, from token K+1 when resuming.
pub async fn stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): QueryPairs,
) -> Result<Response, Refused> {
    let params = Params::new(query, &["tokens", "pace", "after"])?;
    let id = params::name(&id)?;
    let limits = &state.generations.limits;
    let tokens = match params.has("tokens") {
        true => Some(params.u64_at_most("tokens", DEFAULT_TOKENS, limits.tokens)?),
        false => None,
    };
    let pace = params
        .has("pace")
        .then(|| params.duration("pace", DEFAULT_PACE));
    let pace = pace.transpose()?;
    if pace.is_some_and(|pace| pace > limits.pace) {
        return Err(BadRequest(format!(
            "bad query parameter `pace`: at most {} between tokens",
            format_duration(limits.pace)
        ))
        .into());
    }
    let after = resume_after(&headers, &params)?;
    let asked = Asked { tokens, pace };
    let (generation, receiver) = state.generations.join(id, asked, after.is_some())?;
    let last_event = generation.tokens + 1;
    if let Some(after) = after.filter(|after| *after > last_event) {
        return Err(BadRequest(format!(
            "cannot resume after event {after}: generation `{id}` ends with event {last_event}"
        ))
        .into());
    }
    let reader = Reader {
        generation,
        receiver,
        cursor: after.unwrap_or(0),
    };
    let chunks = stream::unfold(reader, |mut reader| async move {
        let chunk = reader.next_chunk().await?;
        Some((Ok(chunk), reader))
    });
    Ok(body::streaming(&state, SSE, chunks.boxed()))
}

/// `GET /chat/streams/{id}/state`: `{"id", "tokens", "pace_ms", "produced", "connected",
/// "done"}`, or 404.
pub async fn state(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): QueryPairs,
) -> Result<Json<Value>, Refused> {
    Params::new(query, &[])?;
    let id = params::name(&id)?;
    state
        .generations
        .state(id)
        .map(Json)
        .ok_or_else(|| Refused(StatusCode::NOT_FOUND, format!("no generation `{id}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_events() {
        let text: String = (1..=14).map(token).collect();
        assert_eq!(
            text,
            "Every token arrives once and in order however often the client reconnects Every token"
        );
        let generation = Generation {
            id: "g".to_owned(),
            tokens: 2,
            pace: Duration::ZERO,
            produced: watch::Sender::new(0),
            finished: OnceLock::new(),
        };
        assert_eq!(
            String::from_utf8(token_event(&generation, 2)).unwrap(),
            "id: 2\ndata: {\"id\":\"g\",\"object\":\"chat.completion.chunk\",\"index\":2,\
             \"choices\":[{\"index\":0,\"delta\":{\"content\":\" token\"},\
             \"finish_reason\":\"stop\"}]}\n\n"
        );
    }

    #[tokio::test]
    async fn finished_generations_are_dropped_after_the_keep_time() {
        let generations = Generations::new(Limits {
            generations: 1,
            keep: Duration::ZERO,
            ..Limits::default()
        });
        let asked = Asked {
            tokens: Some(1),
            pace: Some(Duration::from_secs(10)),
        };
        let (generation, mut receiver) = generations.join("a", asked, false).unwrap();
        // Running: the only slot is taken.
        let refused = generations.join("b", asked, false).unwrap_err();
        assert_eq!(refused.0, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            refused.1,
            "the demo holds 1 generations, its most; a finished one is dropped after 0s"
        );
        // One token at once, then finished, and dropped at once with a keep time of zero.
        receiver.wait_for(|produced| *produced == 1).await.unwrap();
        let finished = async {
            while generation.finished.get().is_none() {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), finished)
            .await
            .expect("finished in time");
        assert_eq!(generations.state("a"), None);
        assert!(generations.join("b", asked, false).is_ok());
        let refused = generations.join("a", asked, true).unwrap_err();
        assert_eq!(refused.0, StatusCode::NOT_FOUND);
    }
}

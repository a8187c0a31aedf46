//! One gRPC call of any of the four kinds, through one mechanism: a streaming call whose
//! request stream the spec feeds ([`Call::send`], [`Call::close`]) and whose answers it reads
//! ([`Call::head`], [`Call::next`]). A unary call is one message sent, the stream closed, one
//! message and the status read.
//!
//! The call runs in a task of its own, so sending never waits for the response head: a
//! bidirectional server may read a message before it sends its headers. Replies are decoded
//! one at a time as they are asked for, never collected, so memory stays flat however long the
//! stream is; HTTP/2 flow control holds the server back meanwhile.
//!
//! A call deadline is sent as `grpc-timeout` and measured here, from before tonic sees the call:
//! once it has passed, the call ends with a local `DEADLINE_EXCEEDED`, whatever else comes at
//! or after it (tonic's own timer for `grpc-timeout` racing ours, a reset, a late answer).
//!
//! A cancel ([`Call::cancel`], the deadline, dropping a [`Call`]) resets the stream with
//! RST_STREAM(CANCEL) without ending the request stream first, as gRPC clients do, so that the
//! server never sees a complete request. [`Call::cancel`] first lets what was sent go out: the
//! call's HEADERS and the DATA of every message sent before it, as far as the server's flow
//! control has room for them (h2 drops what it has queued when the stream is reset, and a reset
//! before the HEADERS without a trace), so that the server sees the messages and then the
//! cancel; it returns once the reset is on the wire (see `wire`). A cancel after the call's
//! deadline finds the call over: it ends `DEADLINE_EXCEEDED`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::stream;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor, MethodDescriptor, ReflectMessage};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tonic::codec::Streaming;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::{CancellationHandle, Code, Status, TimeoutExpired};

use crate::duration::format_duration;
use crate::saturating_time::SaturatingAdd;

use super::channel::{GrpcChannel, Peer};
use super::codec::{DynamicCodec, Reply};
use super::error::{Classified, GrpcError, classify, describe_failure};
use super::json::message_to_json;
use super::status::CallStatus;

/// Messages sent but not yet taken by the connection; beyond this, [`Call::send`] waits.
const REQUEST_BUFFER: usize = 16;

/// The bytes before each message in a gRPC frame: a compression flag and the message's length.
const FRAME_HEADER_SIZE: u64 = 5;

/// What reading the next answer gave.
#[derive(Debug, Clone)]
pub enum Next {
    /// A reply message in the proto3 JSON mapping (see `json`), and when it was read.
    /// `size` is the message's size on the wire, in bytes.
    Message {
        json: Value,
        at: Instant,
        size: usize,
    },
    /// The call ended with this status (OK or not); asking again gives the same.
    End { status: CallStatus, at: Instant },
    /// Nothing came before the deadline given to [`Call::next`]; the call goes on.
    TimedOut,
}

type Answer = Result<tonic::Response<Streaming<Reply>>, Status>;

/// The answer to the request (the response head, or how the call failed), and when it came.
type Arrival = (Answer, Instant);

enum State {
    /// The response head has not come yet.
    Waiting(oneshot::Receiver<Arrival>),
    Open {
        head: MetadataMap,
        body: Streaming<Reply>,
    },
    Ended {
        head: MetadataMap,
        status: CallStatus,
        at: Instant,
    },
    /// The call broke on the way: there is no status from the server.
    Failed(GrpcError),
}

/// What the request stream shares with the call.
#[derive(Default)]
struct RequestStream {
    /// The connection has polled the request body, so it has the request: its HEADERS are queued.
    taken: AtomicBool,
    /// The call is being cancelled: the request stream must never end gracefully.
    cancelled: AtomicBool,
}

/// A call in progress.
pub struct Call {
    input: MessageDescriptor,
    peer: Arc<Peer>,
    requests: Option<mpsc::Sender<DynamicMessage>>,
    request_stream: Arc<RequestStream>,
    /// Resets the request stream with CANCEL (tonic turns it into the body's error).
    cancel_handle: Option<CancellationHandle>,
    /// How many streams the connection had opened before this call's.
    streams_before: u64,
    /// The bytes of the messages sent so far, framed as they go on the wire (uncompressed).
    request_bytes: u64,
    state: State,
    /// The call's own deadline (sent as `grpc-timeout`) and the timeout it came from.
    deadline: Option<(Instant, Duration)>,
    started: Instant,
    /// When the response head came (a status alone counts: it is the head of a trailers-only
    /// answer); `None` while none has, and for a call that ended without one.
    head_at: Option<Instant>,
    task: JoinHandle<()>,
    /// The response's content-type when it is not gRPC's: `Some(None)` when there was none.
    not_grpc: Option<Option<String>>,
}

/// Starts a call of `method` on `channel` with request `metadata` (a key ending in `-bin`
/// takes the value's bytes as binary metadata), if given a call deadline, and the largest reply
/// it may decode (a larger one ends the call). Nothing is sent until [`Call::send`]; must be
/// called within a tokio runtime.
pub fn start(
    channel: &GrpcChannel,
    method: &MethodDescriptor,
    metadata: Vec<(String, String)>,
    deadline: Option<Duration>,
    max_message_size: usize,
) -> Result<Call, GrpcError> {
    let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
    let path = PathAndQuery::try_from(path.as_str())
        .map_err(|_| GrpcError::BadMethodName { name: path.clone() })?;
    let (sender, mut receiver) = mpsc::channel::<DynamicMessage>(REQUEST_BUFFER);
    let request_stream = Arc::new(RequestStream::default());
    let outgoing = {
        let shared = request_stream.clone();
        stream::poll_fn(move |cx| {
            shared.taken.store(true, Ordering::SeqCst);
            if shared.cancelled.load(Ordering::SeqCst) {
                // Not the end of the stream: tonic sees the cancel and resets it (it looks
                // before asking for a message, and the cancel wakes it).
                return Poll::Pending;
            }
            receiver.poll_recv(cx)
        })
    };
    let mut request = tonic::Request::new(outgoing);
    add_metadata(request.metadata_mut(), metadata)?;
    if let Some(timeout) = deadline {
        request.set_timeout(timeout);
    }
    let cancel_handle = request.cancellation_handle();
    let codec = DynamicCodec::new(method.output());
    let (answer_sender, answer) = oneshot::channel::<Arrival>();
    let connection = channel.channel.clone();
    // Before the task starts: tonic's own timer for `grpc-timeout` must start later than ours,
    // so that it can never fire first.
    let started = Instant::now();
    let streams_before = channel.peer.wire.opened();
    let task = tokio::spawn(async move {
        let mut grpc =
            tonic::client::Grpc::new(connection).max_decoding_message_size(max_message_size);
        let answer = match grpc.ready().await {
            Err(error) => Err(Status::from_error(error)),
            Ok(()) => grpc.streaming(request, path, codec).await,
        };
        let _ = answer_sender.send((answer, Instant::now()));
    });
    Ok(Call {
        input: method.input(),
        peer: channel.peer.clone(),
        requests: Some(sender),
        request_stream,
        cancel_handle: Some(cancel_handle),
        streams_before,
        request_bytes: 0,
        state: State::Waiting(answer),
        deadline: deadline.map(|timeout| (started.saturating_add(timeout), timeout)),
        started,
        head_at: None,
        task,
        not_grpc: None,
    })
}

fn add_metadata(map: &mut MetadataMap, metadata: Vec<(String, String)>) -> Result<(), GrpcError> {
    for (key, value) in metadata {
        let bad = |what: &str| GrpcError::Request {
            reason: format!("the metadata `{key}` cannot be sent: {what}"),
        };
        if key.to_ascii_lowercase().ends_with("-bin") {
            let name = MetadataKey::from_bytes(key.as_bytes())
                .map_err(|_| bad("not a valid metadata name"))?;
            // Binary values are written in base64, as grpcurl takes them and as replies show them.
            let bytes = decode_base64(&value).ok_or_else(|| {
                bad("a `-bin` value is written in base64 (such as `q6ur` for the bytes ab ab ab)")
            })?;
            map.append_bin(name, MetadataValue::from_bytes(&bytes));
        } else {
            let name = MetadataKey::from_bytes(key.as_bytes())
                .map_err(|_| bad("not a valid metadata name"))?;
            let value = MetadataValue::try_from(value.as_str()).map_err(|_| {
                bad("the value must be printable ASCII (name it `…-bin` for binary)")
            })?;
            map.append(name, value);
        }
    }
    Ok(())
}

/// Base64 with or without padding, standard or URL-safe alphabet.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let trimmed = text.trim().trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed))
        .ok()
}

/// Whether a wait ended because the caller's deadline passed.
enum Waited {
    Ready,
    TimedOut,
}

impl Call {
    /// Sends one request message, waiting until `deadline` for room if the server is slow to
    /// read. Fails if the message is of another type than the method takes, after
    /// [`Call::close`], or once the call is known to have ended.
    pub async fn send(
        &mut self,
        message: DynamicMessage,
        deadline: Instant,
    ) -> Result<(), GrpcError> {
        if message.descriptor() != self.input {
            return Err(GrpcError::Request {
                reason: format!(
                    "the method takes `{}` messages, not `{}`",
                    self.input.full_name(),
                    message.descriptor().full_name()
                ),
            });
        }
        self.check_call_deadline();
        match &self.state {
            State::Ended { status, .. } => {
                return Err(GrpcError::CallEnded {
                    status: Some(status.to_string()),
                });
            }
            State::Failed(error) => return Err(error.clone()),
            State::Waiting(_) | State::Open { .. } => {}
        }
        let Some(sender) = &self.requests else {
            return Err(GrpcError::RequestClosed);
        };
        let framed = FRAME_HEADER_SIZE + message.encoded_len() as u64;
        let started = Instant::now();
        match tokio::time::timeout_at(deadline.into(), sender.send(message)).await {
            Ok(Ok(())) => {
                self.request_bytes += framed;
                Ok(())
            }
            // The connection dropped the request stream: the call is over on the wire.
            Ok(Err(_)) => Err(GrpcError::CallEnded { status: None }),
            Err(_) => Err(GrpcError::Deadline {
                after: started.elapsed(),
                waiting_for: "the server to take the message sent (it is not reading)".to_string(),
            }),
        }
    }

    /// The status the call ended with, if it is known to have ended (and `next` has seen it,
    /// or the server answered with a status alone).
    pub fn ended(&self) -> Option<&CallStatus> {
        match &self.state {
            State::Ended { status, .. } => Some(status),
            _ => None,
        }
    }

    /// When the response head came, if it has come (and been waited for): see [`Call::head`].
    /// A call cancelled or past its deadline before the server answered has none.
    pub fn head_at(&self) -> Option<Instant> {
        self.head_at
    }

    /// The call's own timeout (`deadline`, sent as `grpc-timeout`), if it has one.
    pub fn timeout(&self) -> Option<Duration> {
        self.deadline.map(|(_, timeout)| timeout)
    }

    /// Half-closes the call: no more messages; the server sees the end of the request stream
    /// (unless the call's deadline has passed: it is over, and reset).
    pub fn close(&mut self) {
        self.check_call_deadline();
        self.requests = None;
    }

    /// The response head (initial metadata), waiting for it until `deadline`. A call that
    /// failed at once with a status (trailers-only) has an empty head; its status comes from
    /// [`Call::next`].
    pub async fn head(&mut self, deadline: Instant) -> Result<&MetadataMap, GrpcError> {
        if let Waited::TimedOut = self.wait_head(deadline).await {
            return Err(GrpcError::Deadline {
                after: self.started.elapsed(),
                waiting_for: "the response headers".to_string(),
            });
        }
        match &self.state {
            State::Open { head, .. } | State::Ended { head, .. } => Ok(head),
            State::Failed(error) => Err(error.clone()),
            State::Waiting(_) => Err(GrpcError::Deadline {
                after: self.started.elapsed(),
                waiting_for: "the response headers".to_string(),
            }),
        }
    }

    /// The next reply message, or how the call ended, or [`Next::TimedOut`] if neither came
    /// before `deadline`. An error is a failure without a status from the server (a broken
    /// connection, a malformed frame).
    pub async fn next(&mut self, deadline: Instant) -> Result<Next, GrpcError> {
        if let Waited::TimedOut = self.wait_head(deadline).await {
            return Ok(Next::TimedOut);
        }
        let (limit, call_limit) = self.limit(deadline);
        let State::Open { body, .. } = &mut self.state else {
            return self.outcome();
        };
        let read = match tokio::time::timeout_at(limit.into(), body.message()).await {
            Err(_) if call_limit => {
                self.expire();
                return self.outcome();
            }
            Err(_) => return Ok(Next::TimedOut),
            Ok(read) => read,
        };
        match read {
            Ok(Some(reply)) => {
                let at = Instant::now();
                Ok(Next::Message {
                    json: message_to_json(&reply.message)?,
                    at,
                    size: reply.size,
                })
            }
            Ok(None) => {
                // The stream ended with grpc-status 0; tonic kept the trailers aside.
                let trailers = match body.trailers().await {
                    Ok(Some(trailers)) => {
                        let mut headers = trailers.into_headers();
                        headers.remove("grpc-status");
                        headers.remove("grpc-message");
                        MetadataMap::from_headers(headers)
                    }
                    _ => MetadataMap::new(),
                };
                self.end(CallStatus::ok(trailers));
                self.outcome()
            }
            Err(status) => {
                match self.not_grpc_answer(classify(&status, &self.peer)) {
                    Classified::Server(status) => self.end(status),
                    // The call's deadline, not the break it may have caused (a server resets
                    // a call whose grpc-timeout passed), is what ended the call.
                    Classified::Failed(_) if self.past_call_deadline(Instant::now()) => {
                        self.expire()
                    }
                    Classified::Failed(error) => self.state = State::Failed(error),
                }
                self.outcome()
            }
        }
    }

    /// Cancels the call: the server sees the messages sent so far (those its flow control has
    /// room for), then its stream reset (CANCEL), and the call ends with a local `CANCELLED`;
    /// once the call's deadline has passed (before the cancel, or while its messages go out),
    /// `DEADLINE_EXCEEDED` instead. A call whose request has not gone out yet is sent first, then
    /// reset. Returns once the reset is on the wire (or at `deadline`). Nothing happens to a call
    /// that has already ended.
    pub async fn cancel(&mut self, deadline: Instant) {
        if !self.is_live() {
            return;
        }
        self.check_call_deadline();
        if self.is_live() {
            self.let_requests_out(deadline).await;
        }
        if self.is_live() {
            self.stop();
            self.end(CallStatus::local(
                Code::Cancelled,
                "cancelled by the client",
            ));
        }
        // h2 has queued the reset; its connection task writes it when it next runs.
        self.peer.wire.settled(self.streams_before, deadline).await;
    }

    /// Waits until the request's HEADERS and the DATA of every message sent are written (or as
    /// much of it as the server's flow-control windows let out: a server that does not read
    /// never makes more room), so that a reset does not drop them: until `deadline` at most,
    /// and the call's own, which ends the call if it passes first. A response head that comes
    /// meanwhile is noted (the call is being cancelled all the same).
    async fn let_requests_out(&mut self, deadline: Instant) {
        let (limit, call_limit) = self.limit(deadline);
        let peer = self.peer.clone();
        let written = peer
            .wire
            .data_written(self.streams_before, self.request_bytes, limit);
        tokio::pin!(written);
        let mut done = None;
        if let State::Waiting(answer) = &mut self.state {
            tokio::select! {
                written = &mut written => done = Some(written),
                answer = answer => {
                    if let Ok((answer, arrived)) = answer
                        && self.is_head(&answer)
                    {
                        self.head_at = Some(arrived);
                    }
                    // The answer is gone: nothing may wait for it again.
                    let (_, gone) = oneshot::channel();
                    self.state = State::Waiting(gone);
                }
            }
        }
        let done = match done {
            Some(done) => done,
            None => written.await,
        };
        if !done && call_limit {
            self.expire();
        }
    }

    fn is_live(&self) -> bool {
        matches!(self.state, State::Waiting(_) | State::Open { .. })
    }

    /// Waits for the response head if it has not come, within `deadline` and the call's own.
    async fn wait_head(&mut self, deadline: Instant) -> Waited {
        let (limit, call_limit) = self.limit(deadline);
        let State::Waiting(answer) = &mut self.state else {
            return Waited::Ready;
        };
        let answer = match tokio::time::timeout_at(limit.into(), answer).await {
            Err(_) if call_limit => {
                self.expire();
                return Waited::Ready;
            }
            Err(_) => return Waited::TimedOut,
            Ok(answer) => answer,
        };
        // Whatever came at or after the call's deadline comes too late (tonic's own timer
        // for grpc-timeout gives "Timeout expired" then): the deadline ended the call.
        if let Ok((answer, arrived)) = &answer
            && (self.past_call_deadline(*arrived) || is_tonic_timeout(answer))
        {
            self.expire();
            return Waited::Ready;
        }
        if let Ok((answer, arrived)) = &answer
            && self.is_head(answer)
        {
            self.head_at = Some(*arrived);
        }
        self.state = match answer.map(|(answer, _)| answer) {
            Ok(Ok(response)) => {
                let (head, body, _) = response.into_parts();
                let content_type = head
                    .get("content-type")
                    .map(|value| value.to_str().unwrap_or("(not ASCII)").to_string());
                if !content_type
                    .as_deref()
                    .is_some_and(|value| value.starts_with("application/grpc"))
                {
                    self.not_grpc = Some(content_type);
                }
                State::Open { head, body }
            }
            Ok(Err(status)) => match classify(&status, &self.peer) {
                Classified::Server(status) => State::Ended {
                    head: MetadataMap::new(),
                    status,
                    at: Instant::now(),
                },
                Classified::Failed(error) => State::Failed(error),
            },
            Err(_) => State::Failed(describe_failure(
                &std::io::Error::other("the call stopped before the server answered"),
                &self.peer,
            )),
        };
        Waited::Ready
    }

    /// Whether `answer` is the server's response head: a response, or a status the server sent
    /// alone (not a failure on the way).
    fn is_head(&self, answer: &Answer) -> bool {
        match answer {
            Ok(_) => true,
            Err(status) => matches!(classify(status, &self.peer), Classified::Server(_)),
        }
    }

    /// An answer without gRPC's content-type that also ended without a `grpc-status` (tonic
    /// maps the HTTP status to a code) or with a body that is not gRPC frames: not a gRPC server.
    fn not_grpc_answer(&self, classified: Classified) -> Classified {
        let Some(content_type) = &self.not_grpc else {
            return classified;
        };
        let detail = match &classified {
            Classified::Server(status)
                if status.message.starts_with("grpc-status header missing") =>
            {
                status.message.clone()
            }
            Classified::Failed(GrpcError::MalformedFrame { reason }) => reason.clone(),
            _ => return classified,
        };
        Classified::Failed(GrpcError::NotGrpc {
            address: self.peer.address.clone(),
            content_type: content_type.clone(),
            detail,
        })
    }

    /// The earlier of `deadline` and the call's deadline, and whether it is the call's.
    fn limit(&self, deadline: Instant) -> (Instant, bool) {
        match self.deadline {
            Some((call, _)) if call <= deadline => (call, true),
            _ => (deadline, false),
        }
    }

    /// Whether the call has a deadline and `at` is not before it.
    fn past_call_deadline(&self, at: Instant) -> bool {
        self.deadline.is_some_and(|(call, _)| at >= call)
    }

    fn check_call_deadline(&mut self) {
        if self
            .deadline
            .is_some_and(|(call, _)| Instant::now() >= call)
            && matches!(self.state, State::Waiting(_) | State::Open { .. })
        {
            self.expire();
        }
    }

    /// The call's deadline passed before it ended: cancel it on the wire.
    fn expire(&mut self) {
        if !matches!(self.state, State::Waiting(_) | State::Open { .. }) {
            return;
        }
        let timeout = self
            .deadline
            .map(|(_, timeout)| timeout)
            .unwrap_or_default();
        self.stop();
        self.end(CallStatus::local(
            Code::DeadlineExceeded,
            format!(
                "deadline exceeded after {} (the call's grpc-timeout)",
                format_duration(timeout)
            ),
        ));
    }

    /// Resets the call on the wire, without ending its request stream first.
    fn stop(&mut self) {
        // In this order: once the request stream knows, it can no longer end, then tonic
        // resets it (if it has not ended already).
        self.request_stream.cancelled.store(true, Ordering::SeqCst);
        if let Some(handle) = self.cancel_handle.take() {
            handle.cancel();
        }
        self.requests = None;
        // A request the connection has not taken yet goes out and is reset there, so the
        // task must carry on. Once taken, dropping the response (with the task) resets a
        // stream whose request had already ended.
        if self.request_stream.taken.load(Ordering::SeqCst) {
            self.task.abort();
        }
    }

    fn end(&mut self, status: CallStatus) {
        let head = match std::mem::replace(&mut self.state, State::Failed(GrpcError::RequestClosed))
        {
            State::Open { head, .. } | State::Ended { head, .. } => head,
            State::Waiting(_) | State::Failed(_) => MetadataMap::new(),
        };
        self.requests = None;
        self.state = State::Ended {
            head,
            status,
            at: Instant::now(),
        };
    }

    /// What [`Call::next`] says once the call is over.
    fn outcome(&self) -> Result<Next, GrpcError> {
        match &self.state {
            State::Ended { status, at, .. } => Ok(Next::End {
                status: status.clone(),
                at: *at,
            }),
            State::Failed(error) => Err(error.clone()),
            State::Waiting(_) | State::Open { .. } => Ok(Next::TimedOut),
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.request_stream.cancelled.store(true, Ordering::SeqCst);
        if let Some(handle) = self.cancel_handle.take() {
            handle.cancel();
        }
        self.task.abort();
    }
}

/// Whether tonic's own timer for `grpc-timeout` ended the wait for the response head.
fn is_tonic_timeout(answer: &Answer) -> bool {
    let Err(status) = answer else {
        return false;
    };
    let mut cause = std::error::Error::source(status);
    while let Some(error) = cause {
        if error.is::<TimeoutExpired>() {
            return true;
        }
        cause = error.source();
    }
    false
}

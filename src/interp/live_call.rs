//! A started gRPC call as blocks and expectations read it: its replies as items with their
//! arrival times, the messages a spec sends on it, `close` and `abort`.

use std::time::{Duration, Instant};

use prost_reflect::{DynamicMessage, MethodDescriptor};
use serde_json::Value;

use crate::ast::Message;
use crate::interp::background::{ReadAhead, ReadsAhead};
use crate::interp::matcher::Terminal;
use crate::interp::stream::Next;
use crate::interp::vars::Scope;
use crate::outcome::Failure;
use crate::render::quote;
use crate::source::Span;
use crate::transport::grpc::call::{self, Call};
use crate::transport::grpc::shape::Shape;
use crate::transport::grpc::{CallStatus, GrpcError, request_from_json};
use crate::transport::item::Item;

/// A started call, as blocks and expectations read it.
pub struct LiveCall {
    pub(super) call: Call,
    pub(super) method: MethodDescriptor,
    /// What the reply type says about a reply's JSON, given to each reply for its patterns.
    pub(super) reply_shape: Shape,
    /// When the call started: every time is measured from here.
    pub(super) origin: Instant,
    /// The later of the last reply taken (by a block or a line; not one only read ahead) and
    /// the last message sent, from `origin`: what a block's first `within` counts from.
    pub(super) previous: Duration,
    /// The test's deadline, for sends a slow server holds up.
    pub(super) deadline: Instant,
    /// Set once the call broke without a status from the server.
    pub(super) failed: Option<GrpcError>,
    pub(super) closed: bool,
    /// Reply bytes read since the stream statistics last took them.
    pub(super) unreported_bytes: u64,
    /// Replies read ahead (a named call between blocks, any call during a `wait` between steps)
    /// that no block or line took yet.
    pub(super) ahead: ReadAhead,
    /// How long the response head was waited for, by the latest wait that timed out without it.
    pub(super) head_waited: Option<Duration>,
}

impl LiveCall {
    pub fn origin(&self) -> Instant {
        self.origin
    }

    pub fn previous(&self) -> Duration {
        self.previous
    }

    /// From the start of the call to its response head; `None` if none has come (or the call
    /// ended without one).
    pub fn ttfb(&self) -> Option<Duration> {
        self.call
            .head_at()
            .map(|at| at.saturating_duration_since(self.origin))
    }

    /// When the call was given up before its response head came (a broken time bound, the
    /// test's timeout, the call's own `deadline`): how long the head was waited for. `None` once
    /// the head came, or when the call ended otherwise without one (`abort`, a broken
    /// connection): then nothing was waited for that did not come.
    pub fn given_up_before_head(&self) -> Option<Duration> {
        if self.call.head_at().is_some() || self.failed.is_some() {
            return None;
        }
        match self.call.ended() {
            None => self.head_waited,
            // Its deadline ended it: it was waited for as long as that allowed.
            Some(status) if status.local && status.code == tonic::Code::DeadlineExceeded => {
                self.call.timeout()
            }
            Some(_) => None,
        }
    }

    /// The response head, waiting for it until `deadline` (see [`Call::head`]).
    pub(super) async fn head(
        &mut self,
        deadline: Instant,
    ) -> Result<&tonic::metadata::MetadataMap, GrpcError> {
        let head = self.call.head(deadline).await;
        if let Err(GrpcError::Deadline { .. }) = head {
            self.head_waited = Some(self.origin.elapsed());
        }
        head
    }

    /// The reply bytes read since the last call, for the stream's statistics.
    pub fn take_bytes(&mut self) -> u64 {
        std::mem::take(&mut self.unreported_bytes)
    }

    pub fn is_open(&self) -> bool {
        (self.failed.is_none() && self.call.ended().is_none()) || self.ahead.has_items()
    }

    /// The size limit a reply went over, when that is what ended the call.
    pub fn too_large(&self) -> Option<usize> {
        match &self.failed {
            Some(GrpcError::TooLarge { limit, .. }) => Some(*limit),
            _ => None,
        }
    }

    /// The next reply, or how the call ended.
    pub async fn next(&mut self, deadline: Instant) -> Next {
        let next = match self.ahead.taken() {
            Some(next) => next,
            None => self.read(deadline).await,
        };
        if let Next::Item(_, at) = &next {
            self.previous = self.previous.max(*at);
        }
        next
    }

    /// Reads one reply ahead, for a block that holds the call later; `false` once there is
    /// nothing more to read now. Cancel-safe, as reading a reply is.
    pub(super) async fn read_ahead(&mut self, deadline: Instant) -> bool {
        if !self.ahead.reading() {
            return false;
        }
        let before = self.unreported_bytes;
        let next = self.read(deadline).await;
        let bytes = self.unreported_bytes - before;
        self.ahead.keep(Ok(next), bytes)
    }

    /// Reading ahead stopped at its bound.
    pub(super) fn buffer_full(&self) -> bool {
        self.ahead.full()
    }

    /// Reading ahead stopped at its bound and everything before that was taken.
    pub(super) fn buffer_exhausted(&self) -> bool {
        self.ahead.exhausted()
    }

    /// Replies read ahead that nothing took, for the figures of a call closed before.
    pub(super) fn take_read_ahead(&mut self) -> impl Iterator<Item = (Item, Duration)> + '_ {
        self.ahead.take()
    }

    async fn read(&mut self, deadline: Instant) -> Next {
        if let Some(error) = &self.failed {
            return Next::Ended(Terminal::Dropped(error.to_string()));
        }
        match self.call.next(deadline).await {
            Ok(call::Next::Message { json, at, size }) => {
                let at = at.saturating_duration_since(self.origin);
                self.unreported_bytes += size as u64;
                Next::Item(
                    Item::Json(Box::new(json), Some(self.reply_shape.clone())),
                    at,
                )
            }
            Ok(call::Next::End { status, .. }) => Next::Ended(terminal(&status)),
            Ok(call::Next::TimedOut) => {
                if self.call.head_at().is_none() {
                    self.head_waited = Some(self.origin.elapsed());
                }
                Next::TimedOut
            }
            Err(error) => {
                let terminal = Terminal::Dropped(error.to_string());
                self.failed = Some(error);
                Next::Ended(terminal)
            }
        }
    }

    /// `send { … }` or `send file "…"`: one request message.
    pub async fn send(&mut self, message: &Message, scope: &Scope) -> Result<(), Failure> {
        let value = scope.message_value(message)?;
        let span = message.span();
        let message = self.message(&value, span)?;
        self.send_message(message, span).await
    }

    pub(super) fn message(&self, value: &Value, span: Span) -> Result<DynamicMessage, Failure> {
        let input = self.method.input();
        request_from_json(&input, value).map_err(|error| {
            Failure::error(
                format!("this message does not fit `{}`", input.full_name()),
                span,
                error.to_string(),
            )
        })
    }

    pub(super) async fn send_message(
        &mut self,
        message: DynamicMessage,
        span: Span,
    ) -> Result<(), Failure> {
        match self.call.send(message, self.deadline).await {
            Ok(()) => {}
            // The server has already ended the call (a client may race it): as in every gRPC
            // client, the message goes nowhere, and the status says how the call ended.
            Err(GrpcError::CallEnded { .. }) => {}
            Err(error) => {
                return Err(Failure::error(
                    error.to_string(),
                    span,
                    "sending this message",
                ));
            }
        }
        self.previous = self.origin.elapsed();
        Ok(())
    }

    /// `close`: half-closes the request stream.
    pub fn close(&mut self) {
        self.closed = true;
        self.call.close();
    }

    /// `abort`: cancels the call (sending it first if it has not gone out); it ends with a
    /// local `CANCELLED` once the cancel is on the wire (or the test's deadline has come).
    pub async fn cancel(&mut self, deadline: Instant) {
        self.call.cancel(deadline).await;
    }

    /// The status the call ended with, once it has.
    pub(super) fn status(&self) -> Option<&CallStatus> {
        self.call.ended()
    }
}

/// How a call's ending reads to a block: OK is a clean `end`, any other status counts as
/// `dropped`.
pub(super) fn terminal(status: &CallStatus) -> Terminal {
    if status.is_ok() {
        Terminal::End
    } else {
        Terminal::Status(describe_status(status))
    }
}

/// `NOT_FOUND "unknown symbol"`, or just the code when there is no message.
pub(super) fn describe_status(status: &CallStatus) -> String {
    if status.message.is_empty() {
        status.code_name().to_string()
    } else {
        format!("{} {}", status.code_name(), quote(&status.message))
    }
}

impl ReadsAhead for LiveCall {
    async fn read_ahead(&mut self, deadline: Instant) -> bool {
        LiveCall::read_ahead(self, deadline).await
    }
}

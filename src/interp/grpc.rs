//! gRPC calls in a test: the call starts when its first expectation (or `send`) needs it, its
//! replies feed `expect messages` blocks and `expect message` lines as items, and its status,
//! initial metadata and trailers are checked when the spec asks. How a call finds its schema
//! and method is in `grpc_lookup`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use prost_reflect::DynamicMessage;
use tonic::metadata::{KeyAndValueRef, MetadataMap};

use crate::ast::*;
use crate::diff::{self, DiffLine, Tag};
use crate::duration::format_duration;
use crate::interp::aggregate::describe_duration_cond;
use crate::interp::background::read_past_buffer;
use crate::interp::grpc_lookup::schema_sources;
pub use crate::interp::live_call::LiveCall;
use crate::interp::live_call::describe_status;
use crate::interp::record::BlockUpdate;
use crate::interp::stats::StreamStats;
use crate::interp::stream::{Finish, Next, Source, StreamRun, item_instead_of_end};
use crate::interp::unreadable;
use crate::interp::{HeadPart, TestRun};
use crate::outcome::{Failure, Fix, StreamReport};
use crate::pattern::text::match_text;
use crate::render::render_text_matcher;
use crate::saturating_time::SaturatingAdd;
use crate::source::Span;
use crate::transport::grpc::call::{self};
use crate::transport::grpc::json::base64;
use crate::transport::grpc::shape::Shape;
use crate::transport::grpc::{CallStatus, GrpcError, GrpcTarget, MethodKind, connect};

/// A `grpc …` step and what the steps after it set, until the call starts.
pub struct GrpcExchange {
    call: GrpcCall,
    options: Vec<(GrpcOption, Span)>,
    /// Whether the call's steps `send`, `close` or `abort` anywhere. Without any, the request
    /// stream is closed right after the `message`s, so a client-streaming server sees its end.
    /// With an `abort`, it stays open: a cancel is a reset, without a half-close before it.
    feeds_requests: bool,
    live: Option<LiveCall>,
    pub stats: Option<StreamStats>,
    /// A block that passed before the replies ended, so counts are partial.
    pub stopped_early: Option<Spanned<StreamKind>>,
    /// A block read it: its figures are in the report with the block.
    pub reported: bool,
    /// While a block reads the replies: what a load's end, cutting the run off mid-block,
    /// reports of them.
    reading: Option<crate::interp::cut_off::Reading>,
}

impl GrpcExchange {
    /// The exchange for the `grpc` step `call`; `after` are the steps that follow it.
    pub fn new(call: &GrpcCall, after: &[Step]) -> GrpcExchange {
        let steps = after.iter().take_while(|s| {
            !matches!(
                s.kind,
                StepKind::Request(_)
                    | StepKind::Grpc(_)
                    | StepKind::Repeat(_)
                    | StepKind::Parallel(_)
            )
        });
        let mut feeds_requests = false;
        for step in steps {
            feeds_requests |= match &step.kind {
                StepKind::Control(Control::Send(_) | Control::Close(_) | Control::Abort(_)) => true,
                StepKind::Expect(Expectation::Stream(block)) => feeds(&block.entries),
                _ => false,
            };
        }
        GrpcExchange {
            call: call.clone(),
            options: Vec::new(),
            feeds_requests,
            live: None,
            stats: None,
            stopped_early: None,
            reported: false,
            reading: None,
        }
    }

    /// A load's end cut the run off while a block read the replies: what they had measured.
    pub(super) fn cut_off_report(&mut self) -> Option<StreamReport> {
        let reading = self.reading.take()?;
        let (live, stats) = (self.live.as_ref()?, self.stats.as_mut()?);
        self.reported = true;
        stats.ttfb = live.ttfb();
        let waited = reading.origin.elapsed();
        // The wait for the next item, cut short: a stall still going counts (a lower
        // bound), as a block that gives up counts its wait.
        stats.gave_up_waiting(waited);
        stats.duration = Some(waited);
        Some(StreamReport {
            name: self.call.name.as_ref().map(|name| name.value.clone()),
            ..stats.report(reading.kind, reading.span)
        })
    }

    /// In a load run, a call no block read: its connect and ttfb, once (see
    /// [`TestRun::report_unread_exchange`]); given up before its head, the time it waited.
    pub(super) fn unread_report(&mut self) -> Option<StreamReport> {
        if self.reported || self.name().is_some() {
            return None;
        }
        let span = self.span();
        let (live, stats) = (self.live.as_ref()?, self.stats.as_mut()?);
        stats.ttfb = live.ttfb();
        let mut report = stats.plain_request_report(span)?;
        if let Some(waited) = live.given_up_before_head() {
            report.ttfb = Some(waited);
        }
        self.reported = true;
        Some(report)
    }

    pub fn add_option(&mut self, option: &GrpcOption, span: Span) {
        self.options.push((option.clone(), span));
    }

    /// `as NAME`: the call stays open and is read in the background between its blocks.
    pub fn name(&self) -> Option<&Ident> {
        self.call.name.as_ref()
    }

    /// A named call that a later `expect messages from NAME` block sends on: its request
    /// stream stays open after the `message`s.
    pub fn fed_later(&mut self) {
        self.feeds_requests = true;
    }

    /// The `grpc` line.
    pub fn span(&self) -> Span {
        self.call.target.span.to(self.call.method.span)
    }

    pub fn take_live(&mut self) -> Option<LiveCall> {
        self.live.take()
    }

    pub fn put_live(&mut self, live: LiveCall) {
        self.live = Some(live);
    }

    /// The call, once started.
    pub(super) fn live_mut(&mut self) -> Option<&mut LiveCall> {
        self.live.as_mut()
    }
}

/// Whether a block sends, closes or aborts, at any depth.
pub(super) fn feeds(entries: &[Entry]) -> bool {
    entries.iter().any(|entry| match &entry.kind {
        EntryKind::Control(Control::Send(_) | Control::Close(_) | Control::Abort(_)) => true,
        EntryKind::Repeat { body, .. } | EntryKind::Until { body, .. } => feeds(body),
        _ => false,
    })
}

/// The values of one metadata key, as text: `-bin` values in base64, as grpcurl shows them.
fn metadata_values(map: &MetadataMap, name: &str) -> Vec<String> {
    map.iter()
        .filter_map(|entry| match entry {
            KeyAndValueRef::Ascii(key, value) if key.as_str() == name => {
                Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
            }
            KeyAndValueRef::Binary(key, value) if key.as_str() == name => {
                Some(value.to_bytes().map_or_else(
                    |_| String::from_utf8_lossy(value.as_encoded_bytes()).into_owned(),
                    |bytes| base64(&bytes),
                ))
            }
            _ => None,
        })
        .collect()
}

impl TestRun<'_> {
    fn live(&mut self) -> Option<&mut LiveCall> {
        self.call.as_mut().and_then(|c| c.live.as_mut())
    }

    /// Starts the current call if it has not started: connects, finds the method in the
    /// schema, sends the request metadata and the `message`s.
    pub(super) async fn ensure_call(&mut self) -> Result<(), Failure> {
        let Some(exchange) = self.call.as_ref() else {
            return Ok(());
        };
        if exchange.live.is_some() {
            return Ok(());
        }
        let call = exchange.call.clone();
        let options = exchange.options.clone();
        let feeds_requests = exchange.feeds_requests;
        let url = self.scope.resolve(&call.target)?;
        let mut target = GrpcTarget {
            url: url.clone(),
            insecure: false,
            authority: None,
        };
        let mut metadata = Vec::new();
        let mut deadline = None;
        let mut messages = Vec::new();
        let mut paths: Vec<(PathBuf, &GrpcOption)> = Vec::new();
        for (option, _) in &options {
            match option {
                GrpcOption::Metadata(header) => metadata.push((
                    header.name.value.clone(),
                    self.scope.resolve(&header.value)?,
                )),
                GrpcOption::Deadline(duration) => deadline = Some(duration.value),
                GrpcOption::Message(pattern) => messages.push(pattern),
                GrpcOption::Authority(template) => {
                    target.authority = Some(self.scope.resolve(template)?)
                }
                GrpcOption::Insecure => target.insecure = true,
                GrpcOption::Proto(template)
                | GrpcOption::Import(template)
                | GrpcOption::Descriptor(template) => {
                    let relative = self.scope.resolve(template)?;
                    paths.push((self.spec.file.dir().join(relative), option));
                }
            }
        }
        let test_deadline = self.deadline;
        let channel = connect(&target, test_deadline)
            .await
            .map_err(|error| self.grpc_failure(error, &call, "connecting to this server"))?;
        let connect_time = channel.connect_time();
        let sources = schema_sources(&paths, &self.settings.grpc_schema);
        let method = self
            .find_method(&sources, &channel, &call, &self.settings.schemas)
            .await?;
        let kind = MethodKind::of(&method);
        let started = Instant::now();
        let max_item_size = self.settings.max_item_size;
        let handle = call::start(&channel, &method, metadata, deadline, max_item_size)
            .map_err(|error| Failure::error(error.to_string(), call.method.span, "this call"))?;
        self.connections += 1;
        let mut live = LiveCall {
            call: handle,
            method: method.clone(),
            reply_shape: Shape::Message(method.output()),
            origin: started,
            previous: Duration::ZERO,
            deadline: test_deadline,
            failed: None,
            closed: false,
            unreported_bytes: 0,
            ahead: Default::default(),
            head_waited: None,
        };
        // Unary and server-streaming calls take exactly one request: an empty one by default.
        if !kind.client_streams() {
            if let Some(extra) = messages.get(1) {
                return Err(Failure::error(
                    format!(
                        "`{}` takes one request message, and this call gives {}",
                        call.method.value,
                        messages.len()
                    ),
                    extra.span(),
                    "a second message",
                )
                .help_note(
                    "only client-streaming and bidirectional methods take a stream of messages",
                ));
            }
            if messages.is_empty() {
                live.send_message(DynamicMessage::new(method.input()), call.method.span)
                    .await?;
            }
        }
        for message in &messages {
            let value = self.scope.message_value(message)?;
            let span = message.span();
            let message = live.message(&value, span)?;
            live.send_message(message, span).await?;
        }
        if !kind.client_streams() || !feeds_requests {
            live.close();
        }
        live.previous = Duration::ZERO;
        if let Some(exchange) = self.call.as_mut() {
            exchange.live = Some(live);
            let mut stats = StreamStats::awaiting_head();
            stats.connect = connect_time;
            exchange.stats = Some(stats);
        }
        Ok(())
    }

    /// `send` and `close` between expectations; `abort` cancels the call.
    pub(super) async fn grpc_control(&mut self, control: &Control) -> Result<(), Failure> {
        self.ensure_call().await?;
        let Some(exchange) = self.call.as_mut() else {
            return Ok(());
        };
        let Some(live) = exchange.live.as_mut() else {
            return Ok(());
        };
        match control {
            Control::Send(pattern) => {
                live.send(pattern, &self.scope).await?;
            }
            Control::Close(_) => live.close(),
            Control::Abort(_) => live.cancel(self.deadline).await,
            _ => {}
        }
        Ok(())
    }

    /// The test moves on (or ends): a call nothing looked at is still made, and must answer.
    pub(super) async fn finish_call(&mut self) -> Result<(), Failure> {
        let Some(exchange) = self.call.as_ref() else {
            return Ok(());
        };
        if exchange.live.is_some() {
            return Ok(());
        }
        let call = exchange.call.clone();
        self.ensure_call().await?;
        let deadline = self.deadline;
        if let Some(live) = self.live()
            && let Err(error) = live.head(deadline).await
        {
            return Err(Failure::error(
                error.to_string(),
                call.target.span,
                "waiting for the answer to this call",
            ));
        }
        Ok(())
    }

    pub(super) async fn grpc_expect(
        &mut self,
        expectation: &Expectation,
        span: Span,
    ) -> Result<(), Failure> {
        self.ensure_call().await?;
        match expectation {
            Expectation::Stream(block) => {
                let mut entries = block.entries.clone();
                self.scope.instantiate_entries(&mut entries)?;
                self.read_replies(&entries, block.kind.clone(), Some(block.block_span), None)
                    .await
            }
            Expectation::Message(line) => {
                let entries = vec![Entry {
                    kind: EntryKind::Item(line.clone()),
                    span: line.span,
                }];
                let mut entries = entries;
                self.scope.instantiate_entries(&mut entries)?;
                let kind = Spanned::new(StreamKind::Messages, line.span);
                self.read_replies(&entries, kind, None, None).await
            }
            Expectation::End => self.expect_end(span).await,
            Expectation::GrpcStatus { codes, message } => {
                let status = self.drain(span).await?;
                self.check_status(&status, codes, message.as_ref(), span)
            }
            Expectation::Metadata { trailer, header } => {
                let values = if *trailer {
                    let status = self.drain(span).await?;
                    metadata_values(&status.trailers, &header.name.value)
                } else {
                    self.initial_metadata(&header.name.value, span).await?
                };
                let part = if *trailer {
                    HeadPart::Trailer
                } else {
                    HeadPart::Metadata
                };
                self.check_header(part, header, &values, span)?;
                self.capture_header(header, &values)
            }
            Expectation::Aggregate(aggregate) => {
                match &aggregate.kind {
                    AggregateKind::Bytes(_) | AggregateKind::Duration(_) => {
                        self.drain(span).await?;
                    }
                    AggregateKind::Ttfb(cond) => self.await_head(cond, span).await?,
                    _ => {}
                }
                self.check_aggregate(aggregate)
            }
            // The checker keeps HTTP expectations off gRPC calls.
            _ => Ok(()),
        }
    }

    /// Reads replies against a block (or a single `expect message`).
    pub(super) async fn read_replies(
        &mut self,
        entries: &[Entry],
        kind: Spanned<StreamKind>,
        block_span: Option<Span>,
        log: Option<&mut crate::interp::group::ItemLog>,
    ) -> Result<(), Failure> {
        let update = BlockUpdate::of(self.settings, self.spec, block_span);
        let deadline = self.deadline;
        let timeout = self.timeout;
        let max_item_size = self.settings.max_item_size;
        let Some(exchange) = self.call.as_mut() else {
            return Ok(());
        };
        let (Some(live), Some(stats)) = (exchange.live.as_mut(), exchange.stats.as_mut()) else {
            return Ok(());
        };
        let previous = live.previous();
        let mut received_before_abort = None;
        exchange.reading = Some(crate::interp::cut_off::Reading {
            kind: kind.value.keyword(),
            span: kind.span,
            origin: live.origin,
        });
        let result = StreamRun {
            source: Source::Grpc(live),
            kind: kind.clone(),
            previous,
            entries,
            deadline,
            timeout,
            max_item_size,
            stats,
            scope: &mut self.scope,
            connections: &mut self.connections,
            received_before_abort: &mut received_before_abort,
            track_ids: false,
            update,
            log,
            tokens: self
                .settings
                .tokens_capture
                .as_deref()
                .filter(|name| crate::check::block_captures_name(entries, name)),
        }
        .run()
        .await;
        stats.ttfb = live.ttfb();
        stats.read_until_now(live.origin);
        exchange.reported = true;
        exchange.reading = None;
        let given_up = live.given_up_before_head();
        self.streams.push(StreamReport {
            name: exchange.call.name.as_ref().map(|name| name.value.clone()),
            branch: self.branch.clone(),
            aborted_after: received_before_abort,
            ..stats.report(kind.value.keyword(), kind.span)
        });
        if matches!(result, Ok(Finish::StoppedEarly)) {
            exchange.stopped_early = Some(kind.clone());
        }
        if let Some(waited) = given_up {
            self.report_given_up(kind.span, waited);
        }
        result.map(|_| ())
    }

    /// `expect end`: no more replies (whatever the status; `expect status` checks that).
    async fn expect_end(&mut self, span: Span) -> Result<(), Failure> {
        let deadline = self.deadline;
        let timeout = self.timeout;
        let Some(exchange) = self.call.as_mut() else {
            return Ok(());
        };
        let (Some(live), Some(stats)) = (exchange.live.as_mut(), exchange.stats.as_mut()) else {
            return Ok(());
        };
        match live.next(deadline).await {
            // Not the call's end: where reading ahead (during a `wait`) stopped at its bound.
            Next::Ended(_) if live.buffer_exhausted() => {
                Err(read_past_buffer(stats.items + 1, span))
            }
            // A call that broke (a reply too large, one cut short, a connection dropped) did
            // not end: the end it shows is how it broke, not the one expected.
            Next::Ended(_) => match &live.failed {
                None => Ok(()),
                Some(GrpcError::TooLarge { limit, .. }) => Err(unreadable::too_large(
                    stats.items + 1,
                    *limit,
                    span,
                    "reading the replies to their end",
                )),
                Some(error) => Err(Failure::error(
                    format!("the call failed without a status: {error}"),
                    span,
                    "reading the replies to their end",
                )),
            },
            Next::Item(item, at) => {
                stats.record_unstreamed_item(at);
                Err(Failure::assertion(
                    "expected the replies to end, but a message arrived",
                    span,
                    "expected the end here",
                )
                .with_diff(item_instead_of_end(
                    stats.items.saturating_sub(1),
                    &item,
                    at,
                )))
            }
            Next::TimedOut => Err(not_ended(timeout, stats.items, !live.closed, span)),
        }
    }

    /// Reads the replies nothing expects, to the call's end; its status, or how it broke.
    async fn drain(&mut self, span: Span) -> Result<CallStatus, Failure> {
        let deadline = self.deadline;
        let timeout = self.timeout;
        let Some(exchange) = self.call.as_mut() else {
            return Ok(CallStatus::local(tonic::Code::Ok, ""));
        };
        let (Some(live), Some(stats)) = (exchange.live.as_mut(), exchange.stats.as_mut()) else {
            return Ok(CallStatus::local(tonic::Code::Ok, ""));
        };
        loop {
            match live.next(deadline).await {
                Next::Item(_, at) => stats.record_unstreamed_item(at),
                Next::Ended(_) => break,
                Next::TimedOut => {
                    return Err(not_ended(timeout, stats.items, !live.closed, span));
                }
            }
        }
        stats.bytes += live.take_bytes();
        stats.ttfb = live.ttfb();
        stats.duration.get_or_insert(live.origin.elapsed());
        if live.buffer_exhausted() {
            return Err(read_past_buffer(stats.items + 1, span));
        }
        if let Some(error) = &live.failed {
            return Err(Failure::error(
                format!("the call failed without a status: {error}"),
                span,
                "reading the call to its end",
            ));
        }
        Ok(live
            .status()
            .cloned()
            .unwrap_or_else(|| CallStatus::local(tonic::Code::Unknown, "no status")))
    }

    /// `expect ttfb`: waits for the response head, for no longer than the bound lets a head
    /// pass (a later one fails it anyway) nor past the test's deadline. A call that ended
    /// without a head has no ttfb, and the check says so.
    async fn await_head(
        &mut self,
        cond: &Spanned<DurationCond>,
        span: Span,
    ) -> Result<(), Failure> {
        let test_deadline = self.deadline;
        let Some(exchange) = self.call.as_mut() else {
            return Ok(());
        };
        let (Some(live), Some(stats)) = (exchange.live.as_mut(), exchange.stats.as_mut()) else {
            return Ok(());
        };
        let bound = latest_passing(&cond.value);
        let deadline = match bound {
            Some(bound) => live.origin.saturating_add(bound).min(test_deadline),
            None => test_deadline,
        };
        let waited = live.head(deadline).await.map(|_| ());
        stats.ttfb = live.ttfb();
        match (waited, bound) {
            (Ok(()), _) => Ok(()),
            (Err(GrpcError::Deadline { .. }), Some(bound)) if deadline < test_deadline => {
                Err(Failure::assertion(
                    format!(
                        "expected ttfb {}, but no response headers came within {}",
                        describe_duration_cond(&cond.value),
                        format_duration(bound)
                    ),
                    cond.span,
                    format!("no response headers within {}", format_duration(bound)),
                ))
            }
            (Err(error), _) => Err(Failure::error(
                error.to_string(),
                span,
                "waiting for the response headers",
            )),
        }
    }

    /// The values of a key in the response head; for an answer that was a status alone
    /// (trailers-only), its one header block.
    async fn initial_metadata(&mut self, name: &str, span: Span) -> Result<Vec<String>, Failure> {
        let deadline = self.deadline;
        let Some(live) = self.live() else {
            return Ok(Vec::new());
        };
        let head = match live.head(deadline).await {
            Ok(head) => head.clone(),
            Err(error) => {
                return Err(Failure::error(
                    error.to_string(),
                    span,
                    "waiting for the response metadata",
                ));
            }
        };
        let mut values = metadata_values(&head, name);
        if head.is_empty()
            && let Some(status) = live.status()
        {
            values = metadata_values(&status.trailers, name);
        }
        Ok(values)
    }

    fn check_status(
        &mut self,
        status: &CallStatus,
        codes: &[Spanned<String>],
        message: Option<&TextMatcher>,
        span: Span,
    ) -> Result<(), Failure> {
        let observed = format!("status {}", describe_status(status));
        let names: Vec<String> = codes.iter().map(|code| code.value.clone()).collect();
        let written = names.join(" | ");
        let expected = match message {
            Some(matcher) => format!("status {written} message {}", render_text_matcher(matcher)),
            None => format!("status {written}"),
        };
        let codes_span = alternatives_span(codes);
        let diff = |at: Option<Duration>| diff::Diff {
            omitted_before: 0,
            lines: vec![
                DiffLine {
                    tag: Tag::Removed,
                    text: expected.clone(),
                    at: None,
                },
                DiffLine {
                    tag: Tag::Added,
                    text: observed.clone(),
                    at,
                },
            ],
            cut_short: false,
        };
        let ended_at = self
            .call
            .as_ref()
            .and_then(|c| c.stats.as_ref())
            .and_then(|s| s.duration);
        if !names.iter().any(|name| name == status.code_name()) {
            let mut failure = Failure::assertion(
                format!(
                    "expected status {}, got {}",
                    crate::render::or_list(&names),
                    describe_status(status)
                ),
                codes_span,
                format!("the call ended with {}", status.code_name()),
            );
            if status.local {
                failure = failure.note(match status.code {
                    tonic::Code::DeadlineExceeded => {
                        "the call's `deadline` passed before the server ended it"
                    }
                    _ => "the client ended the call itself",
                });
            }
            let fix = status_fix(status, codes_span, message.is_some(), span);
            return Err(failure.with_diff(diff(ended_at)).with_fix(fix));
        }
        let Some(matcher) = message else {
            return Ok(());
        };
        let mut matcher = matcher.clone();
        self.scope.instantiate_text(&mut matcher)?;
        let mut captures = Vec::new();
        match match_text(&matcher, &status.message, &mut captures) {
            Ok(()) => self.scope.commit(&mut captures, span),
            Err(mismatch) => Err(Failure::assertion(
                "the status message does not match",
                matcher.span,
                mismatch.to_string(),
            )
            .with_diff(diff(ended_at))
            .with_fix(status_fix(status, codes_span, true, span))),
        }
    }
}

/// The longest ttfb that `cond` lets pass, if there is one.
fn latest_passing(cond: &DurationCond) -> Option<Duration> {
    match *cond {
        DurationCond::Compare(CmpOp::Lt | CmpOp::Le | CmpOp::Eq, bound) => Some(bound),
        DurationCond::Compare(CmpOp::Gt | CmpOp::Ge | CmpOp::Ne, _) => None,
        DurationCond::Range(_, high) => Some(high),
    }
}

/// The call did not end before the test's deadline.
fn not_ended(timeout: Duration, items: u64, request_open: bool, span: Span) -> Failure {
    let failure = Failure::error(
        format!(
            "the test timed out after {} waiting for the call to end ({} read)",
            format_duration(timeout),
            match items {
                1 => "1 reply".to_string(),
                n => format!("{n} replies"),
            }
        ),
        span,
        "waiting for the call to end here",
    );
    if !request_open {
        failure
    } else {
        failure.help_note(
            "the request stream is still open, and the server may be waiting for it to end: write `close` before this line",
        )
    }
}

/// `--update` for `expect status`: the code the call ended with, and its message when the spec
/// checks the message.
fn status_fix(status: &CallStatus, codes: Span, message: bool, span: Span) -> Fix {
    let mut text = status.code_name().to_string();
    if message {
        text.push_str(&format!(
            " message {}",
            crate::render::quote(&status.message)
        ));
    }
    Fix::Replace {
        span: Span::new(codes.start, span.end),
        text,
    }
}

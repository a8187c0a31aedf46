//! The interpreter: runs one test's steps in order — build and send requests, check the head,
//! read streams against their blocks, check aggregates — under the test's deadline.

pub mod aggregate;
pub mod grpc;
mod grpc_lookup;
mod head_bound;
pub mod http_stream;
pub mod ids;
pub mod matcher;
pub mod opening;
pub mod record;
pub mod stats;
pub mod stream;
mod unread_rest;
pub mod unreadable;
pub mod vars;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use serde_json::Value;

use crate::ast::*;
use crate::diff::focus::Focus;
use crate::diff::{self, DiffLine, Tag};
use crate::duration::{format_duration, format_measured};
use crate::excerpt::{excerpt, excerpt_of_partial, text_of_partial};
use crate::outcome::{Failure, FailureClass, Fix, StreamReport, TestOutcome};
use crate::pattern::{ItemView, match_item};
use crate::render::{quote, render_item_pattern, render_regex};
use crate::saturating_time::SaturatingAdd;
use crate::source::Span;
use crate::transport::http::{
    BodyError, ChunkRead, HttpClient, HttpRequest, HttpResponse, SendError, send,
};
use crate::transport::item::Item;
use head_bound::HeadBound;
use http_stream::Reconnector;
use matcher::BlockMatcher;
use opening::Opening;
use stats::StreamStats;
use stream::{Finish, Source, StreamRun};
use vars::Scope;

/// The test timeout when neither the test, the config nor `--timeout` sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Characters of a body shown with a status that was not expected.
const BODY_EXCERPT: usize = 300;

/// How much of a body that is not JSON a failure shows, in characters.
const NOT_JSON_EXCERPT: usize = 200;

/// What every test of a run shares.
pub struct RunSettings {
    pub client: HttpClient,
    /// Variables given to the run (`--var`, environment, config), strongest already chosen.
    pub vars: Arc<HashMap<String, String>>,
    /// `{{run_id}}`: one UUID for the whole run.
    pub run_id: String,
    pub timeout: Duration,
    pub max_item_size: usize,
    /// gRPC schemas, fetched once per run and shared by its tests.
    pub schemas: crate::transport::grpc::SchemaCache,
    /// The config's `[grpc]` schema, for servers without reflection.
    pub grpc_schema: crate::config::GrpcSchemaConfig,
    /// `--update`: failures carry a fix, blocks read their stream to the end to record it, and a
    /// failed expectation with a fix does not stop the test, so one run finds every fix.
    pub record: bool,
    /// What the config redacts when an update writes observed values (`[update] redact`).
    pub redactions: crate::update::redactions::Redactions,
}

/// One request and what is known of its answer so far.
struct Exchange {
    request: Request,
    span: Span,
    headers: Vec<HeaderStep>,
    body: Option<(Body, Span)>,
    /// The request as sent, to open the stream again on `reconnect`.
    sent: Option<HttpRequest>,
    /// The status and headers, kept after the body is read so later steps can still check them.
    head: Option<(reqwest::StatusCode, reqwest::header::HeaderMap)>,
    response: Option<HttpResponse>,
    /// The body was read (or the connection dropped on purpose): no more body expectations.
    body_done: bool,
    stats: Option<StreamStats>,
    /// What the test's steps say about the answer: which status and content type let a block
    /// read it, and whether it is read as an event stream.
    opening: Opening,
    /// The headers an EventSource sends that the request got because the spec did not set them.
    eventsource_headers: Vec<(HeaderName, HeaderValue)>,
    /// The block that read the body passed before the stream ended, so counts are partial.
    stopped_early: Option<Spanned<StreamKind>>,
    /// The tightest `expect ttfb` bound on this response's head, which ends the wait for it.
    head_bound: Option<HeadBound>,
}

pub async fn run_test(settings: &RunSettings, spec: &Spec, test: &Test) -> TestOutcome {
    let started = Instant::now();
    let timeout = test
        .steps
        .iter()
        .find_map(|step| match &step.kind {
            StepKind::Timeout(duration) => Some(duration.value),
            _ => None,
        })
        .unwrap_or(settings.timeout);
    let deadline = started.saturating_add(timeout);
    let mut run = TestRun {
        settings,
        scope: Scope::new(Arc::clone(&settings.vars), &settings.run_id, spec),
        spec,
        deadline,
        timeout,
        exchange: None,
        call: None,
        soft_failures: Vec::new(),
        connections: 0,
        started,
        earlier: None,
        streams: Vec::new(),
        checks_ids: test.steps.iter().any(|step| {
            matches!(
                &step.kind,
                StepKind::Expect(Expectation::Aggregate(Aggregate {
                    kind: AggregateKind::Ids(_),
                    ..
                }))
            )
        }),
    };
    // Every wait inside has the deadline; this outer bound is only a backstop.
    let backstop = deadline.saturating_add(Duration::from_secs(5));
    let result = match tokio::time::timeout_at(backstop.into(), run.run(test)).await {
        Ok(result) => result,
        Err(_) => Err(Failure::error(
            format!("the test timed out after {}", format_duration(timeout)),
            test.name.span,
            "this test",
        )),
    };
    let mut failures = std::mem::take(&mut run.soft_failures);
    failures.extend(result.err());
    TestOutcome {
        file: Arc::clone(&spec.file),
        name: test.name.value.clone(),
        span: test.name.span,
        duration: started.elapsed(),
        failures,
        streams: std::mem::take(&mut run.streams),
    }
}

struct TestRun<'a> {
    settings: &'a RunSettings,
    scope: Scope,
    spec: &'a Spec,
    deadline: Instant,
    timeout: Duration,
    exchange: Option<Exchange>,
    /// The current gRPC call, when the latest exchange is one (then `exchange` is `None`).
    call: Option<grpc::GrpcExchange>,
    /// Header and aggregate failures: the test goes on after them, to report them all at once.
    soft_failures: Vec<Failure>,
    /// Connections opened so far, against the limit on reconnection loops.
    connections: u32,
    /// When the test started, for `expect test duration`.
    started: Instant,
    /// What each stream did, for the verbose report.
    streams: Vec<StreamReport>,
    /// Whether the test has an `expect ids …`, so streams track the order of ids.
    checks_ids: bool,
    /// The figures of the test's earlier requests, for `expect test …`.
    earlier: Option<StreamStats>,
}

impl TestRun<'_> {
    async fn run(&mut self, test: &Test) -> Result<(), Failure> {
        for (index, step) in test.steps.iter().enumerate() {
            match &step.kind {
                StepKind::Request(request) => {
                    self.next_exchange().await?;
                    self.exchange = Some(Exchange {
                        request: request.clone(),
                        span: step.span,
                        headers: Vec::new(),
                        body: None,
                        sent: None,
                        head: None,
                        response: None,
                        body_done: false,
                        stats: None,
                        opening: Opening::for_request(&test.steps, index),
                        eventsource_headers: Vec::new(),
                        stopped_early: None,
                        head_bound: HeadBound::for_request(&test.steps, index),
                    });
                }
                StepKind::Grpc(call) => {
                    self.next_exchange().await?;
                    self.call = Some(grpc::GrpcExchange::new(call, &test.steps[index + 1..]));
                }
                StepKind::GrpcOption(option) => {
                    if let Some(call) = &mut self.call {
                        call.add_option(option, step.span);
                    }
                }
                StepKind::Header(header) => {
                    if let Some(exchange) = &mut self.exchange {
                        exchange.headers.push(header.clone());
                    }
                }
                StepKind::Body(body) => {
                    if let Some(exchange) = &mut self.exchange {
                        exchange.body = Some((body.clone(), step.span));
                    }
                }
                StepKind::Timeout(_) => {}
                StepKind::Expect(expectation) => {
                    let independent = matches!(
                        expectation,
                        Expectation::Header(_)
                            | Expectation::Aggregate(_)
                            | Expectation::Metadata { .. }
                    );
                    let result = if self.call.is_some() {
                        self.grpc_expect(expectation, step.span).await
                    } else {
                        if independent {
                            // Getting the head is not part of the check, and whatever stops it
                            // (an `expect ttfb` bound included) leaves nothing to check after.
                            self.ensure_head().await?;
                        }
                        self.expect(expectation, step.span).await
                    };
                    match result {
                        Ok(()) => {}
                        Err(failure) if independent && failure.class == FailureClass::Assertion => {
                            self.soft_failures.push(failure);
                        }
                        Err(failure)
                            if self.settings.record
                                && matches!(failure.fix.as_deref(), Some(Fix::Replace { .. })) =>
                        {
                            self.soft_failures.push(failure);
                        }
                        Err(failure) => return Err(failure),
                    }
                }
                StepKind::Control(
                    control @ (Control::Abort(_) | Control::Send(_) | Control::Close),
                ) if self.call.is_some() => {
                    self.grpc_control(control).await?;
                }
                StepKind::Control(Control::Abort(_)) => {
                    self.ensure_head().await?;
                    if let Some(exchange) = &mut self.exchange {
                        // Dropping the response closes the connection mid-body.
                        exchange.response = None;
                        exchange.body_done = true;
                    }
                }
                StepKind::Control(Control::Wait(duration)) => {
                    let until = Instant::now().saturating_add(*duration).min(self.deadline);
                    tokio::time::sleep_until(until.into()).await;
                }
                // The checker rejects the rest before a run starts.
                StepKind::Control(_) => {}
            }
        }
        self.finish_exchange().await?;
        self.finish_call().await
    }

    /// Before a new request or call: the last one must have been made, and its figures count
    /// for `expect test …`.
    async fn next_exchange(&mut self) -> Result<(), Failure> {
        self.finish_exchange().await?;
        self.finish_call().await?;
        let stats = match (&self.exchange, &self.call) {
            (Some(exchange), _) => exchange.stats.as_ref(),
            (None, Some(call)) => call.stats.as_ref(),
            (None, None) => None,
        };
        if let Some(stats) = stats {
            match &mut self.earlier {
                Some(earlier) => earlier.absorb(stats),
                None => self.earlier = Some(stats.clone()),
            }
        }
        self.exchange = None;
        self.call = None;
        Ok(())
    }

    /// A request nothing looked at is still sent, and must get an answer.
    async fn finish_exchange(&mut self) -> Result<(), Failure> {
        if let Some(exchange) = &self.exchange
            && exchange.response.is_none()
            && !exchange.body_done
        {
            self.ensure_head().await?;
        }
        Ok(())
    }

    fn exchange(&mut self) -> &mut Exchange {
        self.exchange
            .as_mut()
            .unwrap_or_else(|| unreachable!("the checker requires a request before expectations"))
    }

    /// Sends the current request if it has not been sent, and waits for the response head.
    async fn ensure_head(&mut self) -> Result<(), Failure> {
        self.ensure_head_within(None).await.map(|_| ())
    }

    /// As `ensure_head`, for a stream block: when its first item has a time bound (`first
    /// within`, or `within` on the first item) the head is part of that wait, so it must come in
    /// time too; and `abort after D` may come before the head. `Ok(false)` when it did. An
    /// `expect ttfb` bound of the request ends the wait too, for any caller.
    async fn ensure_head_within(&mut self, entries: Option<&[Entry]>) -> Result<bool, Failure> {
        let matcher = entries.map(BlockMatcher::new);
        let bound = matcher.as_ref().and_then(|m| m.deadline(Duration::ZERO));
        let abort_after = match matcher.as_ref().and_then(|m| m.abort_rule()) {
            Some((AbortWhen::After(after), _)) => Some(after),
            _ => None,
        };
        let Some(exchange) = &self.exchange else {
            return Ok(true);
        };
        if exchange.response.is_some() || exchange.body_done {
            return Ok(true);
        }
        let head_bound = exchange.head_bound.clone();
        let request = self.build_request()?;
        let exchange = self.exchange.as_mut().unwrap_or_else(|| unreachable!());
        exchange.sent = Some(request.clone());
        let span = exchange.span;
        let url = request.url.to_string();
        let sent = Instant::now();
        let item_deadline = bound
            .as_ref()
            .map(|(limit, ..)| sent.saturating_add(*limit));
        let head_deadline = head_bound
            .as_ref()
            .map(|head| sent.saturating_add(head.limit));
        let bound_deadline = [item_deadline, head_deadline]
            .into_iter()
            .flatten()
            .fold(self.deadline, Instant::min);
        let abort_at = abort_after.map(|after| sent.saturating_add(after));
        let deadline = abort_at.map_or(bound_deadline, |at| at.min(bound_deadline));
        match send(&self.settings.client, request, deadline).await {
            Ok(response) => {
                self.connections += 1;
                let exchange = self.exchange();
                exchange.stats = Some(StreamStats::new(response.ttfb));
                exchange.head = Some((response.status, response.headers.clone()));
                exchange.response = Some(response);
                Ok(true)
            }
            // `abort after D` came first: the block is aborted before any item.
            Err(SendError::TimedOut) if abort_at.is_some_and(|at| at <= bound_deadline) => {
                let exchange = self.exchange();
                exchange.body_done = true;
                Ok(false)
            }
            // The ttfb bound came first (or with the item bound: it says more about a head).
            Err(SendError::TimedOut)
                if bound_deadline < self.deadline && head_deadline == Some(bound_deadline) =>
            {
                let head_bound = head_bound.unwrap_or_else(|| unreachable!("a head deadline"));
                Err(head_bound.broken(sent.elapsed()))
            }
            Err(SendError::TimedOut) => match bound {
                Some((_, bound_span, bound)) if deadline < self.deadline => {
                    let mut failure = Failure::assertion(
                        format!("timing bound `{bound}` broken"),
                        bound_span,
                        format!(
                            "no item arrived in {} (not even the response head)",
                            format_measured(sent.elapsed())
                        ),
                    );
                    if let Some(entries) = entries {
                        failure.diff = Some(Box::new(stream::nothing_arrived(entries)));
                    }
                    Err(failure)
                }
                _ => Err(Failure::error(
                    format!(
                        "no response within {} (the test's timeout)",
                        format_duration(self.timeout)
                    ),
                    span,
                    "waiting for the response to this request",
                )
                .note(format!(
                    "the server at {url} accepted nothing, or sent no response head"
                ))),
            },
            Err(SendError::Failed(reason)) => Err(Failure::error(
                reason,
                span,
                format!("sending this request to {url}"),
            )),
        }
    }

    /// `abort after D` dropped the request before its response head: the block passes when it
    /// required nothing.
    fn aborted_before_head(&mut self, block: &StreamBlock) -> Result<(), Failure> {
        self.streams.push(StreamReport {
            kind: block.kind.value.keyword(),
            span: block.kind.span,
            aborted_after: Some(Vec::new()),
            ..StreamReport::default()
        });
        let mut probe = BlockMatcher::new(&block.entries);
        match probe.finish(&matcher::Terminal::Dropped("aborted".to_string())) {
            Ok(_) => Ok(()),
            Err(_) => Err(Failure::assertion(
                "`abort after …` ended the block before the response head arrived, but the block expects items",
                block.kind.span,
                "aborted before any item",
            )
            .with_diff(stream::nothing_arrived(&block.entries))),
        }
    }

    fn build_request(&mut self) -> Result<HttpRequest, Failure> {
        let exchange = self.exchange.as_ref().unwrap_or_else(|| unreachable!());
        let url_text = self.scope.resolve(&exchange.request.url)?;
        let url = reqwest::Url::parse(&url_text).map_err(|error| {
            Failure::error(
                format!("invalid URL `{url_text}`: {error}"),
                exchange.request.url.span,
                "this URL",
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Failure::error(
                format!("unsupported URL scheme `{}`", url.scheme()),
                exchange.request.url.span,
                "expected `http://` or `https://`",
            ));
        }
        let method = reqwest::Method::from_bytes(exchange.request.method.value.as_bytes())
            .unwrap_or(reqwest::Method::GET);
        let mut headers = Vec::new();
        for header in &exchange.headers {
            let name = HeaderName::from_bytes(header.name.value.as_bytes()).map_err(|_| {
                Failure::error(
                    "invalid header name",
                    header.name.span,
                    "not a valid header name",
                )
            })?;
            let value_text = self.scope.resolve(&header.value)?;
            let value = HeaderValue::from_str(&value_text).map_err(|_| {
                Failure::error(
                    format!("invalid header value {}", quote(&value_text)),
                    header.value.span,
                    "header values must be visible ASCII",
                )
            })?;
            headers.push((name, value));
        }
        // An `expect sse` request asks for events as an EventSource does.
        let eventsource_headers = exchange.opening.eventsource_headers(&headers);
        headers.extend(eventsource_headers.iter().cloned());
        let has_content_type = headers.iter().any(|(name, _)| name == CONTENT_TYPE);
        let body = match &exchange.body {
            None => None,
            Some((Body::Json(pattern), _)) => {
                if !has_content_type {
                    headers.push((CONTENT_TYPE, HeaderValue::from_static("application/json")));
                }
                let value = self.scope.json_value(pattern)?;
                Some(value.to_string().into_bytes())
            }
            Some((Body::Text { text, times }, _)) => {
                let text = self.scope.resolve(text)?;
                Some(match times {
                    Some(times) => crate::payload::repeat(&text, times.value)
                        .map_err(|reason| {
                            Failure::error(reason, times.span, "repeated this many times")
                        })?
                        .into_bytes(),
                    None => text.into_bytes(),
                })
            }
            Some((Body::File(template), span)) => {
                let relative = self.scope.resolve(template)?;
                let path = self.spec.file.dir().join(&relative);
                Some(crate::spec_file::read_data(&path).map_err(|error| {
                    Failure::error(
                        format!("cannot read body file `{}`: {error}", path.display()),
                        *span,
                        "this body file",
                    )
                })?)
            }
        };
        self.exchange().eventsource_headers = eventsource_headers;
        Ok(HttpRequest {
            method,
            url,
            headers,
            body,
        })
    }

    async fn expect(&mut self, expectation: &Expectation, span: Span) -> Result<(), Failure> {
        match expectation {
            Expectation::Status(alternatives) => {
                self.ensure_head().await?;
                let Some((status, _)) = self.exchange().head.as_ref() else {
                    return Ok(());
                };
                let status = *status;
                if alternatives
                    .iter()
                    .any(|pattern| pattern.value.matches(status.as_u16()))
                {
                    return Ok(());
                }
                let codes: Vec<String> = alternatives.iter().map(|a| a.value.render()).collect();
                let expected = crate::render::or_list(&codes);
                let codes_span = alternatives_span(alternatives);
                // `--update` reads on after a wrong status, so the body stays for the blocks.
                let excerpt = if self.settings.record {
                    None
                } else {
                    self.body_excerpt().await
                };
                let mut failure = Failure::assertion(
                    format!(
                        "expected status {expected}, got {}",
                        describe_status(status)
                    ),
                    codes_span,
                    format!("the server answered {}", status.as_u16()),
                )
                .with_fix(Fix::Replace {
                    span: codes_span,
                    text: status.as_u16().to_string(),
                });
                if let Some(excerpt) = excerpt {
                    failure.notes.push(format!("the body began: {excerpt}"));
                }
                let added = &self.exchange().eventsource_headers;
                if let Some(help) = opening::refused_headers_help(status, added) {
                    failure = failure.help_note(help);
                }
                Err(failure)
            }
            Expectation::Header(header) => {
                self.ensure_head().await?;
                let Some((_, headers)) = self.exchange().head.as_ref() else {
                    return Ok(());
                };
                let values: Vec<String> = headers
                    .get_all(header.name.value.as_str())
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect();
                self.check_header(HeadPart::Header, header, &values, span)?;
                self.capture_header(header, &values)
            }
            Expectation::Stream(block) => {
                if !self.ensure_head_within(Some(&block.entries)).await? {
                    return self.aborted_before_head(block);
                }
                self.check_ready_for_body(block.kind.value.keyword(), Some(block.kind.value), span)
                    .await?;
                self.check_content_type(&block.kind)?;
                let mut entries = block.entries.clone();
                self.scope.instantiate_entries(&mut entries)?;
                let deadline = self.deadline;
                let max_item_size = self.settings.max_item_size;
                let spec = self.spec;
                let Some(exchange) = self.exchange.as_mut() else {
                    return Ok(());
                };
                // The block owns the connection, to replace it on `reconnect`; once it is done
                // the rest of the stream is not read, and the connection is dropped.
                let (Some(response), Some(stats), Some(request)) = (
                    exchange.response.take(),
                    exchange.stats.as_mut(),
                    exchange.sent.clone(),
                ) else {
                    return Ok(());
                };
                exchange.body_done = true;
                let opening = exchange.opening.clone();
                let origin = response.sent_at;
                let mut received_before_abort = None;
                let result = StreamRun {
                    source: Source::Http {
                        response,
                        reconnect: Reconnector {
                            client: &self.settings.client,
                            request,
                            opening,
                        },
                    },
                    kind: block.kind.clone(),
                    previous: Duration::ZERO,
                    entries: &entries,
                    deadline,
                    timeout: self.timeout,
                    max_item_size,
                    stats,
                    scope: &mut self.scope,
                    connections: &mut self.connections,
                    received_before_abort: &mut received_before_abort,
                    track_ids: self.checks_ids,
                    update: self.settings.record.then_some(record::BlockUpdate {
                        file: &spec.file,
                        block_span: Some(block.block_span),
                        redactions: &self.settings.redactions,
                    }),
                }
                .run()
                .await;
                stats.duration = Some(origin.elapsed());
                self.streams.push(StreamReport {
                    kind: block.kind.value.keyword(),
                    span: block.kind.span,
                    items: stats.items,
                    bytes: stats.bytes,
                    ttfb: stats.ttfb,
                    first_item: stats.first_item,
                    duration: stats.duration,
                    gaps: stats.gap_summary(),
                    connections: stats.connections,
                    reconnect_delays: stats.reconnect_delays.clone(),
                    aborted_after: received_before_abort,
                });
                if matches!(result, Ok(Finish::StoppedEarly)) {
                    exchange.stopped_early = Some(block.kind.clone());
                }
                result.map(|_| ())
            }
            Expectation::WholeBody(body) => {
                self.ensure_head().await?;
                self.check_ready_for_body(
                    if matches!(body.pattern.kind, ItemPatternKind::Json(_)) {
                        "json"
                    } else {
                        "text"
                    },
                    None,
                    span,
                )
                .await?;
                self.check_whole_body(body, span).await
            }
            Expectation::Aggregate(aggregate) => {
                self.ensure_head().await?;
                if matches!(
                    aggregate.kind,
                    AggregateKind::Bytes(_) | AggregateKind::Duration(_)
                ) {
                    self.drain_body(span).await?;
                }
                self.check_aggregate(aggregate)
            }
            // The checker keeps gRPC expectations off HTTP requests.
            _ => Ok(()),
        }
    }

    /// Reading a body needs an answer whose body has not been read yet, with a status that lets
    /// the block read it (see [`Opening`]): `stream` is the block's kind, `None` for a whole body.
    async fn check_ready_for_body(
        &mut self,
        what: &str,
        stream: Option<StreamKind>,
        span: Span,
    ) -> Result<(), Failure> {
        let exchange = self.exchange();
        let Some(response) = exchange.response.as_ref() else {
            return Err(Failure::error(
                "the body of this response was already read",
                span,
                "needs a new request",
            ));
        };
        let status = response.status;
        if exchange.opening.first_status_reads(stream, status) {
            return Ok(());
        }
        let refused_help = opening::refused_headers_help(status, &exchange.eventsource_headers);
        let expected = if stream == Some(StreamKind::Sse) {
            "status 200"
        } else {
            "a successful answer"
        };
        let mut failure = Failure::assertion(
            format!(
                "expected {expected} to read `{what}`, got {}",
                describe_status(status)
            ),
            span,
            "reading the body here",
        );
        if stream == Some(StreamKind::Sse) && status.is_success() {
            failure = failure.note("an EventSource fails the connection on any status but 200");
        }
        if let Some(excerpt) = self.body_excerpt().await {
            failure.notes.push(format!("the body began: {excerpt}"));
        }
        if let Some(help) = refused_help {
            failure = failure.help_note(help);
        }
        failure = failure
            .help_note("add `expect status …` before this line if this status is what you expect");
        Err(failure)
    }

    /// Streams must say what they are: an EventSource refuses anything but `text/event-stream`.
    fn check_content_type(&mut self, kind: &Spanned<StreamKind>) -> Result<(), Failure> {
        let exchange = self.exchange();
        let Some(response) = exchange.response.as_ref() else {
            return Ok(());
        };
        let Err(wrong) = exchange
            .opening
            .content_type(kind.value, response.content_type())
        else {
            return Ok(());
        };
        let failure = Failure::assertion(
            format!(
                "expected an {} stream, but the server sent {}",
                kind.value.keyword(),
                wrong.found
            ),
            kind.span,
            format!("expected `{}`", wrong.accepted[0]),
        );
        Err(wrong.explain(kind.value, failure))
    }

    /// An `expect header` (or a gRPC call's `expect metadata`, `expect trailer`: `part` says
    /// which, for the messages).
    fn check_header(
        &self,
        part: HeadPart,
        header: &HeaderExpectation,
        values: &[String],
        span: Span,
    ) -> Result<(), Failure> {
        let name = &header.name.value;
        let what = part.noun();
        let none = format!("no such {what}");
        let shown = match values {
            [] => none.clone(),
            [one] => format!("`{name}: {one}`"),
            many => format!("`{name}` values {}", many.join(", ")),
        };
        let (ok, expected) = match &header.check {
            HeaderCheck::Exists => (!values.is_empty(), format!("the {what} to be present")),
            HeaderCheck::Absent => (values.is_empty(), none),
            HeaderCheck::Equals(template) => {
                let want = self.scope.resolve(template)?;
                (values.contains(&want), format!("== {}", quote(&want)))
            }
            HeaderCheck::NotEquals(template) => {
                let want = self.scope.resolve(template)?;
                (
                    values.iter().all(|v| *v != want),
                    format!("!= {}", quote(&want)),
                )
            }
            HeaderCheck::Contains(template) => {
                let want = self.scope.resolve(template)?;
                (
                    values.iter().any(|v| v.contains(want.as_str())),
                    format!("contains {}", quote(&want)),
                )
            }
            HeaderCheck::Matches(regex) => (
                values.iter().any(|v| regex.regex.is_match(v)),
                format!("~ {}", render_regex(regex)),
            ),
        };
        if ok {
            return Ok(());
        }
        Err(Failure::assertion(
            format!("{what} `{name}` does not match"),
            span,
            format!("expected {expected}, found {shown}"),
        )
        .with_fix(header_fix(header, values, span)))
    }

    /// `-> name` of a header (or gRPC metadata) expectation that passed: the value that satisfied
    /// the check (the first, for `exists`); with a regex, its first group when it has one.
    fn capture_header(
        &mut self,
        header: &HeaderExpectation,
        values: &[String],
    ) -> Result<(), Failure> {
        let Some(name) = &header.capture else {
            return Ok(());
        };
        let captured = values
            .iter()
            .find_map(|value| header_capture(&header.check, value, &self.scope));
        if let Some(captured) = captured {
            let mut captures = vec![(name.value.clone(), Value::String(captured))];
            self.scope.commit(&mut captures, name.span)?;
        }
        Ok(())
    }

    /// The first bytes of the body, to show with a wrong status; read briefly, never waited on.
    async fn body_excerpt(&mut self) -> Option<String> {
        let deadline = self
            .deadline
            .min(Instant::now().saturating_add(Duration::from_millis(200)));
        let exchange = self.exchange.as_mut()?;
        let response = exchange.response.as_mut()?;
        let mut bytes = Vec::new();
        let mut ended = false;
        while bytes.len() < BODY_EXCERPT {
            match response.next_chunk(deadline).await {
                ChunkRead::Data { bytes: chunk, .. } => bytes.extend_from_slice(&chunk),
                ChunkRead::End => {
                    ended = true;
                    break;
                }
                _ => break,
            }
        }
        exchange.response = None;
        exchange.body_done = true;
        if bytes.is_empty() {
            return None;
        }
        // Whole, for secrets to be masked in it before it is cut ([`crate::excerpt`]).
        let text = if ended {
            String::from_utf8_lossy(&bytes)
        } else {
            text_of_partial(&bytes)
        };
        let text = text.trim_end().replace('\n', "\\n");
        Some(if ended {
            excerpt(&text, BODY_EXCERPT)
        } else {
            excerpt_of_partial(&text, BODY_EXCERPT)
        })
    }

    async fn check_whole_body(&mut self, body: &WholeBody, span: Span) -> Result<(), Failure> {
        let deadline = self.deadline;
        let max = self.settings.max_item_size;
        let timeout = self.timeout;
        let exchange = self.exchange();
        exchange.body_done = true;
        let Some(mut response) = exchange.response.take() else {
            return Ok(());
        };
        let bytes = response
            .read_to_end(deadline, max, true)
            .await
            .map_err(|error| body_failure(error, timeout, span, "reading the whole body"))?
            .bytes;
        let ended = response.sent_at.elapsed();
        if let Some(stats) = exchange.stats.as_mut() {
            stats.bytes += bytes.len() as u64;
            stats.record_item(ended);
            stats.duration = Some(ended);
        }
        let item = match &body.pattern.kind {
            ItemPatternKind::Json(_) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(value) => Item::Json(value, None),
                Err(error) => {
                    // Whole, for secrets to be masked in it before it is cut.
                    let text = String::from_utf8_lossy(&bytes).replace('\n', "\\n");
                    let mut failure = Failure::assertion(
                        format!("the body is not JSON: {error}"),
                        span,
                        "expected a JSON body",
                    )
                    .note(format!(
                        "the body began: {}",
                        excerpt(&text, NOT_JSON_EXCERPT)
                    ));
                    // A stream read as one JSON value: say which block reads it.
                    let content_type = exchange
                        .head
                        .as_ref()
                        .and_then(|(_, headers)| headers.get(CONTENT_TYPE))
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    if content_type.starts_with("text/event-stream") {
                        failure = failure.help_note(
                            "the server sent an event stream: read it with `expect sse { … }`",
                        );
                    } else if content_type.contains("ndjson") || content_type.contains("jsonl") {
                        failure = failure.help_note(
                            "the server sent NDJSON: read it with `expect ndjson { … }`",
                        );
                    }
                    return Err(failure);
                }
            },
            _ => match String::from_utf8(bytes) {
                Ok(text) => Item::Line(text),
                Err(_) => {
                    return Err(Failure::error(
                        "the body is not valid UTF-8 text",
                        span,
                        "expected a text body",
                    ));
                }
            },
        };
        let mut pattern = body.pattern.clone();
        self.scope.instantiate_pattern(&mut pattern)?;
        let mut captures = Vec::new();
        match match_item(&pattern, &ItemView::new(&item), &mut captures) {
            Ok(()) => self.scope.commit(&mut captures, span),
            Err(mismatch) => {
                let mut failure = Failure::assertion(
                    "the body does not match",
                    pattern.span,
                    mismatch.to_string(),
                )
                .with_fix({
                    let writer = crate::update::observed::Writer::new(&self.settings.redactions);
                    Fix::Replace {
                        span: body.pattern.span,
                        // What matched stays as written (a `"created": integer`).
                        text: crate::update::shape::shaped(
                            &self.spec.file.text,
                            &pattern,
                            &item,
                            &writer,
                        )
                        .unwrap_or_else(|| writer.item(&item)),
                    }
                });
                failure.diff = Some(Box::new(diff::Diff {
                    omitted_before: 0,
                    lines: vec![
                        DiffLine {
                            tag: Tag::Removed,
                            text: render_item_pattern(&pattern),
                            at: None,
                        },
                        DiffLine {
                            tag: Tag::Added,
                            text: Focus::of_item(&pattern).render(&item),
                            at: Some(ended),
                        },
                    ],
                    cut_short: false,
                }));
                Err(failure)
            }
        }
    }

    /// Reads a body no expectation read, so `bytes` and `duration` measure all of it.
    async fn drain_body(&mut self, span: Span) -> Result<(), Failure> {
        let deadline = self.deadline;
        let timeout = self.timeout;
        let exchange = self.exchange();
        if exchange.body_done {
            return Ok(());
        }
        exchange.body_done = true;
        let (Some(mut response), Some(stats)) = (exchange.response.take(), exchange.stats.as_mut())
        else {
            return Ok(());
        };
        let body = response
            .read_to_end(deadline, 0, false)
            .await
            .map_err(|error| {
                body_failure(error, timeout, span, "reading the body to measure it")
            })?;
        stats.bytes += body.total;
        stats.duration = Some(response.sent_at.elapsed());
        Ok(())
    }

    fn check_aggregate(&mut self, aggregate: &Aggregate) -> Result<(), Failure> {
        let span = aggregate.span;
        if let AggregateKind::Capture {
            name,
            function,
            check,
        } = &aggregate.kind
        {
            let mut check = check.clone();
            self.scope.instantiate_value_check(&mut check)?;
            let values = self.scope.captured(&name.value).unwrap_or(&[]);
            return aggregate::check_capture(values, name, function, &check, span);
        }
        if let AggregateKind::Distinct(name) = &aggregate.kind {
            let values = self.scope.captured(&name.value).unwrap_or(&[]);
            return aggregate::check_distinct(values, name, span);
        }
        let stats = self.measured(aggregate)?;
        aggregate::check_stats(&stats, aggregate).map_err(|failure| {
            let stopped_early = match (&self.exchange, &self.call) {
                (Some(exchange), _) => exchange.stopped_early.as_ref(),
                (None, Some(call)) => call.stopped_early.as_ref(),
                (None, None) => None,
            };
            match stopped_early {
                // Only where the unread rest could change the verdict: a count already past its
                // bound stays past it.
                Some(kind) if unread_rest::could_still_pass(&stats, &aggregate.kind) => {
                    let line = self.spec.file.line_col(kind.span.start).line;
                    failure.help_note(format!(
                        "the `expect {}` block on line {line} stopped reading once its last item matched; end it with `end` to read the whole stream",
                        kind.value.keyword()
                    ))
                }
                _ => failure,
            }
        })
    }

    /// What an aggregate measures: the current stream, or with `expect test …` every stream of
    /// the test so far.
    fn measured(&self, aggregate: &Aggregate) -> Result<Cow<'_, StreamStats>, Failure> {
        let current = match (&self.exchange, &self.call) {
            (Some(exchange), _) => exchange.stats.as_ref(),
            (None, Some(call)) => call.stats.as_ref(),
            (None, None) => None,
        };
        let Some(current) = current else {
            return Err(Failure::error(
                "there is no response to measure yet",
                aggregate.span,
                "needs a request before it",
            ));
        };
        if !aggregate.whole_test {
            return Ok(Cow::Borrowed(current));
        }
        let mut all = match &self.earlier {
            Some(earlier) => {
                let mut all = earlier.clone();
                all.absorb(current);
                all
            }
            None => current.clone(),
        };
        all.duration = Some(self.started.elapsed());
        Ok(Cow::Owned(all))
    }
}

/// What `expect header … -> name` captures from one value, if the check holds for it.
fn header_capture(check: &HeaderCheck, value: &str, scope: &Scope) -> Option<String> {
    let resolved = |template: &Template| scope.resolve(template).ok();
    match check {
        HeaderCheck::Matches(regex) => regex.capture(value).map(str::to_string),
        HeaderCheck::Equals(template) => (resolved(template)? == value).then(|| value.to_string()),
        HeaderCheck::NotEquals(template) => {
            (resolved(template)? != value).then(|| value.to_string())
        }
        HeaderCheck::Contains(template) => value
            .contains(resolved(template)?.as_str())
            .then(|| value.to_string()),
        HeaderCheck::Exists => Some(value.to_string()),
        HeaderCheck::Absent => None,
    }
}

/// A body that could not be read to its end, as a failure at `span`; `doing` says why it was read.
fn body_failure(error: BodyError, timeout: Duration, span: Span, doing: &str) -> Failure {
    match error {
        BodyError::Dropped { reason, .. } => Failure::error(
            format!("the connection was dropped while reading the body: {reason}"),
            span,
            doing,
        ),
        BodyError::TimedOut { read } => Failure::error(
            format!(
                "the test timed out after {} while reading the body ({read} bytes so far)",
                format_duration(timeout)
            ),
            span,
            doing,
        ),
        BodyError::TooLarge { limit } => Failure::error(
            format!(
                "the body is larger than the maximum item size of {}",
                crate::transport::framing::format_size(limit)
            ),
            span,
            doing,
        )
        .note("raise it with --max-item-size, or read the body as a stream"),
    }
}

fn describe_status(status: reqwest::StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// Where a header-like expectation looks: an HTTP response's headers, or a gRPC call's
/// response metadata (its headers) or trailers; each named as its protocol names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadPart {
    Header,
    Metadata,
    Trailer,
}

impl HeadPart {
    fn noun(self) -> &'static str {
        match self {
            HeadPart::Header => "header",
            HeadPart::Metadata => "metadata",
            HeadPart::Trailer => "trailer",
        }
    }
}

/// `--update` for a header (or gRPC metadata) check: what follows the name says what was found —
/// `== "value"`, `~ /regex/` for a value that changes on every run (a request id, see
/// `update::volatile`), or `not exists` — and a capture stays.
fn header_fix(header: &HeaderExpectation, values: &[String], span: Span) -> Fix {
    // `!=`, `exists` and `not exists` guard against something; a snapshot would turn them into
    // their opposite.
    if matches!(
        header.check,
        HeaderCheck::NotEquals(_) | HeaderCheck::Exists | HeaderCheck::Absent
    ) {
        return Fix::Cannot(
            "`!=`, `exists` and `not exists` are guards, not snapshots: update them by hand"
                .to_string(),
        );
    }
    let now = crate::update::volatile::Now::current();
    let mut text = match values.first() {
        Some(value) => match crate::update::volatile::text_regex(value, now) {
            Some(regex) => format!(" ~ /{regex}/"),
            None => format!(" == {}", quote(value)),
        },
        None => " not exists".to_string(),
    };
    if let Some(capture) = &header.capture {
        text.push_str(&format!(" -> {}", capture.value));
    }
    Fix::Replace {
        span: Span::new(header.name.span.end, span.end),
        text,
    }
}

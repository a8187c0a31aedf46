//! The interpreter: runs one test's steps in order — build and send requests, check the head,
//! read streams against their blocks, check aggregates — under the test's deadline.

pub mod aggregate;
mod background;
mod barrier;
mod body;
mod branches;
mod cut_off;
pub mod group;
pub mod grpc;
mod grpc_lookup;
mod head;
mod named;
mod named_exchange;
pub use head::HeadPart;
mod head_bound;
mod head_timing;
pub mod http_stream;
pub mod ids;
mod live_call;
mod live_socket;
pub mod matcher;
pub mod opening;
pub mod record;
mod request;
#[cfg(test)]
mod size_tests;
mod socket;
mod socket_reconnect;
pub mod stats;
mod steps;
pub mod stream;
mod stream_failure;
pub use stream_failure::stop_reading_at_failures;
pub mod timeline;
mod unread_rest;
pub mod unreadable;
pub mod vars;
mod wait;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
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
    /// `load --tokens NAME`: the capture whose values give each iteration's output tokens.
    pub tokens_capture: Option<String>,
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
    /// `as NAME`: the stream stays open after its steps, read in the background.
    name: Option<Ident>,
    /// A named stream's reader after a block left it open, until it is parked. Boxed, as are
    /// the idle readers of [`named::NamedStream`]: a reader is 800 bytes, a test may hold a
    /// thousand named streams, and most of the time none of them is here.
    reader: Option<Box<http_stream::HttpReader>>,
    /// An unnamed request's body that a `wait` between steps read ahead (see `wait`), with what
    /// arrived meanwhile, for the block that reads it; `body_done` is set, as the body is its.
    waited: Option<Box<http_stream::HttpReader>>,
    /// A named stream that `expect same items` compares: what its blocks take, from the first.
    log: Option<group::ItemLog>,
    /// While a block reads the body as a stream: what a load's end, cutting the run off
    /// mid-block, reports of it.
    reading: Option<cut_off::Reading>,
    /// A block read the body as a stream (and reported it); otherwise a load run reports the
    /// request as a plain one when it is done with it.
    streamed: bool,
}

/// Runs a test as `identity` (`{{vu}}`, `{{iteration}}`): a load run's virtual user, or a
/// repetition of `streamspec run --repeat`.
pub async fn run_test_as(
    settings: &RunSettings,
    spec: &Spec,
    test: &Test,
    identity: vars::Identity,
) -> TestOutcome {
    run_iteration(settings, spec, test, identity, std::future::pending())
        .await
        .outcome
}

/// A run of a test that the end of a load may cut off.
pub struct Iteration {
    /// When cut off: no verdict (its failures are those before the cut), and the streams with
    /// what they had measured by then.
    pub outcome: TestOutcome,
    pub cut_off: bool,
}

/// Runs a test as [`run_test_as`] does, until it ends or `cut_off` comes (a load's end, past
/// its graceful stop), whichever is first.
pub async fn run_iteration(
    settings: &RunSettings,
    spec: &Spec,
    test: &Test,
    identity: vars::Identity,
    cut_off: impl std::future::Future<Output = ()>,
) -> Iteration {
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
        scope: Scope::new(Arc::clone(&settings.vars), &settings.run_id, spec, identity),
        spec,
        deadline,
        timeout,
        exchange: None,
        call: None,
        socket: None,
        soft_failures: Vec::new(),
        connections: 0,
        started,
        earlier: None,
        streams: Vec::new(),
        checks_ids: named::checks_ids(&test.steps),
        named: Vec::new(),
        named_exchanges: Vec::new(),
        closed: Vec::new(),
        framing: Arc::new(named::framing(&test.steps)),
        compared: Arc::new(named::compared(&test.steps)),
        fed: Arc::new(named_exchange::fed(&test.steps)),
        branch: None,
        place: None,
        branches: Vec::new(),
        barriers: Vec::new(),
        branch_spans: HashMap::new(),
        repeated: None,
    };
    // Every wait inside has the deadline; this outer bound is only a backstop.
    let backstop = deadline.saturating_add(Duration::from_secs(5));
    let ran = tokio::select! {
        ran = tokio::time::timeout_at(backstop.into(), run.run(test)) => Some(ran),
        () = cut_off => None,
    };
    let cut = ran.is_none();
    let result = match ran {
        Some(Ok(result)) => result,
        Some(Err(_)) => Err(Failure::error(
            format!("the test timed out after {}", format_duration(timeout)),
            test.name.span,
            "this test",
        )),
        None => {
            // Boxed: only a load's cut-off runs it, and inline (closing named streams) it would
            // take its room in every iteration's future, for every user of a load.
            Box::pin(run.report_cut_off_streams()).await;
            Ok(())
        }
    };
    run.report_unread_exchange();
    let mut failures = std::mem::take(&mut run.soft_failures);
    failures.extend(result.err());
    let captured_tokens = settings
        .tokens_capture
        .as_deref()
        .and_then(|name| run.scope.captured(name));
    let outcome = TestOutcome {
        file: Arc::clone(&spec.file),
        name: test.name.value.clone(),
        span: test.name.span,
        duration: started.elapsed(),
        failures,
        streams: std::mem::take(&mut run.streams),
        barriers: std::mem::take(&mut run.barriers),
        tokens: captured_tokens.map(token_count),
        tokens_counted: captured_tokens.is_some_and(is_a_count),
    };
    Iteration {
        outcome,
        cut_off: cut,
    }
}

/// The output tokens a capture says: the number it holds when it took one number (a count such
/// as `usage.completion_tokens`), else how many values it took that are tokens (one per token
/// item; not the empty content of a role or finish chunk).
fn token_count(values: &[Value]) -> f64 {
    match values {
        [single] if single.is_number() => single.as_f64().unwrap_or(1.0),
        many => many
            .iter()
            .filter(|value| stream::is_a_token(value))
            .count() as f64,
    }
}

/// Whether a capture's values are a count of tokens: one number. Several numbers are one per
/// token (token ids).
fn is_a_count(values: &[Value]) -> bool {
    matches!(values, [single] if single.is_number())
}

struct TestRun<'a> {
    settings: &'a RunSettings,
    scope: Scope,
    spec: &'a Spec,
    deadline: Instant,
    timeout: Duration,
    exchange: Option<Exchange>,
    /// The current gRPC call, when the latest exchange is one (then `exchange` is `None`).
    /// Boxed, as is `socket`: each is 1.6 KB, and inline they would take that room in every
    /// test's future (a load holds one per user) whether or not the test makes such a call.
    call: Option<Box<grpc::GrpcExchange>>,
    /// The current WebSocket, when the latest exchange is one (then the others are `None`).
    socket: Option<Box<socket::SocketExchange>>,
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
    /// Named streams opened here and not closed yet (`GET … as feed`).
    named: Vec<named::NamedStream>,
    /// Named gRPC calls started here and not closed yet (`grpc … as call`).
    named_exchanges: Vec<named_exchange::NamedExchange>,
    /// Named streams closed here or in joined branches, for group checks.
    closed: Vec<group::ClosedStream>,
    /// How each named stream is framed (the kind of the first block that reads it).
    framing: Arc<HashMap<String, StreamKind>>,
    /// The names `expect same items` compares: their streams log what they receive.
    compared: Arc<HashMap<String, Option<ItemPattern>>>,
    /// Named calls that later blocks send on: their request streams stay open.
    fed: Arc<HashSet<String>>,
    /// The branch instance this run is (`reader[3]`, nested `room/reader[3]`); `None` for
    /// the test itself.
    branch: Option<String>,
    /// Where this branch instance stands in its `parallel`.
    place: Option<branches::BranchPlace>,
    /// The instances of the `parallel` running here until joined: held here, not by their
    /// futures, so a load's end that drops the test mid-`parallel` still finds their streams.
    branches: Vec<TestRun<'a>>,
    /// Barriers passed here and in joined branches.
    barriers: Vec<crate::outcome::BarrierReport>,
    /// For each branch joined here, from the start of its `parallel` to its last instance's end.
    branch_spans: HashMap<String, (Instant, Instant)>,
    /// Why the step being run runs more than once (a `repeat`, a repeated branch, a block held
    /// against several streams): then `--update` does not rewrite it, as no one text would
    /// answer for every run.
    repeated: Option<String>,
}

impl TestRun<'_> {
    async fn run(&mut self, test: &Test) -> Result<(), Failure> {
        let result = self.run_steps(&test.steps).await;
        Box::pin(self.finish_scope(result)).await
    }

    /// The end of the test or branch: named streams are closed, and when it passed so far the
    /// last request is answered (after a failure nothing more is sent or awaited).
    async fn finish_scope(&mut self, result: Result<(), Failure>) -> Result<(), Failure> {
        if let Err(failure) = result {
            // A named request whose head came is parked without sending anything, so it is
            // reported with the others; their figures still count, and a failure closing them
            // says less than this one.
            if self
                .exchange
                .as_ref()
                .is_some_and(|exchange| exchange.name.is_some() && exchange.stats.is_some())
            {
                let _ = self.park_current().await;
            }
            let _ = self.close_named().await;
            return Err(failure);
        }
        self.park_current().await?;
        self.close_named().await?;
        if self.branch.is_some() {
            // The branch's last request joins its figures as any earlier one did.
            return self.next_exchange().await;
        }
        self.finish_exchange().await?;
        self.finish_call().await?;
        self.finish_socket().await
    }

    async fn expect(&mut self, expectation: &Expectation, span: Span) -> Result<(), Failure> {
        match expectation {
            Expectation::Status(alternatives) => {
                Box::pin(self.ensure_head()).await?;
                let Some((status, _)) = self.exchange().head.as_ref() else {
                    return Ok(());
                };
                let status = *status;
                let Some(mut failure) = head::wrong_status(alternatives, status) else {
                    return Ok(());
                };
                // `--update` reads on after a wrong status, so the body stays for the blocks.
                let excerpt = if self.settings.record {
                    None
                } else {
                    Box::pin(self.body_excerpt()).await
                };
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
                Box::pin(self.ensure_head()).await?;
                let Some((_, headers)) = self.exchange().head.as_ref() else {
                    return Ok(());
                };
                let values = head::header_values(headers, &header.name.value);
                self.check_header(HeadPart::Header, header, &values, span)?;
                self.capture_header(header, &values)
            }
            Expectation::Stream(block) => {
                if !Box::pin(self.ensure_head_within(Some(&block.entries))).await? {
                    return self.aborted_before_head(block);
                }
                // A body a `wait` read ahead is one this block reads: the wait checked its
                // status and content type by the same rules.
                if self.exchange.as_ref().is_none_or(|e| e.waited.is_none()) {
                    let kind = block.kind.value;
                    self.check_ready_for_body(kind.keyword(), Some(kind), span)
                        .await?;
                    self.check_content_type(&block.kind)?;
                }
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
                let reader = match (exchange.waited.take(), exchange.response.take()) {
                    (Some(waited), _) => Some(*waited),
                    (None, Some(response)) => Some(http_stream::HttpReader::new(
                        response,
                        block.kind.value,
                        max_item_size,
                    )),
                    (None, None) => None,
                };
                let (Some(mut reader), Some(stats), Some(request)) =
                    (reader, exchange.stats.as_mut(), exchange.sent.clone())
                else {
                    return Ok(());
                };
                exchange.body_done = true;
                exchange.streamed = true;
                let opening = exchange.opening.clone();
                let origin = reader.origin();
                exchange.reading = Some(cut_off::Reading {
                    kind: block.kind.value.keyword(),
                    span: block.kind.span,
                    origin,
                });
                let mut received_before_abort = None;
                let result = StreamRun {
                    source: Source::Http {
                        reader: &mut reader,
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
                    update: record::BlockUpdate::of(self.settings, spec, Some(block.block_span)),
                    log: exchange.log.as_mut(),
                    tokens: self
                        .settings
                        .tokens_capture
                        .as_deref()
                        .filter(|name| crate::check::block_captures_name(&entries, name)),
                }
                .run()
                .await;
                exchange.reading = None;
                // A named stream outlives its block: read in the background next, or (closed)
                // opened again by a later block's `reconnect`.
                if exchange.name.is_some() {
                    if matches!(result, Ok(Finish::StoppedEarly | Finish::Ended)) {
                        exchange.reader = Some(Box::new(reader));
                    }
                    return result.map(|_| ());
                }
                stats.read_until_now(origin);
                self.streams.push(StreamReport {
                    branch: self.branch.clone(),
                    aborted_after: received_before_abort,
                    ..stats.report(block.kind.value.keyword(), block.kind.span)
                });
                if matches!(result, Ok(Finish::StoppedEarly)) {
                    exchange.stopped_early = Some(block.kind.clone());
                }
                result.map(|_| ())
            }
            Expectation::WholeBody(body) => {
                Box::pin(self.ensure_head()).await?;
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
                Box::pin(self.check_whole_body(body, span)).await
            }
            Expectation::Aggregate(aggregate) => {
                Box::pin(self.ensure_head()).await?;
                if matches!(
                    aggregate.kind,
                    AggregateKind::Bytes(_) | AggregateKind::Duration(_)
                ) {
                    Box::pin(self.drain_body(span)).await?;
                }
                self.check_aggregate(aggregate)
            }
            // The checker keeps gRPC expectations off HTTP requests.
            _ => Ok(()),
        }
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

    /// A failure of a step that runs more than once keeps no rewrite: each run would write its
    /// own text over the same expectation.
    fn not_rewritten_when_repeated(&self, mut failure: Failure) -> Failure {
        if let (Some(why), Some(Fix::Replace { .. })) = (&self.repeated, failure.fix.as_deref()) {
            failure.fix = Some(Box::new(Fix::Cannot(format!(
                "{why}, and one text cannot answer for every run: update it by hand"
            ))));
        }
        failure
    }

    /// The log of a stream opened as `name`, when `expect same items` compares that name.
    fn log_for(&self, name: Option<&Ident>) -> Option<group::ItemLog> {
        let only = self.compared.get(&name?.value)?;
        Some(group::ItemLog::new(only.clone()))
    }

    /// The streams of group `name` so far: closed ones and the named ones still open.
    fn group_streams(&self, name: &str) -> Vec<group::ClosedStream> {
        let mut streams: Vec<group::ClosedStream> = self
            .closed
            .iter()
            .filter(|stream| stream.in_group(name))
            .cloned()
            .collect();
        // Still open: their figures so far, as if they closed now.
        let open = |name: &str, instance, stats: &StreamStats, log: &Option<_>, opened_at| {
            group::ClosedStream {
                name: Some(name.to_string()),
                label: format!("{name}[{instance}]"),
                branch: self.branch.clone(),
                stats: stats.clone(),
                log: Option::clone(log),
                opened_at,
                closed_at: Instant::now(),
            }
        };
        for call in self.named_exchanges.iter().filter(|call| call.name == name) {
            if let Some(stats) = call.stats() {
                streams.push(open(name, call.instance, stats, &call.log, call.opened_at));
            }
        }
        for stream in self.named.iter().filter(|stream| stream.name == name) {
            if let Some(stats) = &stream.exchange.stats {
                streams.push(open(
                    name,
                    stream.instance,
                    stats,
                    &stream.log,
                    stream.opened_at,
                ));
            }
        }
        streams
    }

    fn check_same_items(&self, name: &Ident) -> Result<(), Failure> {
        let streams = self.group_streams(&name.value);
        let streams: Vec<&group::ClosedStream> = streams.iter().collect();
        group::check_same_items(&streams, name)
    }

    fn check_group(&self, aggregate: &Aggregate, name: &Ident) -> Result<(), Failure> {
        let streams = self.group_streams(&name.value);
        let streams: Vec<&group::ClosedStream> = streams.iter().collect();
        let branch_span = self.branch_spans.get(&name.value).copied();
        group::check_group_aggregate(&streams, branch_span, aggregate, name)
    }

    /// What an aggregate measures: the current stream, or with `expect test …` every stream of
    /// the test so far.
    fn measured(&self, aggregate: &Aggregate) -> Result<Cow<'_, StreamStats>, Failure> {
        let current = match (&self.exchange, &self.call, &self.socket) {
            (Some(exchange), _, _) => exchange.stats.as_ref(),
            (None, Some(call), _) => call.stats.as_ref(),
            (None, None, Some(socket)) => socket.stats.as_ref(),
            (None, None, None) => None,
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

use crate::transport::http::describe_status;

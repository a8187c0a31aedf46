//! Reading a stream against an `expect sse|ndjson|lines|chunks|messages { … }` block: take
//! items as they arrive (decoded from an HTTP body, or a gRPC call's replies), match each at
//! once, enforce timing bounds and the test deadline, and on a failure read a little further so
//! the diff shows what the stream really did.

use std::time::{Duration, Instant};

use crate::ast::{AbortWhen, Control, Entry, Spanned, StreamKind};
use crate::diff::focus::Focus;
use crate::diff::{self, DiffLine};
use crate::duration::{format_duration, format_measured};
use crate::interp::group::ItemLog;
use crate::interp::grpc::LiveCall;
use crate::interp::http_stream::{HttpReader, Reconnector, Reopened, reopen};
use crate::interp::live_socket::LiveSocket;
use crate::interp::matcher::{
    Absorbs, AfterEnd, BlockMatcher, FailureKind, Fed, MatchFailure, Terminal,
};
use crate::interp::record::{self, BlockUpdate, Recorder};
use crate::interp::socket_reconnect::Reconnect;
use crate::interp::stats::StreamStats;
use crate::interp::stream_failure::{
    PastFailure, Recent, Seen, build_diff, failure_with_diff, read_rest, render_failure,
    terminal_line, terminal_text,
};
pub use crate::interp::stream_failure::{item_instead_of_end, nothing_arrived};
use crate::interp::timeline::MarkKind;
use crate::interp::unreadable::{unreadable, unusable};
use crate::interp::vars::Scope;
use crate::outcome::Failure;
use crate::pattern::{Captures, ItemView};
use crate::render::render_item;
use crate::saturating_time::SaturatingAdd;
use crate::transport::framing::FrameError;
use crate::transport::item::Item;

/// Items kept as they pass: the last few before a failure (for the diff's context) or before
/// an abort (for the verbose report).
pub(super) const RECENT_ITEMS: usize = 10;
/// Of those, how many a diff shows as context.
pub(super) const CONTEXT_ITEMS: usize = 3;
/// After a failure, how many more items are read for the diff, and for how long at most.
pub(super) const TRAILING_ITEMS: usize = 10;
pub(super) const TRAILING_TIME: Duration = Duration::from_millis(500);
/// Expected lines shown after the failure point.
pub(super) const EXPECTED_LINES: usize = 20;

pub struct StreamRun<'a> {
    pub source: Source<'a>,
    pub kind: Spanned<StreamKind>,
    /// What the first item's `within` counts from, measured from the request: zero for a new
    /// stream; for a gRPC call read by several blocks, its last reply or send.
    pub previous: Duration,
    pub entries: &'a [Entry],
    pub deadline: Instant,
    /// The test's timeout, for messages.
    pub timeout: Duration,
    pub max_item_size: usize,
    pub stats: &'a mut StreamStats,
    pub scope: &'a mut Scope,
    /// Connections the test has opened so far, against `MAX_CONNECTIONS`.
    pub connections: &'a mut u32,
    /// Filled when an `abort` ends the block: the last items received, as spec lines.
    pub received_before_abort: &'a mut Option<Vec<(String, Duration)>>,
    /// Whether the test checks the order of ids (`expect ids …`); tracking costs on every event.
    pub track_ids: bool,
    /// With `--update`: where the block is written, so a failure can carry its rewrite.
    pub update: Option<BlockUpdate<'a>>,
    /// A named stream in an `expect same items` group: what the block takes is logged there.
    pub log: Option<&'a mut ItemLog>,
    /// In a load run with `--tokens NAME`: the capture whose items are output tokens, timed
    /// as such (see [`crate::interp::stats::TokenReport`]).
    pub tokens: Option<&'a str>,
}

/// Where a block's items come from.
// One per block, moved once: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Source<'a> {
    /// An HTTP response's body, and how to open the stream again for `reconnect`.
    Http {
        reader: &'a mut HttpReader,
        reconnect: Reconnector<'a>,
    },
    /// The replies of a gRPC call; the call outlives the block (later steps read on).
    Grpc(&'a mut LiveCall),
    /// The messages of a WebSocket; it outlives the block too.
    Socket(&'a mut LiveSocket),
}

/// How reading the block ended, when it passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The stream ended as the block said.
    Ended,
    /// The block's last item matched before the stream ended; the rest was not read.
    StoppedEarly,
    /// An `abort` in the block dropped the connection.
    Aborted,
}

pub enum Next {
    /// An item, and when it arrived (measured from the request).
    Item(Item, Duration),
    Ended(Terminal),
    TimedOut,
}

/// Items from either kind of source.
// One per block, never moved while reading: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum Reader<'a> {
    Http(&'a mut HttpReader),
    Grpc(&'a mut LiveCall),
    Socket(&'a mut LiveSocket),
}

impl Reader<'_> {
    pub(super) async fn next(&mut self, deadline: Instant) -> Result<Next, FrameError> {
        match self {
            Reader::Http(reader) => reader.next(deadline).await,
            // A reply over the size limit ends the call; for the block it is an item too large to
            // read, as on HTTP, not a `dropped` it could expect.
            Reader::Grpc(call) if call.buffer_exhausted() => Err(FrameError::BufferFull {
                items: crate::interp::background::MAX_BUFFERED_ITEMS,
                bytes: crate::interp::background::MAX_BUFFERED_BYTES,
            }),
            Reader::Grpc(call) => match call.next(deadline).await {
                Next::Ended(_) if let Some(limit) = call.too_large() => {
                    Err(FrameError::TooLarge { limit })
                }
                next => Ok(next),
            },
            Reader::Socket(socket) if socket.buffer_exhausted() => Err(FrameError::BufferFull {
                items: crate::interp::background::MAX_BUFFERED_ITEMS,
                bytes: crate::interp::background::MAX_BUFFERED_BYTES,
            }),
            Reader::Socket(socket) => match socket.next(deadline).await {
                Next::Ended(_) if let Some(limit) = socket.too_large() => {
                    Err(FrameError::TooLarge { limit })
                }
                next => Ok(next),
            },
        }
    }

    /// The time to the response head when the source times it rather than the block's
    /// statistics (a gRPC call's head), for the first item to find it known: a load's time
    /// series takes the ttfb with the first item.
    fn ttfb(&self) -> Option<Duration> {
        match self {
            Reader::Grpc(call) => call.ttfb(),
            Reader::Http(_) | Reader::Socket(_) => None,
        }
    }

    /// When the end just taken came, if it was read ahead (during a `wait`, or between blocks).
    fn take_end_time(&mut self) -> Option<Instant> {
        match self {
            Reader::Http(reader) => reader.take_end_time(),
            Reader::Grpc(call) => call.ahead.take_end_time(),
            Reader::Socket(socket) => socket.ahead.take_end_time(),
        }
    }

    fn is_open(&self) -> bool {
        match self {
            Reader::Http(reader) => reader.is_open(),
            Reader::Grpc(call) => call.is_open(),
            Reader::Socket(socket) => socket.is_open(),
        }
    }

    /// The next item when it is there without waiting (see [`HttpReader::ready`]): what `next`
    /// would return at once. Only an HTTP body is decoded here; other sources say `None`.
    #[inline]
    fn ready(&mut self) -> Option<Result<Next, FrameError>> {
        match self {
            Reader::Http(reader) => reader.ready(),
            Reader::Grpc(_) | Reader::Socket(_) => None,
        }
    }

    /// `abort`: an HTTP connection is dropped with the reader; a gRPC call is cancelled (and
    /// the cancel is on the wire when this returns, or `deadline` has come).
    async fn abort(&mut self, deadline: Instant) {
        match self {
            Reader::Http(reader) => reader.disconnect(),
            Reader::Grpc(call) => call.cancel(deadline).await,
            Reader::Socket(socket) => socket.abort(),
        }
    }

    /// The bytes read that the stream's statistics have not counted yet.
    fn take_bytes(&mut self) -> u64 {
        match self {
            Reader::Http(reader) => reader.take_bytes(),
            Reader::Grpc(call) => call.take_bytes(),
            Reader::Socket(socket) => socket.take_bytes(),
        }
    }
}

impl StreamRun<'_> {
    pub async fn run(self) -> Result<Finish, Failure> {
        let StreamRun {
            source,
            kind,
            previous: first_previous,
            entries,
            deadline,
            timeout,
            max_item_size,
            stats,
            scope,
            connections,
            received_before_abort,
            track_ids,
            update,
            mut log,
            tokens,
        } = self;
        if tokens.is_some() {
            stats.time_tokens();
        }
        let mut matcher = BlockMatcher::new(entries);
        let mut recorder = update.map(|_| Recorder::default());
        let (mut reader, reconnect, origin) = match source {
            Source::Http { reader, reconnect } => {
                let origin = reader.origin();
                (Reader::Http(reader), Some(reconnect), origin)
            }
            Source::Grpc(call) => {
                let origin = call.origin();
                (Reader::Grpc(call), None, origin)
            }
            Source::Socket(socket) => {
                let origin = socket.origin();
                (Reader::Socket(socket), None, origin)
            }
        };
        let abort_at = match matcher.abort_rule() {
            Some((AbortWhen::After(after), _)) => Some(origin.saturating_add(after)),
            _ => None,
        };
        let abort_after_items = match matcher.abort_rule() {
            Some((AbortWhen::Items(count), _)) => Some(count),
            _ => None,
        };
        // `--update` on an empty block: record what the stream sends.
        if let Some(
            update @ BlockUpdate {
                block_span: Some(block_span),
                ..
            },
        ) = update
            && entries.is_empty()
        {
            let mut seen = |item: &Item, at, _| stats.saw(item, at, track_ids);
            let read = read_rest(
                &mut reader,
                &mut matcher,
                Vec::new(),
                half_way(deadline),
                &mut seen,
                None,
                &kind,
            )
            .await;
            stats.bytes += reader.take_bytes();
            let (after, ending) = read?;
            let fix = record::block_fix(
                update,
                entries,
                None,
                Recorder::default(),
                after,
                ending.as_ref(),
            );
            return Err(Failure::assertion(
                "the block is empty: recorded what the stream sent",
                block_span,
                "an empty block records the stream with --update",
            )
            .with_fix(fix));
        }
        let mut context: Recent = Recent::default();
        let mut captures: Captures = Vec::new();
        let mut previous = first_previous;
        let mut pace: Option<Duration> = None;
        let mut ignored: u64 = 0;
        // A `wait` the test's deadline cut short: the test has timed out, whatever was read
        // meanwhile (an item already read or not depends on how the bytes were split into reads).
        let mut out_of_time = false;
        let result = 'run: loop {
            // Client actions written at this point of the block.
            while let Some((action, span)) = matcher.take_action() {
                match action {
                    Control::Abort(None) => {
                        if let Some(timeline) = &mut stats.timeline {
                            timeline.mark(MarkKind::Abort, origin.elapsed());
                        }
                        reader.abort(deadline).await;
                        break 'run Ok(aborted(&context, received_before_abort));
                    }
                    Control::Wait(duration) => out_of_time |= pause(*duration, deadline).await,
                    Control::Pace(duration) => pace = Some(*duration),
                    Control::Send(message) => {
                        let sent = match &mut reader {
                            Reader::Grpc(call) => {
                                call.send(message, scope).await.map(|()| call.previous())
                            }
                            Reader::Socket(socket) => socket
                                .send(message, scope)
                                .await
                                .map(|()| socket.previous()),
                            Reader::Http(_) => continue,
                        };
                        match sent {
                            Ok(sent) => previous = sent,
                            Err(failure) => break 'run Err(failure),
                        }
                        context.push(Seen::Event(format!(
                            "send {}",
                            crate::render::statements::render_message(message)
                        )));
                    }
                    Control::Close(frame) => match &mut reader {
                        Reader::Grpc(call) => {
                            call.close();
                            context.push(Seen::Event("close".to_string()));
                        }
                        Reader::Socket(socket) => {
                            if let Err(failure) = socket.close(frame.as_ref(), scope, span).await {
                                break 'run Err(failure);
                            }
                            previous = socket.previous();
                            context.push(Seen::Event(crate::render::statements::render_control(
                                action,
                            )));
                        }
                        Reader::Http(_) => {}
                    },
                    Control::Disconnect => {
                        match &mut reader {
                            Reader::Http(http) => http.disconnect(),
                            Reader::Socket(socket) => socket.disconnect().await,
                            Reader::Grpc(_) => {}
                        }
                        context.push(Seen::Event("disconnect".to_string()));
                        if let Some(timeline) = &mut stats.timeline {
                            timeline.mark(MarkKind::Disconnect, origin.elapsed());
                        }
                    }
                    Control::Reconnect(options) => {
                        // The checker allows `reconnect` on HTTP streams and WebSockets.
                        let reconnected = match (&mut reader, &reconnect) {
                            (Reader::Http(http), Some(reconnect)) => {
                                reopen(
                                    http,
                                    reconnect,
                                    options,
                                    span,
                                    &kind,
                                    deadline,
                                    timeout,
                                    max_item_size,
                                    stats,
                                    scope,
                                    connections,
                                )
                                .await
                            }
                            (Reader::Socket(socket), _) => {
                                socket
                                    .reconnect(Reconnect {
                                        options,
                                        span,
                                        deadline,
                                        timeout,
                                        stats,
                                        scope,
                                        connections,
                                    })
                                    .await
                            }
                            _ => continue,
                        };
                        match reconnected {
                            Err(mut failure) => {
                                // Context first: what matched before the reconnection.
                                let (lines, shown) = context.lines(CONTEXT_ITEMS);
                                let mut diff =
                                    failure.diff.take().map(|d| *d).unwrap_or_else(|| {
                                        build_diff(&matcher, Recent::default(), &[], false)
                                    });
                                diff.omitted_before = matcher.consumed().saturating_sub(shown);
                                let focus = Focus::of_block(matcher.entries());
                                let mut with_context: Vec<DiffLine> =
                                    diff::context_lines(&focus, lines);
                                with_context.append(&mut diff.lines);
                                diff.lines = with_context;
                                break 'run Err(failure.with_diff(diff));
                            }
                            Ok(Reopened::Open(sent)) => {
                                previous = sent;
                                if let Some(timeline) = &mut stats.timeline {
                                    timeline.mark(MarkKind::Reconnect, origin.elapsed());
                                }
                                let waited =
                                    stats.reconnect_delays.last().copied().unwrap_or_default();
                                context.push(Seen::Event(format!(
                                    "reconnect  # waited {}",
                                    format_measured(waited)
                                )));
                            }
                            // Refused: the stream's ending is what the block sees next.
                            Ok(Reopened::Refused) => {}
                        }
                    }
                    // Declarations: nothing to do here.
                    Control::Abort(Some(_)) => {}
                }
            }
            if matcher.is_complete() {
                break Ok(if reader.is_open() {
                    Finish::StoppedEarly
                } else {
                    Finish::Ended
                });
            }
            if abort_after_items.is_some_and(|count| matcher.consumed() >= count) {
                if let Some(timeline) = &mut stats.timeline {
                    timeline.mark(MarkKind::Abort, origin.elapsed());
                }
                reader.abort(deadline).await;
                break abort_rule_fired(&matcher, &context, received_before_abort);
            }
            // The HTML report draws the bound on the next item, whether or not it is waited for.
            if let Some(timeline) = &mut stats.timeline
                && let Some((by, _, label)) = matcher.deadline(previous)
            {
                timeline.bound(previous, by, &label);
            }
            // An item already there is taken as `next` would take it, with no deadline to set:
            // waiting is what times out.
            let ready = if out_of_time {
                Some(Ok(Next::TimedOut))
            } else {
                reader.ready()
            };
            // Whether the next item was waited for, up to the matcher's bound. The bound itself is
            // worked out again only if the wait timed out: the matcher has not moved since, and
            // an item passed along with it was copied once more on every item.
            let waited = ready.is_none();
            let next = match ready {
                Some(next) => next,
                None => {
                    let mut wait_until = match matcher.deadline(previous) {
                        Some((at, ..)) => deadline.min(origin.saturating_add(at)),
                        None => deadline,
                    };
                    if let Some(abort_at) = abort_at {
                        wait_until = wait_until.min(abort_at);
                    }
                    reader.next(wait_until).await
                }
            };
            let next = match next {
                Ok(next) => next,
                Err(error) => {
                    if let Some(timeline) = &mut stats.timeline {
                        timeline.mark(MarkKind::Error, origin.elapsed());
                    }
                    break Err(unreadable(error, matcher.consumed() + 1, &kind));
                }
            };
            // A drop (reconnected after or not) is marked where it came.
            if let (Next::Ended(Terminal::Dropped(_)), Some(timeline)) =
                (&next, &mut stats.timeline)
            {
                timeline.mark(MarkKind::Dropped, origin.elapsed());
            }
            match next {
                Next::Item(item, at) => {
                    if stats.ttfb.is_none() {
                        stats.ttfb = reader.ttfb();
                    }
                    if let Some(failure) = unusable(&item, matcher.consumed() + 1, &kind) {
                        if let Some(timeline) = &mut stats.timeline {
                            timeline.mark(MarkKind::Error, at);
                        }
                        break Err(failure);
                    }
                    if let Item::Sse(event) = &item
                        && track_ids
                        && event.has_id
                    {
                        stats.ids.record(&event.id, at);
                    }
                    let view = ItemView::new(&item);
                    captures.clear();
                    match matcher.feed(&view, at, previous, &mut captures, &*scope) {
                        Ok(Fed::Ignored) => {
                            ignored += 1;
                            continue;
                        }
                        Ok(fed) => {
                            stats.record_seen(&item, at);
                            previous = at;
                            if let Some(recorder) = &mut recorder {
                                recorder.took(entries, &item, &fed);
                            }
                            if let Some(log) = log.as_deref_mut() {
                                log.push(&item);
                            }
                            // Most items capture nothing: then there is nothing to commit.
                            if let Fed::Matched(span) = fed
                                && !captures.is_empty()
                            {
                                if let Some(name) = tokens
                                    && captures.iter().any(|(captured, value)| {
                                        captured == name && is_a_token(value)
                                    })
                                {
                                    stats.record_token(at);
                                }
                                scope.commit(&mut captures, span)?;
                            }
                            // The item pushed out of the ring hands its buffers to the next.
                            if let Some(Seen::Item(oldest, _)) = context.push(Seen::Item(item, at))
                                && let Reader::Http(http) = &mut reader
                            {
                                http.recycle(oldest);
                            }
                            if fed == Fed::Done {
                                break Ok(Finish::StoppedEarly);
                            }
                            if let Some(pace) = pace {
                                // Paced to the deadline, it goes on with what was read.
                                pause(pace, deadline).await;
                            }
                        }
                        Err(failure) => {
                            drop(view);
                            // A `within` the item broke is drawn, even on an item nothing waited
                            // for (an optional one: the matcher sets no deadline for those).
                            if let Some(timeline) = &mut stats.timeline
                                && let FailureKind::Timing { bound, .. } = &failure.kind
                                && let Some(Ok(within)) = bound
                                    .strip_prefix("within ")
                                    .map(crate::duration::parse_duration)
                            {
                                timeline.bound(previous, previous.saturating_add(within), bound);
                            }
                            stats.record_seen(&item, at);
                            if let Some(timeline) = &mut stats.timeline {
                                timeline.failed_on_last();
                            }
                            let first = Some((item, at));
                            let recording = update.zip(recorder.take());
                            let mut seen = |item: &Item, at, past| match past {
                                PastFailure::Counted => stats.saw(item, at, track_ids),
                                PastFailure::ForTheDiff => stats.read_after_failure(item, at),
                            };
                            break Err(failure_with_diff(
                                failure,
                                &mut matcher,
                                &mut reader,
                                context,
                                first,
                                deadline,
                                recording.map(|(update, recorder)| (update, recorder, &kind)),
                                &mut seen,
                            )
                            .await);
                        }
                    }
                }
                Next::Ended(terminal) => {
                    // Read ahead, the end came before the block took it: its time is then
                    // (`None`: it came as it was taken).
                    stats.end_came = reader
                        .take_end_time()
                        .map(|came| came.saturating_duration_since(origin));
                    match matcher.finish(&terminal) {
                        Ok(AfterEnd::Done) => break Ok(Finish::Ended),
                        // `reconnect` (or a `wait` before it) follows the ending: take it.
                        Ok(AfterEnd::Actions) => {
                            context.push(Seen::Event(terminal_text(&terminal)));
                            continue;
                        }
                        Err(failure) => {
                            let trailing = vec![terminal_line(&terminal)];
                            let fix = match (update, recorder.take()) {
                                (Some(update), Some(recorder)) if record::is_snapshot(&failure) => {
                                    Some(record::block_fix(
                                        update,
                                        entries,
                                        Some(failure.span),
                                        recorder,
                                        Vec::new(),
                                        Some(&terminal),
                                    ))
                                }
                                _ => None,
                            };
                            let mut failure =
                                render_failure(failure, &matcher, context, trailing, false);
                            failure.fix = fix.map(Box::new);
                            break Err(failure);
                        }
                    }
                }
                Next::TimedOut => {
                    let now = Instant::now();
                    let since_origin = now.saturating_duration_since(origin);
                    if abort_at.is_some_and(|at| now >= at) {
                        if let Some(timeline) = &mut stats.timeline {
                            timeline.mark(MarkKind::Abort, since_origin);
                        }
                        reader.abort(deadline).await;
                        break abort_rule_fired(&matcher, &context, received_before_abort);
                    }
                    // The bound on the next item, if it ran out before the test's deadline.
                    let broken = matcher.deadline(previous).filter(|_| now < deadline);
                    // Given up on the next item, for a bound or the test's timeout: the time
                    // waited counts (a load's first item or gap).
                    stats.gave_up_waiting(since_origin);
                    if let Some(timeline) = &mut stats.timeline {
                        match &broken {
                            // Not a timeout: the bound on the next item was broken.
                            Some((_, _, bound)) => timeline.bound_broken(since_origin, bound),
                            None => timeline.mark(MarkKind::TimedOut, since_origin),
                        }
                    }
                    if waited && let Some((_, span, bound)) = broken {
                        let since = now
                            .saturating_duration_since(origin)
                            .saturating_sub(previous);
                        let failure = MatchFailure {
                            span,
                            kind: FailureKind::NothingWithin {
                                bound,
                                waited: since,
                            },
                        };
                        // Read on briefly: the diff then shows when the item did come.
                        let mut seen = |item: &Item, at, _| stats.read_after_failure(item, at);
                        break Err(failure_with_diff(
                            failure,
                            &mut matcher,
                            &mut reader,
                            context,
                            None,
                            deadline,
                            None,
                            &mut seen,
                        )
                        .await);
                    }
                    // Name what was required next, passing over what was only optional.
                    let expected = matcher.remainder(EXPECTED_LINES);
                    let waiting_for = expected
                        .iter()
                        .find(|e| matches!(e.absorbs, Absorbs::One(_) | Absorbs::Ending))
                        .or(expected.first())
                        .map(|e| format!("waiting for `{}`", e.text))
                        .unwrap_or_else(|| "waiting for the stream".to_string());
                    let mut failure = Failure::error(
                        format!(
                            "the test timed out after {} and {} ({waiting_for})",
                            format_duration(timeout),
                            crate::report::plural(matcher.consumed() as usize, "item")
                        ),
                        kind.span,
                        "while reading this stream",
                    );
                    failure.notes.push(
                        "the stream neither sent a matching item nor ended; raise the limit with `timeout` in the test or `--timeout`".to_string(),
                    );
                    let diff = build_diff(&matcher, context, &[], true);
                    failure.diff = Some(Box::new(diff));
                    break Err(failure);
                }
            }
        };
        stats.bytes += reader.take_bytes();
        if let Reader::Http(http) = &reader {
            stats.retry = http.retry();
        }

        // Items an `ignore` dropped are easy to forget when reading a failure.
        result.map_err(|failure| match ignored {
            0 => failure,
            1 => failure.note("1 item was left out by `ignore` in this block"),
            n => failure.note(format!("{n} items were left out by `ignore` in this block")),
        })
    }
}

/// An `abort` ended the block: keeps what came before it, for the report.
fn aborted(context: &Recent, received: &mut Option<Vec<(String, Duration)>>) -> Finish {
    *received = Some(
        context
            .items()
            .map(|(item, at)| (render_item(item), *at))
            .collect(),
    );
    Finish::Aborted
}

/// `abort after …` ended the block: it passes if nothing it still required is missing.
fn abort_rule_fired(
    matcher: &BlockMatcher<'_>,
    context: &Recent,
    received: &mut Option<Vec<(String, Duration)>>,
) -> Result<Finish, Failure> {
    let finish = aborted(context, received);
    let mut probe = matcher.clone();
    if probe
        .finish(&Terminal::Dropped("aborted".to_string()))
        .is_ok()
    {
        return Ok(finish);
    }
    let (rule, span) = matcher
        .abort_rule()
        .map(|(when, span)| {
            let rule = match when {
                AbortWhen::Items(n) => {
                    format!("abort after {}", crate::report::plural(n as usize, "item"))
                }
                AbortWhen::After(d) => format!("abort after {}", format_duration(d)),
            };
            (rule, span)
        })
        .unwrap_or_default();
    let expected = matcher.remainder(EXPECTED_LINES);
    let missing = expected
        .iter()
        .find(|e| matches!(e.absorbs, Absorbs::One(_) | Absorbs::Ending))
        .map(|e| e.text.clone())
        .unwrap_or_default();
    let (lines, shown) = context.lines(CONTEXT_ITEMS);
    let diff = diff::build(
        &Focus::of_block(matcher.entries()),
        matcher.consumed().saturating_sub(shown),
        lines,
        &expected,
        &[],
        false,
        false,
    );
    Err(Failure::assertion(
        format!(
            "`{rule}` ended the block after {}, but it still expected `{missing}`",
            crate::report::plural(matcher.consumed() as usize, "item")
        ),
        span,
        "the abort came too soon",
    )
    .with_diff(diff))
}

/// Pauses for `duration`, or until `deadline`; whether the deadline is what ended it.
/// Whether a value a `--tokens` capture took may be an output token: not empty (the content of
/// an OpenAI-style stream's role chunk, `"content": ""`, or of a finish chunk). A number is one
/// (a token id) unless it was the capture's only value, a count (see the load's token times).
pub fn is_a_token(value: &serde_json::Value) -> bool {
    value.as_str() != Some("")
}

async fn pause(duration: Duration, deadline: Instant) -> bool {
    let wanted = Instant::now().saturating_add(duration);
    tokio::time::sleep_until(wanted.min(deadline).into()).await;
    wanted >= deadline
}

/// Half the time left before `deadline`: where `--update` stops reading a stream it records
/// without an ending, so the next run, reading as far, stays well inside the test's timeout.
pub(super) fn half_way(deadline: Instant) -> Instant {
    let now = Instant::now();
    now.saturating_add(deadline.saturating_duration_since(now) / 2)
}

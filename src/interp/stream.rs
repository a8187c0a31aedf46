//! Reading a stream against an `expect sse|ndjson|lines|chunks|messages { … }` block: take
//! items as they arrive (decoded from an HTTP body, or a gRPC call's replies), match each at
//! once, enforce timing bounds and the test deadline, and on a failure read a little further so
//! the diff shows what the stream really did.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::ast::{AbortWhen, Control, Entry, EntryKind, Spanned, StreamKind};
use crate::diff::focus::Focus;
use crate::diff::{self, ContextLine, DiffLine, ObservedLine};
use crate::duration::{format_duration, format_measured};
use crate::interp::group::ItemLog;
use crate::interp::grpc::LiveCall;
use crate::interp::http_stream::{HttpReader, Reconnector, Reopened, reopen};
use crate::interp::matcher::{
    Absorbs, AfterEnd, BlockMatcher, Expected, FailureKind, Fed, MatchFailure, Terminal,
};
use crate::interp::record::{self, BlockUpdate, Recorder};
use crate::interp::stats::StreamStats;
use crate::interp::unreadable::{unreadable, unusable};
use crate::interp::vars::Scope;
use crate::outcome::{Failure, FailureClass, Fix};
use crate::pattern::{Captures, ItemView};
use crate::render::render_item;
use crate::saturating_time::SaturatingAdd;
use crate::transport::framing::FrameError;
use crate::transport::item::Item;

/// Items kept as they pass: the last few before a failure (for the diff's context) or before
/// an abort (for the verbose report).
const RECENT_ITEMS: usize = 10;
/// Of those, how many a diff shows as context.
const CONTEXT_ITEMS: usize = 3;
/// After a failure, how many more items are read for the diff, and for how long at most.
const TRAILING_ITEMS: usize = 10;
const TRAILING_TIME: Duration = Duration::from_millis(500);
/// Expected lines shown after the failure point.
const EXPECTED_LINES: usize = 20;

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
enum Reader<'a> {
    Http(&'a mut HttpReader),
    Grpc(&'a mut LiveCall),
}

impl Reader<'_> {
    async fn next(&mut self, deadline: Instant) -> Result<Next, FrameError> {
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
        }
    }

    fn is_open(&self) -> bool {
        match self {
            Reader::Http(reader) => reader.is_open(),
            Reader::Grpc(call) => call.is_open(),
        }
    }

    /// `abort`: an HTTP connection is dropped with the reader; a gRPC call is cancelled (and
    /// the cancel is on the wire when this returns, or `deadline` has come).
    async fn abort(&mut self, deadline: Instant) {
        match self {
            Reader::Http(reader) => reader.disconnect(),
            Reader::Grpc(call) => call.cancel(deadline).await,
        }
    }

    /// The bytes read that the stream's statistics have not counted yet.
    fn take_bytes(&mut self) -> u64 {
        match self {
            Reader::Http(reader) => reader.take_bytes(),
            Reader::Grpc(call) => call.take_bytes(),
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
        } = self;
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
            let mut seen = |item: &Item, at| stats.saw(item, at, track_ids);
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
        let result = 'run: loop {
            // Client actions written at this point of the block.
            while let Some((action, span)) = matcher.take_action() {
                match action {
                    Control::Abort(None) => {
                        reader.abort(deadline).await;
                        break 'run Ok(aborted(&context, received_before_abort));
                    }
                    Control::Wait(duration) => pause(*duration, deadline).await,
                    Control::Pace(duration) => pace = Some(*duration),
                    Control::Send(message) => {
                        let Reader::Grpc(call) = &mut reader else {
                            continue;
                        };
                        if let Err(failure) = call.send(message, scope).await {
                            break 'run Err(failure);
                        }
                        previous = call.previous();
                        context.push(Seen::Event(format!(
                            "send {}",
                            crate::render::statements::render_message(message)
                        )));
                    }
                    Control::Close => {
                        if let Reader::Grpc(call) = &mut reader {
                            call.close();
                            context.push(Seen::Event("close".to_string()));
                        }
                    }
                    Control::Disconnect => {
                        if let Reader::Http(http) = &mut reader {
                            http.disconnect();
                        }
                        context.push(Seen::Event("disconnect".to_string()));
                    }
                    Control::Reconnect(options) => {
                        // The checker allows `reconnect` on HTTP streams only.
                        let (Reader::Http(http), Some(reconnect)) = (&mut reader, &reconnect)
                        else {
                            continue;
                        };
                        let reconnected = reopen(
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
                        .await;
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
                reader.abort(deadline).await;
                break abort_rule_fired(&matcher, &context, received_before_abort);
            }
            let bound = matcher.deadline(previous);
            let mut wait_until = match &bound {
                Some((at, ..)) => deadline.min(origin.saturating_add(*at)),
                None => deadline,
            };
            if let Some(abort_at) = abort_at {
                wait_until = wait_until.min(abort_at);
            }
            let next = match reader.next(wait_until).await {
                Ok(next) => next,
                Err(error) => break Err(unreadable(error, matcher.consumed() + 1, &kind)),
            };
            match next {
                Next::Item(item, at) => {
                    if let Some(failure) = unusable(&item, matcher.consumed() + 1, &kind) {
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
                            stats.record_item(at);
                            previous = at;
                            if let Some(recorder) = &mut recorder {
                                recorder.took(entries, &item, &fed);
                            }
                            if let Some(log) = log.as_deref_mut() {
                                log.push(&item);
                            }
                            if let Fed::Matched(span) = fed {
                                scope.commit(&mut captures, span)?;
                            }
                            context.push(Seen::Item(item, at));
                            if fed == Fed::Done {
                                break Ok(Finish::StoppedEarly);
                            }
                            if let Some(pace) = pace {
                                pause(pace, deadline).await;
                            }
                        }
                        Err(failure) => {
                            stats.record_item(at);
                            drop(view);
                            let first = Some((item, at));
                            let recording = update.zip(recorder.take());
                            let mut seen = |item: &Item, at| stats.saw(item, at, track_ids);
                            break Err(failure_with_diff(
                                failure,
                                &mut matcher,
                                &mut reader,
                                context,
                                first,
                                deadline,
                                recording.map(|(update, recorder)| {
                                    (update, recorder, &mut seen as _, &kind)
                                }),
                            )
                            .await);
                        }
                    }
                }
                Next::Ended(terminal) => match matcher.finish(&terminal) {
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
                },
                Next::TimedOut => {
                    let now = Instant::now();
                    if abort_at.is_some_and(|at| now >= at) {
                        reader.abort(deadline).await;
                        break abort_rule_fired(&matcher, &context, received_before_abort);
                    }
                    if let Some((_, span, bound)) = bound
                        && now < deadline
                    {
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
                        break Err(failure_with_diff(
                            failure,
                            &mut matcher,
                            &mut reader,
                            context,
                            None,
                            deadline,
                            None,
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

/// The last items that passed, and the connection events among them (a drop, a reconnection),
/// for the diff's context and the abort report. Bounded: the oldest go first.
#[derive(Default)]
struct Recent {
    seen: VecDeque<Seen>,
}

enum Seen {
    Item(Item, Duration),
    /// A line about the connection, such as `dropped` or `reconnect`, shown between items.
    Event(String),
}

impl Recent {
    fn push(&mut self, seen: Seen) {
        if self.seen.len() == RECENT_ITEMS {
            self.seen.pop_front();
        }
        self.seen.push_back(seen);
    }

    fn items(&self) -> impl Iterator<Item = (&Item, &Duration)> {
        self.seen.iter().filter_map(|seen| match seen {
            Seen::Item(item, at) => Some((item, at)),
            Seen::Event(_) => None,
        })
    }

    /// The last `count` items, with the events among them, as diff context lines.
    fn lines(&self, count: usize) -> (Vec<ContextLine<'_>>, u64) {
        let mut lines = Vec::new();
        let mut items = 0;
        for seen in self.seen.iter().rev() {
            match seen {
                Seen::Item(item, at) if items < count => {
                    items += 1;
                    lines.push(ContextLine::Item { item, at: *at });
                }
                Seen::Item(..) => break,
                Seen::Event(text) => lines.push(ContextLine::Event(text.clone())),
            }
        }
        lines.reverse();
        (lines, items as u64)
    }
}

/// The diff when an item came where the stream should have ended: `before` items came earlier.
pub fn item_instead_of_end(before: u64, item: &Item, at: Duration) -> diff::Diff {
    diff::build(
        &Focus::none(),
        before,
        Vec::new(),
        &[Expected::ending("end")],
        &[ObservedLine::Item { item, at }],
        true,
        true,
    )
}

fn terminal_line(terminal: &Terminal) -> ObservedLine<'static> {
    ObservedLine::Terminal {
        text: terminal_text(terminal),
    }
}

/// How a connection ended, as a spec line with a comment on why.
fn terminal_text(terminal: &Terminal) -> String {
    match terminal {
        Terminal::End => "end".to_string(),
        Terminal::Dropped(reason) => format!("dropped  # {reason}"),
        Terminal::Refused(reason) => format!("end  # the reconnection was refused: {reason}"),
        Terminal::Status(status) => format!("dropped  # status {status}"),
    }
}

async fn pause(duration: Duration, deadline: Instant) {
    let until = Instant::now().saturating_add(duration).min(deadline);
    tokio::time::sleep_until(until.into()).await;
}

/// Half the time left before `deadline`: where `--update` stops reading a stream it records
/// without an ending, so the next run, reading as far, stays well inside the test's timeout.
fn half_way(deadline: Instant) -> Instant {
    let now = Instant::now();
    now.saturating_add(deadline.saturating_duration_since(now) / 2)
}

/// What `--update` does with each item it reads past a failure (counts it in the figures).
type SeenItem<'a> = dyn FnMut(&Item, Duration) + Send + 'a;

/// Reads a few more items after a failure, so the diff shows what the stream went on to do:
/// as many as the block still expects (or up to a bound when it expects an open number, or an
/// ending), for a short while.
///
/// `recording` (`--update`): where the block is, the items it took, what counts each item read
/// in the stream's figures, and the stream's kind (for an item that cannot be read).
async fn failure_with_diff(
    failure: MatchFailure,
    matcher: &mut BlockMatcher<'_>,
    reader: &mut Reader<'_>,
    context: Recent,
    first: Option<(Item, Duration)>,
    deadline: Instant,
    recording: Option<(
        BlockUpdate<'_>,
        Recorder,
        &mut SeenItem<'_>,
        &Spanned<StreamKind>,
    )>,
) -> Failure {
    if let Some((update, recorder, seen, kind)) = recording
        && record::is_snapshot(&failure)
    {
        // `--update`: read to the end, show the diff's share, and rewrite from all of it.
        let entries = matcher.entries();
        let (after, ending) = {
            // A block that does not expect the ending is a prefix: read only as many items as
            // it stands for, or (when that is not a fixed number) for half the time left.
            let expects_ending = matches!(
                entries.last().map(|e| &e.kind),
                Some(EntryKind::End | EntryKind::Dropped)
            );
            let (until, limit) = if expects_ending {
                (deadline, None)
            } else {
                let wanted = record::items_wanted(entries, failure.span);
                let taken = recorder.taken_from(entries, failure.span);
                (half_way(deadline), wanted.map(|w| w.saturating_sub(taken)))
            };
            let read = read_rest(
                reader,
                matcher,
                first.into_iter().collect(),
                until,
                seen,
                limit,
                kind,
            )
            .await;
            match read {
                Ok(read) => read,
                Err(unreadable) => return unreadable,
            }
        };
        let shown = TRAILING_ITEMS.min(after.len());
        let cut_short = ending.is_none() || after.len() > shown;
        let mut trailing: Vec<ObservedLine<'_>> = after[..shown]
            .iter()
            .map(|(item, at)| ObservedLine::Item { item, at: *at })
            .collect();
        if let (Some(terminal), false) = (&ending, cut_short) {
            trailing.push(terminal_line(terminal));
        }
        let span = failure.span;
        let mut rendered = render_failure(failure, matcher, context, trailing, cut_short);
        let fix = record::block_fix(
            update,
            entries,
            Some(span),
            recorder,
            after.clone(),
            ending.as_ref(),
        );
        rendered.fix = Some(Box::new(fix));
        return rendered;
    }
    let expected = matcher.remainder(EXPECTED_LINES);
    let open_ended = expected
        .iter()
        .any(|e| !matches!(e.absorbs, Absorbs::One(_)));
    let wanted = if open_ended {
        TRAILING_ITEMS
    } else {
        expected.len().clamp(1, TRAILING_ITEMS)
    };
    // The items read, each with whether an `ignore` of the block drops it; those are shown as
    // such, and do not count towards what is wanted (up to as many again).
    let mut items: Vec<(Item, Duration, bool)> = first
        .into_iter()
        .map(|(item, at)| (item, at, false))
        .collect();
    let mut terminal = None;
    let stop_at = deadline.min(Instant::now().saturating_add(TRAILING_TIME));
    let mut cut_short = true;
    let taken = |items: &[(Item, Duration, bool)]| items.iter().filter(|i| !i.2).count();
    // One read past what is wanted: if the stream ends right there, the ending is shown too.
    while taken(&items) <= wanted && items.len() <= 2 * wanted {
        match reader.next(stop_at).await {
            Ok(Next::Item(item, at)) => {
                let ignored = matcher.ignores(&ItemView::new(&item));
                if !ignored && taken(&items) == wanted {
                    break;
                }
                items.push((item, at, ignored));
            }
            Ok(Next::Ended(end)) => {
                terminal = Some(end);
                cut_short = false;
                break;
            }
            Ok(Next::TimedOut) | Err(_) => break,
        }
    }
    let mut trailing: Vec<ObservedLine<'_>> = items
        .iter()
        .map(|(item, at, ignored)| match ignored {
            true => ObservedLine::Ignored { item, at: *at },
            false => ObservedLine::Item { item, at: *at },
        })
        .collect();
    if let Some(terminal) = &terminal {
        trailing.push(terminal_line(terminal));
    }
    render_failure(failure, matcher, context, trailing, cut_short)
}

/// The diff when not even the response head came in time: everything is still expected.
pub fn nothing_arrived(entries: &[Entry]) -> diff::Diff {
    build_diff(&BlockMatcher::new(entries), Recent::default(), &[], true)
}

fn build_diff(
    matcher: &BlockMatcher<'_>,
    context: Recent,
    trailing: &[ObservedLine<'_>],
    cut_short: bool,
) -> diff::Diff {
    let (context, shown) = context.lines(CONTEXT_ITEMS);
    let before = matcher.consumed().saturating_sub(shown);
    let expected = matcher.remainder(EXPECTED_LINES);
    // Observed items after the failure start with the item that failed (or came too late).
    let failed_first = matches!(trailing.first(), Some(ObservedLine::Item { .. }));
    diff::build(
        &Focus::of_block(matcher.entries()),
        before,
        context,
        &expected,
        trailing,
        failed_first,
        cut_short,
    )
}

/// Turns a matcher failure into a test failure: the message, the caret's label, and the diff.
fn render_failure(
    failure: MatchFailure,
    matcher: &BlockMatcher<'_>,
    context: Recent,
    trailing: Vec<ObservedLine<'_>>,
    cut_short: bool,
) -> Failure {
    let position = matcher.consumed() + 1;
    let (message, label) = match &failure.kind {
        FailureKind::Mismatch { mismatch, .. } => (
            format!("item {position} does not match"),
            mismatch.to_string(),
        ),
        FailureKind::NoneInAnyOrder { open } => (
            format!("item {position} matches none of the items still expected in `any order`"),
            format!("still expected: {}", open.join(", ")),
        ),
        FailureKind::ExpectedTerminal { expected } => (
            format!("expected {expected}, but item {position} arrived"),
            format!("expected {expected} here"),
        ),
        FailureKind::Timing { bound, measured } if bound.starts_with("first") => (
            format!("timing bound `{bound}` broken"),
            format!("the first item came after {}", format_measured(*measured)),
        ),
        FailureKind::Timing { bound, measured } => (
            format!("timing bound `{bound}` broken"),
            format!(
                "item {position} came {} after the previous one",
                format_measured(*measured)
            ),
        ),
        FailureKind::Unbound { message } => (message.clone(), "used here".to_string()),
        FailureKind::NothingWithin { bound, waited } => (
            format!("timing bound `{bound}` broken"),
            format!("no item arrived in {}", format_measured(*waited)),
        ),
        FailureKind::EndedEarly { terminal, expected } => (
            terminal.describe_after(Some(matcher.consumed())),
            format!("still expected `{expected}`"),
        ),
        FailureKind::WrongTerminal { expected, terminal } => (
            format!("expected {expected}, but {}", terminal.describe()),
            format!("expected {expected}"),
        ),
        FailureKind::NoGroup { groups, found } => (
            format!("item {position} belongs to no `where` group: {found}"),
            format!("the groups are for {}", groups.join(", ")),
        ),
        FailureKind::GroupComplete { group } => (
            format!("item {position} is one more for `{group}`, which already had all its items"),
            "this group is complete".to_string(),
        ),
    };
    let class = match failure.kind {
        FailureKind::EndedEarly {
            terminal: Terminal::Dropped(_),
            ..
        } => FailureClass::Error,
        _ => FailureClass::Assertion,
    };
    let mut notes = Vec::new();
    // A required item that an earlier repetition already took: the greedy trap.
    if let FailureKind::EndedEarly { .. } = &failure.kind
        && matcher.after_open_repetition()
    {
        let swallowed =
            matcher
                .remainder(1)
                .first()
                .is_some_and(|expected| match expected.absorbs {
                    Absorbs::One(pattern) => context.items().any(|(item, _)| {
                        crate::pattern::match_item(pattern, &ItemView::new(item), &mut Vec::new())
                            .is_ok()
                    }),
                    _ => false,
                });
        if swallowed {
            notes.push("help: an earlier item matched this, but the repetition before it took that item (repetitions are greedy); end the repetition with `until <pattern> { … }`".to_string());
        }
    }
    let diff = build_diff(matcher, context, &trailing, cut_short);
    Failure {
        class,
        message,
        span: Some(failure.span),
        label,
        notes,
        diff: Some(Box::new(diff)),
        fix: None,
    }
}

/// `--update`: reads the rest of the stream (to its end, `limit` items, or the record limit),
/// leaving out what the block's `ignore`s drop. `None` as the ending when it did not end.
///
/// `seen` counts each item read in the stream's figures, so that `expect count` and the other
/// aggregates of an update run see the whole stream. An item the block could not have taken
/// (over the size limit, not a valid item) fails the test as it would in any run, and then
/// nothing is recorded: the failure, with a fix that says so.
async fn read_rest(
    reader: &mut Reader<'_>,
    matcher: &mut BlockMatcher<'_>,
    mut items: Vec<(Item, Duration)>,
    deadline: Instant,
    seen: &mut SeenItem<'_>,
    limit: Option<usize>,
    kind: &Spanned<StreamKind>,
) -> Result<(Vec<(Item, Duration)>, Option<Terminal>), Failure> {
    let limit = limit.unwrap_or(usize::MAX).min(record::RECORD_LIMIT + 1);
    let not_recorded = |failure: Failure| {
        failure.with_fix(Fix::Cannot(
            "the stream could not be read whole (see the error), so nothing from it was written"
                .to_string(),
        ))
    };
    while items.len() < limit {
        let position = matcher.consumed() + items.len() as u64 + 1;
        match reader.next(deadline).await {
            Ok(Next::Item(item, at)) => {
                if let Some(failure) = unusable(&item, position, kind) {
                    return Err(not_recorded(failure));
                }
                if !matcher.ignores(&ItemView::new(&item)) {
                    seen(&item, at);
                    items.push((item, at));
                }
            }
            Ok(Next::Ended(end)) => return Ok((items, Some(end))),
            Ok(Next::TimedOut) => break,
            Err(error) => return Err(not_recorded(unreadable(error, position, kind))),
        }
    }
    Ok((items, None))
}

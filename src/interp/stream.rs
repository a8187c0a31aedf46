//! Reading a streamed body against an `expect sse|ndjson|lines|chunks { … }` block: decode
//! items as bytes arrive, match each at once, enforce timing bounds and the test deadline, and on
//! a failure read a little further so the diff shows what the stream really did.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::ast::{Control, Entry, Spanned, StreamKind};
use crate::diff::{self, ObservedLine};
use crate::duration::{format_duration, format_measured};
use crate::interp::matcher::{Absorbs, BlockMatcher, FailureKind, Fed, MatchFailure, Terminal};
use crate::interp::stats::StreamStats;
use crate::interp::vars::Scope;
use crate::outcome::{Failure, FailureClass};
use crate::pattern::{Captures, ItemView};
use crate::render::render_item;
use crate::transport::decoder::Decoder;
use crate::transport::framing::{FrameError, format_size};
use crate::transport::http::{ChunkRead, HttpResponse};
use crate::transport::item::Item;

/// Matched items kept for the diff's context: the last few before a failure.
const CONTEXT_ITEMS: usize = 3;
/// After a failure, how many more items are read for the diff, and for how long at most.
const TRAILING_ITEMS: usize = 10;
const TRAILING_TIME: Duration = Duration::from_millis(500);
/// Expected lines shown after the failure point.
const EXPECTED_LINES: usize = 20;

pub struct StreamRun<'a> {
    pub response: &'a mut HttpResponse,
    pub kind: Spanned<StreamKind>,
    pub entries: &'a [Entry],
    pub deadline: Instant,
    /// The test's timeout, for messages.
    pub timeout: Duration,
    pub max_item_size: usize,
    pub stats: &'a mut StreamStats,
    pub scope: &'a mut Scope,
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

enum Next {
    Item(Item, Duration),
    Ended(Terminal),
    TimedOut,
}

struct Reader<'r> {
    response: &'r mut HttpResponse,
    decoder: Decoder,
    /// When the last chunk was read, measured from the request.
    chunk_at: Duration,
    ended: bool,
    bytes: u64,
}

impl Reader<'_> {
    /// The next item, reading more of the body when the decoder has none.
    async fn next(&mut self, deadline: Instant) -> Result<Next, FrameError> {
        loop {
            if let Some(item) = self.decoder.next_item()? {
                return Ok(Next::Item(item, self.chunk_at));
            }
            if self.ended {
                return Ok(Next::Ended(Terminal::End));
            }
            match self.response.next_chunk(deadline).await {
                ChunkRead::Data { bytes, at } => {
                    self.chunk_at = at.saturating_duration_since(self.response.sent_at);
                    self.bytes += bytes.len() as u64;
                    self.decoder.push(bytes);
                }
                ChunkRead::End => {
                    self.ended = true;
                    let leftover = self.decoder.finish()?;
                    if let Some(item) = leftover.last {
                        return Ok(Next::Item(item, self.chunk_at));
                    }
                    if leftover.discarded_bytes > 0 {
                        // An event without its blank line is not an event: EventSource drops it.
                        return Ok(Next::Ended(Terminal::Dropped(format!(
                            "the stream closed in the middle of an item; {} bytes of it were discarded",
                            leftover.discarded_bytes
                        ))));
                    }
                    return Ok(Next::Ended(Terminal::End));
                }
                ChunkRead::Failed(reason) => {
                    self.ended = true;
                    let leftover = self
                        .decoder
                        .finish()
                        .map(|l| l.discarded_bytes)
                        .unwrap_or(0);
                    let reason = if leftover > 0 {
                        format!("{reason}; {leftover} bytes of an unfinished item were discarded")
                    } else {
                        reason
                    };
                    return Ok(Next::Ended(Terminal::Dropped(reason)));
                }
                ChunkRead::TimedOut => return Ok(Next::TimedOut),
            }
        }
    }
}

impl StreamRun<'_> {
    pub async fn run(self) -> Result<Finish, Failure> {
        let StreamRun {
            response,
            kind,
            entries,
            deadline,
            timeout,
            max_item_size,
            stats,
            scope,
        } = self;
        let mut matcher = BlockMatcher::new(entries);
        let mut reader = Reader {
            response,
            decoder: Decoder::new(kind.value, max_item_size),
            chunk_at: Duration::ZERO,
            ended: false,
            bytes: 0,
        };
        let mut context: VecDeque<(Item, Duration)> = VecDeque::with_capacity(CONTEXT_ITEMS + 1);
        let mut captures: Captures = Vec::new();
        let mut previous = Duration::ZERO;
        let mut pace: Option<Duration> = None;
        let mut ignored: u64 = 0;
        let result = loop {
            // Client actions written at this point of the block.
            while let Some(action) = matcher.take_action() {
                match action {
                    Control::Abort => {
                        stats.bytes += reader.bytes;
                        return Ok(Finish::Aborted);
                    }
                    Control::Wait(duration) => pause(duration, deadline).await,
                    Control::Pace(duration) => pace = Some(duration),
                    _ => {}
                }
            }
            if matcher.is_complete() {
                break Ok(if reader.ended {
                    Finish::Ended
                } else {
                    Finish::StoppedEarly
                });
            }
            let bound = matcher.deadline(previous);
            let wait_until = match &bound {
                Some((at, ..)) => deadline.min(reader.response.sent_at + *at),
                None => deadline,
            };
            let next = match reader.next(wait_until).await {
                Ok(next) => next,
                Err(FrameError::TooLarge { limit }) => {
                    break Err(Failure::error(
                        format!(
                            "item {} is larger than the maximum item size of {}",
                            matcher.consumed() + 1,
                            format_size(limit)
                        ),
                        kind.span,
                        format!("reading this `{}` stream", kind.value.keyword()),
                    )
                    .help_note("streamspec holds one item in memory at a time; raise the limit with --max-item-size"));
                }
                Err(error) => {
                    break Err(Failure::error(
                        format!("the server sent a malformed stream: {error}"),
                        kind.span,
                        format!("reading this `{}` stream", kind.value.keyword()),
                    ));
                }
            };
            match next {
                Next::Item(item, at) => {
                    if let Item::Sse(event) = &item
                        && event.invalid_utf8
                    {
                        break Err(Failure::error(
                            format!(
                                "the server sent invalid UTF-8 in event {}",
                                matcher.consumed() + 1
                            ),
                            kind.span,
                            "in this stream",
                        )
                        .note(format!(
                            "a browser would show it with U+FFFD: {}",
                            render_item(&item)
                        )));
                    }
                    let view = ItemView::new(&item);
                    captures.clear();
                    match matcher.feed(&view, at, previous, &mut captures) {
                        Ok(Fed::Ignored) => {
                            ignored += 1;
                            continue;
                        }
                        Ok(fed) => {
                            stats.record_item(at);
                            previous = at;
                            if let Fed::Matched(span) = fed {
                                scope.commit(&mut captures, span)?;
                            }
                            if context.len() == CONTEXT_ITEMS {
                                context.pop_front();
                            }
                            context.push_back((item, at));
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
                            break Err(failure_with_diff(
                                failure,
                                &matcher,
                                &mut reader,
                                context,
                                first,
                                deadline,
                            )
                            .await);
                        }
                    }
                }
                Next::Ended(terminal) => match matcher.finish(&terminal) {
                    Ok(()) => break Ok(Finish::Ended),
                    Err(failure) => {
                        let trailing = vec![terminal_line(&terminal)];
                        break Err(render_failure(failure, &matcher, context, trailing, false));
                    }
                },
                Next::TimedOut => {
                    let now = Instant::now();
                    if let Some((_, span, bound)) = bound
                        && now < deadline
                    {
                        let waited = now.saturating_duration_since(reader.response.sent_at);
                        let since = waited.saturating_sub(previous);
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
                            &matcher,
                            &mut reader,
                            context,
                            None,
                            deadline,
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
        stats.bytes += reader.bytes;
        // Items an `ignore` dropped are easy to forget when reading a failure.
        result.map_err(|failure| match ignored {
            0 => failure,
            1 => failure.note("1 item was left out by `ignore` in this block"),
            n => failure.note(format!("{n} items were left out by `ignore` in this block")),
        })
    }
}

fn terminal_line(terminal: &Terminal) -> ObservedLine<'static> {
    ObservedLine::Terminal {
        text: match terminal {
            Terminal::End => "end".to_string(),
            Terminal::Dropped(reason) => format!("dropped  # {reason}"),
        },
    }
}

async fn pause(duration: Duration, deadline: Instant) {
    let until = (Instant::now() + duration).min(deadline);
    tokio::time::sleep_until(until.into()).await;
}

/// Reads a few more items after a failure, so the diff shows what the stream went on to do:
/// as many as the block still expects (or up to a bound when it expects an open number, or an
/// ending), for a short while.
async fn failure_with_diff(
    failure: MatchFailure,
    matcher: &BlockMatcher<'_>,
    reader: &mut Reader<'_>,
    context: VecDeque<(Item, Duration)>,
    first: Option<(Item, Duration)>,
    deadline: Instant,
) -> Failure {
    let expected = matcher.remainder(EXPECTED_LINES);
    let open_ended = expected
        .iter()
        .any(|e| !matches!(e.absorbs, Absorbs::One(_)));
    let wanted = if open_ended {
        TRAILING_ITEMS
    } else {
        expected.len().clamp(1, TRAILING_ITEMS)
    };
    let mut items: Vec<(Item, Duration)> = first.into_iter().collect();
    let mut terminal = None;
    let stop_at = deadline.min(Instant::now() + TRAILING_TIME);
    let mut cut_short = true;
    // One read past what is wanted: if the stream ends right there, the ending is shown too.
    while items.len() <= wanted {
        match reader.next(stop_at).await {
            Ok(Next::Item(_, _)) if items.len() == wanted => break,
            Ok(Next::Item(item, at)) => items.push((item, at)),
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
        .map(|(item, at)| ObservedLine::Item {
            item,
            text: render_item(item),
            at: *at,
        })
        .collect();
    if let Some(terminal) = &terminal {
        trailing.push(terminal_line(terminal));
    }
    render_failure(failure, matcher, context, trailing, cut_short)
}

/// The diff when not even the response head came in time: everything is still expected.
pub fn nothing_arrived(entries: &[Entry]) -> diff::Diff {
    build_diff(&BlockMatcher::new(entries), VecDeque::new(), &[], true)
}

fn build_diff(
    matcher: &BlockMatcher<'_>,
    context: VecDeque<(Item, Duration)>,
    trailing: &[ObservedLine<'_>],
    cut_short: bool,
) -> diff::Diff {
    let shown = context.len() as u64;
    let before = matcher.consumed().saturating_sub(shown);
    let context = context
        .iter()
        .map(|(item, at)| (render_item(item), *at))
        .collect();
    let expected = matcher.remainder(EXPECTED_LINES);
    // Observed items after the failure start with the item that failed (or came too late).
    let failed_first = matches!(trailing.first(), Some(ObservedLine::Item { .. }));
    diff::build(
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
    context: VecDeque<(Item, Duration)>,
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
                    Absorbs::One(pattern) => context.iter().any(|(item, _)| {
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
    }
}

//! Named streams (`GET … as feed`): parked in the background once the steps that follow the
//! request are no longer about it, held against a block again by `expect sse from feed { … }`,
//! and closed at the end of the branch or test that opened them.

use std::collections::HashMap;

use super::*;
use crate::interp::background::Background;
use crate::interp::group::{ClosedStream, ItemLog};
use crate::interp::http_stream::HttpReader;

/// A named HTTP stream of the current branch or test.
pub(super) struct NamedStream {
    pub name: String,
    /// Its number among the streams opened under the same name here, from 1.
    pub instance: usize,
    pub exchange: Exchange,
    /// The reader, while no task reads it (between `take` and `park`); boxed, as it is only
    /// here while the stream is held or closed.
    reader: Option<Box<HttpReader>>,
    background: Option<Background<HttpReader>>,
    /// How its body is framed: the kind of the first block that reads it.
    pub kind: StreamKind,
    /// It ended (a block read its end, or aborted it): no block can hold it again.
    pub finished: bool,
    pub opened_at: Instant,
    pub log: Option<ItemLog>,
}

impl NamedStream {
    /// Stops the background reading and takes the reader, with what it read ahead.
    async fn take_reader(&mut self) -> Option<HttpReader> {
        if let Some(background) = self.background.take() {
            return background.stop().await;
        }
        self.reader.take().map(|reader| *reader)
    }
}

/// How each named stream of a test is framed: the kind of the first block that reads it (one
/// right after its request, or `from NAME`); `chunks` when none does.
pub(super) fn framing(steps: &[Step]) -> HashMap<String, StreamKind> {
    let mut kinds = HashMap::new();
    for_each_step(steps, &mut |steps, index| match &steps[index].kind {
        StepKind::Request(Request {
            name: Some(name), ..
        }) => {
            let attached = steps[index + 1..]
                .iter()
                .take_while(|step| attaches(&step.kind))
                .find_map(|step| match &step.kind {
                    StepKind::Expect(Expectation::Stream(block)) => Some(block.kind.value),
                    _ => None,
                });
            if let Some(kind) = attached {
                kinds.entry(name.value.clone()).or_insert(kind);
            }
        }
        StepKind::Expect(Expectation::Stream(StreamBlock {
            from: Some(name),
            kind,
            ..
        })) => {
            kinds.entry(name.value.clone()).or_insert(kind.value);
        }
        _ => {}
    });
    kinds
}

/// The names of `expect same items in NAME [where PATTERN]` in a test: their streams log what
/// they receive (what matches the pattern; the first check of a name says).
pub(super) fn compared(steps: &[Step]) -> HashMap<String, Option<ItemPattern>> {
    let mut names = HashMap::new();
    for_each_step(steps, &mut |steps, index| {
        if let StepKind::Expect(Expectation::SameItems(name, only)) = &steps[index].kind {
            names
                .entry(name.value.clone())
                .or_insert_with(|| only.clone());
        }
    });
    names
}

/// Whether the test has an `expect ids …` anywhere, so its streams track the order of ids.
pub(super) fn checks_ids(steps: &[Step]) -> bool {
    let mut checks = false;
    for_each_step(steps, &mut |steps, index| {
        checks |= matches!(
            &steps[index].kind,
            StepKind::Expect(Expectation::Aggregate(Aggregate {
                kind: AggregateKind::Ids(_),
                ..
            }))
        );
    });
    checks
}

/// Whether a step is about the current request (its options, and expectations on it), so a
/// named request stays current through it; any other step parks the named request.
pub(super) fn attaches(step: &StepKind) -> bool {
    match step {
        StepKind::Header(_)
        | StepKind::Body(_)
        | StepKind::Timeout(_)
        | StepKind::Threshold(_)
        | StepKind::GrpcOption(_)
        | StepKind::Protocol(_)
        | StepKind::Control(Control::Abort(_) | Control::Send(_) | Control::Close(_)) => true,
        // A `wait` is the test's, not the request's: the request goes out before it.
        StepKind::Control(_) => false,
        StepKind::Expect(Expectation::Stream(block)) => block.from.is_none(),
        StepKind::Expect(Expectation::SameItems(..)) => false,
        StepKind::Expect(Expectation::Aggregate(aggregate)) => aggregate.group.is_none(),
        StepKind::Expect(_) => true,
        StepKind::Request(_)
        | StepKind::Grpc(_)
        | StepKind::Ws(_)
        | StepKind::Repeat(_)
        | StepKind::Parallel(_)
        | StepKind::Barrier(_) => false,
    }
}

impl TestRun<'_> {
    /// The current request is a named one and the steps about it are over: it is sent (if no
    /// expectation sent it), its head awaited, and its body read by a task of its own.
    ///
    /// A request without a name is sent here too (if nothing sent it yet), so that it is sent
    /// with the variables of its own steps (a `repeat`'s `i`), not those of a later step.
    pub(super) async fn park_current(&mut self) -> Result<(), Failure> {
        self.park_named_exchange().await?;
        if self
            .exchange
            .as_ref()
            .is_none_or(|exchange| exchange.name.is_none())
        {
            return self.finish_exchange().await;
        }
        self.ensure_head().await?;
        let Some(mut exchange) = self.exchange.take() else {
            return Ok(());
        };
        let name = exchange.name.clone().map(|n| n.value).unwrap_or_default();
        let kind = self
            .framing
            .get(&name)
            .copied()
            .unwrap_or(StreamKind::Chunks);
        let reader = match (exchange.reader.take(), exchange.response.take()) {
            (Some(reader), _) => Some(*reader),
            (None, Some(response)) => {
                Some(HttpReader::new(response, kind, self.settings.max_item_size))
            }
            (None, None) => None,
        };
        let finished = reader.is_none();
        let opened_at = reader
            .as_ref()
            .map_or_else(Instant::now, HttpReader::origin);
        // A stream whose connection closed can still be opened again by a `reconnect`.
        let (idle, reader) = match reader {
            Some(reader) if !reader.is_open() => (Some(Box::new(reader)), None),
            reader => (None, reader),
        };
        let instance = 1
            + self.named.iter().filter(|s| s.name == name).count()
            + self
                .closed
                .iter()
                .filter(|s| s.name.as_deref() == Some(name.as_str()) && s.branch == self.branch)
                .count();
        let log = exchange.log.take();
        self.named.push(NamedStream {
            name,
            instance,
            exchange,
            reader: idle,
            background: reader.map(|reader| Background::start(reader, self.deadline)),
            kind,
            finished,
            opened_at,
            log,
        });
        Ok(())
    }

    /// `expect KIND from NAME { … }`: holds every open stream of that name against the block,
    /// in the order they were opened.
    pub(super) async fn hold(&mut self, block: &StreamBlock, name: &Ident) -> Result<(), Failure> {
        // The streams of the name still open; when none is, the ones whose connection closed
        // (for a `reconnect` to open again, or to check how they ended).
        let holdable: Vec<usize> = (0..self.named.len())
            .filter(|&i| self.named[i].name == name.value && !self.named[i].finished)
            .collect();
        let open: Vec<usize> = holdable
            .iter()
            .copied()
            .filter(|&i| self.named[i].background.is_some())
            .collect();
        let held = if open.is_empty() { holdable } else { open };
        if held.is_empty() {
            let opened = self.named.iter().any(|s| s.name == name.value);
            return Err(Failure::error(
                match opened {
                    true => format!("stream `{}` has already ended", name.value),
                    false => format!("no stream `{}` is open here", name.value),
                },
                name.span,
                "held here",
            ));
        }
        let group = self.named.iter().filter(|s| s.name == name.value).count() > 1;
        let outer = self.repeated.clone();
        if held.len() > 1 && outer.is_none() {
            self.repeated = Some(format!(
                "it holds each of the {} streams opened as `{}`",
                held.len(),
                name.value
            ));
        }
        let result = self
            .hold_each(block, &held, group)
            .await
            .map_err(|failure| self.not_rewritten_when_repeated(failure));
        self.repeated = outer;
        result
    }

    async fn hold_each(
        &mut self,
        block: &StreamBlock,
        held: &[usize],
        group: bool,
    ) -> Result<(), Failure> {
        for &index in held {
            let result = self.hold_one(block, index).await;
            if let Err(mut failure) = result {
                if group {
                    let stream = &self.named[index];
                    failure.notes.insert(
                        0,
                        format!(
                            "in stream `{}[{}]`, the {} opened as `{}`",
                            stream.name,
                            stream.instance,
                            ordinal(stream.instance),
                            stream.name
                        ),
                    );
                }
                return Err(failure);
            }
        }
        Ok(())
    }

    async fn hold_one(&mut self, block: &StreamBlock, index: usize) -> Result<(), Failure> {
        let mut entries = block.entries.clone();
        self.scope.instantiate_entries(&mut entries)?;
        let stream = &mut self.named[index];
        let Some(mut reader) = stream.take_reader().await else {
            stream.finished = true;
            return Err(Failure::error(
                format!("stream `{}` could not be read", stream.name),
                block.kind.span,
                "the task reading it failed",
            ));
        };
        let (Some(stats), Some(request)) =
            (stream.exchange.stats.as_mut(), stream.exchange.sent.clone())
        else {
            return Ok(());
        };
        let previous = stats.last_item_at().unwrap_or(Duration::ZERO);
        let mut received_before_abort = None;
        let result = StreamRun {
            source: Source::Http {
                reader: &mut reader,
                reconnect: Reconnector {
                    client: &self.settings.client,
                    request,
                    opening: stream.exchange.opening.clone(),
                },
            },
            kind: block.kind.clone(),
            previous,
            entries: &entries,
            deadline: self.deadline,
            timeout: self.timeout,
            max_item_size: self.settings.max_item_size,
            stats,
            scope: &mut self.scope,
            connections: &mut self.connections,
            received_before_abort: &mut received_before_abort,
            track_ids: self.checks_ids,
            update: record::BlockUpdate::of(self.settings, self.spec, Some(block.block_span)),
            log: stream.log.as_mut(),
            tokens: self
                .settings
                .tokens_capture
                .as_deref()
                .filter(|name| crate::check::block_captures_name(&entries, name)),
        }
        .run()
        .await;
        // Open, it is read in the background again; closed (the server ended it, or the
        // block's `disconnect`), a later block may still `reconnect` it; aborted, it is done.
        match result {
            Ok(Finish::StoppedEarly) if reader.is_open() => {
                stream.background = Some(Background::start(reader, self.deadline));
            }
            Ok(Finish::StoppedEarly | Finish::Ended) => stream.reader = Some(Box::new(reader)),
            Ok(Finish::Aborted) | Err(_) => stream.finished = true,
        }
        result.map(|_| ())
    }

    /// The end of the branch or test: every named stream still open is closed (its connection
    /// dropped); what it read ahead and no block took still counts in its figures.
    pub(super) async fn close_named(&mut self) -> Result<(), Failure> {
        let calls = self.close_named_exchanges().await;
        let mut full: Option<Failure> = None;
        let totals: HashMap<String, usize> =
            self.named.iter().fold(HashMap::new(), |mut totals, s| {
                *totals.entry(s.name.clone()).or_default() += 1;
                totals
            });
        for mut stream in std::mem::take(&mut self.named) {
            let reader = stream.take_reader().await;
            let Some(stats) = stream.exchange.stats.as_mut() else {
                continue;
            };
            if let Some(mut reader) = reader {
                for (item, at) in reader.take_read_ahead() {
                    stats.saw(&item, at, self.checks_ids);
                    if let Some(log) = &mut stream.log {
                        log.push(&item);
                    }
                }
                stats.bytes += reader.take_bytes();
                if reader.buffer_full() && full.is_none() {
                    full = Some(
                        Failure::error(
                            format!(
                                "stream `{}` was read in the background and {}",
                                stream.name,
                                crate::transport::framing::FrameError::BufferFull {
                                    items: crate::interp::background::MAX_BUFFERED_ITEMS,
                                    bytes: crate::interp::background::MAX_BUFFERED_BYTES,
                                }
                            ),
                            stream.exchange.span,
                            "opened here",
                        )
                        .help_note("hold the stream with a block sooner (`expect … from NAME`)"),
                    );
                }
            }
            stats.duration = Some(stream.opened_at.elapsed());
            let label = match totals.get(&stream.name) {
                Some(&total) if total > 1 || stream.instance > 1 => {
                    format!("{}[{}]", stream.name, stream.instance)
                }
                _ => stream.name.clone(),
            };
            self.streams.push(StreamReport {
                name: Some(label.clone()),
                branch: self.branch.clone(),
                ..stats.report(stream.kind.keyword(), stream.exchange.span)
            });
            let stats = stats.clone();
            self.count_closed(ClosedStream {
                name: Some(stream.name.clone()),
                label,
                branch: self.branch.clone(),
                stats,
                log: stream.log.take(),
                opened_at: stream.opened_at,
                closed_at: Instant::now(),
            });
        }
        match full {
            Some(failure) => Err(failure),
            None => calls,
        }
    }
}

impl TestRun<'_> {
    /// A stream's figures join the test's (`expect test …`) and its group's (`in NAME`).
    pub(super) fn count_closed(&mut self, closed: ClosedStream) {
        self.count_earlier(&closed.stats);
        self.closed.push(closed);
    }

    /// A stream's figures join the test's, for `expect test …`.
    pub(super) fn count_earlier(&mut self, stats: &StreamStats) {
        match &mut self.earlier {
            Some(earlier) => earlier.absorb(stats),
            None => self.earlier = Some(stats.clone()),
        }
    }
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test may hold a thousand named streams open at once (issue 12: under 20 KB each,
    /// its HTTP connection included, as benches/many_streams.sh measures). What streamspec
    /// keeps of an open stream, besides the connection and the task reading it, stays within
    /// a small share of that; an inline reader, log or histogram took it to 4.3 KB.
    #[test]
    fn a_named_stream_keeps_little_besides_its_connection() {
        let size = std::mem::size_of::<NamedStream>();
        assert!(size <= 2048, "a named stream takes {size} bytes");
    }
}

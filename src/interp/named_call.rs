//! Named gRPC calls (`grpc … as call`): started, then read in the background while other steps
//! (other calls, requests, waits) run; `expect messages from call { … }` holds the call again,
//! with everything a block does on a call (`send`, `close`, `abort`), and the call is cancelled
//! at the end of the branch or test that started it.

use super::*;
use crate::interp::background::Background;
use crate::interp::group::{ClosedStream, ItemLog};
use crate::interp::grpc::{GrpcExchange, LiveCall};

/// A named gRPC call of the current branch or test.
pub(super) struct NamedCall {
    pub name: String,
    /// Its number among the calls started under the same name here, from 1.
    pub instance: usize,
    /// `None` while a block holds the call (it is the test's current call then).
    exchange: Option<GrpcExchange>,
    /// The call, while no task reads it.
    live: Option<LiveCall>,
    background: Option<Background<LiveCall>>,
    /// Cancelled or ended and read to its end: no block can hold it again.
    pub finished: bool,
    pub opened_at: Instant,
    pub log: Option<ItemLog>,
}

impl NamedCall {
    /// Its figures so far (none while a block holds it: they are the current call's then).
    pub fn stats(&self) -> Option<&StreamStats> {
        self.exchange
            .as_ref()
            .and_then(|exchange| exchange.stats.as_ref())
    }

    async fn take_live(&mut self) -> Option<LiveCall> {
        if let Some(background) = self.background.take() {
            return background.stop().await;
        }
        self.live.take()
    }
}

/// The names of calls that a later `expect messages from NAME` block sends on, closes or
/// aborts: their request streams stay open after their `message`s.
pub(super) fn fed(steps: &[Step]) -> HashSet<String> {
    let mut names = HashSet::new();
    for_each_step(steps, &mut |steps, index| {
        if let StepKind::Expect(Expectation::Stream(StreamBlock {
            from: Some(name),
            entries,
            ..
        })) = &steps[index].kind
            && grpc::feeds(entries)
        {
            names.insert(name.value.clone());
        }
    });
    names
}

impl TestRun<'_> {
    /// The current call is a named one and the steps about it are over: it is started (if no
    /// expectation started it) and its replies are read by a task of its own.
    pub(super) async fn park_call(&mut self) -> Result<(), Failure> {
        let Some(name) = self
            .call
            .as_ref()
            .and_then(|call| call.name())
            .map(|name| name.value.clone())
        else {
            return Ok(());
        };
        self.ensure_call().await?;
        let Some(mut exchange) = self.call.take() else {
            return Ok(());
        };
        let live = exchange.take_live();
        let finished = live.is_none();
        let opened_at = live.as_ref().map_or_else(Instant::now, LiveCall::origin);
        let instance = 1 + self.named_calls.iter().filter(|c| c.name == name).count();
        let log = self
            .compared
            .get(&name)
            .map(|only| ItemLog::new(only.clone()));
        self.named_calls.push(NamedCall {
            name,
            instance,
            exchange: Some(exchange),
            live: None,
            background: live.map(|live| Background::start(live, self.deadline)),
            finished,
            opened_at,
            log,
        });
        Ok(())
    }

    /// `expect messages from NAME { … }`: holds every open call of that name against the
    /// block, in the order they were started.
    pub(super) async fn hold_call(
        &mut self,
        block: &StreamBlock,
        name: &Ident,
    ) -> Result<(), Failure> {
        let held: Vec<usize> = (0..self.named_calls.len())
            .filter(|&i| self.named_calls[i].name == name.value && !self.named_calls[i].finished)
            .collect();
        if held.is_empty() {
            return Err(Failure::error(
                format!("no call `{}` is open here", name.value),
                name.span,
                "held here",
            ));
        }
        let group = self
            .named_calls
            .iter()
            .filter(|c| c.name == name.value)
            .count()
            > 1;
        let outer = self.repeated.clone();
        if held.len() > 1 && outer.is_none() {
            self.repeated = Some(format!(
                "it holds each of the {} calls started as `{}`",
                held.len(),
                name.value
            ));
        }
        let mut result: Result<(), Failure> = Ok(());
        for index in held {
            if let Err(mut failure) = self.hold_call_once(block, index, group).await {
                if group {
                    let call = &self.named_calls[index];
                    failure
                        .notes
                        .insert(0, format!("in call `{}[{}]`", call.name, call.instance));
                }
                result = Err(failure);
                break;
            }
        }
        let result = result.map_err(|failure| self.not_rewritten_when_repeated(failure));
        self.repeated = outer;
        result
    }

    /// Puts the named call back as the test's current call for the block, as if it had just
    /// been started, so the block reads it as any call's replies are read.
    async fn hold_call_once(
        &mut self,
        block: &StreamBlock,
        index: usize,
        group: bool,
    ) -> Result<(), Failure> {
        let named = &mut self.named_calls[index];
        let live = named.take_live().await;
        let Some(live) = live else {
            named.finished = true;
            return Err(Failure::error(
                format!("call `{}` could not be read", named.name),
                block.kind.span,
                "the task reading it failed",
            ));
        };
        let Some(mut exchange) = named.exchange.take() else {
            return Ok(());
        };
        exchange.put_live(live);
        let label = match group {
            true => format!("{}[{}]", named.name, named.instance),
            false => named.name.clone(),
        };
        let mut log = named.log.take();
        let saved_call = self.call.replace(exchange);
        let saved_exchange = self.exchange.take();
        let reports = self.streams.len();
        let mut entries = block.entries.clone();
        let result = match self.scope.instantiate_entries(&mut entries) {
            Ok(()) => {
                self.read_replies(
                    &entries,
                    block.kind.clone(),
                    Some(block.block_span),
                    log.as_mut(),
                )
                .await
            }
            Err(failure) => Err(failure),
        };
        for report in &mut self.streams[reports..] {
            report.name = Some(label.clone());
            report.branch = self.branch.clone();
        }
        let exchange = std::mem::replace(&mut self.call, saved_call);
        self.exchange = saved_exchange;
        let named = &mut self.named_calls[index];
        named.log = log;
        if let Some(mut exchange) = exchange {
            let live = exchange.take_live();
            named.exchange = Some(exchange);
            match live {
                Some(live) if result.is_ok() && live.is_open() => {
                    named.background = Some(Background::start(live, self.deadline));
                }
                Some(live) => {
                    named.live = Some(live);
                    named.finished = true;
                }
                None => named.finished = true,
            }
        }
        result
    }

    /// The end of the branch or test: named calls still open are cancelled; replies read
    /// ahead that no block took still count in their figures.
    pub(super) async fn close_named_calls(&mut self) -> Result<(), Failure> {
        let mut full: Option<Failure> = None;
        let calls = std::mem::take(&mut self.named_calls);
        let several = |name: &str| calls.iter().filter(|c| c.name == name).count() > 1;
        let labels: Vec<String> = calls
            .iter()
            .map(|c| match several(&c.name) {
                true => format!("{}[{}]", c.name, c.instance),
                false => c.name.clone(),
            })
            .collect();
        for (mut named, label) in calls.into_iter().zip(labels) {
            let live = named.take_live().await;
            let Some(mut exchange) = named.exchange.take() else {
                continue;
            };
            if let Some(mut live) = live {
                if live.buffer_full() && full.is_none() {
                    full = Some(
                        Failure::error(
                            format!(
                                "call `{}` was read in the background and {}",
                                named.name,
                                crate::transport::framing::FrameError::BufferFull {
                                    items: crate::interp::background::MAX_BUFFERED_ITEMS,
                                    bytes: crate::interp::background::MAX_BUFFERED_BYTES,
                                }
                            ),
                            exchange.span(),
                            "started here",
                        )
                        .help_note(
                            "hold the call with a block sooner (`expect messages from NAME`)",
                        ),
                    );
                }
                if let Some(stats) = exchange.stats.as_mut() {
                    for (item, at) in live.take_read_ahead() {
                        stats.saw(&item, at, false);
                        if let Some(log) = &mut named.log {
                            log.push(&item);
                        }
                    }
                    stats.bytes += live.take_bytes();
                    stats.ttfb = live.ttfb();
                }
                if live.is_open() {
                    // A cancel goes out at once; a server that does not read gets no longer.
                    live.cancel(Instant::now().saturating_add(Duration::from_secs(1)))
                        .await;
                }
            }
            let Some(mut stats) = exchange.stats.take() else {
                continue;
            };
            stats.duration = Some(named.opened_at.elapsed());
            if !exchange.reported {
                self.streams.push(StreamReport {
                    name: Some(label.clone()),
                    branch: self.branch.clone(),
                    ..stats.report(StreamKind::Messages.keyword(), exchange.span())
                });
            }
            self.count_closed(ClosedStream {
                name: Some(named.name.clone()),
                label,
                branch: self.branch.clone(),
                stats,
                log: named.log.take(),
                opened_at: named.opened_at,
                closed_at: Instant::now(),
            });
        }
        match full {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }
}

//! Named gRPC calls and WebSockets (`grpc … as call`, `ws … as room`): started, then read in
//! the background while other steps (other calls, requests, waits) run; `expect messages from
//! NAME { … }` holds them again, with everything a block does on them (`send`, `close`,
//! `abort`), and at the end of the branch or test that started them a call is cancelled and a
//! socket closed.

use super::*;
use crate::interp::background::{Background, ReadsAhead};
use crate::interp::group::{ClosedStream, ItemLog};
use crate::interp::grpc::{GrpcExchange, LiveCall};
use crate::interp::live_socket::LiveSocket;
use crate::interp::socket::SocketExchange;

/// A named exchange while it is not the test's current one.
pub(super) enum Held {
    Call(Box<GrpcExchange>),
    Socket(Box<SocketExchange>),
}

/// Its open connection, read on a task of its own between blocks.
pub(super) enum HeldLive {
    Call(LiveCall),
    Socket(LiveSocket),
}

impl ReadsAhead for HeldLive {
    async fn read_ahead(&mut self, deadline: Instant) -> bool {
        match self {
            HeldLive::Call(call) => call.read_ahead(deadline).await,
            HeldLive::Socket(socket) => socket.read_ahead(deadline).await,
        }
    }
}

impl HeldLive {
    fn origin(&self) -> Instant {
        match self {
            HeldLive::Call(call) => call.origin(),
            HeldLive::Socket(socket) => socket.origin(),
        }
    }

    fn is_open(&self) -> bool {
        match self {
            HeldLive::Call(call) => call.is_open(),
            HeldLive::Socket(socket) => socket.is_open(),
        }
    }

    fn buffer_full(&self) -> bool {
        match self {
            HeldLive::Call(call) => call.buffer_full(),
            HeldLive::Socket(socket) => socket.buffer_full(),
        }
    }

    fn take_read_ahead(&mut self) -> Vec<(Item, Duration)> {
        match self {
            HeldLive::Call(call) => call.take_read_ahead().collect(),
            HeldLive::Socket(socket) => socket.take_read_ahead().collect(),
        }
    }

    fn take_bytes(&mut self) -> u64 {
        match self {
            HeldLive::Call(call) => call.take_bytes(),
            HeldLive::Socket(socket) => socket.take_bytes(),
        }
    }

    /// The end of its branch or test: a call is cancelled, a socket closed (a close frame,
    /// then the connection dropped without waiting for the answer).
    async fn end(&mut self) {
        match self {
            // A cancel goes out at once; a server that does not read gets no longer.
            HeldLive::Call(call) => {
                call.cancel(Instant::now().saturating_add(Duration::from_secs(1)))
                    .await
            }
            HeldLive::Socket(socket) => socket.leave().await,
        }
    }
}

impl Held {
    fn take_live(&mut self) -> Option<HeldLive> {
        match self {
            Held::Call(call) => call.take_live().map(HeldLive::Call),
            Held::Socket(socket) => socket.take_live().map(HeldLive::Socket),
        }
    }

    fn stats(&self) -> Option<&StreamStats> {
        match self {
            Held::Call(call) => call.stats.as_ref(),
            Held::Socket(socket) => socket.stats.as_ref(),
        }
    }

    fn take_stats(&mut self) -> Option<StreamStats> {
        match self {
            Held::Call(call) => call.stats.take(),
            Held::Socket(socket) => socket.stats.take(),
        }
    }

    fn stats_mut(&mut self) -> Option<&mut StreamStats> {
        match self {
            Held::Call(call) => call.stats.as_mut(),
            Held::Socket(socket) => socket.stats.as_mut(),
        }
    }

    fn reported(&self) -> bool {
        match self {
            Held::Call(call) => call.reported,
            Held::Socket(socket) => socket.reported,
        }
    }

    fn span(&self) -> Span {
        match self {
            Held::Call(call) => call.span(),
            Held::Socket(socket) => socket.span(),
        }
    }

    /// `call`, `WebSocket`: what a message calls it.
    fn noun(&self) -> &'static str {
        match self {
            Held::Call(_) => "call",
            Held::Socket(_) => "WebSocket",
        }
    }
}

/// A named call or socket of the current branch or test.
pub(super) struct NamedExchange {
    pub name: String,
    /// Its number among the ones started under the same name here, from 1.
    pub instance: usize,
    /// `None` while a block holds it (it is the test's current call or socket then).
    exchange: Option<Held>,
    /// Its connection, while no task reads it.
    live: Option<HeldLive>,
    background: Option<Background<HeldLive>>,
    /// Ended and read to its end, or cancelled: no block can hold it again.
    pub finished: bool,
    pub opened_at: Instant,
    pub log: Option<ItemLog>,
}

impl NamedExchange {
    /// Its figures so far (none while a block holds it: they are the current exchange's then).
    pub fn stats(&self) -> Option<&StreamStats> {
        self.exchange.as_ref().and_then(Held::stats)
    }

    async fn take_live(&mut self) -> Option<HeldLive> {
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
    /// The current call or socket is a named one and the steps about it are over: it is
    /// started (if no expectation started it) and read by a task of its own.
    pub(super) async fn park_named_exchange(&mut self) -> Result<(), Failure> {
        let call_name = self
            .call
            .as_ref()
            .and_then(|call| call.name())
            .map(|name| name.value.clone());
        let socket_name = self
            .socket
            .as_ref()
            .and_then(|socket| socket.name())
            .map(|name| name.value.clone());
        let (name, exchange) = match (call_name, socket_name) {
            (Some(name), _) => {
                self.ensure_call().await?;
                (name, self.call.take().map(Held::Call))
            }
            (None, Some(name)) => {
                self.ensure_socket().await?;
                (name, self.socket.take().map(Held::Socket))
            }
            (None, None) => {
                // An unnamed socket opens here too, with the variables of its own steps.
                return self.ensure_socket().await;
            }
        };
        let Some(mut exchange) = exchange else {
            return Ok(());
        };
        let live = exchange.take_live();
        let finished = live.is_none();
        let opened_at = live.as_ref().map_or_else(Instant::now, HeldLive::origin);
        let instance = 1 + self
            .named_exchanges
            .iter()
            .filter(|c| c.name == name)
            .count();
        let log = self
            .compared
            .get(&name)
            .map(|only| ItemLog::new(only.clone()));
        self.named_exchanges.push(NamedExchange {
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

    /// `expect messages from NAME { … }`: holds every open call or socket of that name against
    /// the block, in the order they were started.
    pub(super) async fn hold_exchange(
        &mut self,
        block: &StreamBlock,
        name: &Ident,
    ) -> Result<(), Failure> {
        let held: Vec<usize> = (0..self.named_exchanges.len())
            .filter(|&i| {
                self.named_exchanges[i].name == name.value && !self.named_exchanges[i].finished
            })
            .collect();
        if held.is_empty() {
            let noun = match block.kind.value {
                StreamKind::Socket => "WebSocket",
                _ => "call",
            };
            return Err(Failure::error(
                format!("no {noun} `{}` is open here", name.value),
                name.span,
                "held here",
            ));
        }
        let group = self
            .named_exchanges
            .iter()
            .filter(|c| c.name == name.value)
            .count()
            > 1;
        let outer = self.repeated.clone();
        if held.len() > 1 && outer.is_none() {
            self.repeated = Some(format!(
                "it holds each of the {} started as `{}`",
                held.len(),
                name.value
            ));
        }
        let mut result: Result<(), Failure> = Ok(());
        for index in held {
            if let Err(mut failure) = self.hold_exchange_once(block, index, group).await {
                if group {
                    let named = &self.named_exchanges[index];
                    let noun = named.exchange.as_ref().map_or("call", Held::noun);
                    failure
                        .notes
                        .insert(0, format!("in {noun} `{}[{}]`", named.name, named.instance));
                }
                result = Err(failure);
                break;
            }
        }
        let result = result.map_err(|failure| self.not_rewritten_when_repeated(failure));
        self.repeated = outer;
        result
    }

    /// Puts the named call or socket back as the test's current one for the block, as if it
    /// had just been started, so the block reads it as any call's replies or socket's
    /// messages are read.
    async fn hold_exchange_once(
        &mut self,
        block: &StreamBlock,
        index: usize,
        group: bool,
    ) -> Result<(), Failure> {
        let named = &mut self.named_exchanges[index];
        let live = named.take_live().await;
        let Some(live) = live else {
            named.finished = true;
            return Err(Failure::error(
                format!("`{}` could not be read", named.name),
                block.kind.span,
                "the task reading it failed",
            ));
        };
        let Some(exchange) = named.exchange.take() else {
            return Ok(());
        };
        let label = match group {
            true => format!("{}[{}]", named.name, named.instance),
            false => named.name.clone(),
        };
        let mut log = named.log.take();
        let saved_exchange = self.exchange.take();
        let saved_call = self.call.take();
        let saved_socket = self.socket.take();
        match (exchange, live) {
            (Held::Call(mut call), HeldLive::Call(live)) => {
                call.put_live(live);
                self.call = Some(call);
            }
            (Held::Socket(mut socket), HeldLive::Socket(live)) => {
                socket.put_live(live);
                self.socket = Some(socket);
            }
            // Parked together, so always of one kind.
            _ => {}
        }
        let reports = self.streams.len();
        let mut entries = block.entries.clone();
        let result = match self.scope.instantiate_entries(&mut entries) {
            Ok(()) if self.socket.is_some() => {
                self.read_messages(
                    &entries,
                    block.kind.clone(),
                    Some(block.block_span),
                    log.as_mut(),
                )
                .await
            }
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
        let exchange = match (
            std::mem::replace(&mut self.call, saved_call),
            std::mem::replace(&mut self.socket, saved_socket),
        ) {
            (Some(call), _) => Some(Held::Call(call)),
            (None, Some(socket)) => Some(Held::Socket(socket)),
            (None, None) => None,
        };
        self.exchange = saved_exchange;
        let named = &mut self.named_exchanges[index];
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

    /// The end of the branch or test: named calls still open are cancelled and sockets
    /// closed; what they read ahead that no block took still counts in their figures.
    pub(super) async fn close_named_exchanges(&mut self) -> Result<(), Failure> {
        let mut full: Option<Failure> = None;
        let named = std::mem::take(&mut self.named_exchanges);
        let several = |name: &str| named.iter().filter(|c| c.name == name).count() > 1;
        let labels: Vec<String> = named
            .iter()
            .map(|c| match several(&c.name) {
                true => format!("{}[{}]", c.name, c.instance),
                false => c.name.clone(),
            })
            .collect();
        for (mut named, label) in named.into_iter().zip(labels) {
            let live = named.take_live().await;
            let Some(mut exchange) = named.exchange.take() else {
                continue;
            };
            if let Some(mut live) = live {
                if live.buffer_full() && full.is_none() {
                    full = Some(
                        Failure::error(
                            format!(
                                "{} `{}` was read in the background and {}",
                                exchange.noun(),
                                named.name,
                                crate::transport::framing::FrameError::BufferFull {
                                    items: crate::interp::background::MAX_BUFFERED_ITEMS,
                                    bytes: crate::interp::background::MAX_BUFFERED_BYTES,
                                }
                            ),
                            exchange.span(),
                            "started here",
                        )
                        .help_note("hold it with a block sooner (`expect messages from NAME`)"),
                    );
                }
                let read_ahead = live.take_read_ahead();
                let bytes = live.take_bytes();
                if let Some(stats) = exchange.stats_mut() {
                    for (item, at) in read_ahead {
                        stats.saw(&item, at, false);
                        if let Some(log) = &mut named.log {
                            log.push(&item);
                        }
                    }
                    stats.bytes += bytes;
                    if let HeldLive::Call(call) = &live {
                        stats.ttfb = call.ttfb();
                    }
                }
                if live.is_open() {
                    live.end().await;
                }
            }
            let span = exchange.span();
            let reported = exchange.reported();
            let Some(mut stats) = exchange.take_stats() else {
                continue;
            };
            stats.duration = Some(named.opened_at.elapsed());
            if !reported {
                self.streams.push(StreamReport {
                    name: Some(label.clone()),
                    branch: self.branch.clone(),
                    ..stats.report(StreamKind::Messages.keyword(), span)
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

//! Running a test's steps in order: each kind of step handed to the work that does it (a
//! request, call or WebSocket begun, its options, expectations, client actions, `wait`,
//! `repeat`, `parallel`, barriers).

use super::*;

impl TestRun<'_> {
    /// Each step's work is boxed where it is awaited: a test's future then holds only the step
    /// running now, not room for the largest step of any kind (a load run holds one per user).
    pub(super) async fn run_steps(&mut self, steps: &[Step]) -> Result<(), Failure> {
        for (index, step) in steps.iter().enumerate() {
            if !named::attaches(&step.kind) {
                Box::pin(self.park_current()).await?;
            }
            match &step.kind {
                StepKind::Request(request) => {
                    Box::pin(self.next_exchange()).await?;
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
                        opening: Opening::for_request(steps, index, &self.framing),
                        eventsource_headers: Vec::new(),
                        stopped_early: None,
                        head_bound: HeadBound::for_request(steps, index),
                        name: request.name.clone(),
                        reader: None,
                        waited: None,
                        log: self.log_for(request.name.as_ref()),
                        reading: None,
                        streamed: false,
                    });
                }
                StepKind::Grpc(call) => {
                    Box::pin(self.next_exchange()).await?;
                    let mut exchange = grpc::GrpcExchange::new(call, &steps[index + 1..]);
                    if call
                        .name
                        .as_ref()
                        .is_some_and(|name| self.fed.contains(&name.value))
                    {
                        exchange.fed_later();
                    }
                    self.call = Some(Box::new(exchange));
                }
                StepKind::Ws(request) => {
                    Box::pin(self.next_exchange()).await?;
                    self.socket = Some(Box::new(socket::SocketExchange::new(request)));
                }
                StepKind::Protocol(names) => {
                    if let Some(socket) = &mut self.socket {
                        socket.add_protocols(names);
                    }
                }
                StepKind::GrpcOption(GrpcOption::Insecure) if self.socket.is_some() => {
                    if let Some(socket) = &mut self.socket {
                        socket.set_insecure();
                    }
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
                    if let Some(socket) = &mut self.socket {
                        socket.add_header(header);
                    }
                }
                StepKind::Body(body) => {
                    if let Some(exchange) = &mut self.exchange {
                        exchange.body = Some((body.clone(), step.span));
                    }
                }
                // A load's: it judges the test's figures once the load has run.
                StepKind::Timeout(_) | StepKind::Threshold(_) => {}
                StepKind::Expect(expectation) => {
                    let independent = matches!(
                        expectation,
                        Expectation::Header(_)
                            | Expectation::Aggregate(_)
                            | Expectation::Metadata { .. }
                            | Expectation::SameItems(..)
                    );
                    let result = match expectation {
                        // Held or measured by name: not about the current request.
                        Expectation::Stream(
                            block @ StreamBlock {
                                from: Some(name), ..
                            },
                        ) => match block.kind.value {
                            StreamKind::Messages | StreamKind::Socket => {
                                Box::pin(self.hold_exchange(block, name)).await
                            }
                            _ => Box::pin(self.hold(block, name)).await,
                        },
                        Expectation::SameItems(name, _) => self.check_same_items(name),
                        Expectation::Aggregate(
                            aggregate @ Aggregate {
                                group: Some(group), ..
                            },
                        ) => self.check_group(aggregate, group),
                        _ if self.socket.is_some() => {
                            Box::pin(self.socket_expect(expectation, step.span)).await
                        }
                        _ if self.call.is_some() => {
                            Box::pin(self.grpc_expect(expectation, step.span)).await
                        }
                        _ => {
                            if independent {
                                // Getting the head is not part of the check, and whatever stops
                                // it (an `expect ttfb` bound included) leaves nothing to check
                                // after.
                                Box::pin(self.ensure_head()).await?;
                            }
                            Box::pin(self.expect(expectation, step.span)).await
                        }
                    };
                    let result =
                        result.map_err(|failure| self.not_rewritten_when_repeated(failure));
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
                    control @ (Control::Abort(_) | Control::Send(_) | Control::Close(_)),
                ) if self.socket.is_some() => {
                    Box::pin(self.socket_control(control, step.span)).await?;
                }
                StepKind::Control(
                    control @ (Control::Abort(_) | Control::Send(_) | Control::Close(_)),
                ) if self.call.is_some() => {
                    Box::pin(self.grpc_control(control)).await?;
                }
                StepKind::Control(Control::Abort(_)) => {
                    Box::pin(self.ensure_head()).await?;
                    if let Some(exchange) = &mut self.exchange {
                        // Dropping the response (or what a `wait` read it with) closes the
                        // connection mid-body.
                        exchange.response = None;
                        exchange.waited = None;
                        exchange.body_done = true;
                    }
                }
                StepKind::Control(Control::Wait(duration)) => {
                    Box::pin(self.wait_between_steps(*duration)).await?;
                }
                // The checker rejects the rest before a run starts.
                StepKind::Control(_) => {}
                StepKind::Repeat(repeat) => Box::pin(self.run_repeat(repeat)).await?,
                StepKind::Parallel(parallel) => Box::pin(self.run_parallel(parallel)).await?,
                StepKind::Barrier(name) => Box::pin(self.pass_barrier(name)).await?,
            }
        }
        Ok(())
    }
}

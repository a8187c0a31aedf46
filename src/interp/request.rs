//! Sending a test's HTTP request: building it from its steps, sending it once, and waiting for
//! its response head within the test's deadline and any bound (`expect ttfb`, a first item's
//! `within`, `abort after`) that ends the wait sooner.

use super::*;

impl TestRun<'_> {
    /// Before a new request or call: the last one must have been made, and its figures count
    /// for `expect test …`.
    pub(super) async fn next_exchange(&mut self) -> Result<(), Failure> {
        self.finish_exchange().await?;
        self.finish_call().await?;
        self.finish_socket().await?;
        let stats = match (&self.exchange, &self.call, &self.socket) {
            (Some(exchange), _, _) => exchange.stats.as_ref(),
            (None, Some(call), _) => call.stats.as_ref(),
            (None, None, Some(socket)) => socket.stats.as_ref(),
            (None, None, None) => None,
        };
        if let Some(stats) = stats.cloned() {
            // In a branch, every stream counts for `in BRANCH`, named or not.
            if self.branch.is_none() {
                self.count_earlier(&stats);
            } else {
                let closed_at = Instant::now();
                self.count_closed(group::ClosedStream {
                    name: None,
                    label: String::new(),
                    branch: self.branch.clone(),
                    opened_at: closed_at
                        .checked_sub(stats.duration.unwrap_or_default())
                        .unwrap_or(closed_at),
                    stats,
                    log: None,
                    closed_at,
                });
            }
        }
        self.report_unread_exchange();
        self.exchange = None;
        self.call = None;
        self.socket = None;
        Ok(())
    }

    /// A request nothing looked at is still sent, and must get an answer.
    pub(super) async fn finish_exchange(&mut self) -> Result<(), Failure> {
        if let Some(exchange) = &self.exchange
            && exchange.response.is_none()
            && !exchange.body_done
        {
            self.ensure_head().await?;
        }
        Ok(())
    }

    pub(super) fn exchange(&mut self) -> &mut Exchange {
        self.exchange
            .as_mut()
            .unwrap_or_else(|| unreachable!("the checker requires a request before expectations"))
    }

    /// Sends the current request if it has not been sent, and waits for the response head.
    pub(super) async fn ensure_head(&mut self) -> Result<(), Failure> {
        self.ensure_head_within(None).await.map(|_| ())
    }

    /// As `ensure_head`, for a stream block: when its first item has a time bound (`first
    /// within`, or `within` on the first item) the head is part of that wait, so it must come in
    /// time too; and `abort after D` may come before the head. `Ok(false)` when it did. An
    /// `expect ttfb` bound of the request ends the wait too, for any caller.
    pub(super) async fn ensure_head_within(
        &mut self,
        entries: Option<&[Entry]>,
    ) -> Result<bool, Failure> {
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
        let sent_result = send(&self.settings.client, request, deadline).await;
        if matches!(sent_result, Err(SendError::TimedOut))
            && abort_at.is_none_or(|at| at > bound_deadline)
        {
            self.report_given_up(span, sent.elapsed());
        }
        match sent_result {
            Ok(response) => {
                self.connections += 1;
                let exchange = self.exchange();
                let mut stats = StreamStats::new(response.ttfb);
                stats.connect = response.connect;
                exchange.stats = Some(stats);
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
    pub(super) fn aborted_before_head(&mut self, block: &StreamBlock) -> Result<(), Failure> {
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

    pub(super) fn build_request(&mut self) -> Result<HttpRequest, Failure> {
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
}

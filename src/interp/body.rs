//! Reading an HTTP response's body: whether a block may read it (its status and content type),
//! a whole body against `expect json|text|bytes`, an excerpt of an unexpected answer, and the
//! rest of a body nothing read, so figures measure all of it.

use super::*;

impl TestRun<'_> {
    /// Reading a body needs an answer whose body has not been read yet, with a status that lets
    /// the block read it (see [`Opening`]): `stream` is the block's kind, `None` for a whole body.
    pub(super) async fn check_ready_for_body(
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
    pub(super) fn check_content_type(&mut self, kind: &Spanned<StreamKind>) -> Result<(), Failure> {
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

    /// The first bytes of the body, to show with a wrong status; read briefly, never waited on.
    pub(super) async fn body_excerpt(&mut self) -> Option<String> {
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

    pub(super) async fn check_whole_body(
        &mut self,
        body: &WholeBody,
        span: Span,
    ) -> Result<(), Failure> {
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
            stats.record_unstreamed_item(ended);
            stats.duration = Some(ended);
        }
        let item = match &body.pattern.kind {
            ItemPatternKind::Json(_) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(value) => Item::Json(Box::new(value), None),
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
    pub(super) async fn drain_body(&mut self, span: Span) -> Result<(), Failure> {
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
}

/// A body that could not be read to its end, as a failure at `span`; `doing` says why it was read.
pub(super) fn body_failure(
    error: BodyError,
    timeout: Duration,
    span: Span,
    doing: &str,
) -> Failure {
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

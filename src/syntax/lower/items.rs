//! Lowering item patterns: the facets of one expected item (SSE fields, text matchers, sizes,
//! JSONPath assertions, JSON patterns), checked against the kind of stream they describe.

use std::sync::Arc;

use pest::iterators::Pair;

use super::{Lowerer, PatternContext, any_pattern, first_line, inner, span};
use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::source::Span;
use crate::syntax::grammar::Rule;

impl Lowerer {
    pub(super) fn item_pattern(
        &mut self,
        pair: Pair<'_, Rule>,
        context: PatternContext,
    ) -> ItemPattern {
        let span = span(&pair);
        let facets: Vec<_> = inner(pair).collect();
        let kind = match context {
            PatternContext::Sse => ItemPatternKind::Sse(self.sse_pattern(facets)),
            PatternContext::Json => ItemPatternKind::Json(self.json_item_pattern(facets)),
            PatternContext::Lines | PatternContext::Text | PatternContext::Chunks => {
                ItemPatternKind::Text(self.text_item_pattern(facets, context))
            }
            PatternContext::Socket => ItemPatternKind::Socket(self.socket_pattern(facets)),
        };
        ItemPattern {
            kind,
            span,
            late: false,
        }
    }

    pub(super) fn not_fitting(&mut self, facet: &Pair<'_, Rule>, context: PatternContext) {
        let span = span(facet);
        let (what, help) = match facet.as_rule() {
            Rule::sse_field => (
                format!(
                    "the SSE field `{}:`",
                    facet.as_str().split(':').next().unwrap_or("").trim()
                ),
                "SSE fields fit only `expect sse` blocks",
            ),
            Rule::path_assert => (
                "a JSONPath assertion".to_string(),
                "JSONPath fits `sse`, `ndjson`, `lines` and `expect json`",
            ),
            Rule::json_facet => ("`json`".to_string(), json_facet_help(context)),
            Rule::size_facet => (
                "`size`".to_string(),
                "`size` fits `lines`, `chunks` and `expect text`",
            ),
            Rule::contains_facet => (
                "`contains`".to_string(),
                "`contains` fits text: `lines`, `chunks`, `expect text` and SSE fields",
            ),
            Rule::binary_facet => (
                "`binary`".to_string(),
                "`binary` fits the `messages` of a WebSocket",
            ),
            Rule::control_facet => (
                "a ping or pong".to_string(),
                "`ping` and `pong` fit the `messages` of a WebSocket",
            ),
            Rule::text_facet => (
                "`text`".to_string(),
                "`text …` fits the `messages` of a WebSocket; here the text is written bare",
            ),
            _ => ("this pattern".to_string(), ""),
        };
        let mut diagnostic = Diagnostic::error(format!(
            "{what} does not fit {}",
            context.describe()
        ))
        .at(&self.file, span, "does not fit here");
        if context == PatternContext::Sse && facet.as_rule() == Rule::json_pattern {
            diagnostic = diagnostic.help(format!(
                "an SSE item is written with fields, for example `data: json {}`",
                facet.as_str()
            ));
        } else if !help.is_empty() {
            diagnostic = diagnostic.help(help);
        }
        self.diagnostics.push(diagnostic);
    }

    pub(super) fn duplicate_facet(&mut self, span: Span, what: &str) {
        self.error(
            span,
            format!("{what} is given twice in one item"),
            "one item is one line; put the next item on its own line",
        );
    }

    pub(super) fn sse_pattern(&mut self, facets: Vec<Pair<'_, Rule>>) -> SsePattern {
        let mut pattern = SsePattern::default();
        for facet in facets {
            let facet_span = span(&facet);
            match facet.as_rule() {
                Rule::sse_field => {
                    let mut parts = inner(facet);
                    let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    let field = name.as_str();
                    match field {
                        "data" => {
                            let matcher = self.field_value(value, true);
                            if pattern.data.is_some() {
                                self.duplicate_facet(facet_span, "`data:`");
                            }
                            pattern.data = matcher;
                        }
                        "retry" => {
                            let cond = self.retry_value(value);
                            if pattern.retry.is_some() {
                                self.duplicate_facet(facet_span, "`retry:`");
                            }
                            pattern.retry = cond;
                        }
                        _ => {
                            let matcher = match self.field_value(value, false) {
                                Some(DataMatcher::Text(text)) => Some(text),
                                _ => None,
                            };
                            let slot = if field == "id" {
                                &mut pattern.id
                            } else {
                                &mut pattern.event
                            };
                            let duplicate = slot.is_some();
                            *slot = matcher;
                            if duplicate {
                                self.duplicate_facet(facet_span, &format!("`{field}:`"));
                            }
                        }
                    }
                }
                Rule::path_assert => pattern.paths.push(self.path_assert(facet)),
                _ => self.not_fitting(&facet, PatternContext::Sse),
            }
        }
        pattern
    }

    /// The value after `id:`, `event:` or `data:`; `json …` only fits `data:`.
    pub(super) fn field_value(
        &mut self,
        pair: Pair<'_, Rule>,
        allow_json: bool,
    ) -> Option<DataMatcher> {
        let span = span(&pair);
        let is_json = pair
            .clone()
            .into_inner()
            .next()
            .is_some_and(|p| p.as_rule() == Rule::kw_json);
        let is_contains = pair
            .clone()
            .into_inner()
            .next()
            .is_some_and(|p| p.as_rule() == Rule::kw_contains);
        let mut parts = inner(pair);
        if is_json {
            let pattern = self.json_pattern(parts.next()?);
            if !allow_json {
                self.error(
                    span,
                    "`json` fits only `data:`",
                    "ids and event types are text",
                );
                return None;
            }
            return Some(DataMatcher::Json(pattern));
        }
        if is_contains {
            let template = self.template(parts.next()?);
            let capture = parts.next().and_then(|c| c.into_inner().next());
            let capture = capture.map(|c| self.ident(c));
            return Some(DataMatcher::Text(TextMatcher {
                kind: TextMatcherKind::Contains(template),
                capture,
                span,
            }));
        }
        let pattern = parts.next()?;
        let place = if allow_json {
            TextPlace::SseData
        } else {
            TextPlace::SseField
        };
        self.text_matcher(pattern, place).map(DataMatcher::Text)
    }

    /// A JSON-pattern pair used as a text matcher: a string, a regex, `_` or `{{var}}`; `place`
    /// says what to write instead when it is JSON.
    pub(super) fn text_matcher(
        &mut self,
        pair: Pair<'_, Rule>,
        place: TextPlace,
    ) -> Option<TextMatcher> {
        let span = span(&pair);
        let mut parts = inner(pair).peekable();
        let primary = parts.next()?;
        if let Some(length) = parts.next_if(|p| p.as_rule() == Rule::length) {
            self.length_on_text(&length);
        }
        let capture = parts
            .next()
            .and_then(|c| c.into_inner().next())
            .map(|c| self.ident(c));
        let kind = match primary.as_rule() {
            Rule::string => TextMatcherKind::Exact(self.template(primary)),
            Rule::regex => TextMatcherKind::Regex(self.regex(primary)),
            Rule::wildcard => TextMatcherKind::Any,
            Rule::var_ref => TextMatcherKind::Exact(self.raw_template(primary)),
            Rule::repeated => {
                self.diagnostics.push(
                    Diagnostic::error("a repeated string fits JSON values and `body text`, and this is text to match")
                        .at(&self.file, self::span(&primary), "not a text matcher")
                        .help("to check the length of the text, write `size N` for a line or chunk, or `data: json string len N` for JSON data"),
                );
                return None;
            }
            _ => {
                let text = primary.as_str();
                let hint = if primary.as_rule() == Rule::object || primary.as_rule() == Rule::array
                {
                    place.json_hint(text)
                } else {
                    format!("to match the text exactly, quote it: `\"{text}\"`")
                };
                self.diagnostics.push(
                    Diagnostic::error("expected text: a string, /regex/, `contains \"…\"` or `_`")
                        .at(&self.file, self::span(&primary), "not a text matcher")
                        .help(hint),
                );
                return None;
            }
        };
        Some(TextMatcher {
            kind,
            capture,
            span,
        })
    }

    /// `len` on text that is not JSON (an SSE field, a line, a chunk): its size is `size`.
    fn length_on_text(&mut self, length: &Pair<'_, Rule>) {
        self.diagnostics.push(
            Diagnostic::error("`len` fits JSON values, and this is text")
                .at(&self.file, span(length), "not a JSON value")
                .help("the length of a line or chunk in bytes is `size`: `size 3..10`; in JSON, write `string len 3..10`"),
        );
    }

    pub(super) fn retry_value(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<NumCond>> {
        let span = span(&pair);
        let pattern_pair = inner(pair).next()?;
        // Milliseconds are compared as `f64`: a bound beyond 2^53 would be rounded.
        self.exact_counts(&pattern_pair);
        let mut parts = inner(pattern_pair);
        let primary = parts.next()?;
        if let Some(length) = parts.find(|p| p.as_rule() == Rule::length) {
            self.length_on_text(&length);
        }
        let cond = match primary.as_rule() {
            Rule::number => NumCond::Compare(CmpOp::Eq, self.number_f64(primary)),
            Rule::num_range_value => self.num_range(primary),
            Rule::comparison => {
                let mut parts = inner(primary);
                let op = self.cmp_op(parts.next()?);
                NumCond::Compare(op, self.number_f64(parts.next()?))
            }
            Rule::wildcard => NumCond::Range(None, None),
            _ => {
                self.error(
                    span,
                    "`retry:` takes a number of milliseconds",
                    "for example `retry: 500` or `retry: 400..1000`",
                );
                return None;
            }
        };
        Some(Spanned::new(cond, span))
    }

    pub(super) fn json_item_pattern(&mut self, facets: Vec<Pair<'_, Rule>>) -> JsonItemPattern {
        let mut pattern = JsonItemPattern::default();
        for facet in facets {
            match facet.as_rule() {
                Rule::json_pattern => {
                    let facet_span = span(&facet);
                    let value = self.json_pattern(facet);
                    if pattern.value.is_some() {
                        self.duplicate_facet(facet_span, "a JSON pattern");
                    }
                    pattern.value = Some(value);
                }
                Rule::path_assert => pattern.paths.push(self.path_assert(facet)),
                _ => self.not_fitting(&facet, PatternContext::Json),
            }
        }
        pattern
    }

    pub(super) fn text_item_pattern(
        &mut self,
        facets: Vec<Pair<'_, Rule>>,
        context: PatternContext,
    ) -> TextItemPattern {
        let mut pattern = TextItemPattern::default();
        // Whether the line is matched as text or as JSON: not both.
        let mut text_span = None;
        let mut json_span = None;
        for facet in facets {
            let facet_span = span(&facet);
            match facet.as_rule() {
                Rule::json_facet if context == PatternContext::Lines => {
                    let Some(value) = inner(facet).next() else {
                        continue;
                    };
                    let value = self.json_pattern(value);
                    if pattern.json.is_some() {
                        self.duplicate_facet(facet_span, "`json`");
                    }
                    pattern.json = Some(value);
                    json_span = Some(facet_span);
                }
                Rule::path_assert if context == PatternContext::Lines => {
                    pattern.paths.push(self.path_assert(facet));
                }
                Rule::json_pattern | Rule::contains_facet => {
                    let matcher = if facet.as_rule() == Rule::contains_facet {
                        let mut parts = inner(facet);
                        let template = parts.next().map(|p| self.template(p));
                        let capture = parts
                            .next()
                            .and_then(|c| c.into_inner().next())
                            .map(|c| self.ident(c));
                        template.map(|template| TextMatcher {
                            kind: TextMatcherKind::Contains(template),
                            capture,
                            span: facet_span,
                        })
                    } else {
                        self.text_matcher(facet, TextPlace::Item(context))
                    };
                    if pattern.text.is_some() {
                        self.duplicate_facet(facet_span, "a text pattern");
                    }
                    pattern.text = matcher;
                    text_span = Some(facet_span);
                }
                Rule::size_facet => {
                    let Some(cond) = inner(facet).next().and_then(|c| self.size_cond(c)) else {
                        continue;
                    };
                    if pattern.size.is_some() {
                        self.duplicate_facet(facet_span, "`size`");
                    }
                    pattern.size = Some(cond);
                }
                _ => self.not_fitting(&facet, context),
            }
        }
        if let (Some(text), Some(json)) = (text_span, json_span) {
            self.diagnostics.push(
                Diagnostic::error("a line is matched as text or as JSON, not both")
                    .at(&self.file, text.to(json), "text and `json` on one line")
                    .help("match the line as text (`\"…\"`, `/regex/`, `contains`) or as JSON (`json …`, `$.path` checks)"),
            );
        }
        pattern
    }

    /// A WebSocket message: `binary …`, `ping`/`pong`, or a data message matched as a line is,
    /// where JSON may also be written bare (`{ "type": "next" }`) as the messages of
    /// JSON protocols are.
    fn socket_pattern(&mut self, facets: Vec<Pair<'_, Rule>>) -> SocketPattern {
        let special = facets
            .iter()
            .find(|f| {
                matches!(
                    f.as_rule(),
                    Rule::binary_facet | Rule::control_facet | Rule::text_facet
                )
            })
            .cloned();
        match special {
            Some(facet) if facet.as_rule() == Rule::text_facet => {
                let mut pattern = TextItemPattern::default();
                if let Some(value) = inner(facet.clone()).next() {
                    pattern.text =
                        self.text_matcher(value, TextPlace::Item(PatternContext::Socket));
                }
                for other in facets.iter().filter(|f| span(f) != span(&facet)) {
                    if other.as_rule() == Rule::size_facet {
                        pattern.size = inner(other.clone()).next().and_then(|c| self.size_cond(c));
                    } else {
                        self.error(
                            span(other),
                            "`text` matches a text message by its text and `size`",
                            "does not fit `text …`",
                        );
                    }
                }
                SocketPattern::Text(pattern)
            }
            Some(facet) if facet.as_rule() == Rule::control_facet => {
                // The keyword is not among the meaningful children: its text says which.
                let pong = facet.as_str().starts_with("pong");
                let payload = inner(facet.clone())
                    .next()
                    .and_then(|p| self.text_matcher(p, TextPlace::Item(PatternContext::Socket)));
                for other in facets.iter().filter(|f| span(f) != span(&facet)) {
                    self.error(
                        span(other),
                        "a ping or pong is matched by its payload alone",
                        "does not fit a control frame",
                    );
                }
                SocketPattern::Control { pong, payload }
            }
            Some(facet) => {
                let mut content = None;
                if let Some(source) = inner(facet.clone()).next() {
                    let hex = source.as_rule() == Rule::binary_hex;
                    if let Some(text) = inner(source).next() {
                        let text_span = span(&text);
                        let (text, _) = self.string(text);
                        match crate::payload::decode_bytes(&text, hex) {
                            Ok(bytes) => {
                                content = Some(BinaryContent {
                                    bytes: bytes.into(),
                                    base64: !hex,
                                    span: text_span,
                                })
                            }
                            Err(why) => self.error(text_span, why, "not valid here"),
                        }
                    }
                }
                let mut size = None;
                for other in facets.iter().filter(|f| span(f) != span(&facet)) {
                    if other.as_rule() == Rule::size_facet {
                        size = inner(other.clone()).next().and_then(|c| self.size_cond(c));
                    } else {
                        self.error(
                            span(other),
                            "a binary message is matched by its bytes (`hex`, `base64`) and `size`",
                            "does not fit a binary message",
                        );
                    }
                }
                SocketPattern::Binary { content, size }
            }
            None => {
                // Bare JSON (an object, an array, a number…) is the message parsed as JSON;
                // a string, regex or `_` is its text.
                let facets = facets
                    .into_iter()
                    .map(|facet| {
                        let json = facet.as_rule() == Rule::json_pattern
                            && inner(facet.clone()).next().is_some_and(|primary| {
                                !matches!(
                                    primary.as_rule(),
                                    Rule::string | Rule::regex | Rule::wildcard | Rule::var_ref
                                )
                            });
                        (facet, json)
                    })
                    .collect::<Vec<_>>();
                let mut pattern = TextItemPattern::default();
                let mut rest = Vec::new();
                for (facet, json) in facets {
                    if json {
                        let facet_span = span(&facet);
                        let value = self.json_pattern(facet);
                        if pattern.json.is_some() {
                            self.duplicate_facet(facet_span, "a JSON pattern");
                        }
                        pattern.json = Some(value);
                    } else {
                        rest.push(facet);
                    }
                }
                let text = self.text_item_pattern(rest, PatternContext::Lines);
                if pattern.json.is_some() && text.json.is_some() {
                    self.error(
                        text.json.as_ref().map_or(Span::default(), |j| j.span),
                        "a JSON pattern is given twice in one item",
                        "one item is one line; put the next item on its own line",
                    );
                }
                if let (Some(json), Some(matcher)) = (&pattern.json, &text.text) {
                    self.diagnostics.push(
                        Diagnostic::error("a message is matched as text or as JSON, not both")
                            .at(&self.file, matcher.span.to(json.span), "text and JSON on one line")
                            .help("match the message as text (`\"…\"`, `/regex/`, `contains`) or as JSON (`{ … }`, `json …`, `$.path` checks)"),
                    );
                }
                SocketPattern::Data(TextItemPattern {
                    json: pattern.json.or(text.json),
                    ..text
                })
            }
        }
    }

    /// The bound after `size` or `len`: `5`, `1..2`, `< 10`, `in 3..7`.
    pub(super) fn size_cond(&mut self, cond: Pair<'_, Rule>) -> Option<Spanned<NumCond>> {
        Some(match cond.as_rule() {
            Rule::num_cond => self.num_cond(cond),
            Rule::num_range => {
                let span = span(&cond);
                self.exact_counts(&cond);
                Spanned::new(self.num_range(cond), span)
            }
            _ => {
                let span = span(&cond);
                let text = cond.as_str();
                let n = self.integer(cond.clone())?;
                self.exact_count(text, span);
                Spanned::new(NumCond::Compare(CmpOp::Eq, n as f64), span)
            }
        })
    }

    pub(super) fn json_query(
        &mut self,
        path: &str,
        span: Span,
    ) -> jsonpath_rust::parser::model::JpQuery {
        match jsonpath_rust::parser::parse_json_path(path) {
            Ok(query) => query,
            Err(error) => {
                self.error(span, "invalid JSONPath", first_line(&error.to_string()));
                jsonpath_rust::parser::parse_json_path("$")
                    .unwrap_or_else(|_| unreachable!("`$` is a valid JSONPath"))
            }
        }
    }

    pub(super) fn path_assert(&mut self, pair: Pair<'_, Rule>) -> PathAssert {
        let span = span(&pair);
        let mut parts = inner(pair);
        let path_pair = parts.next();
        let (path_text, path_span) = path_pair
            .as_ref()
            .map(|p| (p.as_str().to_string(), self::span(p)))
            .unwrap_or_default();
        let query = self.json_query(&path_text, path_span);
        let check = parts
            .next()
            .map(|check| self.path_check(check))
            .unwrap_or(PathCheck::Exists);
        PathAssert {
            path: Spanned::new(path_text, path_span),
            query: Arc::new(query),
            check,
            span,
        }
    }

    pub(super) fn path_check(&mut self, pair: Pair<'_, Rule>) -> PathCheck {
        let span = span(&pair);
        let parts: Vec<_> = inner(pair).collect();
        match parts.as_slice() {
            [single] if single.as_rule() == Rule::value_match => {
                match self.value_match(single.clone()) {
                    ValueCheckKind::Matches(pattern) => PathCheck::Matches(pattern),
                    ValueCheckKind::Regex(regex) => PathCheck::Regex(regex),
                    ValueCheckKind::Contains(template) => PathCheck::Contains(template),
                    _ => PathCheck::Exists,
                }
            }
            [single] if single.as_rule() == Rule::value_not => {
                let pattern = inner(single.clone()).nth(1).map(|p| self.json_pattern(p));
                PathCheck::NotMatches(pattern.unwrap_or_else(|| any_pattern(span)))
            }
            [single] if single.as_rule() == Rule::path_absent => PathCheck::Absent,
            [op, number] if op.as_rule() == Rule::cmp_op => {
                let op = self.cmp_op(op.clone());
                PathCheck::Compare(op, self.json_bound(number.clone()))
            }
            _ => PathCheck::Exists,
        }
    }
}

/// Where a text matcher stands, for the hint when JSON is written in its place.
#[derive(Debug, Clone, Copy)]
pub(super) enum TextPlace {
    /// `data:` of an SSE item, which takes `json <pattern>`.
    SseData,
    /// `id:` or `event:`, which are text only.
    SseField,
    /// A whole item of this kind: a line, a chunk, or `expect text`.
    Item(PatternContext),
}

impl TextPlace {
    /// What to write for the JSON `text` in this place.
    fn json_hint(self, text: &str) -> String {
        match self {
            TextPlace::SseData => format!("to match the data as JSON, write `json {text}`"),
            TextPlace::SseField => "ids and event types are text, not JSON".to_string(),
            TextPlace::Item(PatternContext::Lines) => {
                format!("to match the line as JSON, write `json {text}`")
            }
            TextPlace::Item(PatternContext::Text) => {
                format!("to match the body as JSON, write `expect json {text}`")
            }
            TextPlace::Item(_) => format!(
                "a chunk is bytes: to match JSON, read the stream with `expect ndjson`, or with `expect lines` and `json {text}`"
            ),
        }
    }
}

/// Why `json <pattern>` does not fit an item of this kind, and what does.
fn json_facet_help(context: PatternContext) -> &'static str {
    match context {
        PatternContext::Sse => "an SSE event's data is matched as JSON with `data: json …`",
        PatternContext::Json => "this item is JSON already: write the pattern without `json`",
        PatternContext::Text => "to match the whole body as JSON, write `expect json …`",
        PatternContext::Socket => {
            "a text message is matched as JSON with `{ … }` or `json …`; a binary message is not JSON"
        }
        PatternContext::Chunks | PatternContext::Lines => {
            "a chunk is bytes: to match JSON, read the stream with `expect ndjson`, or with `expect lines` and `json …`"
        }
    }
}

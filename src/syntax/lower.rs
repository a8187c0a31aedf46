//! Lowering: turns pest pairs into the typed AST, collecting every semantic error it meets
//! (a pattern that does not fit its stream, a bad regex, a bad JSONPath) instead of stopping.

use std::sync::Arc;
use std::time::Duration;

use pest::iterators::Pair;

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::duration::parse_duration;
use crate::source::{SourceFile, Span};
use crate::syntax::grammar::Rule;

/// Which kind of item a pattern describes, so facets that don't fit are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternContext {
    /// An `sse` block: fields and JSONPath assertions on the data.
    Sse,
    /// An `ndjson` block or `expect json`: a JSON pattern and JSONPath assertions.
    Json,
    /// A `lines` block or `expect text`: text matchers.
    Lines,
    /// A `chunks` block: text matchers and sizes.
    Chunks,
}

impl PatternContext {
    fn for_stream(kind: StreamKind) -> Self {
        match kind {
            StreamKind::Sse => PatternContext::Sse,
            StreamKind::Ndjson => PatternContext::Json,
            StreamKind::Lines => PatternContext::Lines,
            StreamKind::Chunks => PatternContext::Chunks,
            StreamKind::Messages => PatternContext::Json,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            PatternContext::Sse => "an `sse` item",
            PatternContext::Json => "a JSON item",
            PatternContext::Lines => "a text item",
            PatternContext::Chunks => "a `chunks` item",
        }
    }
}

pub struct Lowerer {
    pub file: Arc<SourceFile>,
    pub diagnostics: Vec<Diagnostic>,
}

type Pairs<'i> = pest::iterators::Pairs<'i, Rule>;

/// Children that carry meaning: keywords, separators and closing braces are rules only so that
/// errors can name them.
fn inner(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| !is_punctuation(p.as_rule()))
}

fn is_punctuation(rule: Rule) -> bool {
    matches!(rule, Rule::sep | Rule::close | Rule::header_colon)
        || format!("{rule:?}").starts_with("kw_")
}

/// The pair's span without the blanks and comments pest lets a rule swallow after its last
/// token (a rule that ends with an optional part skips them before trying it), so carets and
/// spans stop at the last character the user wrote.
fn span(pair: &Pair<'_, Rule>) -> Span {
    let span = pair.as_span();
    Span::new(span.start(), span.start() + significant_len(span.as_str()))
}

/// The length of `text` up to its last character that is not a blank or part of a comment.
/// A comment is `#` after a blank (or at the start), outside strings and regexes.
fn significant_len(text: &str) -> usize {
    #[derive(PartialEq)]
    enum State {
        Code,
        String,
        Regex,
        Comment,
    }
    let mut state = State::Code;
    let mut end = 0;
    let mut previous = ' ';
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        match state {
            State::Comment if c == '\n' || c == '\r' => state = State::Code,
            State::Comment => {}
            State::String | State::Regex => {
                end = index + c.len_utf8();
                let closing = if state == State::String { '"' } else { '/' };
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == closing || c == '\n' || c == '\r' {
                    state = State::Code;
                }
            }
            State::Code => match c {
                '#' if previous.is_whitespace() => state = State::Comment,
                c if c.is_whitespace() => {}
                _ => {
                    end = index + c.len_utf8();
                    if c == '"' {
                        state = State::String;
                    } else if c == '/' && (previous.is_whitespace() || "[{,:~=".contains(previous))
                    {
                        // A regex starts where a value can; a `/` after a word is part of it
                        // (`text/plain` in a header value, a path in a URL).
                        state = State::Regex;
                    }
                }
            },
        }
        previous = c;
    }
    end
}

impl Lowerer {
    pub fn new(file: &Arc<SourceFile>) -> Self {
        Lowerer {
            file: Arc::clone(file),
            diagnostics: Vec::new(),
        }
    }

    fn error(&mut self, span: Span, message: impl Into<String>, label: impl Into<String>) {
        let diagnostic = Diagnostic::error(message).at(&self.file, span, label);
        self.diagnostics.push(diagnostic);
    }

    pub fn file(&mut self, pairs: Pairs<'_>) -> Spec {
        let mut spec = Spec {
            file: Arc::clone(&self.file),
            lets: Vec::new(),
            tests: Vec::new(),
        };
        for pair in pairs.flat_map(|p| p.into_inner()) {
            match pair.as_rule() {
                Rule::let_decl => spec.lets.push(self.let_decl(pair)),
                Rule::test => spec.tests.push(self.test(pair)),
                _ => {}
            }
        }
        spec
    }

    fn let_decl(&mut self, pair: Pair<'_, Rule>) -> Let {
        let span = span(&pair);
        let mut parts = inner(pair);
        let name = parts
            .next()
            .map(|p| self.ident(p))
            .unwrap_or_default_ident();
        let value_pair = parts.next().and_then(|p| p.into_inner().next());
        let value = match value_pair {
            Some(p) if p.as_rule() == Rule::string => {
                let (text, span) = self.string(p);
                Spanned::new(text, span)
            }
            Some(p) => Spanned::new(p.as_str().to_string(), self::span(&p)),
            None => Spanned::new(String::new(), span),
        };
        Let { name, value, span }
    }

    fn ident(&mut self, pair: Pair<'_, Rule>) -> Ident {
        Spanned::new(pair.as_str().to_string(), span(&pair))
    }

    /// A quoted string, unescaped. The span covers the quotes.
    fn string(&mut self, pair: Pair<'_, Rule>) -> (String, Span) {
        let span = span(&pair);
        match serde_json::from_str::<String>(pair.as_str()) {
            Ok(text) => (text, span),
            Err(error) => {
                self.error(
                    span,
                    "invalid string",
                    format!("{}", error).split(" at line").next().unwrap_or(""),
                );
                (String::new(), span)
            }
        }
    }

    fn template(&mut self, pair: Pair<'_, Rule>) -> Template {
        let (text, span) = self.string(pair);
        Template {
            text,
            span,
            text_offset: span.start + 1,
        }
    }

    fn raw_template(&mut self, pair: Pair<'_, Rule>) -> Template {
        let span = span(&pair);
        Template {
            text: pair.as_str().to_string(),
            span,
            text_offset: span.start,
        }
    }

    fn duration(&mut self, pair: Pair<'_, Rule>) -> Spanned<Duration> {
        let span = span(&pair);
        match parse_duration(pair.as_str()) {
            Ok(duration) => Spanned::new(duration, span),
            Err(message) => {
                self.error(span, "invalid duration", message);
                Spanned::new(Duration::ZERO, span)
            }
        }
    }

    fn number_f64(&mut self, pair: Pair<'_, Rule>) -> f64 {
        match pair.as_str().parse::<f64>() {
            Ok(value) if value.is_finite() => value,
            _ => {
                self.error(span(&pair), "invalid number", "not a finite number");
                0.0
            }
        }
    }

    fn integer(&mut self, pair: Pair<'_, Rule>) -> u64 {
        match pair.as_str().parse::<u64>() {
            Ok(value) => value,
            Err(_) => {
                self.error(
                    span(&pair),
                    "number too large",
                    "at most 18446744073709551615",
                );
                0
            }
        }
    }

    fn regex(&mut self, pair: Pair<'_, Rule>) -> RegexLit {
        let span = span(&pair);
        let mut source = String::new();
        let mut flags = String::new();
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::regex_body => source = part.as_str().replace("\\/", "/"),
                Rule::regex_flags => flags = part.as_str().to_string(),
                _ => {}
            }
        }
        let compiled = regex::RegexBuilder::new(&source)
            .case_insensitive(flags.contains('i'))
            .multi_line(flags.contains('m'))
            .dot_matches_new_line(flags.contains('s'))
            .ignore_whitespace(flags.contains('x'))
            .build();
        let regex = match compiled {
            Ok(regex) => regex,
            Err(error) => {
                let detail = error.to_string();
                let last = detail.lines().last().unwrap_or("").trim();
                let last = last.strip_prefix("error: ").unwrap_or(last).to_string();
                self.error(span, "invalid regular expression", last);
                regex::Regex::new("$^").unwrap_or_else(|_| unreachable!("a fixed valid regex"))
            }
        };
        RegexLit {
            source,
            flags,
            regex,
        }
    }

    fn cmp_op(&mut self, pair: Pair<'_, Rule>) -> CmpOp {
        match pair.as_str() {
            "==" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            "<=" => CmpOp::Le,
            ">=" => CmpOp::Ge,
            "<" => CmpOp::Lt,
            _ => CmpOp::Gt,
        }
    }

    // ─── Tests and steps ──────────────────────────────────────────────────────────────────────

    fn test(&mut self, pair: Pair<'_, Rule>) -> Test {
        let span = span(&pair);
        let mut test = Test {
            name: Spanned::new(String::new(), span),
            tags: Vec::new(),
            steps: Vec::new(),
            span,
        };
        for part in inner(pair) {
            match part.as_rule() {
                Rule::string => {
                    let (text, span) = self.string(part);
                    test.name = Spanned::new(text, span);
                }
                Rule::tag => {
                    if let Some(ident) = part.into_inner().next() {
                        test.tags.push(self.ident(ident));
                    }
                }
                Rule::step => {
                    if let Some(step) = self.step(part) {
                        test.steps.push(step);
                    }
                }
                _ => {}
            }
        }
        test
    }

    fn step(&mut self, pair: Pair<'_, Rule>) -> Option<Step> {
        let span = span(&pair);
        let part = inner(pair).next()?;
        let kind = match part.as_rule() {
            Rule::request => {
                let mut parts = inner(part);
                let method = parts.next()?;
                let url = parts.next()?;
                StepKind::Request(Request {
                    method: Spanned::new(method.as_str().to_string(), self::span(&method)),
                    url: self.raw_template(url),
                })
            }
            Rule::header_step => {
                let mut parts = inner(part);
                let name = parts.next()?;
                let value = parts.next()?;
                StepKind::Header(HeaderStep {
                    name: Spanned::new(name.as_str().to_string(), self::span(&name)),
                    value: self.header_value(value),
                })
            }
            Rule::body_step => StepKind::Body(self.body(inner(part).next()?)?),
            Rule::timeout_step => StepKind::Timeout(self.duration(inner(part).next()?)),
            Rule::expect_step => StepKind::Expect(self.expectation(inner(part).next()?)?),
            Rule::control_step => StepKind::Control(self.control(part)?),
            Rule::grpc_step => {
                let mut parts = inner(part);
                let target = parts.next()?;
                let method = parts.next()?;
                StepKind::Grpc(GrpcCall {
                    target: self.raw_template(target),
                    method: Spanned::new(method.as_str().to_string(), self::span(&method)),
                })
            }
            Rule::grpc_option => StepKind::GrpcOption(self.grpc_option(inner(part).next()?)?),
            _ => return None,
        };
        Some(Step { kind, span })
    }

    /// A quoted string, or the raw text of a bare value (headers, `authority`), as a template.
    fn header_value(&mut self, pair: Pair<'_, Rule>) -> Template {
        match pair.into_inner().next() {
            Some(value) if value.as_rule() == Rule::string => self.template(value),
            Some(value) => self.raw_template(value),
            None => Template {
                text: String::new(),
                span: Span::default(),
                text_offset: 0,
            },
        }
    }

    fn body(&mut self, pair: Pair<'_, Rule>) -> Option<Body> {
        let rule = pair.as_rule();
        let value = inner(pair).next()?;
        Some(match rule {
            Rule::body_json => {
                let pattern = self.json_pattern(value);
                self.require_literal(&pattern, "a request body");
                Body::Json(pattern)
            }
            Rule::body_text => Body::Text(self.template(value)),
            _ => Body::File(self.template(value)),
        })
    }

    /// Request bodies and `send` messages are data, not patterns: matchers make no sense there.
    fn require_literal(&mut self, pattern: &JsonPattern, what: &str) {
        if let Some(capture) = &pattern.capture {
            self.error(
                capture.span,
                format!("a capture cannot appear in {what}"),
                "captures belong in patterns",
            );
        }
        match &pattern.kind {
            JsonPatternKind::Object { members, exact } => {
                if *exact {
                    self.error(
                        pattern.span,
                        format!("`exact` cannot appear in {what}"),
                        "it is JSON data",
                    );
                }
                for (_, member) in members {
                    self.require_literal(member, what);
                }
            }
            JsonPatternKind::Array { items, open } => {
                if *open {
                    self.error(
                        pattern.span,
                        format!("`...` cannot appear in {what}"),
                        "it is JSON data",
                    );
                }
                for item in items {
                    self.require_literal(item, what);
                }
            }
            JsonPatternKind::Null
            | JsonPatternKind::Bool(_)
            | JsonPatternKind::Number(_)
            | JsonPatternKind::String(_)
            | JsonPatternKind::Var(_)
            | JsonPatternKind::Literal(_) => {}
            _ => self.error(
                pattern.span,
                format!("a matcher cannot appear in {what}"),
                "write a JSON value here",
            ),
        }
    }

    fn control(&mut self, pair: Pair<'_, Rule>) -> Option<Control> {
        let part = inner(pair).next()?;
        Some(match part.as_rule() {
            Rule::abort_step => Control::Abort(match inner(part).next() {
                None => None,
                Some(when) => {
                    let condition = inner(when).next()?;
                    if condition.as_rule() == Rule::abort_items {
                        let condition_span = span(&condition);
                        let count = self.integer(inner(condition).next()?);
                        if count == 0 {
                            self.error(
                                condition_span,
                                "`abort after 0 items` aborts before anything",
                                "at least 1",
                            );
                        }
                        Some(AbortWhen::Items(count))
                    } else {
                        Some(AbortWhen::After(self.duration(condition).value))
                    }
                }
            }),
            Rule::wait_step => Control::Wait(self.duration(inner(part).next()?).value),
            Rule::pace_step => Control::Pace(self.duration(inner(part).next()?).value),
            Rule::disconnect_step => Control::Disconnect,
            Rule::reconnect_step => {
                let mut options = ReconnectOptions::default();
                for option in inner(part) {
                    let Some(option) = inner(option).next() else {
                        continue;
                    };
                    let is_header = option.as_rule() == Rule::reconnect_header;
                    let mut parts = inner(option);
                    let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    let name_text = if is_header {
                        name.as_str().to_ascii_lowercase()
                    } else {
                        name.as_str().to_string()
                    };
                    let name = Spanned::new(name_text, span(&name));
                    let value = match value.into_inner().next() {
                        Some(v) if v.as_rule() == Rule::string => self.template(v),
                        Some(v) => self.raw_template(v),
                        None => continue,
                    };
                    if is_header {
                        options.headers.push((name, value));
                    } else {
                        options.query.push((name, value));
                    }
                }
                Control::Reconnect(options)
            }
            Rule::send_step => Control::Send(self.json_pattern(inner(part).next()?)),
            _ => Control::Close,
        })
    }

    // ─── Expectations ─────────────────────────────────────────────────────────────────────────

    fn expectation(&mut self, pair: Pair<'_, Rule>) -> Option<Expectation> {
        let span = span(&pair);
        match pair.as_rule() {
            Rule::expect_status => {
                let mut parts = inner(pair);
                let code = parts.next()?;
                if code.as_rule() == Rule::grpc_code {
                    let message = match parts.next() {
                        Some(status_message) => {
                            let value =
                                inner(status_message).find(|p| p.as_rule() == Rule::field_value)?;
                            match self.field_value(value, false) {
                                Some(DataMatcher::Text(matcher)) => Some(matcher),
                                _ => None,
                            }
                        }
                        None => None,
                    };
                    return Some(Expectation::GrpcStatus {
                        code: Spanned::new(code.as_str().to_string(), self::span(&code)),
                        message,
                    });
                }
                let text = code.as_str();
                let code_span = self::span(&code);
                let pattern = if text.ends_with("xx") || text.ends_with("XX") {
                    StatusPattern::Class(u16::from(text.as_bytes()[0] - b'0'))
                } else {
                    StatusPattern::Exact(text.parse().unwrap_or(0))
                };
                let class = match pattern {
                    StatusPattern::Exact(code) => code / 100,
                    StatusPattern::Class(class) => class,
                };
                if !(1..=5).contains(&class) {
                    self.error(code_span, "invalid status code", "expected 100 to 599");
                }
                Some(Expectation::Status(Spanned::new(pattern, code_span)))
            }
            Rule::expect_header => Some(Expectation::Header(self.header_expectation(pair)?)),
            Rule::expect_metadata => {
                let trailer = pair
                    .clone()
                    .into_inner()
                    .next()
                    .is_some_and(|p| p.as_rule() == Rule::kw_trailer);
                Some(Expectation::Metadata {
                    trailer,
                    header: self.header_expectation(pair)?,
                })
            }
            Rule::expect_messages => {
                let block = inner(pair).next()?;
                let block_span = self::span(&block);
                let entries = self.block(block, PatternContext::Json);
                Some(Expectation::Stream(StreamBlock {
                    kind: Spanned::new(StreamKind::Messages, span),
                    entries,
                    block_span,
                }))
            }
            Rule::expect_message => {
                let line = inner(pair).next()?;
                Some(Expectation::Message(
                    self.item_line(line, PatternContext::Json),
                ))
            }
            Rule::expect_end => Some(Expectation::End),
            Rule::expect_stream => {
                let mut parts = inner(pair);
                let kind_pair = parts.next()?;
                let kind = match kind_pair.as_str() {
                    "sse" => StreamKind::Sse,
                    "ndjson" => StreamKind::Ndjson,
                    "lines" => StreamKind::Lines,
                    _ => StreamKind::Chunks,
                };
                let block = parts.next()?;
                let block_span = self::span(&block);
                let entries = self.block(block, PatternContext::for_stream(kind));
                Some(Expectation::Stream(StreamBlock {
                    kind: Spanned::new(kind, self::span(&kind_pair)),
                    entries,
                    block_span,
                }))
            }
            Rule::expect_body => {
                let body = inner(pair).next()?;
                let context = if body.as_rule() == Rule::body_json_expect {
                    PatternContext::Json
                } else {
                    PatternContext::Lines
                };
                let pattern = self.item_pattern(inner(body).next()?, context);
                Some(Expectation::WholeBody(WholeBody { pattern }))
            }
            Rule::expect_aggregate => {
                let mut parts = inner(pair).peekable();
                let whole_test = parts.next_if(|p| p.as_rule() == Rule::whole_test).is_some();
                let kind = self.aggregate(parts.next()?)?;
                Some(Expectation::Aggregate(Aggregate {
                    kind,
                    whole_test,
                    span,
                }))
            }
            _ => None,
        }
    }

    /// `NAME check [-> capture]` of `expect header`, `expect metadata` and `expect trailer`.
    fn header_expectation(&mut self, pair: Pair<'_, Rule>) -> Option<HeaderExpectation> {
        let mut parts = inner(pair);
        let name = parts.next()?;
        let check = parts.next().and_then(|p| inner(p).next())?;
        let capture = parts
            .next()
            .and_then(|c| c.into_inner().next())
            .map(|c| self.ident(c));
        let check = match check.as_rule() {
            Rule::header_eq => HeaderCheck::Equals(self.header_value(inner(check).nth(1)?)),
            Rule::header_ne => HeaderCheck::NotEquals(self.header_value(inner(check).nth(1)?)),
            Rule::header_match => HeaderCheck::Matches(self.regex(inner(check).nth(1)?)),
            Rule::header_contains => HeaderCheck::Contains(self.header_value(inner(check).next()?)),
            Rule::header_exists => HeaderCheck::Exists,
            _ => HeaderCheck::Absent,
        };
        Some(HeaderExpectation {
            name: Spanned::new(name.as_str().to_ascii_lowercase(), span(&name)),
            check,
            capture,
        })
    }

    fn grpc_option(&mut self, pair: Pair<'_, Rule>) -> Option<GrpcOption> {
        let rule = pair.as_rule();
        let mut parts = inner(pair);
        Some(match rule {
            Rule::metadata_step => {
                let name = parts.next()?;
                let value = parts.next()?;
                GrpcOption::Metadata(HeaderStep {
                    name: Spanned::new(name.as_str().to_ascii_lowercase(), span(&name)),
                    value: self.header_value(value),
                })
            }
            Rule::deadline_step => GrpcOption::Deadline(self.duration(parts.next()?)),
            Rule::message_step => {
                let pattern = self.json_pattern(parts.next()?);
                self.require_literal(&pattern, "a request message");
                GrpcOption::Message(pattern)
            }
            Rule::authority_step => GrpcOption::Authority(self.header_value(parts.next()?)),
            Rule::insecure_step => GrpcOption::Insecure,
            Rule::proto_step => GrpcOption::Proto(self.template(parts.next()?)),
            Rule::import_step => GrpcOption::Import(self.template(parts.next()?)),
            Rule::descriptor_step => GrpcOption::Descriptor(self.template(parts.next()?)),
            _ => return None,
        })
    }

    fn aggregate(&mut self, pair: Pair<'_, Rule>) -> Option<AggregateKind> {
        Some(match pair.as_rule() {
            Rule::agg_count => AggregateKind::Count(self.num_cond(inner(pair).next()?)),
            Rule::agg_bytes => AggregateKind::Bytes(self.num_cond(inner(pair).next()?)),
            Rule::agg_timing => {
                let mut parts = inner(pair);
                let stat = parts.next()?;
                let cond = self.duration_cond(parts.next()?);
                match stat.as_str() {
                    "ttfb" => AggregateKind::Ttfb(cond),
                    "duration" => AggregateKind::Duration(cond),
                    _ => AggregateKind::FirstItem(cond),
                }
            }
            Rule::agg_connections => AggregateKind::Connections(self.num_cond(inner(pair).next()?)),
            Rule::agg_retry => AggregateKind::Retry(self.num_cond(inner(pair).next()?)),
            Rule::agg_reconnect_delay => {
                AggregateKind::ReconnectDelay(self.duration_cond(inner(pair).next()?))
            }
            Rule::agg_ids => {
                let order = if pair.as_str().ends_with("contiguous") {
                    IdOrder::Contiguous
                } else {
                    IdOrder::Increasing
                };
                AggregateKind::Ids(Spanned::new(order, span(&pair)))
            }
            Rule::agg_gaps => {
                let mut bounds = Vec::new();
                for bound in inner(pair) {
                    let mut parts = inner(bound);
                    let stat_pair = parts.next()?;
                    let stat = match stat_pair.as_str() {
                        "min" => GapStat::Min,
                        "max" => GapStat::Max,
                        "mean" => GapStat::Mean,
                        "p50" => GapStat::P50,
                        "p95" => GapStat::P95,
                        _ => GapStat::P99,
                    };
                    let cond = self.duration_cond(parts.next()?);
                    bounds.push((Spanned::new(stat, span(&stat_pair)), cond));
                }
                AggregateKind::Gaps(bounds)
            }
            _ => {
                let mut parts = inner(pair);
                let name = self.ident(parts.next()?);
                let function_pair = parts.next()?;
                let function = match function_pair.as_str() {
                    "joined" => CaptureFn::Joined,
                    "count" => CaptureFn::Count,
                    "first" => CaptureFn::First,
                    _ => CaptureFn::Last,
                };
                let check = self.value_check(parts.next()?);
                AggregateKind::Capture {
                    name,
                    function: Spanned::new(function, span(&function_pair)),
                    check,
                }
            }
        })
    }

    fn num_cond(&mut self, pair: Pair<'_, Rule>) -> Spanned<NumCond> {
        let span = span(&pair);
        let mut parts = inner(pair);
        let cond = match (parts.next(), parts.next()) {
            (Some(op), Some(number)) if op.as_rule() == Rule::cmp_op => {
                let op = self.cmp_op(op);
                NumCond::Compare(op, self.number_f64(number))
            }
            (Some(range), _) => self.num_range(range),
            _ => NumCond::Range(None, None),
        };
        Spanned::new(cond, span)
    }

    fn num_range(&mut self, pair: Pair<'_, Rule>) -> NumCond {
        let span = span(&pair);
        let text = pair.as_str();
        let (lo_text, hi_text) = text.split_once("..").unwrap_or((text, text));
        let parse = |this: &mut Self, text: &str| -> Option<f64> {
            if text.is_empty() {
                None
            } else {
                match text.parse::<f64>() {
                    Ok(value) => Some(value),
                    Err(_) => {
                        this.error(span, "invalid range", "expected numbers such as `3..7`");
                        None
                    }
                }
            }
        };
        let lo = parse(self, lo_text);
        let hi = parse(self, hi_text);
        if let (Some(lo), Some(hi)) = (lo, hi)
            && lo > hi
        {
            self.error(
                span,
                "empty range",
                "the lower bound is above the upper one",
            );
        }
        NumCond::Range(lo, hi)
    }

    fn duration_cond(&mut self, pair: Pair<'_, Rule>) -> Spanned<DurationCond> {
        let span = span(&pair);
        let parts: Vec<_> = inner(pair).collect();
        let cond = match parts.as_slice() {
            [op, duration] if op.as_rule() == Rule::cmp_op => {
                let op = self.cmp_op(op.clone());
                DurationCond::Compare(op, self.duration(duration.clone()).value)
            }
            [lo, hi] => {
                let lo = self.duration(lo.clone()).value;
                let hi = self.duration(hi.clone()).value;
                if lo > hi {
                    self.error(
                        span,
                        "empty range",
                        "the lower bound is above the upper one",
                    );
                }
                DurationCond::Range(lo, hi)
            }
            _ => DurationCond::Compare(CmpOp::Ge, Duration::ZERO),
        };
        Spanned::new(cond, span)
    }

    fn value_check(&mut self, pair: Pair<'_, Rule>) -> ValueCheck {
        let span = span(&pair);
        let parts: Vec<_> = inner(pair).collect();
        let kind = match parts.as_slice() {
            [single] if single.as_rule() == Rule::value_match => self.value_match(single.clone()),
            [single] if single.as_rule() == Rule::value_not => {
                let pattern = inner(single.clone()).nth(1).map(|p| self.json_pattern(p));
                ValueCheckKind::NotMatches(pattern.unwrap_or_else(|| any_pattern(span)))
            }
            [op, number] if op.as_rule() == Rule::cmp_op => {
                let op = self.cmp_op(op.clone());
                ValueCheckKind::Number(NumCond::Compare(op, self.number_f64(number.clone())))
            }
            [range] => ValueCheckKind::Number(self.num_range(range.clone())),
            _ => ValueCheckKind::Matches(any_pattern(span)),
        };
        ValueCheck { kind, span }
    }

    fn value_match(&mut self, pair: Pair<'_, Rule>) -> ValueCheckKind {
        let span = span(&pair);
        let parts: Vec<_> = inner(pair).collect();
        match parts.as_slice() {
            [op, pattern] if op.as_rule() == Rule::op_eq => {
                ValueCheckKind::Matches(self.json_pattern(pattern.clone()))
            }
            [op, regex] if op.as_rule() == Rule::op_match => {
                ValueCheckKind::Regex(self.regex(regex.clone()))
            }
            [string] => ValueCheckKind::Contains(self.template(string.clone())),
            _ => ValueCheckKind::Matches(any_pattern(span)),
        }
    }

    // ─── Blocks ───────────────────────────────────────────────────────────────────────────────

    fn block(&mut self, pair: Pair<'_, Rule>, context: PatternContext) -> Vec<Entry> {
        let mut entries: Vec<Entry> = Vec::new();
        for entry in inner(pair) {
            let Some(entry) = self.entry(entry, context) else {
                continue;
            };
            // Consecutive `where` groups split the same items between them: one entry.
            if let (EntryKind::Split(groups), Some(last)) = (&entry.kind, entries.last_mut())
                && let EntryKind::Split(previous) = &mut last.kind
            {
                previous.extend(groups.iter().cloned());
                last.span = last.span.to(entry.span);
                continue;
            }
            entries.push(entry);
        }
        entries
    }

    fn entry(&mut self, pair: Pair<'_, Rule>, context: PatternContext) -> Option<Entry> {
        let span = span(&pair);
        let part = inner(pair).next()?;
        let kind = match part.as_rule() {
            Rule::first_within => EntryKind::FirstWithin(self.duration(inner(part).next()?).value),
            Rule::ignore_decl => EntryKind::Ignore(self.item_pattern(inner(part).next()?, context)),
            Rule::skip => EntryKind::Skip,
            Rule::end_entry => EntryKind::End,
            Rule::dropped_entry => EntryKind::Dropped,
            Rule::any_order => {
                let block = inner(part).next()?;
                let mut items = Vec::new();
                for entry in self.block(block, context) {
                    match entry.kind {
                        EntryKind::Item(line) => items.push(line),
                        _ => self.error(
                            entry.span,
                            "only item patterns can go in `any order`",
                            "not an item pattern",
                        ),
                    }
                }
                EntryKind::AnyOrder(items)
            }
            Rule::repeat => {
                let mut parts = inner(part);
                let quantifier = self.quantifier(parts.next()?);
                let body = self.block(parts.next()?, context);
                if body.is_empty() {
                    self.error(span, "empty repetition", "put the items to repeat inside");
                }
                EntryKind::Repeat { quantifier, body }
            }
            Rule::until_loop => {
                let mut parts = inner(part);
                let stop = self.item_pattern(parts.next()?, context);
                let body = self.block(parts.next()?, context);
                EntryKind::Until { stop, body }
            }
            Rule::control_step => EntryKind::Control(self.control(part)?),
            Rule::item_line => EntryKind::Item(self.item_line(part, context)),
            Rule::where_group => {
                let mut parts = inner(part);
                let key_pair = parts.next().and_then(|k| k.into_inner().next())?;
                let key_span = self::span(&key_pair);
                let key = key_pair.as_str().to_string();
                let path = if key_pair.as_rule() == Rule::json_path {
                    key.clone()
                } else {
                    format!("$.{key}")
                };
                let query = Arc::new(self.json_query(&path, key_span));
                let value = self.json_pattern(parts.find(|p| p.as_rule() != Rule::op_eq)?);
                let body = self.block(parts.next()?, context);
                let head_end = value.span.end;
                EntryKind::Split(vec![WhereGroup {
                    key: Spanned::new(key, key_span),
                    query,
                    value,
                    body,
                    span: Span::new(span.start, head_end),
                }])
            }
            Rule::all_decl => EntryKind::All(self.item_pattern(inner(part).next()?, context)),
            _ => return None,
        };
        Some(Entry { kind, span })
    }

    fn quantifier(&mut self, pair: Pair<'_, Rule>) -> Quantifier {
        let span = span(&pair);
        let text = pair.as_str();
        let quantifier = match text {
            "*" => Quantifier { min: 0, max: None },
            "+" => Quantifier { min: 1, max: None },
            _ => match text.split_once("..") {
                Some((lo, "")) => Quantifier {
                    min: lo.parse().unwrap_or(0),
                    max: None,
                },
                Some((lo, hi)) => Quantifier {
                    min: lo.parse().unwrap_or(0),
                    max: hi.parse().ok(),
                },
                None => {
                    let n = text.parse().unwrap_or(0);
                    Quantifier {
                        min: n,
                        max: Some(n),
                    }
                }
            },
        };
        if quantifier.max.is_some_and(|max| max < quantifier.min) {
            self.error(
                span,
                "empty range",
                "the lower bound is above the upper one",
            );
        }
        if quantifier.max == Some(0) {
            self.error(span, "a repetition of zero times", "expects nothing");
        }
        quantifier
    }

    fn item_line(&mut self, pair: Pair<'_, Rule>, context: PatternContext) -> ItemLine {
        let span = span(&pair);
        let mut parts = inner(pair);
        let pattern = match parts.next() {
            Some(p) => self.item_pattern(p, context),
            None => ItemPattern {
                kind: ItemPatternKind::Text(TextItemPattern::default()),
                span,
                late: false,
            },
        };
        let mut line = ItemLine {
            pattern,
            within: None,
            after: None,
            span,
        };
        for timing in parts {
            let Some(keyword) = timing.clone().into_inner().next() else {
                continue;
            };
            let Some(duration) = inner(timing).next() else {
                continue;
            };
            let duration = self.duration(duration);
            let slot = if keyword.as_rule() == Rule::kw_within {
                &mut line.within
            } else {
                &mut line.after
            };
            if slot.is_some() {
                let word = keyword.as_str().to_string();
                self.error(
                    duration.span,
                    format!("`{word}` is given twice for this item"),
                    "remove one",
                );
            }
            *slot = Some(duration);
        }
        line
    }

    // ─── Item patterns ────────────────────────────────────────────────────────────────────────

    pub fn item_pattern(&mut self, pair: Pair<'_, Rule>, context: PatternContext) -> ItemPattern {
        let span = span(&pair);
        let facets: Vec<_> = inner(pair).collect();
        let kind = match context {
            PatternContext::Sse => ItemPatternKind::Sse(self.sse_pattern(facets)),
            PatternContext::Json => ItemPatternKind::Json(self.json_item_pattern(facets)),
            PatternContext::Lines | PatternContext::Chunks => {
                ItemPatternKind::Text(self.text_item_pattern(facets, context))
            }
        };
        ItemPattern {
            kind,
            span,
            late: false,
        }
    }

    fn not_fitting(&mut self, facet: &Pair<'_, Rule>, context: PatternContext) {
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
                "JSONPath fits `sse`, `ndjson` and `expect json`",
            ),
            Rule::size_facet => (
                "`size`".to_string(),
                "`size` fits `lines`, `chunks` and `expect text`",
            ),
            Rule::contains_facet => (
                "`contains`".to_string(),
                "`contains` fits text: `lines`, `chunks`, `expect text` and SSE fields",
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

    fn duplicate_facet(&mut self, span: Span, what: &str) {
        self.error(
            span,
            format!("{what} is given twice in one item"),
            "one item is one line; put the next item on its own line",
        );
    }

    fn sse_pattern(&mut self, facets: Vec<Pair<'_, Rule>>) -> SsePattern {
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
    fn field_value(&mut self, pair: Pair<'_, Rule>, allow_json: bool) -> Option<DataMatcher> {
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
        self.text_matcher(pattern).map(DataMatcher::Text)
    }

    /// A JSON-pattern pair used as a text matcher: a string, a regex, `_` or `{{var}}`.
    fn text_matcher(&mut self, pair: Pair<'_, Rule>) -> Option<TextMatcher> {
        let span = span(&pair);
        let mut parts = inner(pair);
        let primary = parts.next()?;
        let capture = parts
            .next()
            .and_then(|c| c.into_inner().next())
            .map(|c| self.ident(c));
        let kind = match primary.as_rule() {
            Rule::string => TextMatcherKind::Exact(self.template(primary)),
            Rule::regex => TextMatcherKind::Regex(self.regex(primary)),
            Rule::wildcard => TextMatcherKind::Any,
            Rule::var_ref => TextMatcherKind::Exact(self.raw_template(primary)),
            _ => {
                let text = primary.as_str();
                let hint = if primary.as_rule() == Rule::object || primary.as_rule() == Rule::array
                {
                    format!("to match JSON, write `json {text}`")
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

    fn retry_value(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<NumCond>> {
        let span = span(&pair);
        let pattern_pair = inner(pair).next()?;
        let primary = inner(pattern_pair).next()?;
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

    fn json_item_pattern(&mut self, facets: Vec<Pair<'_, Rule>>) -> JsonItemPattern {
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

    fn text_item_pattern(
        &mut self,
        facets: Vec<Pair<'_, Rule>>,
        context: PatternContext,
    ) -> TextItemPattern {
        let mut pattern = TextItemPattern::default();
        for facet in facets {
            let facet_span = span(&facet);
            match facet.as_rule() {
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
                        self.text_matcher(facet)
                    };
                    if pattern.text.is_some() {
                        self.duplicate_facet(facet_span, "a text pattern");
                    }
                    pattern.text = matcher;
                }
                Rule::size_facet => {
                    let Some(cond) = inner(facet).next() else {
                        continue;
                    };
                    let cond = match cond.as_rule() {
                        Rule::num_cond => self.num_cond(cond),
                        Rule::num_range => {
                            let span = span(&cond);
                            Spanned::new(self.num_range(cond), span)
                        }
                        _ => {
                            let span = span(&cond);
                            let n = self.integer(cond) as f64;
                            Spanned::new(NumCond::Compare(CmpOp::Eq, n), span)
                        }
                    };
                    if pattern.size.is_some() {
                        self.duplicate_facet(facet_span, "`size`");
                    }
                    pattern.size = Some(cond);
                }
                _ => self.not_fitting(&facet, context),
            }
        }
        pattern
    }

    fn json_query(&mut self, path: &str, span: Span) -> jsonpath_rust::parser::model::JpQuery {
        match jsonpath_rust::parser::parse_json_path(path) {
            Ok(query) => query,
            Err(error) => {
                self.error(span, "invalid JSONPath", first_line(&error.to_string()));
                jsonpath_rust::parser::parse_json_path("$")
                    .unwrap_or_else(|_| unreachable!("`$` is a valid JSONPath"))
            }
        }
    }

    fn path_assert(&mut self, pair: Pair<'_, Rule>) -> PathAssert {
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

    fn path_check(&mut self, pair: Pair<'_, Rule>) -> PathCheck {
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
                PathCheck::Compare(op, self.number_f64(number.clone()))
            }
            _ => PathCheck::Exists,
        }
    }

    // ─── JSON patterns ────────────────────────────────────────────────────────────────────────

    pub fn json_pattern(&mut self, pair: Pair<'_, Rule>) -> JsonPattern {
        let span = span(&pair);
        let mut parts = inner(pair);
        let Some(primary) = parts.next() else {
            return any_pattern(span);
        };
        let capture = parts
            .next()
            .and_then(|c| c.into_inner().next())
            .map(|c| self.ident(c));
        let kind = self.json_primary(primary);
        JsonPattern {
            kind,
            capture,
            span,
        }
    }

    fn json_primary(&mut self, pair: Pair<'_, Rule>) -> JsonPatternKind {
        let span = span(&pair);
        match pair.as_rule() {
            Rule::null => JsonPatternKind::Null,
            Rule::boolean => JsonPatternKind::Bool(pair.as_str() == "true"),
            Rule::number => match serde_json::from_str::<serde_json::Number>(pair.as_str()) {
                Ok(number) => JsonPatternKind::Number(number),
                Err(_) => {
                    self.error(span, "invalid number", "not a JSON number");
                    JsonPatternKind::Any
                }
            },
            Rule::string => JsonPatternKind::String(self.template(pair)),
            Rule::var_ref => match pair.into_inner().next() {
                Some(name) => JsonPatternKind::Var(self.ident(name)),
                None => JsonPatternKind::Any,
            },
            Rule::exact_object => match inner(pair).next() {
                Some(object) => match self.json_primary(object) {
                    JsonPatternKind::Object { members, .. } => JsonPatternKind::Object {
                        members,
                        exact: true,
                    },
                    other => other,
                },
                None => JsonPatternKind::Any,
            },
            Rule::object => {
                let mut members: Vec<(Spanned<String>, JsonPattern)> = Vec::new();
                for member in inner(pair) {
                    let mut parts = inner(member);
                    let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    let (key, key_span) = self.string(key);
                    if members.iter().any(|(existing, _)| existing.value == key) {
                        self.error(
                            key_span,
                            format!("key `{key}` appears twice in this object"),
                            "duplicate key",
                        );
                    }
                    let value = self.json_pattern(value);
                    members.push((Spanned::new(key, key_span), value));
                }
                JsonPatternKind::Object {
                    members,
                    exact: false,
                }
            }
            Rule::array => {
                let mut items = Vec::new();
                let mut open = false;
                for item in inner(pair) {
                    if item.as_rule() == Rule::open_tail {
                        open = true;
                    } else if open {
                        self.error(
                            span,
                            "`...` must be the last item of an array",
                            "items after `...`",
                        );
                    } else {
                        items.push(self.json_pattern(item));
                    }
                }
                JsonPatternKind::Array { items, open }
            }
            Rule::num_range_value => match self.num_range(pair) {
                NumCond::Range(lo, hi) => JsonPatternKind::Range(lo, hi),
                NumCond::Compare(op, n) => JsonPatternKind::Compare(op, n),
            },
            Rule::comparison => {
                let mut parts = inner(pair);
                match (parts.next(), parts.next()) {
                    (Some(op), Some(number)) => {
                        let op = self.cmp_op(op);
                        JsonPatternKind::Compare(op, self.number_f64(number))
                    }
                    _ => JsonPatternKind::Any,
                }
            }
            Rule::regex => JsonPatternKind::Regex(self.regex(pair)),
            Rule::type_matcher => JsonPatternKind::Type(match pair.as_str() {
                "string" => JsonType::String,
                "number" => JsonType::Number,
                "integer" => JsonType::Integer,
                "bool" => JsonType::Bool,
                "object" => JsonType::Object,
                _ => JsonType::Array,
            }),
            _ => JsonPatternKind::Any,
        }
    }
}

fn any_pattern(span: Span) -> JsonPattern {
    JsonPattern {
        kind: JsonPatternKind::Any,
        capture: None,
        span,
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").to_string()
}

trait OrDefaultIdent {
    fn unwrap_or_default_ident(self) -> Ident;
}

impl OrDefaultIdent for Option<Ident> {
    fn unwrap_or_default_ident(self) -> Ident {
        self.unwrap_or_else(|| Spanned::new(String::new(), Span::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::significant_len;

    #[test]
    fn spans_stop_before_trailing_blanks_and_comments() {
        assert_eq!(significant_len("data: _   # wrong"), 7);
        assert_eq!(significant_len("data: \"a # b\"  # c"), 13);
        assert_eq!(significant_len("data: /a # b/ "), 13);
        assert_eq!(significant_len("{ # open\n  \"a\": 1\n}  # done\n"), 19);
        assert_eq!(significant_len("http://x/#frag"), 14);
        assert_eq!(significant_len("== text/event-stream   # as text"), 20);
    }
}

//! Lowering `expect` steps: status, headers and metadata, stream blocks, whole bodies and
//! aggregates with their numeric, duration and value conditions.

use std::time::Duration;

use pest::iterators::Pair;

use super::{Lowerer, PatternContext, any_pattern, inner, span};
use crate::ast::*;
use crate::syntax::grammar::Rule;

impl Lowerer {
    pub(super) fn expectation(&mut self, pair: Pair<'_, Rule>) -> Option<Expectation> {
        let span = span(&pair);
        match pair.as_rule() {
            Rule::expect_status => {
                let parts: Vec<_> = inner(pair).collect();
                if parts.first()?.as_rule() == Rule::grpc_code {
                    let mut codes: Vec<Spanned<String>> = Vec::new();
                    let mut message = None;
                    for part in parts {
                        if part.as_rule() == Rule::grpc_code {
                            let code = Spanned::new(part.as_str().to_string(), self::span(&part));
                            if codes.iter().any(|c| c.value == code.value) {
                                self.error(
                                    code.span,
                                    format!("status {} is given twice", code.value),
                                    "already an alternative",
                                );
                            }
                            codes.push(code);
                            continue;
                        }
                        let value = inner(part).find(|p| p.as_rule() == Rule::field_value)?;
                        message = match self.field_value(value, false) {
                            Some(DataMatcher::Text(matcher)) => Some(matcher),
                            _ => None,
                        };
                    }
                    return Some(Expectation::GrpcStatus { codes, message });
                }
                let mut alternatives: Vec<Spanned<StatusPattern>> = Vec::new();
                for code in parts {
                    let pattern = self.status_pattern(&code);
                    if let Some(other) = alternatives
                        .iter()
                        .find(|a| covers(a.value, pattern.value) || covers(pattern.value, a.value))
                    {
                        let (message, label) = if other.value == pattern.value {
                            (
                                format!("status {} is given twice", pattern.value.render()),
                                "already an alternative".to_string(),
                            )
                        } else {
                            let (wide, narrow) = if covers(other.value, pattern.value) {
                                (other.value, pattern.value)
                            } else {
                                (pattern.value, other.value)
                            };
                            (
                                format!("`{}` already covers {}", wide.render(), narrow.render()),
                                "overlaps another alternative".to_string(),
                            )
                        };
                        self.error(pattern.span, message, label);
                    }
                    alternatives.push(pattern);
                }
                Some(Expectation::Status(alternatives))
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
                let mut parts = inner(pair).peekable();
                let from = self.held_stream(&mut parts);
                let block = parts.next()?;
                let block_span = self::span(&block);
                let socket = match &from {
                    Some(name) => self.sockets.contains(&name.value),
                    None => self.socket_latest,
                };
                let (kind, context) = if socket {
                    (StreamKind::Socket, PatternContext::Socket)
                } else {
                    (StreamKind::Messages, PatternContext::Json)
                };
                let entries = self.block(block, context);
                Some(Expectation::Stream(StreamBlock {
                    kind: Spanned::new(kind, span),
                    from,
                    entries,
                    block_span,
                }))
            }
            Rule::expect_message => {
                let line = inner(pair).next()?;
                let context = if self.socket_latest {
                    PatternContext::Socket
                } else {
                    PatternContext::Json
                };
                Some(Expectation::Message(self.item_line(line, context)))
            }
            Rule::expect_end => Some(Expectation::End),
            Rule::expect_close => {
                let mut codes: Vec<Spanned<u64>> = Vec::new();
                let mut reason = None;
                for part in inner(pair) {
                    if part.as_rule() == Rule::close_code {
                        let code_span = self::span(&part);
                        let value = self.integer(part)?;
                        if codes.iter().any(|c| c.value == value) {
                            self.error(
                                code_span,
                                format!("close code {value} is given twice"),
                                "already an alternative",
                            );
                        }
                        codes.push(Spanned::new(value, code_span));
                        continue;
                    }
                    let value = inner(part).find(|p| p.as_rule() == Rule::field_value)?;
                    reason = match self.field_value(value, false) {
                        Some(DataMatcher::Text(matcher)) => Some(matcher),
                        _ => None,
                    };
                }
                Some(Expectation::Close { codes, reason })
            }
            Rule::expect_same => {
                let mut parts = inner(pair);
                let name = parts.next()?;
                // The stream's kind is not known here: the pattern's first facet says it.
                let only = parts
                    .next()
                    .and_then(|only| inner(only).next())
                    .map(|pattern| {
                        let context = match inner(pattern.clone()).next().map(|f| f.as_rule()) {
                            Some(Rule::sse_field) => PatternContext::Sse,
                            Some(Rule::size_facet | Rule::contains_facet) => PatternContext::Lines,
                            _ => PatternContext::Json,
                        };
                        self.item_pattern(pattern, context)
                    });
                Some(Expectation::SameItems(self.ident(name), only))
            }
            Rule::expect_stream => {
                let mut parts = inner(pair);
                let kind_pair = parts.next()?;
                let kind = match kind_pair.as_str() {
                    "sse" => StreamKind::Sse,
                    "ndjson" => StreamKind::Ndjson,
                    "lines" => StreamKind::Lines,
                    _ => StreamKind::Chunks,
                };
                let mut parts = parts.peekable();
                let from = self.held_stream(&mut parts);
                let block = parts.next()?;
                let block_span = self::span(&block);
                let entries = self.block(block, PatternContext::for_stream(kind));
                Some(Expectation::Stream(StreamBlock {
                    kind: Spanned::new(kind, self::span(&kind_pair)),
                    from,
                    entries,
                    block_span,
                }))
            }
            Rule::expect_body => {
                let body = inner(pair).next()?;
                let context = if body.as_rule() == Rule::body_json_expect {
                    PatternContext::Json
                } else {
                    PatternContext::Text
                };
                let pattern = self.item_pattern(inner(body).next()?, context);
                Some(Expectation::WholeBody(WholeBody { pattern }))
            }
            Rule::expect_aggregate => {
                let mut parts = inner(pair).peekable();
                let whole_test = parts.next_if(|p| p.as_rule() == Rule::whole_test).is_some();
                let measure = parts.next()?;
                let group = inner(measure.clone())
                    .find(|p| p.as_rule() == Rule::group_in)
                    .and_then(|group| inner(group).next())
                    .map(|name| self.ident(name));
                let kind = self.aggregate(measure)?;
                Some(Expectation::Aggregate(Aggregate {
                    kind,
                    whole_test,
                    group,
                    span,
                }))
            }
            _ => None,
        }
    }

    /// `200` or `2xx`, between 100 and 599.
    fn status_pattern(&mut self, code: &Pair<'_, Rule>) -> Spanned<StatusPattern> {
        let text = code.as_str();
        let code_span = span(code);
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
        Spanned::new(pattern, code_span)
    }

    /// `NAME check [-> capture]` of `expect header`, `expect metadata` and `expect trailer`.
    pub(super) fn header_expectation(&mut self, pair: Pair<'_, Rule>) -> Option<HeaderExpectation> {
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

    pub(super) fn grpc_option(&mut self, pair: Pair<'_, Rule>) -> Option<GrpcOption> {
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
                GrpcOption::Message(self.message(parts.next()?, "a request message"))
            }
            Rule::authority_step => GrpcOption::Authority(self.header_value(parts.next()?)),
            Rule::insecure_step => GrpcOption::Insecure,
            Rule::proto_step => GrpcOption::Proto(self.template(parts.next()?)),
            Rule::import_step => GrpcOption::Import(self.template(parts.next()?)),
            Rule::descriptor_step => GrpcOption::Descriptor(self.template(parts.next()?)),
            _ => return None,
        })
    }

    /// `from NAME` before a block, when there is one.
    fn held_stream<'i>(
        &mut self,
        parts: &mut std::iter::Peekable<impl Iterator<Item = Pair<'i, Rule>>>,
    ) -> Option<Ident> {
        let from = parts.next_if(|p| p.as_rule() == Rule::from_stream)?;
        let name = inner(from).last()?;
        Some(self.ident(name))
    }

    pub(super) fn aggregate(&mut self, pair: Pair<'_, Rule>) -> Option<AggregateKind> {
        Some(match pair.as_rule() {
            Rule::agg_count => AggregateKind::Count(self.num_cond(ungrouped(&pair).next()?)),
            Rule::agg_bytes => AggregateKind::Bytes(self.num_cond(ungrouped(&pair).next()?)),
            Rule::agg_timing => {
                let mut parts = ungrouped(&pair);
                let stat = parts.next()?;
                let cond = self.duration_cond(parts.next()?);
                match stat.as_str() {
                    "ttfb" => AggregateKind::Ttfb(cond),
                    "duration" => AggregateKind::Duration(cond),
                    _ => AggregateKind::FirstItem(cond),
                }
            }
            Rule::agg_connections => {
                AggregateKind::Connections(self.num_cond(ungrouped(&pair).next()?))
            }
            Rule::agg_retry => AggregateKind::Retry(self.num_cond(ungrouped(&pair).next()?)),
            Rule::agg_reconnect_delay => {
                AggregateKind::ReconnectDelay(self.duration_cond(ungrouped(&pair).next()?))
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
                for bound in ungrouped(&pair) {
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
            Rule::agg_distinct => AggregateKind::Distinct(self.ident(ungrouped(&pair).next()?)),
            _ => {
                let mut parts = ungrouped(&pair);
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

    /// A condition on a count or a size: `== 5`, `< 10`, `in 2..4`.
    pub(super) fn num_cond(&mut self, pair: Pair<'_, Rule>) -> Spanned<NumCond> {
        let span = span(&pair);
        self.exact_counts(&pair);
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

    pub(super) fn num_range(&mut self, pair: Pair<'_, Rule>) -> NumCond {
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

    pub(super) fn duration_cond(&mut self, pair: Pair<'_, Rule>) -> Spanned<DurationCond> {
        let span = span(&pair);
        let parts: Vec<_> = inner(pair).collect();
        let cond = match parts.as_slice() {
            [op, duration] if op.as_rule() == Rule::cmp_op => {
                let op = self.cmp_op(op.clone());
                DurationCond::Compare(op, self.duration(duration.clone()).value)
            }
            [lo, hi] => {
                let errors = self.diagnostics.len();
                let lo = self.duration(lo.clone()).value;
                let hi = self.duration(hi.clone()).value;
                // An invalid bound is already reported: its stand-in value proves nothing.
                if lo > hi && self.diagnostics.len() == errors {
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

    pub(super) fn value_check(&mut self, pair: Pair<'_, Rule>) -> ValueCheck {
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

    pub(super) fn value_match(&mut self, pair: Pair<'_, Rule>) -> ValueCheckKind {
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
}

/// Whether every status `inner` matches, `outer` matches too (`2xx` covers `200`).
fn covers(outer: StatusPattern, inner: StatusPattern) -> bool {
    match (outer, inner) {
        (StatusPattern::Class(class), StatusPattern::Exact(code)) => code / 100 == class,
        _ => outer == inner,
    }
}

/// The parts of an aggregate after its `in NAME`, which the caller reads on its own.
fn ungrouped<'i>(pair: &Pair<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
    inner(pair.clone()).filter(|part| part.as_rule() != Rule::group_in)
}

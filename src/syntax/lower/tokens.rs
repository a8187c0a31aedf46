//! Lowering the values written as single tokens: names, strings and templates, durations,
//! numbers, regular expressions and comparison operators.

use std::time::Duration;

use pest::iterators::Pair;

use super::{Lowerer, span};
use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::duration::parse_duration;
use crate::source::Span;
use crate::syntax::grammar::Rule;

/// 2^53: every whole number up to it is exact as an `f64`, the type counts are compared in.
const EXACT_COUNT_LIMIT: u64 = 1 << 53;

impl Lowerer {
    pub(super) fn ident(&mut self, pair: Pair<'_, Rule>) -> Ident {
        Spanned::new(pair.as_str().to_string(), span(&pair))
    }

    /// A quoted string, unescaped. The span covers the quotes.
    pub(super) fn string(&mut self, pair: Pair<'_, Rule>) -> (String, Span) {
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

    pub(super) fn template(&mut self, pair: Pair<'_, Rule>) -> Template {
        let (text, span) = self.string(pair);
        Template {
            text,
            span,
            text_offset: span.start + 1,
        }
    }

    pub(super) fn raw_template(&mut self, pair: Pair<'_, Rule>) -> Template {
        let span = span(&pair);
        Template {
            text: pair.as_str().to_string(),
            span,
            text_offset: span.start,
        }
    }

    pub(super) fn duration(&mut self, pair: Pair<'_, Rule>) -> Spanned<Duration> {
        let span = span(&pair);
        match parse_duration(pair.as_str()) {
            Ok(duration) => Spanned::new(duration, span),
            Err(message) => {
                self.error(span, "invalid duration", message);
                Spanned::new(Duration::ZERO, span)
            }
        }
    }

    pub(super) fn number_f64(&mut self, pair: Pair<'_, Rule>) -> f64 {
        match pair.as_str().parse::<f64>() {
            Ok(value) if value.is_finite() => value,
            _ => {
                self.error(span(&pair), "invalid number", "not a finite number");
                0.0
            }
        }
    }

    /// A `number` token as a bound of a JSON pattern or a path check, kept exact (an integer as
    /// `i64` or `u64`), as a number literal is.
    pub(super) fn json_bound(&mut self, pair: Pair<'_, Rule>) -> serde_json::Number {
        match serde_json::from_str::<serde_json::Number>(pair.as_str()) {
            Ok(number) => number,
            Err(_) => {
                self.error(span(&pair), "invalid number", "not a finite number");
                serde_json::Number::from(0)
            }
        }
    }

    /// An `integer` token (digits only). One beyond `u64` is reported, and is `None`.
    pub(super) fn integer(&mut self, pair: Pair<'_, Rule>) -> Option<u64> {
        let value = pair.as_str().parse::<u64>().ok();
        if value.is_none() {
            self.error(
                span(&pair),
                "number too large",
                format!("at most {}", u64::MAX),
            );
        }
        value
    }

    /// Reports a bound on a count or a size (`expect count`, `bytes`, `connections`, `retry`,
    /// `size`) that is too large to compare exactly: they are compared as `f64`, exact for
    /// whole numbers up to 2^53, so `9007199254740993` would silently be `9007199254740992`.
    pub(super) fn exact_count(&mut self, text: &str, span: Span) {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let exact = if digits.bytes().all(|b| b.is_ascii_digit()) {
            digits.parse::<u64>().is_ok_and(|n| n <= EXACT_COUNT_LIMIT)
        } else {
            // A fraction or an exponent: an invalid or infinite one is reported as a number.
            text.parse::<f64>().map_or(true, |v| {
                !v.is_finite() || v.abs() <= EXACT_COUNT_LIMIT as f64
            })
        };
        if !exact {
            self.error(
                span,
                "number too large",
                format!("counts and sizes are compared exactly up to {EXACT_COUNT_LIMIT}"),
            );
        }
    }

    /// [`Self::exact_count`] for every number inside `pair` (a condition or a range).
    pub(super) fn exact_counts(&mut self, pair: &Pair<'_, Rule>) {
        for number in pair.clone().into_inner().flatten() {
            if matches!(number.as_rule(), Rule::number | Rule::integer) {
                self.exact_count(number.as_str(), span(&number));
            }
        }
    }

    pub(super) fn regex(&mut self, pair: Pair<'_, Rule>) -> RegexLit {
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
            Err(regex::Error::CompiledTooBig(limit)) => {
                self.regex_too_big(span, &source, limit);
                regex::Regex::new("$^").unwrap_or_else(|_| unreachable!("a fixed valid regex"))
            }
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

    /// A regex that compiles past the regex engine's size limit, nearly always for a counted
    /// repetition used to check a length (`/^A{418879}=$/`): says so, and what checks a length.
    fn regex_too_big(&mut self, span: Span, source: &str, limit: usize) {
        let label = match largest_repetition(source) {
            Some(repetition) => format!("`{repetition}` makes it too large"),
            None => "too large".to_string(),
        };
        self.diagnostics.push(
            Diagnostic::error(format!(
                "this regular expression is too large to compile (over the limit of {} compiled)",
                crate::transport::framing::format_size(limit)
            ))
            .at(&self.file, span, label)
            .help("to check how long a value is, use its length: `string len N` (or a range, `string len 3..10`), `bytes len N` for base64 data, `size N` for a line or chunk"),
        );
    }

    pub(super) fn cmp_op(&mut self, pair: Pair<'_, Rule>) -> CmpOp {
        match pair.as_str() {
            "==" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            "<=" => CmpOp::Le,
            ">=" => CmpOp::Ge,
            "<" => CmpOp::Lt,
            _ => CmpOp::Gt,
        }
    }
}

/// The counted repetition (`{418879}`, `{2,5000}`) with the largest count in a regex's source.
fn largest_repetition(source: &str) -> Option<&str> {
    static REPETITION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\{(\d+)(?:,(\d*))?\}")
            .unwrap_or_else(|_| unreachable!("a fixed valid regex"))
    });
    REPETITION
        .captures_iter(source)
        .filter_map(|groups| {
            let count = groups
                .get(2)
                .filter(|upper| !upper.as_str().is_empty())
                .or_else(|| groups.get(1))?;
            let count: u128 = count.as_str().parse().ok()?;
            Some((count, groups.get(0)?.as_str()))
        })
        .max_by_key(|(count, _)| *count)
        .map(|(_, text)| text)
}

#[cfg(test)]
mod tests {
    use super::largest_repetition;

    #[test]
    fn the_largest_counted_repetition_is_named() {
        assert_eq!(largest_repetition("^A{418879}=$"), Some("{418879}"));
        assert_eq!(largest_repetition("a{2}b{3,90000}c{5,}"), Some("{3,90000}"));
        assert_eq!(largest_repetition("abc+"), None);
    }
}

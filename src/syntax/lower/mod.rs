//! Lowering: turns pest pairs into the typed AST, collecting every semantic error it meets
//! (a pattern that does not fit its stream, a bad regex, a bad JSONPath) instead of stopping.
//! This module holds the lowerer and the file level; each part of the language is lowered in a
//! module of its own.

mod blocks;
mod expectations;
mod items;
mod json;
mod steps;
mod tokens;

use std::sync::Arc;

use pest::iterators::Pair;

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span};
use crate::syntax::grammar::Rule;

/// Which kind of item a pattern describes, so facets that don't fit are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternContext {
    /// An `sse` block: fields and JSONPath assertions on the data.
    Sse,
    /// An `ndjson` block or `expect json`: a JSON pattern and JSONPath assertions.
    Json,
    /// A `lines` block: text matchers and sizes, or the line as JSON (`json <pattern>`, JSONPath
    /// assertions).
    Lines,
    /// `expect text`: text matchers and sizes.
    Text,
    /// A `chunks` block: text matchers and sizes.
    Chunks,
    /// A WebSocket's `messages`: text as for `lines` (JSON written bare too), `binary`, `ping`
    /// and `pong`.
    Socket,
}

impl PatternContext {
    fn for_stream(kind: StreamKind) -> Self {
        match kind {
            StreamKind::Sse => PatternContext::Sse,
            StreamKind::Ndjson => PatternContext::Json,
            StreamKind::Lines => PatternContext::Lines,
            StreamKind::Chunks => PatternContext::Chunks,
            StreamKind::Messages => PatternContext::Json,
            StreamKind::Socket => PatternContext::Socket,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            PatternContext::Sse => "an `sse` item",
            PatternContext::Json => "a JSON item",
            PatternContext::Lines | PatternContext::Text => "a text item",
            PatternContext::Chunks => "a `chunks` item",
            PatternContext::Socket => "a WebSocket message",
        }
    }
}

pub struct Lowerer {
    pub file: Arc<SourceFile>,
    pub diagnostics: Vec<Diagnostic>,
    /// Whether the latest request of the test so far is a WebSocket, and the names of its
    /// WebSockets: `expect messages` is about a WebSocket's messages then, not gRPC replies.
    socket_latest: bool,
    sockets: std::collections::HashSet<String>,
}

type Pairs<'i> = pest::iterators::Pairs<'i, Rule>;

/// Children that carry meaning: keywords, separators and closing braces are rules only so that
/// errors can name them.
fn inner(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| !is_punctuation(p.as_rule()))
}

fn is_punctuation(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::sep | Rule::close | Rule::header_colon | Rule::key_colon
    ) || format!("{rule:?}").starts_with("kw_")
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
            socket_latest: false,
            sockets: std::collections::HashSet::new(),
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
    use crate::ast::*;
    use crate::source::SourceFile;

    /// The aggregates of the file's only test, as lowered.
    fn aggregates(steps: &str) -> Vec<Aggregate> {
        let text = format!("test \"a\" {{\n{steps}\n}}\n");
        let spec = match crate::syntax::parse(&SourceFile::new("a.stream", text)) {
            Ok(spec) => spec,
            Err(errors) => panic!("{steps} does not parse: {errors:?}"),
        };
        let steps = spec.tests.into_iter().flat_map(|test| test.steps);
        steps
            .filter_map(|step| match step.kind {
                StepKind::Expect(Expectation::Aggregate(aggregate)) => Some(aggregate),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_branch_capture_is_measured_by_its_dotted_name() {
        let found = aggregates("expect reader.reply count == 5\nexpect b.id distinct");
        let names: Vec<&str> = found
            .iter()
            .map(|aggregate| match &aggregate.kind {
                AggregateKind::Capture { name, .. } | AggregateKind::Distinct(name) => {
                    name.value.as_str()
                }
                other => panic!("not a capture's aggregate: {other:?}"),
            })
            .collect();
        assert_eq!(names, ["reader.reply", "b.id"]);
        assert!(found.iter().all(|aggregate| aggregate.group.is_none()));
    }

    /// `in NAME` where it does not fit still parses, for the checker to say so; a range after
    /// `in` stays a range.
    #[test]
    fn in_name_after_retry_ids_and_captures_is_kept_for_the_checker() {
        let found = aggregates(
            "expect retry in feed == 500\nexpect ids in feed increasing\nexpect x joined in feed == \"a\"\nexpect x distinct in feed\nexpect x count in 1..3\nexpect retry in 100..900",
        );
        let groups: Vec<Option<&str>> = found
            .iter()
            .map(|aggregate| aggregate.group.as_ref().map(|group| group.value.as_str()))
            .collect();
        assert_eq!(
            groups,
            [
                Some("feed"),
                Some("feed"),
                Some("feed"),
                Some("feed"),
                None,
                None
            ]
        );
    }

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

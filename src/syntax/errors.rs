//! Syntax errors in the user's words: turns pest's "expected rule_x" into "expected a step",
//! says what was found instead, and suggests the keyword a misspelt word was meant to be.

use std::sync::Arc;

use pest::error::{Error, ErrorVariant, InputLocation};

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::source::{SourceFile, Span};
use crate::syntax::grammar::Rule;

/// Keywords that can follow `expect`, for suggestions when a misspelt one parses as a capture name.
const EXPECTATION_KEYWORDS: &[&str] = &[
    "status", "header", "sse", "ndjson", "lines", "chunks", "json", "text", "count", "bytes",
    "ttfb", "duration", "gaps",
];

/// What a rule means to a user, when the parser wanted one and did not find it.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::file => "`test` or `let`",
        Rule::let_decl => "`let`",
        Rule::test => "`test`",
        Rule::sep => "a new line (or `;`)",
        Rule::close => "`}`",
        Rule::step => {
            "a step: a request such as `GET <url>`, `header`, `body`, `expect` or `timeout`"
        }
        Rule::block_entry => "an item pattern, `...`, `end`, `N times { … }` or `}`",
        Rule::item_pattern | Rule::json_pattern => "a pattern",
        Rule::expect_header | Rule::header_name => "a header name",
        Rule::header_check => "`==`, `!=`, `~ /regex/`, `contains`, `exists` or `not exists`",
        Rule::header_value | Rule::raw_value => "a header value",
        Rule::status_pattern => "a status code such as `200` or `2xx`",
        Rule::stream_kind => "`sse`, `ndjson`, `lines` or `chunks`",
        Rule::block => "`{`",
        Rule::url => "a URL",
        Rule::duration => "a duration such as `500ms` or `2s`",
        Rule::string | Rule::string_inner => "a string in double quotes",
        Rule::capture_fn => "`joined`, `count`, `first` or `last`",
        Rule::num_cond => "a condition such as `== 5`, `< 10` or `in 3..7`",
        Rule::duration_cond => "a condition such as `< 500ms` or `in 400ms..1s`",
        Rule::value_cond => "a condition such as `== \"text\"`, `~ /regex/` or `> 0`",
        Rule::gap_bound | Rule::gap_stat => "`min`, `max`, `mean`, `p50`, `p95` or `p99`",
        Rule::kw_times => "`times`",
        Rule::number | Rule::num_range => "a number",
        Rule::integer | Rule::quantifier | Rule::count_range => "a whole number",
        Rule::path_check => {
            "`==`, `!=`, `~ /regex/`, `contains`, a comparison such as `> 0`, `exists` or `not exists`"
        }
        Rule::regex | Rule::regex_body => "a regular expression such as `/^data/`",
        Rule::field_value => "a value: a string, `/regex/`, `_` or `json { … }`",
        Rule::member => "a key in double quotes",
        Rule::ident | Rule::name => "a name",
        Rule::method => "a method such as `GET` or `POST`",
        Rule::body_json | Rule::body_text | Rule::body_file => "`json`, `text` or `file`",
        _ => return None,
    })
}

/// The text of an expected token; whitespace, comments, character ranges and built-in rules
/// say nothing useful to a user.
fn token_text(token: String) -> Option<String> {
    let is_char_range = token.chars().count() == 4 && &token[1..3] == "..";
    match token.as_str() {
        " " | "\t" | "\n" | "\r" | "\r\n" | "#" | ";" | "BUILTIN_RULE" => None,
        _ if is_char_range => None,
        _ => Some(token),
    }
}

/// Joins `a`, `b` and `c` the way a sentence does.
fn one_of(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// The word or character at `offset`, for "found …" and for suggestions.
fn found_at(text: &str, offset: usize) -> (String, Span, Option<String>) {
    let rest = &text[offset.min(text.len())..];
    let Some(first) = rest.chars().next() else {
        return ("end of file".into(), Span::new(offset, offset), None);
    };
    if first == '\n' || first == '\r' {
        return ("end of line".into(), Span::new(offset, offset), None);
    }
    let word_len: usize = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
        .map(char::len_utf8)
        .sum();
    if word_len > 0 {
        let word = &rest[..word_len];
        return (
            format!("`{word}`"),
            Span::new(offset, offset + word_len),
            Some(word.to_string()),
        );
    }
    (
        format!("`{first}`"),
        Span::new(offset, offset + first.len_utf8()),
        None,
    )
}

/// Whether only blanks stand between the start of the line and `offset`: a line break cannot be
/// what is missing there.
fn at_start_of_line(text: &str, offset: usize) -> bool {
    text[..offset.min(text.len())]
        .rsplit('\n')
        .next()
        .is_some_and(|line| line.trim().is_empty())
}

/// The word that ends just before `offset` (skipping spaces), with its span.
fn word_before(text: &str, offset: usize) -> Option<(String, Span)> {
    let before = text[..offset.min(text.len())].trim_end_matches([' ', '\t']);
    let end = before.len();
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map(|(i, _)| i)?;
    Some((before[start..].to_string(), Span::new(start, end)))
}

pub fn syntax_error(file: &Arc<SourceFile>, error: &Error<Rule>) -> Diagnostic {
    let offset = match error.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    };
    let positives: Vec<Rule> = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { message } => {
            return Diagnostic::error(message.clone()).at(file, Span::new(offset, offset), "");
        }
    };
    let attempts = error.parse_attempts();
    let tokens: Vec<String> = attempts
        .as_ref()
        .map(|a| {
            a.expected_tokens()
                .into_iter()
                .filter_map(|t| token_text(t.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let deepest: Vec<Rule> = attempts
        .as_ref()
        .map(|a| {
            a.call_stacks()
                .iter()
                .filter_map(|stack| stack.deepest.get_rule().copied())
                .collect()
        })
        .unwrap_or_default();

    let (found, found_span, word) = found_at(&file.text, offset);

    // `expect stauts 200` parses `stauts` as a capture name, then fails at `200`: the mistake is
    // the word before, so point there.
    if positives.contains(&Rule::capture_fn)
        && let Some((name, name_span)) = word_before(&file.text, offset)
    {
        let diagnostic = Diagnostic::error(format!("unknown expectation `{name}`")).at(
            file,
            name_span,
            "not an expectation",
        );
        if let Some(keyword) = did_you_mean(&name, EXPECTATION_KEYWORDS.iter().copied()) {
            return diagnostic.help(format!("did you mean `{keyword}`?"));
        }
        // `expect websocket { … }`: a block follows, so a stream kind was meant.
        if file.text[offset.min(file.text.len())..].starts_with('{') {
            return diagnostic.help("the streams are `sse`, `ndjson`, `lines` and `chunks`");
        }
    }

    // A line break cannot be what is missing at the start of a line.
    let positives: Vec<Rule> = positives
        .into_iter()
        .filter(|rule| !(*rule == Rule::sep && at_start_of_line(&file.text, offset)))
        .collect();
    // A misspelt keyword: suggest the keyword it was meant to be.
    let suggestion = word
        .as_deref()
        .filter(|word| !word.starts_with(|c: char| c.is_ascii_digit()))
        .and_then(|word| {
            did_you_mean(
                word,
                tokens
                    .iter()
                    .map(String::as_str)
                    .filter(|t| t.chars().all(|c| c.is_ascii_alphabetic())),
            )
        });
    // Where a line could end, a missing line break is the likely mistake, and what else could
    // have continued the line only clutters the message; unless the word there is a misspelt
    // keyword, which is the mistake then.
    let structural: Vec<Rule> = positives
        .iter()
        .copied()
        .filter(|rule| matches!(rule, Rule::sep | Rule::close))
        .collect();
    let considered: Vec<Rule> = if structural.contains(&Rule::sep) && suggestion.is_none() {
        structural
    } else {
        positives
            .iter()
            .chain(deepest.iter())
            .copied()
            .filter(|rule| *rule != Rule::sep && (*rule != Rule::close || suggestion.is_none()))
            .collect()
    };
    let mut phrases: Vec<String> = Vec::new();
    for rule in &considered {
        if let Some(phrase) = describe(*rule) {
            let phrase = phrase.to_string();
            if !phrases.contains(&phrase) {
                phrases.push(phrase);
            }
        }
    }
    if phrases.is_empty() && suggestion.is_none() {
        let mut listed: Vec<String> = tokens.iter().map(|t| format!("`{t}`")).collect();
        listed.dedup();
        listed.truncate(8);
        if listed.is_empty() {
            listed.push("something else".to_string());
        }
        phrases.push(one_of(&listed));
    }
    let expected = one_of(&phrases);
    let (message, label) = match (&word, suggestion) {
        (Some(word), Some(_)) if expected.is_empty() => {
            (format!("unknown keyword `{word}`"), String::new())
        }
        (Some(word), Some(_)) => (
            format!("unknown keyword `{word}`"),
            format!("expected {expected}"),
        ),
        _ => (
            format!("expected {expected}, found {found}"),
            format!("expected {expected}"),
        ),
    };
    let label = if label.len() > 60 {
        String::new()
    } else {
        label
    };
    let mut diagnostic = Diagnostic::error(message).at(file, found_span, label);
    if let Some(keyword) = suggestion {
        diagnostic = diagnostic.help(format!("did you mean `{keyword}`?"));
    }
    diagnostic
}

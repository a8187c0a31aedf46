//! Syntax errors in the user's words: turns pest's "expected rule_x" into "expected a step",
//! says what was found instead, and suggests the keyword a misspelt word was meant to be.

use std::sync::Arc;

use pest::error::{Error, ErrorVariant, InputLocation};

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::line_break;
use crate::source::{SourceFile, Span};
use crate::syntax::grammar::Rule;

/// Keywords that can follow `expect`, for suggestions when a misspelt one parses as a capture name.
const EXPECTATION_KEYWORDS: &[&str] = &[
    "status", "header", "sse", "ndjson", "lines", "chunks", "json", "text", "count", "bytes",
    "ttfb", "duration", "gaps", "messages", "message", "close",
];

/// What a rule means to a user, when the parser wanted one and did not find it.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::file => "`test` or `let`",
        Rule::let_decl => "`let`",
        Rule::test => "`test`",
        Rule::sep => "a new line (or `;`)",
        Rule::header_colon => "`:` between the header's name and its value",
        Rule::key_colon => "`:` after the key",
        Rule::close => "`}`",
        Rule::step => {
            "a step: a request such as `GET <url>` or `ws <url>`, `header`, `body`, `send`, `expect` or `timeout`"
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
        Rule::capture_fn => "`joined`, `count`, `first`, `last` or `distinct`",
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
        Rule::ident | Rule::name | Rule::capture_name => "a name",
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

/// Whether the text before `offset` ends, past blanks and line breaks, with the `{` that opens
/// an object or the `,` after a member: where a key goes.
fn key_expected(text: &str, offset: usize) -> bool {
    text[..offset.min(text.len())]
        .trim_end()
        .ends_with(['{', ','])
}

/// The key a user wrote without double quotes at the start of `rest`: a bare word, or a word in
/// single quotes.
fn written_key(rest: &str) -> Option<&str> {
    let is_key_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
    let (quoted, rest) = match rest.strip_prefix('\'') {
        Some(inside) => (true, inside),
        None => (false, rest),
    };
    let len: usize = rest
        .chars()
        .take_while(|c| is_key_char(*c))
        .map(char::len_utf8)
        .sum();
    let closed = !quoted || rest[len..].starts_with('\'');
    (len > 0 && closed).then(|| &rest[..len])
}

/// Whether only blanks stand between the start of the line and `offset`: a line break cannot be
/// what is missing there.
fn at_start_of_line(text: &str, offset: usize) -> bool {
    let offset = offset.min(text.len());
    text[line_break::line_start(text, offset)..offset]
        .trim()
        .is_empty()
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
    // A key that is not in double quotes: only a string could start there, right after the
    // object's `{` or a `,`.
    if positives == [Rule::string] && key_expected(&file.text, offset) {
        let key = written_key(file.text.get(offset..).unwrap_or_default());
        let diagnostic = Diagnostic::error(format!(
            "expected a key in double quotes, found {found}"
        ))
        .at(file, found_span, "expected a key in double quotes");
        return match key {
            Some(key) => diagnostic.help(format!("write the key in double quotes: `\"{key}\"`")),
            None => diagnostic,
        };
    }
    // A missing `:` is missing right after the key, not where the value starts.
    let found_span = if positives.contains(&Rule::key_colon) {
        let end = file.text[..offset.min(file.text.len())].trim_end().len();
        Span::new(end, end)
    } else {
        found_span
    };

    // `expect stauts 200` parses `stauts` as a capture name, then fails at `200`: the mistake is
    // the word before, so point there.
    if positives.contains(&Rule::capture_fn)
        && let Some((name, _)) = word_before(&file.text, offset)
        && name == "test"
    {
        return Diagnostic::error("`expect test …` cannot measure this")
            .at(file, found_span, "not a measure of the whole test")
            .help("`expect test` goes with `count`, `bytes`, `ttfb`, `duration`, `first item`, `gaps`, `connections` and `reconnect delay`");
    }
    if positives.contains(&Rule::capture_fn)
        && let Some((name, name_span)) = word_before(&file.text, offset)
        && !EXPECTATION_KEYWORDS.contains(&name.as_str())
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
            return diagnostic.help(
                "the streams are `sse`, `ndjson`, `lines`, `chunks` and `messages` (gRPC and WebSocket)",
            );
        }
    }

    // A string that runs to the end of its line was not closed.
    if found == "`\"`"
        && !file.text[offset + 1..line_break::line_end(&file.text, offset + 1)].contains('"')
    {
        return Diagnostic::error("this string is not closed").at(
            file,
            found_span,
            "no closing `\"` on this line",
        );
    }

    // A line break cannot be what is missing at the start of a line; and after `expect status`,
    // a capture's `joined`/`count`/… are not what the user meant.
    let keyword_before = word_before(&file.text, offset)
        .is_some_and(|(w, _)| EXPECTATION_KEYWORDS.contains(&w.as_str()));
    let positives: Vec<Rule> = positives
        .into_iter()
        .filter(|rule| !(*rule == Rule::sep && at_start_of_line(&file.text, offset)))
        .filter(|rule| !(*rule == Rule::capture_fn && keyword_before))
        .collect();
    // After a header name, what may follow matters; that the name could be longer does not.
    let positives: Vec<Rule> = if positives.contains(&Rule::header_check) {
        positives
            .into_iter()
            .filter(|rule| !matches!(rule, Rule::header_name | Rule::expect_header))
            .collect()
    } else {
        positives
    };
    // A misspelt keyword: suggest the keyword it was meant to be.
    // Not for numbers, nor where a hint explains better: `let` inside a test, regex flags.
    let after_regex = file.text[..offset.min(file.text.len())].ends_with('/');
    let suggestion = word
        .as_deref()
        .filter(|word| !word.starts_with(|c: char| c.is_ascii_digit()))
        .filter(|word| *word != "let" && !after_regex)
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
            .filter(|rule| {
                !(matches!(rule, Rule::capture_fn | Rule::name | Rule::capture_name)
                    && keyword_before)
            })
            .filter(|rule| {
                !(matches!(rule, Rule::header_name | Rule::expect_header)
                    && positives.contains(&Rule::header_check))
            })
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
        // After a JSON value, the separators are what is missing; that the value could have
        // gone on (`"A" * 3`, `string len 3`) only clutters the list.
        let after_value = tokens.iter().any(|t| t == ",");
        let mut listed: Vec<String> = tokens
            .iter()
            .filter(|t| !(after_value && matches!(t.as_str(), "*" | "len")))
            .map(|t| format!("`{t}`"))
            .collect();
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
    for hint in hints(
        &file.text,
        offset,
        &found,
        word.as_deref(),
        &positives,
        &phrases,
    ) {
        diagnostic = diagnostic.help(hint);
    }
    diagnostic
}

/// Advice for the mistakes people make most, recognised from where the parser stopped.
fn hints(
    text: &str,
    offset: usize,
    found: &str,
    word: Option<&str>,
    positives: &[Rule],
    phrases: &[String],
) -> Vec<String> {
    let mut hints = Vec::new();
    let before = &text[..offset.min(text.len())];
    let wants = |rule: Rule| positives.contains(&rule);
    if found == "`\"`" && wants(Rule::status_pattern) {
        hints.push("write the status without quotes: `expect status 200`".to_string());
    }
    if found == "`:`" && wants(Rule::header_check) {
        hints.push(
            "write `expect header NAME == VALUE` (or `~ /regex/`, `contains`, `exists`)"
                .to_string(),
        );
    }
    if found == "end of line" && phrases.iter().any(|p| p == "`{`") {
        hints.push("the `{` goes on the same line, after what it opens".to_string());
    }
    if word == Some("let") && wants(Rule::step) {
        hints.push("`let` goes at the top of the file, outside the tests".to_string());
    }
    // Right after a regex's closing `/`: flags, or a `/` the user meant inside the regex.
    if before.ends_with('/')
        && let Some(word) = word
    {
        if word.len() <= 3 && word.chars().all(|c| c.is_ascii_alphabetic()) {
            hints.push(format!(
                "`{word}` is not a regex flag: the flags are `i`, `m`, `s` and `x` (a regex already finds every match, anywhere)"
            ));
        } else {
            hints.push("a `/` inside a regex is written `\\/`".to_string());
        }
    }
    // A URL cut short by a blank inside what was meant as a placeholder.
    let line_before = &before[line_break::line_start(text, before.len())..];
    let is_request_line = line_before.split_whitespace().next().is_some_and(|word| {
        [
            "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "grpc",
        ]
        .contains(&word)
    });
    if wants(Rule::sep)
        && is_request_line
        && let Some(open) = line_before.rfind("{{")
        && !line_before[open..].contains("}}")
    {
        let line_end = line_break::line_end(text, before.len());
        let rest = &text[before.len()..line_end];
        let written = match rest.find("}}") {
            Some(close) => &text[before.len() - line_before.len() + open..before.len() + close + 2],
            None => "{{",
        };
        hints.push(format!(
            "a URL ends at a blank, and a placeholder's name has none: `{written}` is not a placeholder"
        ));
    }
    // An item that ended early because a brace was never closed: name that brace.
    let at_column_one = offset == 0 || before.ends_with(['\n', '\r']);
    if phrases.iter().any(|p| p.contains("`}`"))
        && (found == "end of file" || at_column_one)
        && let Some(open) = unclosed_brace(before)
    {
        let line = line_break::line_starts(&before[..open]).len();
        hints.push(format!("the `{{` on line {line} is not closed"));
    }
    hints
}

/// The offset of the last `{` in `text` that no `}` closes, outside strings and comments.
fn unclosed_brace(text: &str) -> Option<usize> {
    let mut open: Vec<usize> = Vec::new();
    let mut in_string = false;
    let mut in_comment = false;
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        if in_comment {
            in_comment = c != '\n' && c != '\r';
        } else if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' || c == '\n' || c == '\r' {
                in_string = false;
            }
        } else {
            match c {
                '"' => in_string = true,
                '#' => in_comment = true,
                '{' => open.push(index),
                '}' => {
                    open.pop();
                }
                _ => {}
            }
        }
    }
    open.pop()
}

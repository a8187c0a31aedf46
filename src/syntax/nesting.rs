//! The nesting limit: how many `{ }` and `[ ]` a spec may have open at once.
//!
//! The parser, the checker, the formatter and the matcher all recurse into nested blocks and
//! JSON, so without a limit a deep enough spec overflows the stack and aborts the whole run. At
//! the limit, parsing (the heaviest) needs under 1 MiB of stack in a debug build, half of a
//! runtime worker thread's 2 MiB (a library user may load specs on one); real specs and APIs
//! rarely nest more than a dozen levels.
//!
//! It is enforced twice. [`scan`] reads the raw text before the parser, which recurses too, sees
//! it: a cheap lexical scan that skips strings, regular expressions, comments and `{{name}}`
//! placeholders, as the grammar does. A scan cannot know every token (a `"` inside a URL), so
//! [`check_tree`] then counts the parsed tree's own nesting exactly, before anything else walks it.

use std::sync::Arc;

use pest::iterators::Pairs;

use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span};
use crate::syntax::grammar::Rule;

/// The most `{ }` and `[ ]` open at once, the test's own braces included.
pub const MAX_NESTING: usize = 64;

/// Where a spec opens one level more than [`MAX_NESTING`]: the byte offset of that bracket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep(pub usize);

impl TooDeep {
    /// The spec error, with the caret on the bracket.
    pub fn diagnostic(self, file: &Arc<SourceFile>) -> Diagnostic {
        Diagnostic::error(format!(
            "nested too deeply: at most {MAX_NESTING} levels of `{{ }}` and `[ ]` may be open at once"
        ))
        .at(
            file,
            Span::new(self.0, self.0 + 1),
            format!("level {}", MAX_NESTING + 1),
        )
    }
}

/// Scans the text for a bracket that opens one level too many.
pub fn scan(text: &str) -> Result<(), TooDeep> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    // The byte before the current one, as the grammar sees it: comments and regexes start only
    // after a blank (or an opening bracket, a comma, a colon or an operator, for regexes).
    let mut previous = b'\n';
    // Whether only blanks stand between the current byte and the start of a step (a line, `{` or
    // `;`): URLs and header values are raw text there, whose brackets need not balance.
    let mut step_start = true;
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if step_start
            && byte.is_ascii_alphabetic()
            && let Some(end) = end_of_raw_step(bytes, index)
        {
            index = end;
            previous = b'x';
            step_start = false;
            continue;
        }
        if byte == b'w'
            && previous.is_ascii_whitespace()
            && let Some(end) = end_of_with_option(bytes, index)
        {
            index = end;
            previous = b'x';
            continue;
        }
        match byte {
            b'"' => {
                index = end_of_quoted(bytes, index, b'"');
                previous = b'"';
                step_start = false;
                continue;
            }
            b'/' if previous.is_ascii_whitespace() || b"[{,:~=".contains(&previous) => {
                index = end_of_quoted(bytes, index, b'/');
                previous = b'/';
                step_start = false;
                continue;
            }
            b'#' if previous.is_ascii_whitespace() => {
                index = memchr::memchr(b'\n', &bytes[index..]).map_or(bytes.len(), |n| index + n);
                continue;
            }
            b'{' | b'[' => {
                if let Some(len) = placeholder_len(&bytes[index..]) {
                    index += len;
                    previous = b'}';
                    step_start = false;
                    continue;
                }
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(TooDeep(index));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        step_start = match byte {
            b'\n' | b'{' | b';' => true,
            b' ' | b'\t' | b'\r' => step_start,
            _ => false,
        };
        previous = byte;
        index += 1;
    }
    Ok(())
}

/// The methods whose step is followed by a URL, and `grpc`, whose step starts with one.
const URL_STEPS: [&[u8]; 8] = [
    b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"HEAD", b"OPTIONS", b"grpc",
];

/// At the start of a step whose rest is raw text (a request's URL, a header or metadata value, an
/// authority): the offset just past that text. Its brackets are characters, not nesting.
fn end_of_raw_step(bytes: &[u8], start: usize) -> Option<usize> {
    let (keyword, after) = word(bytes, start)?;
    if URL_STEPS.contains(&keyword) {
        return Some(end_of_bare(bytes, blanks(bytes, after)?, false));
    }
    match keyword {
        b"header" | b"metadata" => header_value_after(bytes, after, &[b":"]),
        b"authority" => Some(end_of_option_value(bytes, blanks(bytes, after)?)),
        b"expect" => {
            let (what, after) = word(bytes, blanks(bytes, after)?)?;
            if !matches!(what, b"header" | b"metadata" | b"trailer") {
                return None;
            }
            header_value_after(bytes, after, &[b"==", b"!=", b"contains"])
        }
        _ => None,
    }
}

/// At `with` (a reconnection's option): the offset just past `with header NAME: VALUE` or
/// `with query NAME=VALUE`.
fn end_of_with_option(bytes: &[u8], start: usize) -> Option<usize> {
    let (keyword, after) = word(bytes, start)?;
    if keyword != b"with" {
        return None;
    }
    let (what, after) = word(bytes, blanks(bytes, after)?)?;
    let separator: &[u8] = match what {
        b"header" => b":",
        b"query" => b"=",
        _ => return None,
    };
    let name_end = skip_while(bytes, blanks(bytes, after)?, |b| {
        b.is_ascii_alphanumeric() || b"-_.[]".contains(&b)
    });
    let value = skip_blanks(bytes, name_end);
    let value = skip_blanks(
        bytes,
        value
            .checked_add(separator.len())
            .filter(|_| bytes[value..].starts_with(separator))?,
    );
    Some(end_of_option_value(bytes, value))
}

/// After a header name's keyword: the name, one of `operators`, and the value's end.
fn header_value_after(bytes: &[u8], after_keyword: usize, operators: &[&[u8]]) -> Option<usize> {
    let name_end = skip_while(bytes, blanks(bytes, after_keyword)?, |b| {
        b.is_ascii_alphanumeric() || b"-_.".contains(&b)
    });
    let operator = skip_blanks(bytes, name_end);
    let length = operators
        .iter()
        .find(|op| bytes[operator..].starts_with(op))?
        .len();
    let value = skip_blanks(bytes, operator + length);
    Some(end_of_header_value(bytes, value))
}

/// The end of a header value: a quoted string, or raw text up to the end of the line, a ` #`
/// comment or a ` -> name` capture.
fn end_of_header_value(bytes: &[u8], start: usize) -> usize {
    if bytes.get(start) == Some(&b'"') {
        return end_of_quoted(bytes, start, b'"');
    }
    let mut index = start;
    while index < bytes.len() && bytes[index] != b'\n' {
        if matches!(bytes[index], b' ' | b'\t') {
            let next = skip_blanks(bytes, index);
            if bytes[next..].starts_with(b"#") || bytes[next..].starts_with(b"->") {
                return index;
            }
            index = next;
            continue;
        }
        index += 1;
    }
    index
}

/// The end of an option's value: a quoted string, or a bare value (see [`end_of_bare`]) that
/// also ends at a `}` closing the test on its line.
fn end_of_option_value(bytes: &[u8], start: usize) -> usize {
    if bytes.get(start) == Some(&b'"') {
        return end_of_quoted(bytes, start, b'"');
    }
    end_of_bare(bytes, start, true)
}

/// The end of a URL or a bare value: the next blank (placeholders may hold blanks), a `;` that
/// ends the step, or with `brace_ends`, a `}` followed by a blank.
fn end_of_bare(bytes: &[u8], start: usize, brace_ends: bool) -> usize {
    let mut index = start;
    while index < bytes.len() {
        if let Some(len) = placeholder_len(&bytes[index..]) {
            index += len;
            continue;
        }
        let byte = bytes[index];
        let ends_here = byte.is_ascii_whitespace()
            || (byte == b';' && ends_step(bytes, index + 1))
            || (brace_ends && byte == b'}' && ends_step(bytes, index + 1));
        if ends_here {
            return index;
        }
        index += 1;
    }
    index
}

/// Whether the byte at `index` ends a step: a blank, a line break or the end of the text.
fn ends_step(bytes: &[u8], index: usize) -> bool {
    bytes.get(index).is_none_or(|b| b.is_ascii_whitespace())
}

/// The word (letters and `_`) at `start` and the offset after it, when one is there.
fn word(bytes: &[u8], start: usize) -> Option<(&[u8], usize)> {
    let end = skip_while(bytes, start, |b| b.is_ascii_alphanumeric() || b == b'_');
    (end > start).then(|| (&bytes[start..end], end))
}

/// The offset after one or more blanks at `start` (none: not a keyword followed by a value).
fn blanks(bytes: &[u8], start: usize) -> Option<usize> {
    let end = skip_blanks(bytes, start);
    (end > start).then_some(end)
}

fn skip_blanks(bytes: &[u8], start: usize) -> usize {
    skip_while(bytes, start, |b| matches!(b, b' ' | b'\t'))
}

fn skip_while(bytes: &[u8], start: usize, keep: impl Fn(u8) -> bool) -> usize {
    start + bytes[start..].iter().take_while(|&&b| keep(b)).count()
}

/// The offset just past a string or regex that opens at `start` with `quote`: at its closing
/// quote, or at the end of the line (neither spans lines). A backslash escapes the next byte.
fn end_of_quoted(bytes: &[u8], start: usize, quote: u8) -> usize {
    let mut index = start + 1;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'\n' => return index,
            byte if byte == quote => return index + 1,
            _ => index += 1,
        }
    }
    bytes.len()
}

/// The length of a `{{name}}` placeholder at the start of `bytes`, blanks allowed inside (it
/// does not span lines).
fn placeholder_len(bytes: &[u8]) -> Option<usize> {
    let rest = bytes.strip_prefix(b"{{")?;
    let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
    let close = line.windows(2).position(|pair| pair == b"}}")?;
    let name = rest[..close].trim_ascii();
    let is_name = !name.is_empty()
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    is_name.then_some(2 + close + 2)
}

/// Counts the nesting of the parsed tree (tests, item blocks, JSON objects and arrays), without
/// recursion, and finds where it first goes past the limit.
pub fn check_tree(pairs: Pairs<'_, Rule>) -> Result<(), TooDeep> {
    // The ends of the levels open around the current pair, innermost last. Pairs come in
    // document order, so a level has closed once a pair starts at or after its end.
    let mut open: Vec<usize> = Vec::new();
    for pair in pairs.flatten() {
        if !matches!(
            pair.as_rule(),
            Rule::test | Rule::block | Rule::object | Rule::array
        ) {
            continue;
        }
        let span = pair.as_span();
        while open.last().is_some_and(|&end| end <= span.start()) {
            open.pop();
        }
        if open.len() == MAX_NESTING {
            return Err(TooDeep(span.start()));
        }
        open.push(span.end());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use pest::Parser;

    use super::*;
    use crate::syntax::grammar::SpecParser;

    fn nested(depth: usize) -> String {
        format!(
            "test \"t\" {{\n  POST http://x/\n  body json {}1{}\n}}\n",
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    }

    #[test]
    fn the_scan_stops_at_the_bracket_that_crosses_the_limit() {
        assert_eq!(scan(&nested(MAX_NESTING)), Ok(()));
        let text = nested(MAX_NESTING + 1);
        let at = text.find('[').map(|first| first + MAX_NESTING - 1);
        assert_eq!(scan(&text).err().map(|e| e.0), at);
    }

    #[test]
    fn the_scan_skips_strings_regexes_comments_and_placeholders() {
        let many = "[".repeat(MAX_NESTING * 2);
        for text in [
            format!("let x = \"{many}\"\n"),
            format!("let x = \"a\\\"{many}\"\n"),
            format!("test \"t\" {{\n  expect header x ~ /{many}/\n}}\n"),
            format!("test \"t\" {{ # {many}\n}}\n"),
            format!("# {many}\n"),
            "{{ base }}".repeat(MAX_NESTING * 2),
        ] {
            assert_eq!(scan(&text), Ok(()), "{text}");
        }
        // Not a comment: `#` right after a bracket; not a placeholder: two braces around JSON.
        assert!(scan(&format!("body json [#{many}")).is_err());
        assert!(scan(&"{{ \"a\": 1 }}".repeat(MAX_NESTING)).is_ok());
        assert!(scan(&format!("{}{}", "{{ \"a\": ".repeat(MAX_NESTING), "1")).is_err());
    }

    #[test]
    fn brackets_in_urls_and_header_values_are_text_not_nesting() {
        // Each test leaves brackets open in raw text; many such tests are still a flat spec.
        let one = concat!(
            "test \"t\" {\n",
            "  GET http://x/a[{?q=[ ; header x-a: [{ # [\n",
            "  GET {{ base }}/a[{ ; timeout 1s\n",
            "  header x-b: \"[\" ; authority a[\n",
            "  reconnect with header last-event-id: {[ with query after[=[{\n",
            "  expect header x-c == [{ -> c\n",
            "  expect trailer x-d contains [\n",
            "  grpc http://x/[ a.B/C\n",
            "}\n",
        );
        let text = one.repeat(MAX_NESTING * 2);
        assert_eq!(scan(&text), Ok(()));
        let file = SourceFile::new("a.stream", text.as_str());
        crate::syntax::parse(&file).unwrap_or_else(|errors| panic!("{errors:?}"));
        // A URL or value ends where the grammar ends it: what follows still counts.
        let after_url = format!("GET http://x/[ ; body json {}", "[".repeat(MAX_NESTING + 1));
        assert!(scan(&after_url).is_err());
        let after_value = format!("header a: \"[\" {}", "[".repeat(MAX_NESTING + 1));
        assert!(scan(&after_value).is_err());
        // Not a step: a word that only looks like a method.
        assert!(scan(&format!("let GET ={}", "[".repeat(MAX_NESTING + 1))).is_err());
    }

    #[test]
    fn the_tree_check_counts_exactly_what_the_grammar_nests() {
        fn parse(text: &str) -> Pairs<'_, Rule> {
            SpecParser::parse(Rule::file, text).unwrap_or_else(|e| panic!("{e}\n{text}"))
        }
        assert_eq!(check_tree(parse(&nested(MAX_NESTING))), Ok(()));
        let text = nested(MAX_NESTING + 1);
        let at = text.find('[').map(|first| first + MAX_NESTING - 1);
        assert_eq!(check_tree(parse(&text)).err().map(|e| e.0), at);
        // A string the scan would take for one (a quote inside a JSONPath's quotes) hides
        // nothing from it.
        let hidden = format!(
            "test \"t\" {{\n  GET http://x/\n  expect ndjson {{ $['\"'] == {}1{} }}\n}}\n",
            "[".repeat(MAX_NESTING),
            "]".repeat(MAX_NESTING)
        );
        assert_eq!(scan(&hidden), Ok(()));
        assert!(check_tree(parse(&hidden)).is_err());
    }

    /// The deepest specs the limit lets through, one per construct that nests.
    fn deepest_specs() -> Vec<String> {
        let levels = MAX_NESTING - 2;
        let block = |entries: String| {
            format!("test \"t\" {{\n  GET http://x/\n  expect ndjson {{\n{entries}\n  }}\n}}\n")
        };
        let nest = |open: &str, inner: &str, close: &str, depth: usize| {
            format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
        };
        vec![
            block(nest("{\"a\": ", "1", "}", levels)),
            block(nest("[", "1", "]", levels)),
            block(nest("exact {\"a\": ", "[1, ...]", "}", levels - 1)),
            block(nest("1 times {\n", "{ \"n\": 1 }", " }", levels - 1)),
            block(nest(
                "2..3 times {\n",
                "any order { [1]; [2] }",
                " }",
                levels - 2,
            )),
            block(nest(
                "until { \"stop\": true } {\n",
                "{ \"n\": 1 }",
                " }",
                levels - 1,
            )),
            format!(
                "test \"t\" {{\n  POST http://x/\n  body json {}\n}}\n",
                nest("{\"a\": ", "1", "}", MAX_NESTING - 1)
            ),
        ]
    }

    #[test]
    fn the_deepest_specs_parse_check_and_format_on_a_worker_threads_stack() {
        // Tokio's worker threads have 2 MiB stacks; a library user may load specs on one.
        let worker = std::thread::Builder::new().stack_size(2 * 1024 * 1024);
        let handle = worker.spawn(|| {
            for text in deepest_specs() {
                let file = SourceFile::new("a.stream", text.as_str());
                let spec = crate::syntax::parse(&file)
                    .unwrap_or_else(|errors| panic!("{errors:?}\n{text}"));
                let problems = crate::check::check(&spec, &Default::default());
                assert!(problems.is_empty(), "{problems:?}\n{text}");
                crate::format::format_source(std::path::Path::new("a.stream"), &text)
                    .unwrap_or_else(|error| panic!("{error:?}\n{text}"));
            }
        });
        handle
            .expect("a thread")
            .join()
            .expect("no stack overflow, no panic");
    }
}

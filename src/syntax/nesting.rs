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
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            b'"' => {
                index = end_of_quoted(bytes, index, b'"');
                previous = b'"';
                continue;
            }
            b'/' if previous.is_ascii_whitespace() || b"[{,:~=".contains(&previous) => {
                index = end_of_quoted(bytes, index, b'/');
                previous = b'/';
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
        previous = byte;
        index += 1;
    }
    Ok(())
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
        // Not a comment: `#` inside a URL; not a placeholder: two braces around JSON.
        assert!(scan(&format!("GET http://x/#{many}")).is_err());
        assert!(scan(&"{{ \"a\": 1 }}".repeat(MAX_NESTING)).is_ok());
        assert!(scan(&format!("{}{}", "{{ \"a\": ".repeat(MAX_NESTING), "1")).is_err());
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
        // A string the scan would take for one (it starts inside a URL) hides nothing from it.
        let hidden = format!(
            "test \"t\" {{\n  GET http://x/\" ; expect ndjson {{ {}1{} }}\n}}\n",
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

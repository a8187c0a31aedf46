//! Parsing `.stream` text into the AST: the pest grammar, user-facing syntax errors, and lowering.

pub mod errors;
pub mod grammar;
pub mod lower;
pub mod nesting;

use std::sync::Arc;

use pest::Parser;

use crate::ast::Spec;
use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;
use grammar::{Rule, SpecParser};

/// Parses one spec file, reporting every problem: a syntax error stops the parser, so after one
/// each top-level `test` and `let` is parsed again on its own, to find the errors in the others.
/// Semantic problems found while lowering are all reported.
pub fn parse(file: &Arc<SourceFile>) -> Result<Spec, Vec<Diagnostic>> {
    // The parser recurses into nested brackets: too deep a file is refused before it is parsed.
    nesting::scan(&file.text).map_err(|too_deep| vec![too_deep.diagnostic(file)])?;
    // Detailed attempts let errors name the tokens that were expected, and suggest keywords.
    pest::set_error_detail(true);
    let pairs = match SpecParser::parse(Rule::file, &file.text) {
        Ok(pairs) => pairs,
        Err(error) => return Err(syntax_errors(file, &error)),
    };
    // Everything after the parser recurses too; the scan is lexical, this count is exact.
    nesting::check_tree(pairs.clone()).map_err(|too_deep| vec![too_deep.diagnostic(file)])?;
    let mut lowerer = lower::Lowerer::new(file);
    let spec = lowerer.file(pairs);
    if lowerer.diagnostics.is_empty() {
        Ok(spec)
    } else {
        Err(lowerer.diagnostics)
    }
}

/// The first syntax error of each top-level item (a line that starts at column 0 with a word).
fn syntax_errors(file: &Arc<SourceFile>, first: &pest::error::Error<Rule>) -> Vec<Diagnostic> {
    let text = &file.text;
    let mut starts: Vec<usize> = Vec::new();
    let mut offset = 0;
    for line in crate::line_break::lines_with_breaks(text) {
        if line.starts_with(|c: char| c.is_alphabetic() || c == '_') {
            starts.push(offset);
        }
        offset += line.len();
    }
    let mut diagnostics = Vec::new();
    for (index, &start) in starts.iter().enumerate() {
        let end = starts.get(index + 1).copied().unwrap_or(text.len());
        // Blank out what comes before the item, keeping line breaks, so offsets stay the same,
        // and cut what follows, so an unclosed item ends where the next one starts. Items start
        // at line starts, so whole characters are replaced, by ASCII spaces.
        let masked: Vec<u8> = text.as_bytes()[..end]
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if i >= start || b == b'\n' || b == b'\r' {
                    b
                } else {
                    b' '
                }
            })
            .collect();
        let Ok(masked) = String::from_utf8(masked) else {
            continue;
        };
        if let Err(error) = SpecParser::parse(Rule::file, &masked) {
            diagnostics.push(errors::syntax_error(file, &error));
        }
    }
    if diagnostics.is_empty() {
        diagnostics.push(errors::syntax_error(file, first));
    }
    diagnostics
}

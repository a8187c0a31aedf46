//! Parsing `.stream` text into the AST: the pest grammar, user-facing syntax errors, and lowering.

pub mod errors;
pub mod grammar;
pub mod lower;

use std::sync::Arc;

use pest::Parser;

use crate::ast::Spec;
use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;
use grammar::{Rule, SpecParser};

/// Parses one spec file. A syntax error stops at the first problem (the parser cannot recover);
/// semantic problems found while lowering are all reported.
pub fn parse(file: &Arc<SourceFile>) -> Result<Spec, Vec<Diagnostic>> {
    // Detailed attempts let errors name the tokens that were expected, and suggest keywords.
    pest::set_error_detail(true);
    let pairs = SpecParser::parse(Rule::file, &file.text)
        .map_err(|error| vec![errors::syntax_error(file, &error)])?;
    let mut lowerer = lower::Lowerer::new(file);
    let spec = lowerer.file(pairs);
    if lowerer.diagnostics.is_empty() {
        Ok(spec)
    } else {
        Err(lowerer.diagnostics)
    }
}

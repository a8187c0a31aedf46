//! The syntax tree of a `.stream` file. Every node carries the span of the text it came from, so
//! parse errors, check errors and test failures can all point at `file:line:col`.
//!
//! The tree is split along the language: steps of a test ([`steps`]), expectations on a
//! response ([`expectations`]), the items of a stream block ([`items`]) and JSON patterns
//! ([`json`]).

// Nodes are built once per spec file; the size difference between variants costs nothing.
#![allow(clippy::large_enum_variant)]

mod expectations;
mod items;
mod json;
mod steps;

pub use expectations::*;
pub use items::*;
pub use json::*;
pub use steps::*;

use std::sync::Arc;
use std::time::Duration;

use regex::Regex;

use crate::source::{SourceFile, Span};

/// A value with the span of the text it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

pub type Ident = Spanned<String>;

/// A parsed spec file.
#[derive(Debug, Clone)]
pub struct Spec {
    pub file: Arc<SourceFile>,
    pub lets: Vec<Let>,
    pub tests: Vec<Test>,
}

/// `let name = "value"`: a file-level variable.
#[derive(Debug, Clone)]
pub struct Let {
    pub name: Ident,
    /// The value as text: numbers and booleans are kept as written.
    pub value: Spanned<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Test {
    pub name: Spanned<String>,
    pub tags: Vec<Ident>,
    pub steps: Vec<Step>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub kind: StepKind,
    pub span: Span,
}

/// Text with `{{name}}` placeholders, resolved when the test runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub text: String,
    /// Where the text came from. For a quoted string, the span includes the quotes.
    pub span: Span,
    /// Offset of `text[0]` in the file, so a placeholder's position can be found for errors.
    pub text_offset: usize,
}

impl Template {
    pub fn has_placeholders(&self) -> bool {
        self.text.contains("{{")
    }
}

//! JSON patterns: JSON values with matchers, captures and variables inside.

// Nodes are built once per spec file; the size difference between variants costs nothing.
#![allow(clippy::large_enum_variant)]

use super::*;

#[derive(Debug, Clone)]
pub struct JsonPattern {
    pub kind: JsonPatternKind,
    pub capture: Option<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum JsonPatternKind {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Template),
    /// Matches an object that has these members (and, when `exact`, no others).
    Object {
        members: Vec<(Spanned<String>, JsonPattern)>,
        exact: bool,
    },
    /// Matches an array of exactly these items, or at least these when `open` (`[a, ...]`).
    Array {
        items: Vec<JsonPattern>,
        open: bool,
    },
    /// `string`, `array`, …; with `len`, a string, array, object or base64 value of that length.
    Type {
        kind: JsonType,
        len: Option<Spanned<NumCond>>,
    },
    Any,
    Regex(RegexLit),
    /// `90..120`, `90..`, `..120`: the bounds kept exact, as [`JsonPatternKind::Number`] is.
    Range(Option<serde_json::Number>, Option<serde_json::Number>),
    /// `< 0`, `!= 5`: the bound kept exact.
    Compare(CmpOp, serde_json::Number),
    /// `"A" * 1000`: the string repeated, to build a large value without pasting it.
    Repeated {
        text: Template,
        times: Spanned<u64>,
    },
    /// `{{name}}` as a whole value: replaced by the variable's value before matching.
    Var(Ident),
    /// A value fixed when the test runs (a resolved `{{name}}`).
    Literal(serde_json::Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    String,
    Number,
    Integer,
    Bool,
    Object,
    Array,
    /// A string in base64, as the proto3 JSON mapping writes `bytes` fields.
    Bytes,
}

impl JsonType {
    pub fn keyword(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Integer => "integer",
            JsonType::Bool => "bool",
            JsonType::Object => "object",
            JsonType::Array => "array",
            JsonType::Bytes => "bytes",
        }
    }

    /// What `len` counts in a value of this type, when it has a length.
    pub fn length_unit(self) -> Option<&'static str> {
        match self {
            JsonType::String => Some("character"),
            JsonType::Array => Some("item"),
            JsonType::Object => Some("key"),
            JsonType::Bytes => Some("byte"),
            JsonType::Number | JsonType::Integer | JsonType::Bool => None,
        }
    }
}

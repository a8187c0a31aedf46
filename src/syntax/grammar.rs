//! The pest parser generated from `grammar/streamspec.pest`.

#[derive(pest_derive::Parser)]
#[grammar = "grammar/streamspec.pest"]
pub struct SpecParser;

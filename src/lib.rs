//! streamspec: declarative tests for streaming APIs (Server-Sent Events, NDJSON, chunked HTTP).
//!
//! A `.stream` file says which stream to open and which items to expect, in which order, within
//! which times, and how the stream ends. This crate parses those files, runs them, and reports a
//! readable diff of expected versus observed items for every failure.

pub mod config;
pub mod demo;
pub mod diagnostic;
pub mod duration;
pub mod interpolate;
pub mod services;
pub mod source;
pub mod style;
pub mod transport;

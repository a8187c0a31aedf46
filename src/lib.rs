//! streamspec: declarative tests for streaming APIs (Server-Sent Events, NDJSON, chunked HTTP).
//!
//! A `.stream` file says which stream to open and which items to expect, in which order, within
//! which times, and how the stream ends. This crate parses those files, runs them, and reports a
//! readable diff of expected versus observed items for every failure.
//!
//! The pipeline: [`syntax`] (pest grammar → [`ast`]) → [`check`] → [`interp`] (which reads
//! [`transport`]s and matches with [`pattern`]) → [`outcome`]s → [`report`]ers.

pub mod app;
pub mod ast;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod diagnostic;
pub mod diff;
pub mod discover;
pub mod duration;
pub mod exit_code;
pub mod interp;
pub mod interpolate;
pub mod outcome;
pub mod pattern;
pub mod project;
pub mod render;
pub mod report;
pub mod runner;
pub mod services;
pub mod source;
pub mod style;
pub mod syntax;
pub mod transport;

//! streamspec: declarative tests for streaming APIs (Server-Sent Events, NDJSON, chunked HTTP).
//!
//! A `.stream` file says which stream to open and which items to expect, in which order, within
//! which times, and how the stream ends. This crate parses those files, runs them, and reports a
//! readable diff of expected versus observed items for every failure.
//!
//! The pipeline: [`syntax`] (pest grammar → [`ast`]) → [`check`] → [`interp`] (which reads
//! [`transport`]s and matches with [`pattern`]) → [`outcome`]s → [`report`]ers; [`runner`]
//! schedules the tests of a run.
//!
//! # Running specs from `cargo test`
//!
//! A Rust service can keep its `.stream` specs next to its code and run them as a test. Start
//! the service (here in the test process, on a free port), give the specs its address, and
//! [`Specs::assert_pass`] panics with every failure — `file:line`, the test's name, and the
//! failure with its diff — unless all pass:
//!
//! ```no_run
//! /// Serves the application (here streamspec's own demo router) on a free loopback port.
//! async fn serve_my_app() -> String {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
//!     let address = listener.local_addr().expect("its address");
//!     tokio::spawn(async move { axum::serve(listener, streamspec::demo::router().into_make_service()).await });
//!     format!("http://{address}")
//! }
//!
//! #[tokio::test(flavor = "multi_thread")]
//! async fn the_streaming_endpoints_meet_their_specs() {
//!     let base = serve_my_app().await; // e.g. "http://127.0.0.1:41234"
//!     let report = streamspec::Specs::new("specs")
//!         .var("base", base)
//!         .skip_tag("slow")
//!         .run_async()
//!         .await
//!         .expect("the specs load");
//!     if let Some(failures) = report.failure_message() {
//!         panic!("{failures}");
//!     }
//! }
//!
//! #[test]
//! fn the_specs_pass_against_the_services_of_their_streamspec_toml() {
//!     streamspec::assert_specs_pass("specs");
//! }
//! ```
//!
//! [`run_dir`] returns a [`RunReport`] instead of panicking. Services a `streamspec.toml` starts
//! with `{{streamspec}}` need the streamspec executable: see [`library`] for how it is found.

pub mod app;
pub mod ast;
pub mod atomic_write;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod diagnostic;
pub mod diff;
pub mod discover;
pub mod duration;
pub mod excerpt;
pub mod exit_code;
pub mod format;
pub mod interp;
pub mod interpolate;
pub mod library;
pub mod line_break;
pub mod load;
pub mod open_files;
pub mod outcome;
pub mod output;
pub mod pattern;
pub mod payload;
pub mod project;
pub mod render;
pub mod report;
pub mod runner;
pub mod saturating_time;
pub mod services;
pub mod source;
pub mod spec_file;
pub mod stop_signals;
pub mod style;
pub mod syntax;
pub mod text_diff;
pub mod transport;
pub mod update;

pub use library::{RunError, RunReport, Specs, assert_specs_pass, run_dir};

//! Integration tests of the `streamspec` command line: every test runs the real binary as a
//! subprocess, in a temporary directory holding its spec files, against servers started in this
//! process on 127.0.0.1 (see `servers`), and compares its exact output after redaction (see
//! `support`).

mod big_heads;
mod bundled;
mod commands;
mod composite_ids;
mod content_coding;
mod distinct_and_alternatives;
mod eventsource;
mod failing;
mod fmt;
mod grpc;
mod grpc_schemas;
mod grpc_servers;
mod grpc_status_fields;
mod grpc_wire;
mod json_lines;
mod lengths;
mod limits;
mod line_endings;
mod misbehaving;
mod open_files;
#[path = "../common/optional_tools.rs"]
mod optional_tools;
mod passing;
mod payloads;
mod recording;
mod reports;
mod review;
mod scale;
mod secrets;
mod servers;
mod services;
mod signals;
mod spec_errors;
mod stream_control;
mod support;
#[path = "../common/test_service.rs"]
mod test_service;
mod unique_ids;
mod unwritable;
mod update;
mod update_keeps_constructs;
mod update_writes;

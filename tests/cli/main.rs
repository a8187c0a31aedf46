//! Integration tests of the `streamspec` command line: every test runs the real binary as a
//! subprocess, in a temporary directory holding its spec files, against servers started in this
//! process on 127.0.0.1 (see `servers`), and compares its exact output after redaction (see
//! `support`).

mod big_heads;
mod bundled;
mod commands;
mod composite_ids;
mod content_coding;
mod daemons;
mod distinct_and_alternatives;
mod eventsource;
mod exact_numbers;
mod failing;
mod fmt;
mod grpc;
mod grpc_field_names;
mod grpc_messages;
mod grpc_schemas;
mod grpc_servers;
mod grpc_status_fields;
mod grpc_wire;
mod html_report;
mod http1;
mod json_lines;
mod lengths;
mod limits;
mod line_endings;
mod llm_diffs;
mod load;
mod long_values;
mod many_streams;
mod misbehaving;
mod named_streams;
mod open_files;
#[path = "../common/optional_tools.rs"]
mod optional_tools;
mod passing;
mod payloads;
mod recording;
mod report_figures;
mod report_pipes;
mod report_secrets;
mod reports;
mod review;
mod scale;
mod secrets;
mod secrets_encoded;
mod secrets_names;
mod secrets_update;
mod servers;
mod services;
mod signals;
mod spec_errors;
mod stopped_early;
mod stream_control;
mod support;
#[path = "../common/test_service.rs"]
mod test_service;
mod unique_ids;
mod unwritable;
mod update;
mod update_keeps_constructs;
mod update_reports;
mod update_writes;
mod websocket;
mod websocket_twins;

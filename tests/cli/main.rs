//! Integration tests of the `streamspec` command line: every test runs the real binary as a
//! subprocess, in a temporary directory holding its spec files, against servers started in this
//! process on 127.0.0.1 (see `servers`), and compares its exact output after redaction (see
//! `support`).

mod big_heads;
mod bundled;
mod commands;
mod content_coding;
mod failing;
mod fmt;
mod grpc;
mod grpc_schemas;
mod grpc_servers;
mod grpc_status_fields;
mod grpc_wire;
mod limits;
mod line_endings;
mod misbehaving;
mod open_files;
mod passing;
mod reports;
mod scale;
mod secrets;
mod servers;
mod signals;
mod spec_errors;
mod stream_control;
mod support;
mod unwritable;
mod update;
mod update_writes;

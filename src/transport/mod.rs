//! Transports: open a stream and yield observed items through one "next item" interface.

pub mod content_coding;
pub mod decoder;
pub mod framing;
pub mod grpc;
pub mod h1;
pub mod http;
pub mod item;
pub mod tls;
pub mod ws;

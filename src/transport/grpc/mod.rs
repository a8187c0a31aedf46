//! gRPC transport: calls any method of any server from its schema alone, with requests and
//! replies as JSON in the proto3 mapping.
//!
//! [`channel`] connects to a [`GrpcTarget`]; [`error`] and [`status`] say how things went
//! wrong or ended.

pub mod channel;
pub mod error;
pub mod status;

pub use channel::{GrpcChannel, GrpcTarget, connect};
pub use error::GrpcError;
pub use status::{CallStatus, code_from_name, code_name};

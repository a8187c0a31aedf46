//! gRPC transport: calls any method of any server from its schema alone, with requests and
//! replies as JSON in the proto3 mapping.
//!
//! The steps, one file each: [`channel`] connects to a [`GrpcTarget`]; [`schema`] gets the
//! server's schema (reflection, `.proto` files or a descriptor set; cached per run), of which a
//! call gets what its method reaches (`prune`); [`method`]
//! finds the method a spec names; [`json`] turns request JSON into messages and replies into
//! JSON; [`codec`] lets tonic carry messages known only at run time; `checked` hands tonic
//! every answer through checks: [`frames`] that replies do not end inside a frame,
//! `status_fields` that the status can be read; [`call`] runs a call of any kind; [`error`] and
//! [`status`] say how things went wrong or ended; [`shape`] says what a reply's message type
//! tells a pattern about its JSON.

pub mod call;
pub mod channel;
mod checked;
pub mod codec;
pub mod error;
pub mod frames;
pub mod json;
pub mod method;
mod prune;
mod reflection;
pub mod schema;
pub mod shape;
pub mod status;
mod status_fields;
mod wire;

#[cfg(test)]
mod tests;

pub use call::{Call, Next, start};
pub use channel::{GrpcChannel, GrpcTarget, connect};
pub use error::GrpcError;
pub use json::{message_to_json, request_from_json};
pub use method::{MethodKind, resolve_method, split_method_name};
pub use schema::{Schema, SchemaCache, SchemaSource, list_services, load_schema};
pub use status::{CallStatus, code_from_name, code_name};

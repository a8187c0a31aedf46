//! Transports: open a stream and yield observed items through one "next item" interface.

pub mod framing;
pub mod item;

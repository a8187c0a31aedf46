//! gRPC calls in a test: start the call when its first expectation (or `send`) needs it, feed
//! its replies to blocks, and check its status, metadata and trailers.

use std::time::Instant;

use crate::ast::JsonPattern;
use crate::interp::stream::Next;
use crate::interp::vars::Scope;
use crate::outcome::Failure;

/// A started call, as blocks read it.
pub struct LiveCall {
    origin: Instant,
}

impl LiveCall {
    pub fn origin(&self) -> Instant {
        self.origin
    }

    pub async fn next(&mut self, _deadline: Instant) -> Next {
        Next::TimedOut
    }

    pub fn is_open(&self) -> bool {
        false
    }

    pub fn cancel(&mut self) {}

    pub fn send(&mut self, _message: &JsonPattern, _scope: &Scope) -> Result<(), Failure> {
        Ok(())
    }

    pub fn close(&mut self) {}
}

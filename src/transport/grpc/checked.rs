//! The channel tonic calls through: every answer is checked on its way to tonic, so that what
//! tonic would misread (or panic on) becomes a failure that says what the server did. A reply
//! body's framing is followed (`frames`), and the status fields, in a trailers-only answer's
//! headers or in the trailers, are checked (`status_fields`).

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tonic::codegen::Service;
use tonic::codegen::http::{Request, Response};
use tonic::transport::Channel;
use tonic::transport::channel::ResponseFuture;

use super::frames::FrameCheck;
use super::status_fields::{self, TrailersCheck};

/// A reply body as tonic gets it.
pub(crate) type CheckedBody = TrailersCheck<FrameCheck<tonic::body::Body>>;

/// A failure on the way, the channel's or a check's.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

/// A tonic channel whose answers are checked (see the module documentation); cheap to clone,
/// as the channel is.
#[derive(Clone)]
pub(crate) struct CheckedChannel(pub Channel);

impl Service<Request<tonic::body::Body>> for CheckedChannel {
    type Response = Response<CheckedBody>;
    type Error = BoxError;
    type Future = CheckedResponse;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<tonic::body::Body>) -> CheckedResponse {
        CheckedResponse(self.0.call(request))
    }
}

/// The channel's response, checked.
pub(crate) struct CheckedResponse(ResponseFuture);

impl Future for CheckedResponse {
    type Output = Result<Response<CheckedBody>, BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut response = ready!(Pin::new(&mut self.0).poll(cx))?;
        // A status in the headers is a trailers-only answer's.
        status_fields::check(response.headers_mut())?;
        Poll::Ready(Ok(
            response.map(|body| TrailersCheck::new(FrameCheck::new(body)))
        ))
    }
}

//! What every `stock.StockService` call carries besides its messages:
//!
//! - the initial metadata `x-demo-service: stock`, on every response (failures included: in a
//!   trailers-only response it is among the status's metadata);
//! - when the call succeeds, the trailer `x-demo-calls: N`, N being the number of
//!   `stock.StockService` calls this server has received, this one included (1 for the first).
//!
//! tonic's generated server cannot add trailers to a successful call, so [`Tagged`] serves the
//! six methods itself with `tonic::server::Grpc`, each as a stream of responses that ends with
//! an OK status carrying the trailer (tonic writes a status yielded by the stream as the
//! trailers). A unary answer is a stream of one message there: the same bytes on the wire.
//! Any other path goes to the generated server, which answers `UNIMPLEMENTED`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use futures_util::{Stream, StreamExt};
use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service, http};
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::server::{Grpc, NamedService};
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_prost::ProstCodec;

use super::pb::stock_service_server::{SERVICE_NAME, StockService, StockServiceServer};
use super::service::StockDemo;

/// The initial metadata of every response.
pub const SERVICE_KEY: &str = "x-demo-service";
pub const SERVICE_VALUE: &str = "stock";
/// The trailer of every successful call: the call's number.
pub const CALLS_KEY: &str = "x-demo-calls";

/// `stock.StockService`, served by [`StockDemo`], with the metadata above.
#[derive(Clone)]
pub struct Tagged {
    demo: Arc<StockDemo>,
    generated: StockServiceServer<StockDemo>,
    calls: Arc<AtomicU64>,
}

impl Tagged {
    pub fn new(demo: StockDemo) -> Tagged {
        let demo = Arc::new(demo);
        Tagged {
            generated: StockServiceServer::from_arc(Arc::clone(&demo)),
            demo,
            calls: Arc::default(),
        }
    }
}

impl NamedService for Tagged {
    const NAME: &'static str = SERVICE_NAME;
}

type Answer = Pin<Box<dyn Future<Output = http::Response<Body>> + Send>>;

impl Service<http::Request<Body>> for Tagged {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<http::Response<Body>, Infallible>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let call = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        let method = request
            .uri()
            .path()
            .strip_prefix('/')
            .and_then(|path| path.strip_prefix(SERVICE_NAME))
            .and_then(|path| path.strip_prefix('/'))
            .unwrap_or_default();
        let demo = Arc::clone(&self.demo);
        let answer: Answer = match method {
            "GetQuote" => Box::pin(server_streaming(request, call, move |r| async move {
                demo.get_quote(r).await.map(single)
            })),
            "StreamPrices" => Box::pin(server_streaming(request, call, move |r| async move {
                demo.stream_prices(r).await
            })),
            "SendOrders" => Box::pin(streaming(request, call, move |r| async move {
                demo.send_orders(r).await.map(single)
            })),
            "TradeChat" => Box::pin(streaming(request, call, move |r| async move {
                demo.trade_chat(r).await
            })),
            "FailWith" => Box::pin(server_streaming(request, call, move |r| async move {
                demo.fail_with(r).await.map(single)
            })),
            "Flood" => Box::pin(server_streaming(request, call, move |r| async move {
                demo.flood(r).await
            })),
            _ => {
                let answer = self.generated.call(request);
                Box::pin(async move { answer.await.unwrap_or_else(|never| match never {}) })
            }
        };
        Box::pin(async move {
            let mut response = answer.await;
            response.headers_mut().insert(
                http::HeaderName::from_static(SERVICE_KEY),
                http::HeaderValue::from_static(SERVICE_VALUE),
            );
            Ok(response)
        })
    }
}

/// Serves a call with one request message.
async fn server_streaming<Req, M, S, F, Fut>(
    request: http::Request<Body>,
    call: u64,
    handler: F,
) -> http::Response<Body>
where
    Req: prost::Message + Default + Send + 'static,
    M: prost::Message + Send + 'static,
    S: Stream<Item = Result<M, Status>> + Unpin + Send + 'static,
    F: FnOnce(Request<Req>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Response<S>, Status>> + Send + 'static,
{
    let mut grpc = Grpc::new(ProstCodec::<M, Req>::default());
    grpc.server_streaming(Trailing::new(call, handler), request)
        .await
}

/// Serves a call with a stream of request messages.
async fn streaming<Req, M, S, F, Fut>(
    request: http::Request<Body>,
    call: u64,
    handler: F,
) -> http::Response<Body>
where
    Req: prost::Message + Default + Send + 'static,
    M: prost::Message + Send + 'static,
    S: Stream<Item = Result<M, Status>> + Unpin + Send + 'static,
    F: FnOnce(Request<Streaming<Req>>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Response<S>, Status>> + Send + 'static,
{
    let mut grpc = Grpc::new(ProstCodec::<M, Req>::default());
    grpc.streaming(Trailing::new(call, handler), request).await
}

/// A unary answer as a stream of one message.
type Single<M> = futures_util::stream::Iter<std::option::IntoIter<Result<M, Status>>>;

fn single<M>(response: Response<M>) -> Response<Single<M>> {
    response.map(|message| futures_util::stream::iter(Some(Ok(message))))
}

/// A method handler as the service `Grpc` calls (once), its answer [`Trailed`].
struct Trailing<F> {
    call: u64,
    handler: Option<F>,
}

impl<F> Trailing<F> {
    fn new(call: u64, handler: F) -> Trailing<F> {
        Trailing {
            call,
            handler: Some(handler),
        }
    }
}

impl<Req, S, F, Fut> Service<Request<Req>> for Trailing<F>
where
    F: FnOnce(Request<Req>) -> Fut,
    Fut: Future<Output = Result<Response<S>, Status>> + Send + 'static,
    S: Send + 'static,
{
    type Response = Response<Trailed<S>>;
    type Error = Status;
    type Future = BoxFuture<Response<Trailed<S>>, Status>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Req>) -> Self::Future {
        let call = self.call;
        match self.handler.take() {
            Some(handler) => {
                let answer = handler(request);
                Box::pin(async move {
                    let response = answer.await?;
                    Ok(response.map(|inner| Trailed {
                        inner: Some(inner),
                        call,
                    }))
                })
            }
            None => Box::pin(std::future::ready(Err(Status::internal(
                "the demo called a method handler twice",
            )))),
        }
    }
}

/// A stream of responses that, when it ends well, ends with the OK status carrying
/// `x-demo-calls`; when it fails, the failure is its last item.
pub struct Trailed<S> {
    inner: Option<S>,
    call: u64,
}

impl<S, M> Stream for Trailed<S>
where
    S: Stream<Item = Result<M, Status>> + Unpin,
{
    type Item = Result<M, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let last = match ready!(inner.poll_next_unpin(cx)) {
            Some(Ok(message)) => return Poll::Ready(Some(Ok(message))),
            Some(Err(status)) => status,
            None => {
                let mut trailers = MetadataMap::new();
                trailers.insert(CALLS_KEY, MetadataValue::from(self.call));
                Status::with_metadata(Code::Ok, "", trailers)
            }
        };
        self.inner = None;
        Poll::Ready(Some(Err(last)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            Some(inner) => {
                let (low, high) = inner.size_hint();
                (low.saturating_add(1), high.and_then(|h| h.checked_add(1)))
            }
            None => (0, Some(0)),
        }
    }
}

//! The demo's gRPC service (`streamspec demo --grpc-listen ADDR`): `stock.StockService` from
//! `proto/stock.proto`, over HTTP/2 cleartext (h2c), with server reflection (v1 and v1alpha) so
//! that clients need no `.proto` file. One method per scenario 14–18, plus a flood for the
//! client's throughput benchmark:
//!
//! - `GetQuote`: a known symbol's quote (`market`);
//! - `StreamPrices`: rounds of price updates (`prices`);
//! - `SendOrders`: the summary of a stream of orders (`orders`);
//! - `TradeChat`: an acknowledgement for every chat message, as it arrives (`service`);
//! - `FailWith`: fails with the status asked for (`failure`);
//! - `Flood`: many small updates, as fast as possible (`flood`).
//!
//! Every response has the initial metadata `x-demo-service: stock` and every successful call
//! the trailer `x-demo-calls: N` (`metadata`).

mod failure;
mod flood;
mod market;
mod metadata;
mod orders;
pub mod pb;
mod prices;
mod reflection;
mod service;
#[cfg(test)]
mod tests;

use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;

/// `stock.StockService` and both reflection services, with a call counter of their own (tests
/// serve it in-process on 127.0.0.1:0).
pub fn grpc_router() -> Routes {
    reflection::add(Routes::new(metadata::Tagged::new(service::StockDemo)))
}

/// Serves [`grpc_router`] over h2c until the future is dropped.
pub async fn serve_grpc(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    // As for the HTTP demo: no Nagle delay on small messages.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_routes(grpc_router())
        .serve_with_incoming(incoming)
        .await
        .map_err(std::io::Error::other)
}

//! The bundled demo service (`streamspec demo`): an endpoint for each scenario in scenarios.md,
//! plus misbehaving ones under `/bad/`, so that `specs/` runs out of the box.
//!
//! Every streaming endpoint builds its body as a lazy stream (see `body`), so memory stays flat
//! however many events are asked for, and chunk boundaries are the ones the endpoint chose.

mod body;
mod params;
mod stats;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::routing::get;
use axum::serve::ListenerExt;

/// State shared by the handlers of one router.
#[derive(Clone, Default)]
struct AppState {
    stats: Arc<stats::Stats>,
}

/// Every route, for the router and for the "no such endpoint" answer.
const ENDPOINTS: &str = "\
GET  /health
GET  /stats
";

/// The router with every endpoint (tests serve it in-process on 127.0.0.1:0).
pub fn router() -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/stats", get(stats::handler))
        .fallback(|uri: Uri| async move {
            (
                StatusCode::NOT_FOUND,
                format!(
                    "no endpoint `{}`; the demo serves:\n{ENDPOINTS}",
                    uri.path()
                ),
            )
        })
        .with_state(AppState::default())
}

/// Serves until the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    // Without TCP_NODELAY, Nagle's algorithm can hold a small event back until the previous
    // one is acknowledged, which shows up as jitter in the measured gaps.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router()).await
}

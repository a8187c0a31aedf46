//! stub
use axum::extract::Request;
use axum::response::Response;
pub async fn jsonrpc(request: Request) -> Result<Response, Response> {
    let h = super::upgrade::Handshake::check(request)?;
    Ok(h.accept("jsonrpc", None, |_s| async {}))
}

//! stub
use axum::extract::Request;
use axum::response::Response;
pub async fn graphql(request: Request) -> Result<Response, Response> {
    let h = super::upgrade::Handshake::check(request)?;
    Ok(h.accept("graphql", None, |_s| async {}))
}

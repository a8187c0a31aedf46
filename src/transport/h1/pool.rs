//! Idle HTTP/1.1 connections kept for the next request to the same host and port: a few per
//! host, for a while, each checked before it is used again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::connection::Connection;

/// The most idle connections kept per host and port; more are closed.
const MAX_IDLE_PER_HOST: usize = 64;
/// How long an idle connection is kept; servers commonly close theirs after 5 to 60 seconds.
const MAX_IDLE: Duration = Duration::from_secs(30);

/// Idle connections by `host:port`.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<HashMap<String, Vec<Idle>>>,
}

struct Idle {
    connection: Connection,
    since: Instant,
}

impl Pool {
    /// The most recently used idle connection to `authority` that can still carry a request.
    pub fn take(&self, authority: &str) -> Option<Connection> {
        let mut idle = self.idle.lock().ok()?;
        let kept = idle.get_mut(authority)?;
        let now = Instant::now();
        let mut found = None;
        while let Some(Idle { connection, since }) = kept.pop() {
            if now.saturating_duration_since(since) < MAX_IDLE && connection.is_reusable() {
                found = Some(connection);
                break;
            }
        }
        if kept.is_empty() {
            idle.remove(authority);
        }
        found
    }

    /// Keeps `connection`, whose last response ended at its framing, for the next request to
    /// `authority`.
    pub fn put(&self, authority: &str, connection: Connection) {
        let Ok(mut idle) = self.idle.lock() else {
            return;
        };
        let now = Instant::now();
        let kept = idle.entry(authority.to_string()).or_default();
        kept.retain(|idle| now.saturating_duration_since(idle.since) < MAX_IDLE);
        if kept.len() < MAX_IDLE_PER_HOST {
            kept.push(Idle {
                connection,
                since: now,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn a_connection_comes_back_for_its_host_only_while_it_is_open() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let authority = format!("127.0.0.1:{port}");
        let pool = Pool::default();
        assert!(pool.take(&authority).is_none());

        pool.put(
            &authority,
            Connection::connect("127.0.0.1", port).await.unwrap(),
        );
        let (server, _) = listener.accept().await.unwrap();
        assert!(pool.take("127.0.0.1:1").is_none());
        let connection = pool.take(&authority).expect("the idle connection");
        assert!(pool.take(&authority).is_none());

        pool.put(&authority, connection);
        drop(server);
        // The close reaches the client's socket in a moment; bounded.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let Some(connection) = pool.take(&authority) else {
                break;
            };
            assert!(
                Instant::now() < deadline,
                "the closed connection was reused"
            );
            pool.put(&authority, connection);
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn at_most_a_few_connections_wait_per_host() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let authority = format!("127.0.0.1:{port}");
        let pool = Pool::default();
        for _ in 0..MAX_IDLE_PER_HOST + 1 {
            pool.put(
                &authority,
                Connection::connect("127.0.0.1", port).await.unwrap(),
            );
        }
        let kept = pool.idle.lock().unwrap()[&authority].len();
        assert_eq!(kept, MAX_IDLE_PER_HOST);
    }
}

//! The server for the barrier part of `benches/many_streams.sh`: it notes when each request
//! arrives, so the script can tell how close together the requests that branches send right
//! after a barrier really leave (the barrier's own report says when the branches woke, not when
//! their requests went out).
//!
//!   cargo bench --bench arrival_server
//!
//! `POST /arrive/{group}` answers `200 ok` and notes the time its head was read, under `group`
//! (a test's `{{test_id}}`: one group per run of the test). Prints the port once it listens, and
//! serves until its standard input closes; then prints one line per group, in the order their
//! first requests came: `GROUP REQUESTS SPREAD_US`, the spread being from the first arrival to
//! the last, in microseconds.
//!
//! The time is taken in the handler, after the server read and parsed the request head on its
//! own (multi-threaded) runtime: the spread it gives is the departure spread plus the server's
//! own scheduling, an upper bound.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;

/// The arrival times of each group, and the order groups first came in.
#[derive(Default)]
struct Arrivals {
    groups: HashMap<String, Vec<Instant>>,
    order: Vec<String>,
}

type Shared = Arc<Mutex<Arrivals>>;

async fn arrive(State(arrivals): State<Shared>, Path(group): Path<String>) -> &'static str {
    let now = Instant::now();
    let mut arrivals = arrivals.lock().unwrap_or_else(|p| p.into_inner());
    if !arrivals.groups.contains_key(&group) {
        arrivals.order.push(group.clone());
    }
    arrivals.groups.entry(group).or_default().push(now);
    "ok"
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let arrivals = Shared::default();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let port = listener.local_addr().expect("an address").port();
        let app = Router::new()
            .route("/arrive/{group}", post(arrive))
            .with_state(Arc::clone(&arrivals));
        tokio::spawn(async move { axum::serve(listener, app).await });
        println!("{port}");
        // Until the script closes our standard input (or ends).
        tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        })
        .await
        .expect("stdin read");
    });
    let arrivals = arrivals.lock().unwrap_or_else(|p| p.into_inner());
    for group in &arrivals.order {
        let times = &arrivals.groups[group];
        let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else {
            continue;
        };
        println!(
            "{group} {} {}",
            times.len(),
            last.duration_since(*first).as_micros()
        );
    }
}

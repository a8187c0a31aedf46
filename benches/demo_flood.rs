//! Throughput of the demo's `/sse/flood` endpoint, read end to end with reqwest over loopback.
//!
//! Run with `cargo bench --bench demo_flood` (a release build); `FLOOD_COUNT` sets the number of
//! events (default 2,000,000). Prints events/s and MB/s. Not a statistical benchmark: a check
//! that the endpoint stays well above a million events a second.

use std::time::Instant;

use streamspec::demo;

fn main() {
    let count: u64 = std::env::var("FLOOD_COUNT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(count));
}

async fn run(count: u64) {
    // reqwest's rustls build needs a crypto provider installed even for plain http.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("the bound address");
    tokio::spawn(demo::serve(listener));

    let started = Instant::now();
    let mut response = reqwest::get(format!("http://{addr}/sse/flood?count={count}"))
        .await
        .expect("a response");
    let (mut bytes, mut events, mut chunks) = (0u64, 0u64, 0u64);
    // An event ends at a blank line; remember the last byte so a "\n\n" split across two chunks
    // still counts.
    let mut last = 0u8;
    while let Some(chunk) = response.chunk().await.expect("the body") {
        chunks += 1;
        bytes += chunk.len() as u64;
        if last == b'\n' && chunk.first() == Some(&b'\n') {
            events += 1;
        }
        events += memchr::memmem::find_iter(&chunk, b"\n\n").count() as u64;
        last = chunk.last().copied().unwrap_or(last);
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(events, count, "every event arrives");
    println!(
        "/sse/flood: {events} events, {bytes} bytes in {chunks} chunks, {seconds:.3} s: \
         {:.2} M events/s, {:.0} MB/s",
        events as f64 / seconds / 1e6,
        bytes as f64 / seconds / 1e6,
    );
}

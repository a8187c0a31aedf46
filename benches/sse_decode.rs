//! Micro benchmark of `SseDecoder` alone: small events (`id: N\ndata: {"seq":N}\n\n`) pushed in
//! 64 KiB reads, timed with `Instant` (no harness, no extra dependency). Prints events/s.
//!
//! Run with `cargo bench --bench sse_decode`; set `SSE_BENCH_EVENTS` to change the count.

use std::hint::black_box;
use std::time::Instant;

use streamspec::transport::framing::Framer;
use streamspec::transport::framing::sse::SseDecoder;

const CHUNK: usize = 64 * 1024;

fn main() {
    let events: u64 = std::env::var("SSE_BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000_000);
    let mut stream = Vec::with_capacity(events as usize * 40);
    for n in 0..events {
        stream.extend_from_slice(format!("id: {n}\ndata: {{\"seq\":{n}}}\n\n").as_bytes());
    }

    let mut best = f64::INFINITY;
    for round in 1..=5 {
        let start = Instant::now();
        let mut decoder = SseDecoder::default();
        let mut count = 0u64;
        let mut data_bytes = 0usize;
        for chunk in stream.chunks(CHUNK) {
            decoder.push(chunk);
            while let Some(event) = decoder.next_item().expect("benchmark stream is valid") {
                data_bytes += event.data.len();
                black_box(&event);
                count += 1;
            }
        }
        let finished = decoder.finish().expect("benchmark stream is valid");
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(count, events);
        assert_eq!(finished.discarded_bytes, 0);
        assert_eq!(decoder.last_event_id(), (events - 1).to_string());
        black_box(data_bytes);
        best = best.min(secs);
        println!(
            "round {round}: {count} events, {:.1} MB in {:.3} s: {:.2} M events/s, {:.0} ns/event, {:.0} MB/s",
            stream.len() as f64 / 1e6,
            secs,
            count as f64 / secs / 1e6,
            secs * 1e9 / count as f64,
            stream.len() as f64 / secs / 1e6,
        );
    }
    println!(
        "best: {:.2} M events/s ({:.0} ns/event)",
        events as f64 / best / 1e6,
        best * 1e9 / events as f64
    );
}

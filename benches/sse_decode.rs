//! Micro benchmark of `SseDecoder` alone: small events (`id: N\ndata: {"seq":N}\n\n`) pushed in
//! 64 KiB reads, timed with `Instant` and with the thread's CPU clock (no harness, no extra
//! dependency). Prints events/s and CPU ns per event; on a shared machine the CPU figure is the
//! steadier one.
//!
//! Run with `cargo bench --bench sse_decode`; set `SSE_BENCH_EVENTS` to change the count.

use std::hint::black_box;
use std::time::{Duration, Instant};

use streamspec::transport::framing::Framer;
use streamspec::transport::framing::sse::SseDecoder;

const CHUNK: usize = 64 * 1024;

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write to; the clock id is a constant libc defines.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "the thread CPU clock is readable");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

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
    let mut best_cpu = f64::INFINITY;
    for round in 1..=5 {
        let start = Instant::now();
        let cpu_start = thread_cpu();
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
        let cpu = (thread_cpu() - cpu_start).as_secs_f64();
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(count, events);
        assert_eq!(finished.discarded_bytes, 0);
        assert_eq!(decoder.last_event_id(), (events - 1).to_string());
        black_box(data_bytes);
        best = best.min(secs);
        best_cpu = best_cpu.min(cpu);
        println!(
            "round {round}: {count} events, {:.1} MB in {:.3} s: {:.2} M events/s, {:.0} ns/event, {:.0} MB/s; CPU {:.0} ns/event",
            stream.len() as f64 / 1e6,
            secs,
            count as f64 / secs / 1e6,
            secs * 1e9 / count as f64,
            stream.len() as f64 / secs / 1e6,
            cpu * 1e9 / count as f64,
        );
    }
    println!(
        "best: {:.2} M events/s ({:.0} ns/event), CPU {:.0} ns/event",
        events as f64 / best / 1e6,
        best * 1e9 / events as f64,
        best_cpu * 1e9 / events as f64,
    );
}

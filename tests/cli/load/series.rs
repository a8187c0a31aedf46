//! The load's 1-second time series files each latency in the second it was measured: a ttfb
//! and a first item when they come, each gap as its item arrives, not when the iteration ends;
//! and every latency the run's totals count is in exactly one second.

use std::collections::BTreeMap;

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;

use crate::servers;
use crate::support::Test;

/// The latencies the series gives per second, as the JSON report names them.
const SERIES_METRICS: [&str; 3] = ["ttfb", "first_item", "gap"];

/// A second's or the total's histogram, from the JSON report's encoding.
fn decoded(encoded: &serde_json::Value) -> Histogram<u64> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_str().expect("a histogram is a string"))
        .expect("base64");
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .expect("a histogram")
}

/// How many values each metric's histograms hold, over every second of the series.
fn counted_in_the_series(report: &serde_json::Value) -> BTreeMap<&'static str, u64> {
    let mut counted = BTreeMap::new();
    for second in report["series"].as_array().expect("a series") {
        for metric in SERIES_METRICS {
            let histogram = &second["histograms"][metric];
            let count = if histogram.is_null() {
                0
            } else {
                decoded(histogram).len()
            };
            *counted.entry(metric).or_default() += count;
        }
    }
    counted
}

fn json_report(output: &crate::support::Output) -> serde_json::Value {
    assert_eq!(
        output.status,
        Some(0),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    serde_json::from_str(&output.stdout).expect("a JSON report")
}

#[test]
fn every_latency_of_the_totals_is_in_exactly_one_second_of_the_series() {
    // Streams that end, streams the run's end cuts off, a plain request (ttfb only), a whole
    // body, and a gRPC call whose replies after the block are drained by `expect status`: each
    // counts once in the totals and once in the series, whenever it was measured.
    let output = Test::new()
        .spec(
            "mixed.stream",
            r#"
            test "short streams" {
              GET {{base}}/health
              expect status 200
              GET {{base}}/sse/ticker?count=6&interval=30ms
              expect sse { + times { data: json { "count": integer } }; end }
            }

            test "a subscription longer than the run" {
              threshold max gap < 30s
              GET {{base}}/sse/ticker?count=100000&interval=40ms
              expect sse { + times { data: json { "count": integer } }; end }
            }

            test "a whole body" {
              GET {{base}}/stats
              expect json _
            }

            test "prices" {
              grpc {{grpc}} stock.StockService/StreamPrices
              message { "symbols": ["AAPL"], "ticks": 6, "intervalMs": 20 }
              expect messages { 2 times { { "tick": number } } }
              expect status OK
            }
            "#,
        )
        .var("base", servers::demo())
        .var("grpc", servers::grpc_demo())
        .args(["load", "mixed.stream", "--users", "8", "--duration", "3s"])
        .args(["--graceful-stop", "100ms", "--format", "json"])
        .kill_after(std::time::Duration::from_secs(90))
        .run_unchecked();
    let report = json_report(&output);
    let total = &report["total"];
    assert!(
        total["counts"]["interrupted"].as_u64() >= Some(1),
        "the run's end cut streams off: {}",
        total["counts"]
    );
    assert!(
        total["counts"]["iterations"].as_u64() >= Some(3),
        "{}",
        total["counts"]
    );
    let counted = counted_in_the_series(&report);
    for metric in SERIES_METRICS {
        let in_totals = total["metrics"][metric]["count"].as_u64().unwrap_or(0);
        assert!(in_totals > 0, "{metric}: {}", total["metrics"]);
        assert_eq!(
            counted[metric], in_totals,
            "{metric}: the series counts {} values, the totals {in_totals}",
            counted[metric]
        );
    }
}

#[test]
fn seconds_before_any_iteration_ended_show_the_latencies_measured_in_them() {
    // Every stream outlasts the run: no iteration ends before the run's end cuts them all off.
    // Yet each second already measured gaps (an item every 100ms), and the heads and first
    // items came in the first seconds: the series shows them there, not in a lump at the end.
    // One user reads an SSE stream, the other a gRPC call (whose head the call times).
    let output = Test::new()
        .spec(
            "soak.stream",
            r#"
            test "subscription" {
              threshold max gap < 30s
              GET {{base}}/sse/ticker?count=100000&interval=100ms
              expect sse { + times { data: json { "count": integer } }; end }
            }

            test "prices" {
              threshold max gap < 30s
              grpc {{grpc}} stock.StockService/StreamPrices
              message { "symbols": ["AAPL"], "ticks": 100000, "intervalMs": 100 }
              expect messages { + times { { "tick": number } }; end }
            }
            "#,
        )
        .var("base", servers::demo())
        .var("grpc", servers::grpc_demo())
        .args(["load", "soak.stream", "--users", "2", "--duration", "4s"])
        .args(["--graceful-stop", "100ms", "--format", "json"])
        .kill_after(std::time::Duration::from_secs(90))
        .run_unchecked();
    let report = json_report(&output);
    assert_eq!(
        report["total"]["counts"]["interrupted"], 2,
        "{}",
        report["total"]["counts"]
    );
    let series = report["series"].as_array().expect("a series");
    // The last second is the one the run ended in; those before it ended no iteration.
    let (_, before_the_end) = series.split_last().expect("seconds");
    assert!(before_the_end.len() >= 3, "{series:?}");
    for (index, second) in before_the_end.iter().enumerate() {
        assert_eq!(second["iterations"], 0, "second {index}: {second}");
    }
    // A second or more after the start, every second has measured gaps of about 100ms (bounds
    // wide for a busy machine).
    for (index, second) in before_the_end.iter().enumerate().skip(1) {
        let p50 = second["gap_p50_ms"].as_f64();
        assert!(
            p50.is_some_and(|p50| (20.0..=2000.0).contains(&p50)),
            "second {index}: {second}"
        );
        assert!(
            second["gap_p99_ms"].as_f64().is_some(),
            "second {index}: {second}"
        );
    }
    // Both streams' first items and heads came before the end.
    let firsts: u64 = before_the_end
        .iter()
        .filter(|second| !second["histograms"]["first_item"].is_null())
        .map(|second| decoded(&second["histograms"]["first_item"]).len())
        .sum();
    assert_eq!(firsts, 2, "{series:?}");
    let heads: u64 = before_the_end
        .iter()
        .filter(|second| !second["histograms"]["ttfb"].is_null())
        .map(|second| decoded(&second["histograms"]["ttfb"]).len())
        .sum();
    assert_eq!(heads, 2, "{series:?}");
}

//! The ceiling for `benches/grpc_flood.sh`: a plain tonic client (the generated
//! `StockServiceClient`, default `Endpoint` settings) that calls `stock.StockService/Flood` on a
//! running demo, decodes every reply into the prost `PriceUpdate`, counts them and checks the
//! last tick, and matches nothing. Prints the count and the seconds from before the connect to
//! the status, so the script can set it beside `streamspec run` on the same server.
//!
//!   cargo bench --bench grpc_flood_client -- http://127.0.0.1:PORT COUNT
//!
//! Uses the same runtime as `streamspec run` (tokio's multi-thread, a worker per core).

use std::time::Instant;

use streamspec::demo::grpc::pb::FloodRequest;
use streamspec::demo::grpc::pb::stock_service_client::StockServiceClient;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench` to every bench target; take the arguments that are ours.
    let args: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [url, count] = args.as_slice() else {
        eprintln!("usage: grpc_flood_client http://HOST:PORT COUNT");
        std::process::exit(2);
    };
    let url = url.to_string();
    let count: u32 = count.parse().expect("COUNT is a number");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (received, seconds) = runtime.block_on(flood(url, count));
    println!("{received} {seconds:.6}");
}

async fn flood(url: String, count: u32) -> (u64, f64) {
    let started = Instant::now();
    let mut client = StockServiceClient::connect(url)
        .await
        .expect("a connection to the demo's gRPC port");
    let mut stream = client
        .flood(FloodRequest { count })
        .await
        .expect("a flood")
        .into_inner();
    let (mut received, mut last_tick) = (0u64, 0u32);
    while let Some(update) = stream.message().await.expect("an update") {
        received += 1;
        last_tick = update.tick;
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(received, u64::from(count), "every update arrives");
    assert_eq!(last_tick, count, "the last update is the last tick");
    (received, seconds)
}

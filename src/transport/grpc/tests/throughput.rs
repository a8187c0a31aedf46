//! The client's throughput against generated code, measured by hand.

use super::*;

/// `cargo test --release --lib grpc::tests::throughput -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand in release"]
async fn throughput() {
    const COUNT: u32 = 1_000_000;
    let server = serve(Reflection::None).await;
    let channel = server.channel().await;
    let flood = method("stock.StockService/Flood");

    let far = Instant::now() + Duration::from_secs(600);
    let started = Instant::now();
    let mut call = start(&channel, &flood, vec![], None, usize::MAX).expect("starts");
    call.send(message(&flood, json!({"count": COUNT})), far)
        .await
        .expect("sends");
    call.close();
    let mut received = 0u32;
    loop {
        match call.next(far).await.expect("reads") {
            Next::Message { json, .. } => {
                received += 1;
                std::hint::black_box(json);
            }
            Next::End { status, .. } => {
                assert!(status.is_ok());
                break;
            }
            Next::TimedOut => panic!("timed out"),
        }
    }
    let dynamic = started.elapsed();
    assert_eq!(received, COUNT);

    let plain = tonic::transport::Endpoint::from_shared(format!("http://{}", server.address))
        .expect("endpoint")
        .connect()
        .await
        .expect("connects");
    let started = Instant::now();
    let mut grpc = tonic::client::Grpc::new(plain);
    grpc.ready().await.expect("ready");
    let response = grpc
        .server_streaming(
            Request::new(pb::FloodRequest { count: COUNT }),
            tonic::codegen::http::uri::PathAndQuery::from_static("/stock.StockService/Flood"),
            tonic_prost::ProstCodec::<pb::FloodRequest, pb::PriceUpdate>::default(),
        )
        .await
        .expect("answers");
    let mut updates = response.into_inner();
    let mut received = 0u32;
    while let Some(update) = updates.message().await.expect("reads") {
        received += 1;
        std::hint::black_box(update);
    }
    let generated = started.elapsed();
    assert_eq!(received, COUNT);

    // The JSON step alone, both ways, on one decoded update.
    let update = prost::Message::encode_to_vec(&pb::PriceUpdate {
        symbol: "ACME".to_string(),
        tick: 7,
        price: 101.25,
        timestamp: 1_700_000_000_007,
    });
    let output = flood.output();
    let convert = |to_json: fn(&prost_reflect::DynamicMessage) -> Result<Value, GrpcError>| {
        let started = Instant::now();
        for _ in 0..COUNT {
            let message = prost_reflect::DynamicMessage::decode(output.clone(), update.as_slice())
                .expect("decodes");
            std::hint::black_box(to_json(&message).expect("writes"));
        }
        started.elapsed()
    };
    let walked = convert(message_to_json);
    let serde = convert(json::message_to_json_serde);

    let rate = |elapsed: Duration| f64::from(COUNT) / elapsed.as_secs_f64();
    println!(
        "decode + JSON alone: field walk {:.0} msg/s, serde {:.0} msg/s",
        rate(walked),
        rate(serde)
    );
    println!(
        "Call::next → JSON: {:.0} msg/s ({:?}); generated prost: {:.0} msg/s ({:?}); ratio {:.2}",
        rate(dynamic),
        dynamic,
        rate(generated),
        generated,
        rate(dynamic) / rate(generated)
    );
}

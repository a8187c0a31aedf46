//! Requests from JSON and replies to JSON.

use super::*;

#[test]
fn request_json_errors_name_the_field() {
    let pool = compiled_pool();
    let order = pool.get_message_by_name("stock.Order").expect("Order");
    let prices = pool
        .get_message_by_name("stock.PriceRequest")
        .expect("PriceRequest");
    let error = |message: &prost_reflect::MessageDescriptor, value: Value| {
        request_from_json(message, &value)
            .expect_err("fails")
            .to_string()
    };
    assert_eq!(
        error(&order, json!({"quantity": "ten"})),
        "field `quantity`: expected an integer, found \"ten\""
    );
    assert_eq!(
        error(&order, json!({"quantiy": 3})),
        "no field `quantiy` in `stock.Order`; did you mean `quantity`?"
    );
    assert_eq!(
        error(&order, json!({"colour": 3})),
        "no field `colour` in `stock.Order` (its fields: `symbol`, `quantity`, `price`, `side`)"
    );
    assert_eq!(
        error(&order, json!({"side": "SEL"})),
        "field `side`: no value `SEL` in enum `stock.Side`; did you mean `SELL`?"
    );
    assert_eq!(
        error(&order, json!({"quantity": 3_000_000_000u64})),
        "field `quantity`: 3000000000 is out of range for int32"
    );
    assert_eq!(
        error(&order, json!({"price": true})),
        "field `price`: expected a number, found true"
    );
    assert_eq!(
        error(&order, json!([1, 2])),
        "expected an object (a `stock.Order`), found an array"
    );
    assert_eq!(
        error(&prices, json!({"symbols": "ACME"})),
        "field `symbols`: expected an array, found \"ACME\""
    );
    assert_eq!(
        error(&prices, json!({"symbols": ["ACME", 7]})),
        "field `symbols[1]`: expected a string, found 7"
    );
    // Both spellings of a name, numbers as strings, enums by number, null as the default.
    for fits in [
        json!({"interval_ms": 5, "intervalMs": 5}),
        json!({"ticks": "3", "symbols": null}),
    ] {
        request_from_json(&prices, &fits).expect("fits");
    }
    request_from_json(&order, &json!({"side": 1, "quantity": 2.0})).expect("fits");
}

#[test]
fn replies_are_written_with_defaults_and_64_bit_integers_as_strings() {
    let pool = compiled_pool();
    let update = pool
        .get_message_by_name("stock.PriceUpdate")
        .expect("PriceUpdate");
    let empty = prost_reflect::DynamicMessage::new(update.clone());
    assert_eq!(
        message_to_json(&empty).expect("writes"),
        json!({"symbol": "", "tick": 0, "price": 0.0, "timestamp": "0"})
    );
    let summary = pool
        .get_message_by_name("stock.OrderSummary")
        .expect("OrderSummary");
    let value = json!({"orders": 2, "totalQuantity": "9007199254740993", "symbols": ["A"]});
    let message = request_from_json(&summary, &value).expect("fits");
    assert_eq!(
        message_to_json(&message).expect("writes"),
        json!({"orders": 2, "totalQuantity": "9007199254740993", "totalValue": 0.0, "symbols": ["A"]})
    );
}

#[test]
fn the_field_walk_writes_the_same_json_as_serde() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rich = write_rich_protos(dir.path());
    let pool = schema::compile_protos(&[rich], &[]).expect("compiles");
    let everything = pool
        .get_message_by_name("rich.Everything")
        .expect("Everything");
    let full = json!({
        "counts": {"a": 1, "b": "-9007199254740993"},
        "partsById": {"7": {"label": "x", "colour": "GREEN"}, "-1": {}},
        "blob": "aGVsbG8=",
        "colours": ["RED", "GREEN", 7],
        "part": {"label": "p"},
        "note": "",
        "id": "18446744073709551615",
        "at": "2024-01-01T00:00:00.5Z",
        "ratio": "NaN",
        "big": "-Infinity",
        "max": "18446744073709551615",
        "negative": -5,
        "flags": [true, false],
    });
    for value in [
        full,
        json!({}),
        // A float exact in binary: serde widens floats, the walk writes their shortest form.
        json!({"name": "n", "blob": "YQ==", "ratio": 0.5, "big": 1e300}),
        json!({"blob": "YWI=", "ratio": "Infinity"}),
    ] {
        let message = request_from_json(&everything, &value).expect("fits");
        let walked = message_to_json(&message).expect("writes");
        let serde = json::message_to_json_serde(&message).expect("writes");
        assert_eq!(walked, serde, "for {value}");
    }
    let message = request_from_json(&everything, &json!({"blob": "aGVsbG8="})).expect("fits");
    assert_eq!(
        message_to_json(&message).expect("writes")["blob"],
        "aGVsbG8="
    );
}

#[test]
fn floats_are_written_in_their_shortest_form_as_f32() {
    let dir = tempfile::tempdir().expect("temp dir");
    let proto = dir.path().join("floats.proto");
    std::fs::write(
        &proto,
        r#"syntax = "proto3";
package floats;
import "google/protobuf/wrappers.proto";
message Floats {
  float one = 1;
  repeated float many = 2;
  map<string, float> by_name = 3;
  google.protobuf.FloatValue wrapped = 4;
  double wide = 5;
}
"#,
    )
    .expect("writes");
    let pool = schema::compile_protos(&[proto], &[]).expect("compiles");
    let floats = pool.get_message_by_name("floats.Floats").expect("Floats");
    let message = request_from_json(
        &floats,
        &json!({
            "one": 0.1,
            "many": [0.1, 1.5, 3.4028234663852886e38, -2.5e-7, 16777217],
            "byName": {"a": 0.3},
            "wrapped": 0.1,
            "wide": 0.1,
        }),
    )
    .expect("fits");
    let written = message_to_json(&message).expect("writes");
    // As grpcurl prints them: the shortest text that reads back as the same f32.
    assert_eq!(
        written.to_string(),
        r#"{"one":0.1,"many":[0.1,1.5,3.4028235e+38,-2.5e-7,16777216.0],"byName":{"a":0.3},"wrapped":0.1,"wide":0.1}"#
    );
}

//! What a call's pool holds of its schema: what its method reaches (see `prune`), and no more;
//! everything when the method reaches `google.protobuf.Any`.

use super::*;

/// The schema of `.proto` files (`(name, text)`), the first being the one given, the others its
/// imports.
fn schema_of(files: &[(&str, &str)]) -> Arc<Schema> {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("writes");
    }
    let protos = [dir.path().join(files[0].0)];
    Arc::new(schema::proto_schema(&protos, &[]).expect("compiles"))
}

/// The full names of the messages (or enums, or extensions) in `method`'s pool, the
/// well-known types left out, sorted.
fn names_in_pool(method: &MethodDescriptor) -> (Vec<String>, Vec<String>, Vec<String>) {
    let pool = method.parent_pool();
    let own = |name: &str| !name.starts_with("google.protobuf.");
    let sorted = |names: Vec<String>| {
        let mut names: Vec<String> = names.into_iter().filter(|n| own(n)).collect();
        names.sort();
        names
    };
    (
        sorted(
            pool.all_messages()
                .map(|m| m.full_name().to_string())
                .collect(),
        ),
        sorted(
            pool.all_enums()
                .map(|e| e.full_name().to_string())
                .collect(),
        ),
        sorted(
            pool.all_extensions()
                .map(|e| e.full_name().to_string())
                .collect(),
        ),
    )
}

#[tokio::test]
async fn a_call_gets_only_the_types_its_method_reaches() {
    let schema = Arc::new(schema::proto_schema(&[stock_proto()], &[]).expect("compiles"));
    let quote = schema
        .method("stock.StockService/GetQuote")
        .await
        .expect("found");
    assert_eq!(
        names_in_pool(&quote),
        (
            vec!["stock.Quote".to_string(), "stock.QuoteRequest".to_string()],
            vec![],
            vec![]
        )
    );
    // The service, with the method called alone.
    let services: Vec<String> = quote
        .parent_pool()
        .services()
        .map(|s| s.full_name().to_string())
        .collect();
    assert_eq!(services, ["stock.StockService"]);
    assert_eq!(quote.parent_service().methods().count(), 1);

    let orders = schema
        .method("stock.StockService/SendOrders")
        .await
        .expect("found");
    assert_eq!(
        names_in_pool(&orders),
        (
            vec!["stock.Order".to_string(), "stock.OrderSummary".to_string()],
            vec!["stock.Side".to_string()],
            vec![]
        )
    );
    // Names that are not there still get their "did you mean", from the whole schema.
    let error = schema
        .method("stock.StockService/GetQuot")
        .await
        .expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "no method `GetQuot` in `stock.StockService`; did you mean `GetQuote`? (its methods: `GetQuote`, `StreamPrices`, `SendOrders`, `TradeChat`, `FailWith`, `Flood`)"
    );
}

const COLOURS_PROTO: &str = r#"
syntax = "proto2";
package colours;
enum Colour { RED = 0; GREEN = 1; }
message Swatch { optional Colour colour = 1; }
message Palette { repeated Swatch swatches = 1; }
"#;

const SHAPES_PROTO: &str = r#"
syntax = "proto2";
package shapes;
import "google/protobuf/descriptor.proto";
import "colours.proto";

// A custom option: an extension of a well-known type, kept with it.
extend google.protobuf.MessageOptions { optional Tag tag = 50000; }
message Tag { optional string text = 1; }

service Shapes {
  rpc Draw(Request) returns (Outer.Reply);
  rpc Other(Unreached) returns (Unreached);
}

message Request {
  option (tag) = { text: "request" };
  map<string, Point> points = 1;
  oneof choice {
    colours.Swatch swatch = 2;
    Mode mode = 3;
  }
  extensions 100 to 200;
}
enum Mode { ON = 0; OFF = 1; }
message Point { optional int32 x = 1; }

// Reply is reached, so Outer is kept whole, Sibling and what it reaches too.
message Outer {
  message Reply { optional int32 n = 1; }
  message Sibling { optional Far far = 1; }
}
message Far { optional string where = 1; }

message Unreached { optional Point point = 1; optional colours.Palette palette = 2; }

// An extension of a type kept: kept, with its type.
message Extra { optional string note = 1; }
extend Request { optional Extra extra = 100; }
"#;

#[tokio::test]
async fn fields_maps_oneofs_nested_types_imports_and_extensions_are_followed() {
    let schema = schema_of(&[
        ("shapes.proto", SHAPES_PROTO),
        ("colours.proto", COLOURS_PROTO),
    ]);
    let draw = schema.method("shapes.Shapes/Draw").await.expect("found");
    let strings = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(
        names_in_pool(&draw),
        (
            strings(&[
                "colours.Swatch",
                "shapes.Extra",
                "shapes.Far",
                "shapes.Outer",
                "shapes.Outer.Reply",
                "shapes.Outer.Sibling",
                "shapes.Point",
                "shapes.Request",
                "shapes.Request.PointsEntry",
                "shapes.Tag",
            ]),
            strings(&["colours.Colour", "shapes.Mode"]),
            strings(&["shapes.extra", "shapes.tag"]),
        )
    );
    // The custom option still reads as one.
    let tag = draw
        .parent_pool()
        .get_extension_by_name("shapes.tag")
        .expect("the option's extension");
    let options = draw.input().options();
    let value = options.get_extension(&tag);
    let text = value
        .as_message()
        .and_then(|tag| tag.get_field_by_name("text"))
        .and_then(|text| text.as_str().map(str::to_string));
    assert_eq!(text.as_deref(), Some("request"));
    // And the request's JSON, extension and all.
    let request = request_from_json(
        &draw.input(),
        &json!({"points": {"a": {"x": 1}}, "swatch": {"colour": "GREEN"}, "[shapes.extra]": {"note": "n"}}),
    )
    .expect("fits");
    assert_eq!(
        json::message_to_json_serde(&request).expect("JSON"),
        json!({"points": {"a": {"x": 1}}, "swatch": {"colour": "GREEN"}, "[shapes.extra]": {"note": "n"}})
    );
    let other = schema.method("shapes.Shapes/Other").await.expect("found");
    assert_eq!(
        names_in_pool(&other).0,
        strings(&[
            "colours.Palette",
            "colours.Swatch",
            "shapes.Point",
            "shapes.Tag",
            "shapes.Unreached"
        ])
    );
}

#[tokio::test]
async fn a_method_that_reaches_any_gets_every_type() {
    let schema = schema_of(&[(
        "anys.proto",
        r#"
        syntax = "proto3";
        package anys;
        import "google/protobuf/any.proto";
        service Anys {
          rpc Wrap(Envelope) returns (Envelope);
          rpc Plain(Detail) returns (Detail);
        }
        message Envelope { google.protobuf.Any payload = 1; }
        message Detail { string note = 1; }
        message Elsewhere { string where = 1; }
        "#,
    )]);
    let wrap = schema.method("anys.Anys/Wrap").await.expect("found");
    assert_eq!(
        names_in_pool(&wrap).0,
        ["anys.Detail", "anys.Elsewhere", "anys.Envelope"]
    );
    let plain = schema.method("anys.Anys/Plain").await.expect("found");
    assert_eq!(names_in_pool(&plain).0, ["anys.Detail"]);
}

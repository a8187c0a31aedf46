//! Finding the method a spec names, and its kind.

use super::*;

#[test]
fn unknown_services_and_methods_get_a_did_you_mean() {
    let pool = compiled_pool();
    let error = resolve_method(&pool, "stock.StockServce/GetQuote").expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "unknown service `stock.StockServce`; did you mean `stock.StockService`?"
    );
    let error = resolve_method(&pool, "StockService/GetQuote").expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "unknown service `StockService`; did you mean `stock.StockService`?"
    );
    let error = resolve_method(&pool, "weather.Forecasts/Get").expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "unknown service `weather.Forecasts`; the schema has `stock.StockService`"
    );
    let error = resolve_method(&pool, "stock.StockService/GetQuot").expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "no method `GetQuot` in `stock.StockService`; did you mean `GetQuote`? (its methods: `GetQuote`, `StreamPrices`, `SendOrders`, `TradeChat`, `FailWith`, `Flood`)"
    );
    let error = resolve_method(&pool, "GetQuote").expect_err("bad");
    assert_eq!(
        error.to_string(),
        "`GetQuote` is not a gRPC method: expected `package.Service/Method`"
    );
    assert!(resolve_method(&pool, "/stock.StockService/GetQuote").is_ok());
    assert!(resolve_method(&pool, "stock.StockService.GetQuote").is_ok());
}

#[test]
fn method_kinds() {
    let pool = compiled_pool();
    let kind = |name: &str| MethodKind::of(&resolve_method(&pool, name).expect("exists"));
    assert_eq!(kind("stock.StockService/GetQuote"), MethodKind::Unary);
    assert_eq!(
        kind("stock.StockService/StreamPrices"),
        MethodKind::ServerStreaming
    );
    assert_eq!(
        kind("stock.StockService/SendOrders"),
        MethodKind::ClientStreaming
    );
    assert_eq!(kind("stock.StockService/TradeChat"), MethodKind::Bidi);
    assert!(MethodKind::Bidi.client_streams() && MethodKind::Bidi.server_streams());
}

//! `SendOrders` (scenario 16): the summary of a client's stream of orders.

use futures_util::{Stream, StreamExt};
use tonic::Status;

use super::pb::{Order, OrderSummary};

/// Reads every order and sums them up: how many, their total quantity, their total value
/// (Σ quantity × price) and the distinct symbols in the order first seen. An order whose
/// quantity is not positive fails the call with `INVALID_ARGUMENT` naming its (0-based) index;
/// an error reading the stream ends the call with that error.
pub async fn summarise(
    mut orders: impl Stream<Item = Result<Order, Status>> + Unpin,
) -> Result<OrderSummary, Status> {
    let mut summary = OrderSummary::default();
    let mut index: u64 = 0;
    while let Some(order) = orders.next().await {
        let order = order?;
        if order.quantity <= 0 {
            return Err(Status::invalid_argument(format!(
                "order {index} ({}) has quantity {}: quantities must be positive",
                order.symbol, order.quantity
            )));
        }
        summary.orders = summary.orders.saturating_add(1);
        summary.total_quantity += i64::from(order.quantity);
        summary.total_value += f64::from(order.quantity) * order.price;
        if !summary.symbols.contains(&order.symbol) {
            summary.symbols.push(order.symbol);
        }
        index += 1;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(symbol: &str, quantity: i32, price: f64) -> Result<Order, Status> {
        Ok(Order {
            symbol: symbol.to_string(),
            quantity,
            price,
            side: 0,
        })
    }

    async fn summary_of(orders: Vec<Result<Order, Status>>) -> Result<OrderSummary, Status> {
        summarise(futures_util::stream::iter(orders)).await
    }

    #[tokio::test]
    async fn sums_orders_and_keeps_symbols_in_first_seen_order() {
        let summary = summary_of(vec![
            order("MSFT", 2, 100.0),
            order("AAPL", 3, 110.5),
            order("MSFT", 1, 99.0),
        ])
        .await
        .expect("a summary");
        assert_eq!(summary.orders, 3);
        assert_eq!(summary.total_quantity, 6);
        assert_eq!(summary.total_value, 200.0 + 331.5 + 99.0);
        assert_eq!(summary.symbols, ["MSFT", "AAPL"]);
    }

    #[tokio::test]
    async fn no_orders_make_an_empty_summary() {
        assert_eq!(
            summary_of(vec![]).await.expect("a summary"),
            OrderSummary::default()
        );
    }

    #[tokio::test]
    async fn a_quantity_that_is_not_positive_names_the_order() {
        let status = summary_of(vec![order("AAPL", 1, 100.0), order("GOOG", 0, 100.0)])
            .await
            .expect_err("an error");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "order 1 (GOOG) has quantity 0: quantities must be positive"
        );
    }
}

//! [`StockDemo`]: the demo's implementation of `stock.StockService`. Each method checks its
//! request and hands the work to the module for its concern; the metadata every call carries
//! (`x-demo-service`, `x-demo-calls`) is added around it, in `metadata`.

use tonic::{Request, Response, Status, Streaming};

use super::flood::Flood;
use super::market::{Symbol, unix_millis};
use super::pb::stock_service_server::StockService;
use super::pb::{
    ChatMessage, FailRequest, FloodRequest, Order, OrderSummary, PriceRequest, Quote, QuoteRequest,
};
use super::{failure, orders, prices};

/// The user the desk's chat replies come from.
pub const DESK: &str = "desk";

#[derive(Debug, Default)]
pub struct StockDemo;

pub type Replies = futures_util::stream::Map<
    Streaming<ChatMessage>,
    fn(Result<ChatMessage, Status>) -> Result<ChatMessage, Status>,
>;

#[tonic::async_trait]
impl StockService for StockDemo {
    /// A known symbol's quote; `NOT_FOUND` for an unknown one, `INVALID_ARGUMENT` for none.
    async fn get_quote(&self, request: Request<QuoteRequest>) -> Result<Response<Quote>, Status> {
        let name = request.into_inner().symbol;
        if name.is_empty() {
            return Err(Status::invalid_argument("symbol is empty"));
        }
        let symbol = Symbol::find(&name)
            .ok_or_else(|| Status::not_found(format!("unknown symbol {name:?}")))?;
        Ok(Response::new(Quote {
            symbol: name,
            price: symbol.quote(),
            timestamp: unix_millis(),
        }))
    }

    type StreamPricesStream = prices::Updates;

    async fn stream_prices(
        &self,
        request: Request<PriceRequest>,
    ) -> Result<Response<Self::StreamPricesStream>, Status> {
        let plan = prices::Plan::new(request.get_ref())?;
        Ok(Response::new(prices::updates(plan)))
    }

    async fn send_orders(
        &self,
        request: Request<Streaming<Order>>,
    ) -> Result<Response<OrderSummary>, Status> {
        let summary = orders::summarise(request.into_inner()).await?;
        Ok(Response::new(summary))
    }

    type TradeChatStream = Replies;

    /// Replies to each message as it arrives; ends (OK) when the client half-closes.
    async fn trade_chat(
        &self,
        request: Request<Streaming<ChatMessage>>,
    ) -> Result<Response<Self::TradeChatStream>, Status> {
        let reply: fn(Result<ChatMessage, Status>) -> Result<ChatMessage, Status> = |message| {
            message.map(|message| ChatMessage {
                user: DESK.to_string(),
                message: format!("ack: {}", message.message),
                timestamp: unix_millis(),
            })
        };
        Ok(Response::new(futures_util::StreamExt::map(
            request.into_inner(),
            reply,
        )))
    }

    async fn fail_with(&self, request: Request<FailRequest>) -> Result<Response<Quote>, Status> {
        Err(failure::requested(request.get_ref()))
    }

    type FloodStream = Flood;

    async fn flood(
        &self,
        request: Request<FloodRequest>,
    ) -> Result<Response<Self::FloodStream>, Status> {
        Ok(Response::new(Flood::new(request.get_ref().count)))
    }
}

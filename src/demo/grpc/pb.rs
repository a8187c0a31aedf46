//! The code generated from `proto/stock.proto` by `build.rs` (messages, the `StockService`
//! server trait and a client), and the encoded descriptor set the reflection service serves.

tonic::include_proto!("stock");

/// `proto/stock.proto` compiled by protox: an encoded `google.protobuf.FileDescriptorSet`.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/stock_descriptor.bin"));

//! Generates the demo gRPC service's Rust code from `proto/stock.proto`, compiled with protox
//! (pure Rust: no protoc needed), and writes the descriptor set its reflection service serves.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/stock.proto");
    let descriptors = protox::compile(["proto/stock.proto"], ["proto"])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("stock_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}

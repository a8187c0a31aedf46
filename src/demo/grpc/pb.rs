//! The code generated from `proto/stock.proto` (messages, the `StockService` server trait and a
//! client), and the encoded descriptor set the reflection service serves.
//!
//! Both are generated once and kept in the repository rather than by a build script, which would
//! make every build, release ones included, compile the code generator and protox a second time
//! (see "The two commands" in the README). The test below regenerates them and fails when they
//! differ from what `proto/stock.proto` gives; with `STREAMSPEC_REGENERATE=1` it writes them.

include!("stock.generated.rs");

/// `proto/stock.proto` compiled by protox: an encoded `google.protobuf.FileDescriptorSet`.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!("stock_descriptor.bin");

#[cfg(test)]
mod tests {
    /// The generated files, from the crate's root.
    const CODE: &str = "src/demo/grpc/stock.generated.rs";
    const DESCRIPTORS: &str = "src/demo/grpc/stock_descriptor.bin";

    #[test]
    fn the_generated_code_is_what_the_proto_gives() {
        // Tests run in the crate's root, where paths are as a build script's were.
        let descriptors = protox::compile(["proto/stock.proto"], ["proto"])
            .unwrap_or_else(|error| panic!("proto/stock.proto does not compile: {error:?}"));
        let encoded = prost::Message::encode_to_vec(&descriptors);
        let out = tempfile::tempdir().expect("a temporary directory");
        tonic_prost_build::configure()
            .build_client(true)
            .out_dir(out.path())
            .compile_fds(descriptors)
            .expect("the code generator runs");
        let code = std::fs::read_to_string(out.path().join("stock.rs")).expect("generated code");
        if std::env::var_os("STREAMSPEC_REGENERATE").is_some() {
            std::fs::write(CODE, &code).expect("write the generated code");
            std::fs::write(DESCRIPTORS, &encoded).expect("write the descriptor set");
            return;
        }
        let stale = [
            (CODE, code != include_str!("stock.generated.rs")),
            (DESCRIPTORS, encoded != super::FILE_DESCRIPTOR_SET),
        ];
        let stale: Vec<&str> = stale
            .iter()
            .filter(|(_, differs)| *differs)
            .map(|(path, _)| *path)
            .collect();
        assert!(
            stale.is_empty(),
            "out of date with proto/stock.proto: {}; regenerate with \
             `STREAMSPEC_REGENERATE=1 cargo test --lib demo::grpc::pb` and commit",
            stale.join(", ")
        );
    }
}

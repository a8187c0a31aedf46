//! The `streamspec` binary: everything happens in the library; this only exits with its code.

/// mimalloc rather than the system's allocator: a test holding a thousand streams open takes
/// a fifth less memory per stream with it (benches/many_streams.sh), as buffers hyper sets
/// aside for each connection and leaves mostly unwritten are never made resident.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let code = streamspec::app::main();
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}

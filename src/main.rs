//! The `streamspec` binary: everything happens in the library; this only exits with its code.

/// mimalloc rather than the system's allocator: buffers hyper sets aside for each `https://`
/// connection and leaves mostly unwritten are never made resident (a fifth less memory per
/// stream over hyper); an open `http://` stream, on streamspec's own client, which keeps no
/// such buffers, takes 8 KB with it and 9 KB without (benches/many_streams.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let code = streamspec::app::main();
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}

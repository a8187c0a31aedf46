//! The `streamspec` binary: everything happens in the library; this only exits with its code.

fn main() -> std::process::ExitCode {
    let code = streamspec::app::main();
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}

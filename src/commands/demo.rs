//! `streamspec demo`: serves the bundled demo service until interrupted.

use crate::cli::DemoArgs;
use crate::exit_code;

pub async fn demo(args: &DemoArgs) -> i32 {
    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {}: {error}", args.listen);
            return exit_code::SETUP_FAILED;
        }
    };
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| args.listen.clone());
    println!("streamspec demo listening on http://{address}");
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                eprintln!("error: cannot watch for SIGTERM: {error}");
                return exit_code::SETUP_FAILED;
            }
        };
    tokio::select! {
        result = crate::demo::serve(listener) => match result {
            Ok(()) => exit_code::SUCCESS,
            Err(error) => {
                eprintln!("error: the demo service stopped: {error}");
                exit_code::SETUP_FAILED
            }
        },
        _ = tokio::signal::ctrl_c() => exit_code::SUCCESS,
        _ = terminate.recv() => exit_code::SUCCESS,
    }
}

//! `streamspec demo`: serves the bundled demo service until interrupted, HTTP on `--listen` and
//! gRPC on `--grpc-listen`. Both listeners are bound before either address is announced, so a
//! client that read the announcement can connect to both.

use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::DemoArgs;
use crate::exit_code;
use crate::output::{errln, outln};

pub async fn demo(args: &DemoArgs) -> i32 {
    // Listening for signals starts before the address is announced: one sent by whoever read
    // the announcement must not be missed.
    let (mut interrupt, mut terminate) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(interrupt), Ok(terminate)) => (interrupt, terminate),
        (Err(error), _) | (_, Err(error)) => {
            errln!("error: cannot watch for Ctrl-C and SIGTERM: {error}");
            return exit_code::SETUP_FAILED;
        }
    };
    let Some(http) = bind(&args.listen).await else {
        return exit_code::SETUP_FAILED;
    };
    let grpc = match &args.grpc_listen {
        Some(address) => match bind(address).await {
            Some(listener) => Some(listener),
            None => return exit_code::SETUP_FAILED,
        },
        // The default address may well be taken (by another demo, say): that is no reason to
        // refuse the HTTP demo someone asked for.
        None => match crate::demo::bind(DemoArgs::DEFAULT_GRPC_LISTEN).await {
            Ok(listener) => Some(listener),
            Err(error) => {
                errln!(
                    "warning: not serving gRPC: cannot listen on {}: {error} \
                     (choose an address with --grpc-listen)",
                    DemoArgs::DEFAULT_GRPC_LISTEN
                );
                None
            }
        },
    };
    outln!(
        "streamspec demo listening on http://{}",
        local_address(&http, &args.listen)
    );
    if let Some(grpc) = &grpc {
        let fallback = args
            .grpc_listen
            .as_deref()
            .unwrap_or(DemoArgs::DEFAULT_GRPC_LISTEN);
        outln!(
            "streamspec demo gRPC on http://{}",
            local_address(grpc, fallback)
        );
    }
    let serve_grpc = async move {
        match grpc {
            Some(listener) => crate::demo::grpc::serve_grpc(listener).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        result = crate::demo::serve(http) => stopped("", result),
        result = serve_grpc => stopped("gRPC ", result),
        _ = interrupt.recv() => exit_code::SUCCESS,
        _ = terminate.recv() => exit_code::SUCCESS,
    }
}

async fn bind(address: &str) -> Option<TcpListener> {
    match crate::demo::bind(address).await {
        Ok(listener) => Some(listener),
        Err(error) => {
            errln!("error: cannot listen on {address}: {error}");
            None
        }
    }
}

/// The address `listener` is bound to (the port chosen, for port 0), or else the one asked for.
fn local_address(listener: &TcpListener, asked: &str) -> String {
    listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| asked.to_string())
}

fn stopped(what: &str, result: std::io::Result<()>) -> i32 {
    match result {
        Ok(()) => exit_code::SUCCESS,
        Err(error) => {
            errln!("error: the {what}demo service stopped: {error}");
            exit_code::SETUP_FAILED
        }
    }
}

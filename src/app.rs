//! The program: parses the command line and runs the chosen command on a tokio runtime.

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::{commands, exit_code};

/// Runs streamspec with the process's arguments and returns the exit code.
pub fn main() -> i32 {
    // First of all, as Go and k6 do: a run of many tests at once needs many connections.
    crate::open_files::raise_soft_limit();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                exit_code::USAGE_ERROR
            } else {
                exit_code::SUCCESS
            };
        }
    };
    if let Command::Decode(args) = &cli.command {
        return commands::decode::decode(args);
    }
    if let Command::Check(args) = &cli.command {
        return commands::check::check(args);
    }
    if let Command::Completions(args) = &cli.command {
        return commands::completions::completions(args);
    }
    match &cli.command {
        Command::Review(args) => return commands::review::review(args),
        Command::Accept(args) => return commands::review::accept(args),
        Command::Reject(args) => return commands::review::reject(args),
        Command::Fmt(args) => return commands::fmt::fmt(args),
        _ => {}
    }
    // At a very low `ulimit -n` the runtime would fail to start, or panic setting up signals.
    if let Err(message) = crate::open_files::check_runtime_headroom() {
        eprintln!("error: {message}");
        return exit_code::SETUP_FAILED;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return exit_code::SETUP_FAILED;
        }
    };
    runtime.block_on(async {
        match &cli.command {
            Command::Run(args) => commands::run::run(args).await,
            Command::Demo(args) => commands::demo::demo(args).await,
            _ => exit_code::SUCCESS,
        }
    })
}

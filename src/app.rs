//! The program: parses the command line and runs the chosen command on a tokio runtime.

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::output::errln;
use crate::{commands, exit_code};

/// Runs streamspec with the process's arguments and returns the exit code.
pub fn main() -> i32 {
    // First of all, as Go and k6 do: a run of many tests at once needs many connections.
    crate::open_files::raise_soft_limit();
    let code = run_command();
    // Output that did not arrive (a full disk) is an error; a reader that closed the pipe is not.
    match crate::output::finish_stdout() {
        Some(error) if code < 128 => {
            errln!("error: cannot write standard output: {error}");
            exit_code::SETUP_FAILED
        }
        _ => code,
    }
}

fn run_command() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // `--help` and `--version` go to standard output, which could fail as any output.
            let printed = error.print();
            if !error.use_stderr()
                && let Err(failure) = printed
            {
                crate::output::stdout_delivery().record(&failure);
            }
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
        Command::Merge(args) => return commands::merge::merge(args),
        _ => {}
    }
    // At a very low `ulimit -n` the runtime would fail to start, or panic setting up signals.
    if let Err(message) = crate::open_files::check_runtime_headroom() {
        errln!("error: {message}");
        return exit_code::SETUP_FAILED;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            errln!("error: cannot start the async runtime: {error}");
            return exit_code::SETUP_FAILED;
        }
    };
    runtime.block_on(async {
        match &cli.command {
            Command::Run(args) => commands::run::run(args).await,
            Command::Demo(args) => commands::demo::demo(args).await,
            Command::Load(args) => commands::load::load(args).await,
            _ => exit_code::SUCCESS,
        }
    })
}

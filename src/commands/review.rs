//! `streamspec review`, `accept` and `reject`: what to do with the pending updates that
//! `run --update=pending` wrote beside the specs.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use crate::cli::PendingArgs;
use crate::exit_code;
use crate::output::{errln, out, outln};
use crate::spec_file;
use crate::style::Palette;
use crate::update::pending::{self, find_pending, spec_of};

fn pending_files(args: &PendingArgs) -> Result<Vec<std::path::PathBuf>, i32> {
    let paths = if args.paths.is_empty() {
        vec![".".into()]
    } else {
        args.paths.clone()
    };
    find_pending(&paths).map_err(|message| {
        errln!("error: {message}");
        exit_code::USAGE_ERROR
    })
}

/// Accepts every pending update under the paths.
pub fn accept(args: &PendingArgs) -> i32 {
    each_pending(args, "accepted", |path| pending::accept(path).map(|_| ()))
}

/// Rejects every pending update under the paths.
pub fn reject(args: &PendingArgs) -> i32 {
    each_pending(args, "rejected", pending::reject)
}

fn each_pending(
    args: &PendingArgs,
    done: &str,
    action: impl Fn(&Path) -> Result<(), String>,
) -> i32 {
    let files = match pending_files(args) {
        Ok(files) => files,
        Err(code) => return code,
    };
    if files.is_empty() {
        outln!("no pending updates");
        return exit_code::SUCCESS;
    }
    let mut code = exit_code::SUCCESS;
    for file in files {
        match action(&file) {
            Ok(()) => outln!("{done}: {}", file.display()),
            Err(message) => {
                errln!("error: {message}");
                code = exit_code::TEST_FAILED;
            }
        }
    }
    code
}

/// Shows each pending update as a diff against its spec; on a terminal, asks what to do with it.
pub fn review(args: &PendingArgs) -> i32 {
    let files = match pending_files(args) {
        Ok(files) => files,
        Err(code) => return code,
    };
    if files.is_empty() {
        outln!("no pending updates");
        return exit_code::SUCCESS;
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let palette = Palette::for_stdout();
    let mut stdin = std::io::stdin().lock();
    let mut code = exit_code::SUCCESS;
    for file in &files {
        let Some(spec) = spec_of(file) else { continue };
        let read = |path: &Path| {
            let bytes = spec_file::read(path)?;
            String::from_utf8(bytes).map_err(|_| "the file is not valid UTF-8".to_string())
        };
        let old = read(&spec).unwrap_or_default();
        let new = match read(file) {
            Ok(new) => new,
            Err(error) => {
                errln!("error: cannot read `{}`: {error}", file.display());
                code = exit_code::TEST_FAILED;
                continue;
            }
        };
        out!(
            "{}",
            crate::text_diff::unified(
                &old,
                &new,
                &spec.display().to_string(),
                &file.display().to_string(),
                &palette
            )
        );
        if !interactive {
            continue;
        }
        loop {
            out!("accept (a), reject (r) or skip (s)? ");
            let _ = crate::output::stdout().flush();
            let mut answer = String::new();
            if stdin.read_line(&mut answer).unwrap_or(0) == 0 {
                return code;
            }
            let result = match answer.trim() {
                "a" | "accept" => pending::accept(file).map(|_| "accepted"),
                "r" | "reject" => pending::reject(file).map(|()| "rejected"),
                "s" | "skip" => Ok("skipped"),
                _ => continue,
            };
            match result {
                Ok(done) => outln!("{done}: {}", file.display()),
                Err(message) => {
                    errln!("error: {message}");
                    code = exit_code::TEST_FAILED;
                }
            }
            break;
        }
    }
    if !interactive {
        outln!(
            "{} pending: accept with `streamspec accept`, reject with `streamspec reject`",
            crate::report::plural(files.len(), "update")
        );
    }
    code
}

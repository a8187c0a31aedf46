//! `streamspec fmt`: rewrite specs in the canonical layout, or with `--check`, show what would
//! change. A spec that does not parse is reported and left alone.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use similar::TextDiff;

use crate::cli::FmtArgs;
use crate::commands::print_diagnostics;
use crate::diagnostic::Diagnostic;
use crate::discover::discover;
use crate::exit_code;
use crate::format::{FormatError, format_source};

pub fn fmt(args: &FmtArgs) -> i32 {
    let default = [PathBuf::from(".")];
    let paths = if args.paths.is_empty() {
        &default[..]
    } else {
        &args.paths[..]
    };
    let files = match discover(paths) {
        Ok(files) => files,
        Err(message) => {
            print_diagnostics(&[Diagnostic::error(message)]);
            return exit_code::USAGE_ERROR;
        }
    };
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
        print_diagnostics(&[Diagnostic::error(format!(
            "no .stream files found in {}",
            shown.join(", ")
        ))]);
        return exit_code::NO_TESTS;
    }
    let mut failed = false;
    let mut unformatted = false;
    for file in &files {
        match fmt_file(file, args) {
            Ok(changed) => unformatted |= changed,
            Err(diagnostics) => {
                print_diagnostics(&diagnostics);
                failed = true;
            }
        }
    }
    if failed {
        exit_code::USAGE_ERROR
    } else if args.check && unformatted {
        // As for a failed test: the check did not pass.
        exit_code::TEST_FAILED
    } else {
        exit_code::SUCCESS
    }
}

/// Formats one file: writes it (or with `--check`, prints the diff). Returns whether it was not
/// formatted already.
fn fmt_file(file: &Path, args: &FmtArgs) -> Result<bool, Vec<Diagnostic>> {
    // Only the syntax matters here: a variable the run will get from `--secret`, the environment
    // or CI need not be defined to format the file (`streamspec check` checks the rest).
    let cannot_read = |error: String| {
        vec![Diagnostic::error(format!(
            "cannot read `{}`: {error}",
            file.display()
        ))]
    };
    let bytes = crate::spec_file::read(file).map_err(cannot_read)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| cannot_read("the file is not valid UTF-8".to_string()))?;
    let formatted = match format_source(file, &text) {
        Ok(formatted) => formatted,
        Err(FormatError::Invalid(diagnostics)) => return Err(diagnostics),
        Err(FormatError::Unsafe(reason)) => {
            return Err(vec![Diagnostic::error(format!(
                "cannot format `{}`: {reason}; the file is left as it is (this is a bug in \
                 streamspec fmt: please report it)",
                file.display()
            ))]);
        }
    };
    if formatted == text {
        return Ok(false);
    }
    if args.check {
        print_diff(file, &text, &formatted);
    } else {
        write_atomically(file, &formatted).map_err(|error| {
            vec![Diagnostic::error(format!(
                "cannot write `{}`: {error}",
                file.display()
            ))]
        })?;
        println!("formatted {}", file.display());
    }
    Ok(true)
}

fn print_diff(file: &Path, old: &str, new: &str) {
    let name = file.display().to_string();
    let diff = TextDiff::from_lines(old, new);
    let mut stdout = std::io::stdout().lock();
    let _ = write!(
        stdout,
        "{}",
        diff.unified_diff()
            .context_radius(3)
            .header(&name, &format!("{name} (formatted)"))
            .missing_newline_hint(true)
    );
}

fn write_atomically(file: &Path, text: &str) -> std::io::Result<()> {
    crate::atomic_write::write_atomically(file, text, file)
}

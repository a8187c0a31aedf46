//! `streamspec fmt`: rewrite specs in the canonical layout, or with `--check`, show what would
//! change. A spec that does not parse or fails `check` is reported and left alone.

use std::path::{Path, PathBuf};

use crate::cli::FmtArgs;
use crate::commands::print_diagnostics;
use crate::diagnostic::{Diagnostic, Severity};
use crate::discover::discover;
use crate::exit_code;
use crate::format::{FormatError, format_source};
use crate::output::{out, outln};
use crate::source::SourceFile;

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
    // A variable the run will get from `--secret`, the environment or CI need not be defined to
    // format the file; every other error of `streamspec check` leaves it alone.
    // Rewriting holds the file's lock from reading it on, so that a `run --update` of the same
    // file waits rather than being undone.
    let _lock = if args.check {
        None
    } else {
        let lock = crate::atomic_write::lock(file).map_err(|error| {
            vec![Diagnostic::error(format!(
                "cannot lock `{}`: {error}",
                file.display()
            ))]
        })?;
        Some(lock)
    };
    let cannot_read = |error: String| {
        vec![Diagnostic::error(format!(
            "cannot read `{}`: {error}",
            file.display()
        ))]
    };
    let bytes = crate::spec_file::read(file).map_err(cannot_read)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| cannot_read("the file is not valid UTF-8".to_string()))?;
    check_errors(file, &text)?;
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
        outln!("formatted {}", file.display());
    }
    Ok(true)
}

/// The errors `streamspec check` reports for the file, variables aside (any may be set at run
/// time): a spec with one is the user's to fix first, and is left as it is.
fn check_errors(file: &Path, text: &str) -> Result<(), Vec<Diagnostic>> {
    let spec = crate::syntax::parse(&SourceFile::new(file, text))?;
    let errors: Vec<Diagnostic> = crate::check::check_any_vars(&spec)
        .into_iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn print_diff(file: &Path, old: &str, new: &str) {
    let name = file.display().to_string();
    let palette = crate::style::Palette::for_stdout();
    let diff = crate::text_diff::unified(old, new, &name, &format!("{name} (formatted)"), &palette);
    out!("{diff}");
}

fn write_atomically(file: &Path, text: &str) -> std::io::Result<()> {
    crate::atomic_write::write_atomically(file, text, file)
}

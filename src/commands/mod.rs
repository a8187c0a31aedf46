//! The subcommands: each takes its validated arguments and returns an exit code.

pub mod check;
pub mod completions;
pub mod decode;
pub mod demo;
pub mod fmt;
pub mod load;
pub mod load_asks;
pub mod merge;
pub mod review;
pub mod run;

use crate::diagnostic::Diagnostic;
use crate::output::{err, errln};
use crate::report::redact::Secrets;
use crate::style::Palette;

/// The HTTP client and the stop-signal listener of a run or a load, or the exit code after
/// saying why one could not be set up. Signals are caught from here on, before anything is
/// printed or started: one sent in between would end streamspec at once, and a listener made
/// later (at the first poll of a `ctrl_c()` future) would miss it.
pub fn client_and_signals() -> Result<
    (
        crate::transport::http::HttpClient,
        crate::stop_signals::StopSignals,
    ),
    i32,
> {
    let client = crate::transport::http::HttpClient::new().map_err(|message| {
        errln!("error: {message}");
        crate::exit_code::SETUP_FAILED
    })?;
    let signals = crate::stop_signals::StopSignals::listen().map_err(|error| {
        errln!("error: cannot catch Ctrl-C, SIGTERM, SIGHUP and SIGQUIT: {error}");
        crate::exit_code::SETUP_FAILED
    })?;
    Ok((client, signals))
}

/// Prints diagnostics to standard error, and a count when there are several.
pub fn print_diagnostics(diagnostics: &[Diagnostic]) {
    print_redacted_diagnostics(diagnostics, &Secrets::default());
}

/// Prints diagnostics as [`print_diagnostics`] does, with `secrets` masked in them: for what a
/// run prints once it knows its secrets (a service that did not start may have echoed one).
pub fn print_redacted_diagnostics(diagnostics: &[Diagnostic], secrets: &Secrets) {
    let palette = Palette::for_stderr();
    for diagnostic in diagnostics {
        err!("{}", secrets.redact(&diagnostic.render(&palette)));
        if diagnostic.label.is_some() || !diagnostic.notes.is_empty() {
            errln!();
        }
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == crate::diagnostic::Severity::Error)
        .count();
    if errors > 1 {
        errln!("{errors} errors");
    }
}

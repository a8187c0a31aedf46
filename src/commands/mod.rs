//! The subcommands: each takes its validated arguments and returns an exit code.

pub mod check;
pub mod completions;
pub mod decode;
pub mod demo;
pub mod fmt;
pub mod load;
pub mod merge;
pub mod review;
pub mod run;

use crate::diagnostic::Diagnostic;
use crate::output::{err, errln};
use crate::report::redact::Secrets;
use crate::style::Palette;

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

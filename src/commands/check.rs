//! `streamspec check`: parse and statically check specs, reporting every problem; no requests.

use crate::cli::CheckArgs;
use crate::commands::print_diagnostics;
use crate::exit_code;
use crate::output::outln;
use crate::project;
use crate::report::plural;

pub fn check(args: &CheckArgs) -> i32 {
    match project::load(&args.paths, &args.vars.vars) {
        Ok(project) => {
            print_diagnostics(&project.warnings);
            // A `[load]` that asks what its tests do not give fails `load` before it starts:
            // found here first, as a spec's errors are.
            let mut load_problems = crate::commands::load_asks::config_problems(&project);
            load_problems.extend(crate::commands::load_asks::spec_problems(&project));
            if !load_problems.is_empty() {
                print_diagnostics(&load_problems);
                return exit_code::USAGE_ERROR;
            }
            let verdict = match project.warnings.len() {
                0 => "no problems".to_string(),
                n => plural(n, "warning"),
            };
            outln!(
                "checked {} in {}: {verdict}",
                plural(project.test_count(), "test"),
                plural(project.file_count, "file")
            );
            exit_code::SUCCESS
        }
        Err(error) => {
            print_diagnostics(&error.diagnostics);
            error.exit_code
        }
    }
}

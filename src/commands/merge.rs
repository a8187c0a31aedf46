//! `streamspec merge`: reads the JSON reports of a load's instances, merges them exactly (see
//! [`crate::load::merge`]), prints the summary and returns what the thresholds decide.

use std::path::PathBuf;

use crate::cli::MergeArgs;
use crate::exit_code;
use crate::load::json::LoadReport;
use crate::load::thresholds::Threshold;
use crate::output::errln;
use crate::report::redact::Secrets;

pub fn merge(args: &MergeArgs) -> i32 {
    let inputs: Vec<&std::path::Path> = args.reports.iter().map(PathBuf::as_path).collect();
    let outputs =
        super::load::report_files(args.report_json.as_deref(), args.report_html.as_deref());
    if let Err(message) =
        crate::report::paths::check_distinct(&outputs, &inputs, "one of the reports to merge")
    {
        errln!("error: {message}");
        return exit_code::SETUP_FAILED;
    }
    let mut reports = Vec::new();
    for path in &args.reports {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                errln!("error: cannot read {shown}: {error}");
                return exit_code::USAGE_ERROR;
            }
        };
        match serde_json::from_str::<LoadReport>(&text) {
            Ok(report) => reports.push((shown, report)),
            Err(error) => {
                errln!(
                    "error: {shown} is not a load report (`streamspec load --report-json`): {error}"
                );
                return exit_code::USAGE_ERROR;
            }
        }
    }
    let mut thresholds = Vec::new();
    for text in &args.thresholds {
        match Threshold::parse(text) {
            Ok(threshold) => thresholds.push(threshold),
            Err(message) => {
                errln!("error: --threshold: {message}");
                return exit_code::USAGE_ERROR;
            }
        }
    }
    let given = (!args.thresholds.is_empty()).then_some(thresholds.as_slice());
    let merged = match crate::load::merge::merge(&reports, given) {
        Ok(merged) => merged,
        Err(message) => {
            errln!("error: {message}");
            return exit_code::USAGE_ERROR;
        }
    };
    // On standard error too: the JSON on standard output is read by scripts, and not by people.
    for warning in &merged.warnings {
        errln!("warning: {warning}");
    }
    if args.format == crate::cli::LoadFormat::Human {
        // The files as given are in the JSON report; here, which parts (a few of many).
        let mut instances: Vec<String> = reports
            .iter()
            .take(8)
            .map(|(_, report)| report.instance.to_string())
            .collect();
        if reports.len() > instances.len() {
            instances.push("…".to_string());
        }
        crate::output::out!(
            "{}merged from {} (instances {})\n",
            crate::load::summary::header(merged.tests.len(), &merged.profile, merged.instance),
            crate::report::plural(reports.len(), "report"),
            instances.join(", ")
        );
    }
    let mut merged = merged;
    let code = super::load::print_report(
        &mut merged,
        args.format,
        args.report_json.as_deref(),
        &Secrets::default(),
    );
    crate::report::html::load::write_for(
        &merged,
        args.report_html.as_deref(),
        &Secrets::default(),
        code,
    )
}

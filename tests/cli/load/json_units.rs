//! The units of the JSON report are in the report: each metric's histogram says the unit it was
//! recorded in, and the report says the unit of its durations. `merge` still reads reports
//! written before these fields were added.

use super::COUNTS;
use crate::servers;
use crate::support::Test;

fn part(k: u32) -> serde_json::Value {
    let output = Test::new()
        .spec("counts.stream", COUNTS)
        .var("base", servers::demo())
        .args(["load", "counts.stream", "--users", "2", "--iterations", "4"])
        .args(["--instance", &format!("{k}/2"), "--format", "json"])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    serde_json::from_str(&output.stdout).expect("a JSON report")
}

#[test]
fn every_histogram_and_duration_names_its_unit() {
    let report = part(1);
    assert_eq!(report["duration_unit"], "ms", "{report}");
    let metrics = &report["total"]["metrics"];
    for (metric, shown, recorded) in [
        ("ttfb", "ms", "us"),
        ("gap", "ms", "us"),
        ("items", "count", "count"),
        ("iteration", "ms", "us"),
    ] {
        assert_eq!(
            metrics[metric]["unit"], shown,
            "{metric}: {}",
            metrics[metric]
        );
        assert_eq!(
            metrics[metric]["histogram_unit"], recorded,
            "{metric}: {}",
            metrics[metric]
        );
    }
}

#[test]
fn merge_reads_reports_written_before_the_units_were_named() {
    let test = Test::new();
    let dir = test.path().to_path_buf();
    let mut merge = test.args(["merge", "--format", "json"]);
    for k in 1..=2 {
        let mut report = part(k);
        // The previous shape: no unit fields.
        let object = report.as_object_mut().expect("an object");
        object.remove("duration_unit");
        let mut tests = vec![object["total"].take()];
        tests.extend(object["tests"].as_array().expect("tests").iter().cloned());
        for test in &mut tests {
            for metric in test["metrics"]
                .as_object_mut()
                .expect("metrics")
                .values_mut()
            {
                metric
                    .as_object_mut()
                    .expect("a metric")
                    .remove("histogram_unit");
            }
        }
        object["total"] = tests.remove(0);
        object["tests"] = serde_json::Value::Array(tests);
        let file = dir.join(format!("part-{k}.json"));
        std::fs::write(&file, report.to_string()).expect("written");
        merge = merge.args([file.to_str().expect("a UTF-8 path")]);
    }
    let output = merge.run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let merged: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    assert_eq!(merged["duration_unit"], "ms");
    assert_eq!(merged["total"]["metrics"]["ttfb"]["histogram_unit"], "us");
    assert_eq!(merged["total"]["counts"]["iterations"], 4);
}

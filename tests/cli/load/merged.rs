//! `streamspec merge` of instance reports that sampled the services their instance started:
//! each instance's service is its own process, shown under its instance; one that could not be
//! sampled is said to be, with why.

use super::COUNTS;
use crate::servers;
use crate::support::Test;

#[test]
fn each_instance_s_service_is_shown_under_its_instance() {
    let test = Test::new();
    let dir = test.path().to_path_buf();
    let mut reports = Vec::new();
    for (k, cpu, rss) in [(1, 4.0, 14_700_000u64), (2, 10.0, 21_000_000)] {
        let output = Test::new()
            .spec("counts.stream", COUNTS)
            .var("base", servers::demo())
            .args(["load", "counts.stream", "--users", "2", "--iterations", "4"])
            .args(["--instance", &format!("{k}/2"), "--format", "json"])
            .run_unchecked();
        assert_eq!(output.status, Some(0), "{}", output.stderr);
        let mut report: serde_json::Value =
            serde_json::from_str(&output.stdout).expect("a JSON report");
        // What an instance that started `demo` from its streamspec.toml samples.
        report["services"] = serde_json::json!([{
            "name": "demo",
            "instance": null,
            "samples": [
                { "t": 1, "cpu_percent": cpu, "rss_bytes": rss },
                { "t": 2, "cpu_percent": cpu / 2.0, "rss_bytes": rss / 2 },
            ],
        }]);
        let file = dir.join(format!("part-{k}.json"));
        std::fs::write(&file, report.to_string()).expect("written");
        reports.push(file);
    }
    let mut merge = test.args(["merge"]);
    for file in &reports {
        merge = merge.args([file.to_str().expect("a UTF-8 path")]);
    }
    let output = merge.run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    assert!(
        output.stdout.contains(
            "\nservice demo (instance 1/2): CPU mean 3% · max 4% · memory max 14.7 MB\n\nservice demo (instance 2/2): CPU mean 8% · max 10% · memory max 21.0 MB\n"
        ),
        "{}",
        output.stdout
    );
}

#[test]
fn a_service_that_could_not_be_sampled_is_said_to_be_and_why() {
    let test = Test::new();
    let dir = test.path().to_path_buf();
    let mut reports = Vec::new();
    // Instance 1's could not read /proc for want of files; instance 2's report is of a
    // streamspec that did not say why.
    let whys = [
        Some("the open-file limit (ulimit -n 200) was reached"),
        None,
    ];
    for (k, why) in [(1, whys[0]), (2, whys[1])] {
        let output = Test::new()
            .spec("counts.stream", COUNTS)
            .var("base", servers::demo())
            .args(["load", "counts.stream", "--users", "2", "--iterations", "4"])
            .args(["--instance", &format!("{k}/2"), "--format", "json"])
            .run_unchecked();
        assert_eq!(output.status, Some(0), "{}", output.stderr);
        let mut report: serde_json::Value =
            serde_json::from_str(&output.stdout).expect("a JSON report");
        report["services"] =
            serde_json::json!([{ "name": "demo", "instance": null, "samples": [] }]);
        if let Some(why) = why {
            report["services"][0]["not_sampled"] = serde_json::json!(why);
        }
        let file = dir.join(format!("part-{k}.json"));
        std::fs::write(&file, report.to_string()).expect("written");
        reports.push(file);
    }
    let mut merge = test.args(["merge", "--report-html", "merged.html"]);
    for file in &reports {
        merge = merge.args([file.to_str().expect("a UTF-8 path")]);
    }
    let output = merge.run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    assert!(
        output.stdout.contains(
            "\nservice demo (instance 1/2): not sampled (the open-file limit (ulimit -n 200) was reached)\n\nservice demo (instance 2/2): not sampled\n"
        ),
        "{}",
        output.stdout
    );
    let page = std::fs::read_to_string(output.dir.path().join("merged.html")).expect("the page");
    for note in [
        "<p class=\"note warning\">service demo (instance 1/2): not sampled (the open-file limit (ulimit -n 200) was reached)</p>",
        "<p class=\"note warning\">service demo (instance 2/2): not sampled</p>",
    ] {
        assert!(page.contains(note), "{note} not in:\n{page}");
    }
}

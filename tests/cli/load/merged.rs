//! `streamspec merge` of instance reports that sampled the services their instance started:
//! each instance's service is its own process, shown under its instance.

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

//! The min, max and mean of a load's figures are the values recorded, not their histogram
//! buckets': a flood of exactly 20,000 items a stream reads 20,000 at most, passes
//! `max items <= 20000`, and the parts of a load merge into the same exact figures.

use super::redacted;
use crate::servers;
use crate::support::Test;

/// Every stream has exactly 20,000 items: a count a histogram of three significant digits
/// keeps in a bucket of 16 (20,000–20,015).
const FLOOD: &str = r#"
test "flood" {
  GET {{base}}/sse/flood?count=20000
  expect status 200
  expect sse {
    + times { data: _ }
    end
  }
}
"#;

/// Iteration N's stream has 20,000 + N items: eight iterations fall in one bucket of 16.
const ONE_BUCKET: &str = r#"
test "one bucket" {
  GET {{base}}/sse/flood?count=2000{{iteration}}
  expect status 200
  expect sse {
    + times { data: _ }
    end
  }
}
"#;

fn flood() -> Test {
    Test::new()
        .spec("flood.stream", FLOOD)
        .var("base", servers::demo())
        .args(["load", "flood.stream", "--users", "4", "--iterations", "8"])
}

#[test]
fn a_flood_of_exactly_20000_items_a_stream_passes_max_items_at_most_20000() {
    redacted(flood().args([
        "--threshold",
        "max items <= 20000",
        "--threshold",
        "mean items <= 20000",
        "--threshold",
        "p50 items <= 20000",
    ]))
    .stdout(
        "load: 1 test · closed model: 4 users, 8 iterations at most
ran [T] · 8 iterations ([RATE]) · 8 passed · 0 failed · goodput [RATE]

flood.stream: flood        p50       p90       p95       p99     p99.9       max
  connect [figures]
  ttfb [figures]
  first item [figures]
  gap [figures]
  stream duration [figures]
  items per stream       20000     20000     20000     20000     20000     20000
  iteration [figures]
  8 iterations · 8 passed · 0 failed · 8 streams · 160,000 items · 0 reconnections

load generator: [N]

thresholds
  ✓ max items <= 20000      20000  margin 0
  ✓ mean items <= 20000     20000  margin 0
  ✓ p50 items <= 20000      20000  margin 0
  ✓ failures < 1 (implied)      0  margin 0
  (implied: no threshold says how many iterations may fail; `failures < 1%` would allow some)
",
    )
    .run();
}

#[test]
fn the_json_report_gives_the_exact_min_mean_and_max_and_percentiles_within_them() {
    let output = flood().args(["--format", "json"]).run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    for figures in [&report["total"], &report["tests"][0]] {
        let items = &figures["metrics"]["items"];
        for stat in ["min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"] {
            assert_eq!(items[stat], 20000.0, "items {stat}: {items}");
        }
        assert_eq!(items["count"], 8, "{items}");
    }
}

/// The reports of a load's two instances, written into `dir`.
fn parts(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    (1..=2)
        .map(|k| {
            let file = dir.join(format!("part-{k}.json"));
            let output = Test::new()
                .spec("bucket.stream", ONE_BUCKET)
                .var("base", servers::demo())
                .args(["load", "bucket.stream", "--users", "2", "--iterations", "8"])
                .args(["--instance", &format!("{k}/2"), "--format", "json"])
                .args(["--report-json", file.to_str().expect("a UTF-8 path")])
                .run_unchecked();
            assert_eq!(output.status, Some(0), "{}", output.stderr);
            file
        })
        .collect()
}

#[test]
fn merged_reports_give_the_exact_min_mean_and_max_of_the_whole_load() {
    let test = Test::new();
    let dir = test.path().to_path_buf();
    let mut merge = test.args(["merge", "--format", "json"]);
    for file in parts(&dir) {
        merge = merge.args([file.to_str().expect("a UTF-8 path")]);
    }
    let output = merge.run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let merged: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    for figures in [&merged["total"], &merged["tests"][0]] {
        let items = &figures["metrics"]["items"];
        // Iterations 1 to 8 of the whole load: 20,001 to 20,008 items.
        assert_eq!(items["count"], 8, "{items}");
        assert_eq!(items["min"], 20001.0, "{items}");
        assert_eq!(items["max"], 20008.0, "{items}");
        assert_eq!(items["mean"], 20004.5, "{items}");
        // The histogram's bucket of 16 holds all eight: its percentiles, within the extremes.
        for stat in ["p50", "p90", "p95", "p99", "p99.9"] {
            assert_eq!(items[stat], 20008.0, "items {stat}: {items}");
        }
    }
}

#[test]
fn a_merge_judges_the_thresholds_again_on_the_exact_figures() {
    let test = Test::new();
    let dir = test.path().to_path_buf();
    let mut merge = test.args(["merge"]);
    for file in parts(&dir) {
        merge = merge.args([file.to_str().expect("a UTF-8 path")]);
    }
    redacted(merge.args([
        "--threshold",
        "max items <= 20008",
        "--threshold",
        "min items >= 20001",
        "--threshold",
        "mean items < 20004.6",
    ]))
    .stdout(
        "load: 1 test · closed model: 2 users, 8 iterations at most
merged from 2 reports (instances 1/2, 2/2)
ran [T] · 8 iterations ([RATE]) · 8 passed · 0 failed · goodput [RATE]

bucket.stream: one bucket
                           p50       p90       p95       p99     p99.9       max
  connect [figures]
  ttfb [figures]
  first item [figures]
  gap [figures]
  stream duration [figures]
  items per stream       20008     20008     20008     20008     20008     20008
  iteration [figures]
  8 iterations · 8 passed · 0 failed · 8 streams · 160,036 items · 0 reconnections

load generator: [N]

thresholds
  ✓ max items <= 20008        20008  margin 0
  ✓ min items >= 20001        20001  margin 0
  ✓ mean items < 20004.6    20004.5  margin 0.1
  ✓ failures < 1 (implied)        0  margin 0
  (implied: no threshold says how many iterations may fail; `failures < 1%` would allow some)
",
    )
    .run();
}

#[test]
fn a_report_without_min_mean_and_max_merges_from_its_histograms() {
    let test = Test::new();
    let dir = test.path().to_path_buf();
    let mut merge = test.args(["merge", "--format", "json"]);
    for file in parts(&dir) {
        let mut report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("a report"))
                .expect("a JSON report");
        let object = report.as_object_mut().expect("an object");
        let mut tests = vec![object["total"].take()];
        tests.extend(object["tests"].as_array().expect("tests").iter().cloned());
        for test in &mut tests {
            for metric in test["metrics"]
                .as_object_mut()
                .expect("metrics")
                .values_mut()
            {
                let metric = metric.as_object_mut().expect("a metric");
                for stat in ["min", "mean", "max"] {
                    metric.remove(stat);
                }
            }
        }
        object["total"] = tests.remove(0);
        object["tests"] = serde_json::Value::Array(tests);
        std::fs::write(&file, report.to_string()).expect("written");
        merge = merge.args([file.to_str().expect("a UTF-8 path")]);
    }
    let output = merge.run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let merged: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let items = &merged["total"]["metrics"]["items"];
    assert_eq!(items["count"], 8, "{items}");
    // The histogram's figures, within its precision: the bucket of 20,000–20,015.
    assert_eq!(items["min"], 20000.0, "{items}");
    assert_eq!(items["max"], 20015.0, "{items}");
    assert_eq!(merged["total"]["counts"]["items"], 160_036);
}

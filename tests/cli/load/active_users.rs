//! The series' active users: the most that ran in each second, so that a second in which users
//! ran never reads as none (the users stop at the schedule's end, before its last second closes).

use crate::servers;
use crate::support::Test;

/// An iteration of about 200 ms: users are in the middle of one when the schedule ends.
const SLOW: &str = r#"
test "ticker" {
  GET {{base}}/sse/ticker?count=4&interval=50ms
  expect sse {
    4 times { data: json { "count": integer } }
    end
  }
}
"#;

#[test]
fn every_second_in_which_users_ran_counts_them() {
    let output = Test::new()
        .spec("slow.stream", SLOW)
        .var("base", servers::demo())
        .args(["load", "slow.stream", "--users", "3", "--duration", "2s"])
        .args(["--format", "json"])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{output:?}");
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let series = report["series"].as_array().expect("a series");
    let active: Vec<(u64, u64)> = series
        .iter()
        .map(|second| {
            let count = |name: &str| second[name].as_u64().expect("a count");
            (count("active"), count("iterations"))
        })
        .collect();
    assert!(active.len() >= 2, "{active:?}");
    for (users, iterations) in &active {
        // Iterations ended in it: the users that ran them were active in it.
        assert!(*iterations == 0 || *users > 0, "{active:?}");
    }
    assert_eq!(active[1].0, 3, "{active:?}");
}

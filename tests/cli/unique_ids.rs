//! `{{run_id}}` and `{{test_id}}`: a UUID for the whole run, and a new one for each test each
//! time it runs, so specs against stateful servers can be repeated without cleaning up. A
//! recorder server keeps what the specs send it, for the test to compare.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use axum::Router;
use axum::extract::Query;
use axum::routing::post;

use crate::servers;
use crate::support::{Test, all_passed, check_fails};

/// What each bucket of the recorder was sent, in order.
fn recorded() -> &'static Mutex<HashMap<String, Vec<String>>> {
    static RECORDED: OnceLock<Mutex<HashMap<String, Vec<String>>>> = OnceLock::new();
    RECORDED.get_or_init(Mutex::default)
}

/// `POST /record?bucket=NAME` keeps its body under NAME and answers 204.
fn recorder() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        servers::serve(Router::new().route(
            "/record",
            post(
                |Query(query): Query<HashMap<String, String>>, body: String| async move {
                    let bucket = query.get("bucket").cloned().unwrap_or_default();
                    if let Ok(mut recorded) = recorded().lock() {
                        recorded.entry(bucket).or_default().push(body);
                    }
                    axum::http::StatusCode::NO_CONTENT
                },
            ),
        ))
    })
}

fn bucket(name: &str) -> Vec<String> {
    recorded()
        .lock()
        .map(|recorded| recorded.get(name).cloned().unwrap_or_default())
        .unwrap_or_default()
}

fn is_uuid_v4(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts.iter().all(|p| {
            p.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        })
        && parts[2].starts_with('4')
}

const RECORDING_SPEC: &str = r#"
    let channel = "chan-{{test_id}}"
    test "first" {
      POST {{recorder}}/record?bucket={{bucket}}
      body text "{{run_id}} {{test_id}} {{channel}}"
      expect status 204
    }

    test "second" {
      POST {{recorder}}/record?bucket={{bucket}}
      body text "{{run_id}} {{test_id}} {{channel}}"
      expect status 204
    }
"#;

/// Runs the recording spec with `--repeat 2`; what it recorded, as (run_id, test_id, channel).
fn record_a_run(bucket_name: &str, extra: &[&str]) -> Vec<(String, String, String)> {
    let mut args = vec!["run", "-j", "1", "--repeat", "2"];
    args.extend_from_slice(extra);
    args.push("a.stream");
    Test::new()
        .spec("a.stream", RECORDING_SPEC)
        .args(args)
        .var("recorder", recorder())
        .var("bucket", bucket_name)
        .stdout(&all_passed(
            1,
            &[
                ("a.stream", "first (run 1 of 2)"),
                ("a.stream", "first (run 2 of 2)"),
                ("a.stream", "second (run 1 of 2)"),
                ("a.stream", "second (run 2 of 2)"),
            ],
        ))
        .run();
    bucket(bucket_name)
        .iter()
        .map(|line| {
            let parts: Vec<&str> = line.split(' ').collect();
            assert_eq!(parts.len(), 3, "{line:?}");
            (
                parts[0].to_string(),
                parts[1].to_string(),
                parts[2].to_string(),
            )
        })
        .collect()
}

#[test]
fn run_id_is_one_per_run_and_test_id_one_per_test_and_repetition() {
    let first = record_a_run("unique-ids-a", &[]);
    assert_eq!(first.len(), 4, "{first:?}");
    let run_ids: HashSet<&String> = first.iter().map(|(run, _, _)| run).collect();
    assert_eq!(run_ids.len(), 1, "one run_id for the run: {first:?}");
    let test_ids: HashSet<&String> = first.iter().map(|(_, test, _)| test).collect();
    assert_eq!(test_ids.len(), 4, "a test_id per test and run: {first:?}");
    for (run_id, test_id, channel) in &first {
        assert!(is_uuid_v4(run_id), "{run_id:?}");
        assert!(is_uuid_v4(test_id), "{test_id:?}");
        assert_eq!(*channel, format!("chan-{test_id}"), "a `let` sees test_id");
    }
    let second = record_a_run("unique-ids-b", &[]);
    assert_eq!(second.len(), 4, "{second:?}");
    assert_ne!(first[0].0, second[0].0, "a new run_id for a new run");
    assert!(
        second
            .iter()
            .all(|(_, test_id, _)| !test_ids.contains(test_id)),
        "test_ids are new each run"
    );
}

#[test]
fn a_variable_set_by_the_user_is_used_instead_of_the_builtin() {
    let recorded = record_a_run("unique-ids-override", &["--var", "run_id=fixed"]);
    assert_eq!(recorded.len(), 4, "{recorded:?}");
    assert!(recorded.iter().all(|(run_id, _, _)| run_id == "fixed"));
}

#[test]
fn a_misspelt_builtin_is_suggested() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/channels/{{runid}}
        }
        "#,
        "
        error: variable `runid` is not defined
         --> a.stream:2:39
          |
        2 |   GET http://example.invalid/channels/{{runid}}
          |                                       ^^^^^^^^^ undefined variable
          |
          = help: did you mean `run_id`?

        ",
    );
}

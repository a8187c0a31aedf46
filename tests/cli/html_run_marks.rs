//! `--report-html` of a run: the timeline marks every event of a stream's life with a legend
//! entry (an unreadable item, a drop, a reconnection) and shades the wait before reconnecting,
//! which the gap figures leave out and say so.

use crate::html_charts::{elements, within};
use crate::html_report::{read_page, select, server, text_of};
use crate::servers;
use crate::support::Test;

#[test]
fn drops_errors_and_the_wait_before_reconnecting_are_marked_with_a_legend() {
    let spec = r#"
test "resumed after a second" {
  GET {{demo}}/sse/resume?drop_after=3&last=6&retry=1000
  expect sse {
    retry: 1000  id: "1"  data: _
    id: "2"
    id: "3"
    dropped
    reconnect
    id: "4"  within 5s
    id: "5"
    id: "6"
    end
  }
}

test "bad bytes" {
  GET {{base}}/hostile
  expect sse {
    + times { data: _ }
    end
  }
}
"#;
    let output = Test::new()
        .spec("marks.stream", spec)
        .var("demo", servers::demo())
        .var("base", server())
        .args(["run", "marks.stream", "--report-html", "report.html"])
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    let (_, page) = read_page(&output, "report.html");
    let svg = select(&page, "#test-0 svg.chart")[0];
    assert_eq!(within(&svg, "text.strong"), ["dropped", "reconnect"]);
    let wait = elements(&svg, "rect.reconnect-wait");
    assert_eq!(wait.len(), 1);
    let title = within(&wait[0], "title").concat();
    assert!(title.starts_with("waited 1"), "{title}");
    let legend = text_of(&select(&page, "#test-0 p.legend")[0]);
    for entry in [
        "dropped: the connection broke",
        "reconnect: a new connection",
        "the wait before reconnecting (not a gap between items)",
    ] {
        assert!(legend.contains(entry), "{legend}");
    }
    let figures = text_of(&select(&page, "#test-0 .stream p.note")[0]);
    assert!(
        figures.contains(" · gaps within a connection min "),
        "{figures}"
    );

    let svg = select(&page, "#test-1 svg.chart")[0];
    assert_eq!(within(&svg, "text.strong"), ["error"]);
    let legend = text_of(&select(&page, "#test-1 p.legend")[0]);
    assert!(
        legend.contains("error: what came could not be read"),
        "{legend}"
    );
}

#[test]
fn times_and_counts_are_written_one_way_on_the_whole_page() {
    let output = Test::new()
        .spec(
            "flood.stream",
            r#"
test "flood" {
  GET {{demo}}/sse/flood?count=3000
  expect sse {
    3000 times { data: _ }
    end
  }
}
"#,
        )
        .var("demo", servers::demo())
        .args(["run", "flood.stream", "--report-html", "report.html"])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{output:?}");
    let (_, page) = read_page(&output, "report.html");
    let figures = text_of(&select(&page, ".stream p.note")[0]);
    // Thousands apart, and a mean of a few microseconds is not `0.00ms`.
    assert!(
        figures.starts_with("3,000 items · 84,786 bytes · "),
        "{figures}"
    );
    assert!(!figures.contains("0.00ms"), "{figures}");
    let mean = figures
        .split(" · ")
        .find_map(|part| part.split_once("mean "))
        .map(|(_, mean)| mean.to_string())
        .expect("a mean gap");
    assert!(mean.ends_with("µs"), "{figures}");
    // The histogram's percentiles read as the figures do, with their unit.
    let svg = select(&page, "svg.chart")[1];
    let percentiles: Vec<String> = within(&svg, "text.strong")
        .into_iter()
        .filter(|label| label.starts_with('p'))
        .collect();
    assert!(!percentiles.is_empty());
    for label in percentiles {
        let (names, value) = label.split_once(' ').expect("a name and a value");
        assert!(value.ends_with('s'), "{label}");
        for name in names.split('/') {
            assert!(
                figures.contains(&format!("{name} {value}")),
                "{label} in {figures}"
            );
        }
    }
    let notes = within(&select(&page, ".stream")[0], "p.note").join("\n");
    assert!(
        notes.contains("1,000 items marked one by one, 2,000 more"),
        "{notes}"
    );
}

#[test]
fn of_two_slow_gaps_side_by_side_only_the_slowest_is_shaded() {
    use std::time::Duration;
    let base = servers::serve(axum::Router::new().route(
        "/two-slow",
        axum::routing::get(|| async {
            let delays = [5, 5, 5, 5, 300, 250, 5, 5];
            let pieces = delays
                .iter()
                .enumerate()
                .map(|(n, &ms)| {
                    (
                        Duration::from_millis(ms),
                        format!("data: {n}\n\n").into_bytes(),
                    )
                })
                .collect();
            crate::html_report::paced("text/event-stream", pieces)
        }),
    ));
    let output = Test::new()
        .spec(
            "slow.stream",
            "test \"two slow\" {\n  GET {{base}}/two-slow\n  expect sse {\n    8 times { data: _ }\n    end\n  }\n}\n",
        )
        .var("base", &base)
        .args(["run", "slow.stream", "--report-html", "report.html"])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{output:?}");
    let (_, page) = read_page(&output, "report.html");
    let svg = select(&page, "svg.chart")[0];
    // Two shaded blocks side by side read as one gap of their sum, labelled with the larger.
    let shaded = elements(&svg, "rect.slow-gap");
    assert_eq!(shaded.len(), 1, "{:?}", within(&svg, "rect.slow-gap title"));
    assert_eq!(within(&svg, "text.slow").len(), 1);
    assert_eq!(select(&page, "details.items li.slow").len(), 1);
}

#[test]
fn gaps_all_zero_are_said_in_words_not_drawn_on_an_empty_axis() {
    let base = servers::serve(axum::Router::new().route(
        "/one-read",
        axum::routing::get(|| async {
            let events = (1..=5)
                .map(|n| format!("data: {n}\n\n"))
                .collect::<String>();
            crate::html_report::paced(
                "text/event-stream",
                vec![(std::time::Duration::ZERO, events.into_bytes())],
            )
        }),
    ));
    let output = Test::new()
        .spec(
            "one.stream",
            "test \"one read\" {\n  GET {{base}}/one-read\n  expect sse {\n    5 times { data: _ }\n    end\n  }\n}\n",
        )
        .var("base", &base)
        .args(["run", "one.stream", "--report-html", "report.html"])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{output:?}");
    let (_, page) = read_page(&output, "report.html");
    assert_eq!(select(&page, "svg.chart").len(), 1, "the timeline only");
    let notes = within(&select(&page, ".stream")[0], "p.note");
    assert!(
        notes.contains(&"all 4 gaps 0 (the items came in one read)".to_string()),
        "{notes:?}"
    );
}

//! `--report-html` of a run: what the page's limits leave out goes to the passing tests first
//! (a failing test keeps its charts and items however many passed before it), and a page of many
//! long streams stays bounded, the marks at one pixel merged into one.

use crate::html_report::{read_page, select, text_of};
use crate::servers;
use crate::support::Test;

/// `count` passing tests of a 20-event flood each, then one that fails on its 20 events.
fn passing_then_failing(count: usize) -> String {
    let mut spec = String::new();
    for n in 0..count {
        spec.push_str(&format!(
            "test \"pass {n}\" {{\n  GET {{{{base}}}}/sse/flood?count=20\n  expect sse {{\n    20 times {{ data: _ }}\n    end\n  }}\n}}\n\n"
        ));
    }
    spec.push_str(
        "test \"fails last\" {\n  GET {{base}}/sse/flood?count=20\n  expect sse {\n    19 times { data: _ }\n    data: \"nope\"\n  }\n}\n",
    );
    spec
}

#[test]
fn a_failing_test_keeps_its_charts_and_items_after_many_passing_ones() {
    let output = Test::new()
        .spec("many.stream", &passing_then_failing(302))
        .var("base", servers::demo())
        .args(["run", "many.stream", "--report-html", "report.html"])
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    let (_, page) = read_page(&output, "report.html");
    let failing = select(&page, "section.test")
        .into_iter()
        .find(|section| text_of(section).contains("fails last"))
        .expect("the failing test's section");
    let html = failing.html();
    assert!(html.contains("<svg"), "the failing test has its charts");
    assert!(!html.contains("no charts"), "{html}");
    let summary = text_of(
        &failing
            .select(&scraper::Selector::parse("details.items summary").unwrap())
            .next()
            .expect("its items listed"),
    );
    assert_eq!(summary, "20 items");
    // The passing tests run before it give up what the limits leave out.
    let notes: Vec<String> = select(&page, "p.note").iter().map(text_of).collect();
    assert!(
        notes
            .iter()
            .any(|note| note == "no charts: the report draws 300 streams, the failed ones first"),
        "{notes:?}"
    );
}

#[test]
fn many_long_streams_make_a_page_of_bounded_size_with_one_mark_a_pixel() {
    let mut spec = String::new();
    for n in 0..40 {
        spec.push_str(&format!(
            "test \"flood {n}\" {{\n  GET {{{{base}}}}/sse/flood?count=3000\n  expect sse {{\n    3000 times {{ data: _ }}\n    end\n  }}\n}}\n\n"
        ));
    }
    let output = Test::new()
        .spec("floods.stream", &spec)
        .var("base", servers::demo())
        .args(["run", "floods.stream", "--report-html", "report.html"])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{output:?}");
    let (text, page) = read_page(&output, "report.html");
    // 40 streams of 3,000 items: 1,000 marks each at a handful of pixels was 90 KB a stream
    // (3.6 MB); now the 5,000 items listed (about 1 MB) are most of it.
    assert!(text.len() < 1_500_000, "{} bytes", text.len());
    let item = scraper::Selector::parse("line.item").unwrap();
    for svg in select(&page, "svg.chart") {
        let columns: Vec<&str> = svg
            .select(&item)
            .filter_map(|line| line.value().attr("x1"))
            .collect();
        let mut distinct = columns.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), columns.len(), "one mark a pixel column");
    }
    // A merged mark says how many items it stands for.
    assert!(
        select(&page, "line.item title")
            .iter()
            .any(|title| text_of(title).contains(" items at ")),
        "{}",
        &text[..2000]
    );
}

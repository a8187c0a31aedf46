//! The HTML reports in a real browser: the page of `run specs` (the bundled specs against the
//! demo their `streamspec.toml` starts) and of a short `load specs/load` are opened in headless
//! Chromium, which must load each with no console message (no script error, no resource the
//! page's Content-Security-Policy refused) and take a screenshot; the structure (a section per
//! test, a timeline per stream, the thresholds table) is checked by parsing the HTML. Skipped,
//! and said so, where Chromium is not installed (`.ci/run` installs it). With
//! `STREAMSPEC_HTML_SCREENSHOTS=DIR`, the screenshots are also copied to DIR.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use scraper::{Html, Selector};

use crate::support::Test;

const CHROMIUM: &str = "chromium";

fn chromium_available() -> bool {
    let works = Command::new(CHROMIUM)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    let missing = if works {
        vec![]
    } else {
        vec!["Chromium (chromium)".to_string()]
    };
    crate::optional_tools::available(
        "the HTML reports' browser check",
        &missing,
        "apt-get install chromium",
    )
}

/// Opens `page` in headless Chromium, as a person's browser would from a CI artifact, and
/// saves a screenshot next to it; fails on any console message (a script error, a refused
/// resource) or when no screenshot came.
fn open_in_chromium(page: &Path, name: &str) {
    let dir = page.parent().expect("the page's directory");
    let screenshot = dir.join(format!("{name}.png"));
    let profile = dir.join(format!("{name}-profile"));
    // `timeout` bounds the browser: a hang fails the test in a minute, not never.
    let output = Command::new("timeout")
        .args(["--kill-after=10", "60", CHROMIUM])
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
            "--window-size=1000,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .output()
        .expect("chromium runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "chromium failed on {name}:\n{stderr}"
    );
    let console: Vec<&str> = stderr
        .lines()
        .filter(|line| {
            line.contains(":CONSOLE")
                || line.contains("Uncaught")
                || line.contains("Content Security Policy")
        })
        .collect();
    assert!(
        console.is_empty(),
        "console messages on {name}: {console:#?}"
    );
    let png = std::fs::read(&screenshot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    if let Some(keep) = std::env::var_os("STREAMSPEC_HTML_SCREENSHOTS") {
        let keep = Path::new(&keep);
        std::fs::create_dir_all(keep).expect("the screenshots' directory");
        std::fs::copy(&screenshot, keep.join(format!("{name}.png"))).expect("copied");
        std::fs::copy(page, keep.join(format!("{name}.html"))).expect("copied");
    }
}

fn count(page: &Html, selector: &str) -> usize {
    page.select(&Selector::parse(selector).expect("a valid selector"))
        .count()
}

#[test]
fn the_reports_of_the_bundled_specs_and_load_open_in_a_browser() {
    if !chromium_available() {
        return;
    }
    let specs = concat!(env!("CARGO_MANIFEST_DIR"), "/specs");
    let run = Test::new()
        .args(["run", specs, "--report-html", "run.html"])
        .kill_after(Duration::from_secs(180))
        .run_unchecked();
    assert!(matches!(run.status, Some(0 | 1)), "{run:?}");
    let path = run.dir.path().join("run.html");
    let page = Html::parse_document(&std::fs::read_to_string(&path).expect("the run's page"));
    // A section per test the run reported, a timeline per stream.
    let tests = run
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("Summary "))
        .and_then(|summary| summary.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .expect("the summary's count");
    assert_eq!(count(&page, "section.test"), tests);
    let streams = count(&page, "section.test .stream");
    assert!(streams >= tests / 2, "{streams} streams");
    assert_eq!(
        count(&page, ".stream svg.chart[aria-label^=\"timeline of\"]"),
        streams
    );
    open_in_chromium(&path, "run");

    let load = concat!(env!("CARGO_MANIFEST_DIR"), "/specs/load");
    let load = Test::new()
        .args([
            "load",
            load,
            "--users",
            "4",
            "--duration",
            "3s",
            "--report-html",
            "load.html",
        ])
        .kill_after(Duration::from_secs(120))
        .run_unchecked();
    // Thresholds judged on a busy machine may fail: the page is what is checked here.
    assert!(matches!(load.status, Some(0 | 1)), "{load:?}");
    let path = load.dir.path().join("load.html");
    let page = Html::parse_document(&std::fs::read_to_string(&path).expect("the load's page"));
    assert_eq!(count(&page, "table.thresholds tbody tr"), 8);
    assert!(count(&page, "#over-time svg.chart") >= 4);
    assert!(count(&page, "#histograms svg.chart") >= 5);
    assert_eq!(
        count(&page, "#services svg.chart"),
        1,
        "the demo's CPU and memory"
    );
    open_in_chromium(&path, "load");
}

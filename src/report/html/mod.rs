//! The HTML report (`--report-html FILE` on `run`, `load` and `merge`): one self-contained file
//! to open offline from a CI artifact, light or dark as the reader's system is, the summary
//! first and then each test ([`run`]) or the load's charts and tables ([`load`]).
//!
//! The charts are SVG written here ([`svg`]), not drawn with a plotting crate: the page needs
//! timelines, bars and lines only, and plotters' SVG backend would bring its own text layout
//! (font metrics, and fonts to measure them with) and fixed colours, where hand-made SVG is a
//! few primitives whose text the browser lays out and whose colours the page's CSS sets per
//! colour scheme. The file runs no script, and its Content-Security-Policy forbids any, and
//! every fetch. Every text, whatever a server sent, goes through [`escape::escape`].
//!
//! Its size is bounded whatever the run: a stream keeps its first items and counts the rest
//! (see [`crate::interp::timeline`]), the page lists and draws a bounded number of items and
//! streams and bytes of charts ([`run::LISTED_IN_ALL`], [`run::CHARTS_IN_ALL`],
//! [`run::CHART_BYTES_IN_ALL`]; items at one pixel are one mark), and a load's series is averaged
//! into at most [`over_time::POINTS`] points; each says what it left out.

pub mod escape;
pub mod histogram;
pub mod load;
pub mod over_time;
pub mod page;
pub mod run;
pub mod svg;
pub mod terminal;
pub mod timeline_chart;

use std::io::Write;

use super::{Reporter, Summary};
use crate::outcome::TestOutcome;

/// The run's HTML report, written when the run ends (the outcomes reach it masked: it sits
/// behind [`super::redact::Redacting`]). Streams keep the timelines it draws only once
/// [`crate::interp::timeline::keep_timelines`] was called.
pub struct HtmlReporter<W: Write> {
    out: W,
    written: bool,
}

impl<W: Write> HtmlReporter<W> {
    pub fn new(out: W) -> Self {
        HtmlReporter {
            out,
            written: false,
        }
    }

    fn write(&mut self, page: &str) {
        // A failed write is the writer's to keep (see `report::file`), and the run's to report.
        let _ = self.out.write_all(page.as_bytes());
        let _ = self.out.flush();
        self.written = true;
    }
}

impl<W: Write> Reporter for HtmlReporter<W> {
    fn run_started(&mut self, _tests: usize, _files: usize) {}

    fn test_finished(&mut self, _outcome: &TestOutcome) {}

    fn run_finished(&mut self, summary: &Summary, outcomes: &[TestOutcome]) {
        self.write(&run::render(summary, outcomes));
    }
}

/// A run that ended before its summary (a service that did not start) still leaves a page,
/// which says so, rather than an empty file.
impl<W: Write> Drop for HtmlReporter<W> {
    fn drop(&mut self) {
        if !self.written {
            self.write(&run::render_unfinished());
        }
    }
}

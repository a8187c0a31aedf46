//! The terminal reporter: a line per test, the full failure (location, caret, diff) right after
//! a failing test, and a summary that lists the failures again.

use std::io::Write;

use super::{Reporter, Status, Summary, plural, render_figures, status};
use crate::diagnostic::Diagnostic;
use crate::diff::{Diff, DiffLine, Tag};
use crate::duration::format_measured;
use crate::outcome::{BarrierReport, Failure, StreamReport, TestOutcome};
use crate::style::Palette;

pub struct HumanReporter<W: Write> {
    out: W,
    palette: Palette,
    /// Show each stream's figures under its test.
    verbose: bool,
    /// `--update` rewrites the specs in place: rewritable failed tests show as `UPDATE`.
    updating: bool,
}

impl<W: Write> HumanReporter<W> {
    pub fn new(out: W, palette: Palette, verbose: bool) -> Self {
        HumanReporter {
            out,
            palette,
            verbose,
            updating: false,
        }
    }

    pub fn updating(mut self, updating: bool) -> Self {
        self.updating = updating;
        self
    }
}

/// `[  0.512s]`: a fixed-width duration column, as nextest prints.
fn duration_column(duration: std::time::Duration) -> String {
    format!("[{:>8.3}s]", duration.as_secs_f64())
}

impl<W: Write> Reporter for HumanReporter<W> {
    fn run_started(&mut self, tests: usize, files: usize) {
        let _ = writeln!(
            self.out,
            "{}Running{} {} from {}",
            self.palette.bold.render(),
            self.palette.bold.render_reset(),
            plural(tests, "test"),
            plural(files, "file")
        );
    }

    fn test_finished(&mut self, outcome: &TestOutcome) {
        let p = &self.palette;
        let (word, style) = if outcome.passed() {
            ("PASS", p.pass)
        } else if self.updating && outcome.rewritable() {
            ("UPDATE", p.warning)
        } else {
            (failed_word(outcome), p.error)
        };
        let _ = writeln!(
            self.out,
            "{}{word:>6}{} {} {}: {}",
            style.render(),
            style.render_reset(),
            duration_column(outcome.duration),
            outcome.file.path.display(),
            outcome.name
        );
        if self.verbose {
            let _ = write!(self.out, "{}", render_figures(outcome, p));
        }
        for failure in &outcome.failures {
            let _ = write!(self.out, "\n{}", render_failure(outcome, failure, p));
        }
        if !outcome.passed() {
            let _ = writeln!(self.out);
        }
        let _ = self.out.flush();
    }

    fn run_finished(&mut self, summary: &Summary, outcomes: &[TestOutcome]) {
        let p = &self.palette;
        let style = if summary.failed == 0 && summary.errors == 0 {
            p.pass
        } else {
            p.error
        };
        // As nextest counts timeouts: shown when there are any.
        let errors = if summary.errors > 0 {
            format!(", {}", plural(summary.errors, "error"))
        } else {
            String::new()
        };
        let updated = if summary.updated > 0 {
            format!(", {} updated", summary.updated)
        } else {
            String::new()
        };
        let _ = writeln!(
            self.out,
            "{}Summary{} {}: {} passed, {} failed{errors}{updated} {}",
            style.render(),
            style.render_reset(),
            plural(summary.tests(), "test"),
            summary.passed,
            summary.failed,
            duration_column(summary.duration)
        );
        let listed = |o: &&TestOutcome| !(o.passed() || self.updating && o.rewritable());
        for outcome in outcomes.iter().filter(listed) {
            let line = outcome.file.line_col(outcome.span.start).line;
            let _ = writeln!(
                self.out,
                "{}{:>6}{} {}:{line}: {}",
                p.error.render(),
                failed_word(outcome),
                p.error.render_reset(),
                outcome.file.path.display(),
                outcome.name
            );
        }
        for flaky in flaky_tests(outcomes) {
            let _ = writeln!(
                self.out,
                "{}{:>6}{} {}:{}: {} failed {} of {} runs",
                p.warning.render(),
                "FLAKY",
                p.warning.render_reset(),
                flaky.file.path.display(),
                flaky.line,
                flaky.name,
                flaky.failed,
                flaky.runs
            );
        }
        let _ = self.out.flush();
    }
}

/// `FAIL` for a test the service answered wrongly, `ERROR` for one that got no usable answer: the
/// line says what the summary counts it as.
pub fn failed_word(outcome: &TestOutcome) -> &'static str {
    match status(outcome) {
        Status::Error => "ERROR",
        Status::Passed | Status::Failed => "FAIL",
    }
}

/// A test that ran several times (`--repeat`) and both passed and failed.
#[derive(Debug)]
pub struct Flaky<'a> {
    pub file: &'a crate::source::SourceFile,
    pub line: usize,
    /// The name as written in the spec, without the `(run k of n)` of each run.
    pub name: &'a str,
    pub failed: usize,
    pub runs: usize,
}

/// The flaky tests among `outcomes`, in order of their first run. Runs of one test share its
/// file and name span.
pub fn flaky_tests(outcomes: &[TestOutcome]) -> Vec<Flaky<'_>> {
    let mut tests: Vec<(&TestOutcome, usize, usize)> = Vec::new();
    let mut seen: std::collections::HashMap<(*const crate::source::SourceFile, usize), usize> =
        std::collections::HashMap::new();
    for outcome in outcomes {
        let failed = usize::from(!outcome.passed());
        let key = (std::sync::Arc::as_ptr(&outcome.file), outcome.span.start);
        match seen.get(&key) {
            Some(&index) => {
                tests[index].1 += 1;
                tests[index].2 += failed;
            }
            None => {
                seen.insert(key, tests.len());
                tests.push((outcome, 1, failed));
            }
        }
    }
    tests
        .into_iter()
        .filter(|(_, runs, failed)| *failed > 0 && failed < runs)
        .map(|(outcome, runs, failed)| {
            let written = outcome.file.slice(outcome.span);
            Flaky {
                file: &outcome.file,
                line: outcome.file.line_col(outcome.span.start).line,
                name: written
                    .strip_prefix('"')
                    .and_then(|n| n.strip_suffix('"'))
                    .unwrap_or(written),
                failed,
                runs,
            }
        })
        .collect()
}

/// How far the figures of a test are indented under its line.
const FIGURES_PAD: &str = "         ";

/// What a line of figures is about, in bold, and where: `sse on line 5`, `sse feed[2] on line 5
/// (branch reader[3])`, `barrier go on line 12`.
fn figures_heading(
    outcome: &TestOutcome,
    what: &str,
    span: crate::source::Span,
    branch: Option<&str>,
    palette: &Palette,
) -> String {
    let line = outcome.file.line_col(span.start).line;
    let branch = branch
        .map(|branch| format!(" (branch {branch})"))
        .unwrap_or_default();
    format!(
        "{FIGURES_PAD}{}{what}{} on line {line}{branch}",
        palette.bold.render(),
        palette.bold.render_reset(),
    )
}

/// A stream's figures, indented under its test; a named stream and one a branch read say so:
///
/// ```text
///          sse on line 5: 8 items, 1.6 KiB, 1 connection
///            ttfb 2ms · first item 3ms · duration 252ms
///            gaps min 30ms · mean 31ms · p50 31ms · p95 33ms · p99 33ms · max 33ms
///          sse feed[2] on line 9 (branch reader[2]): 2 items, 40 bytes, 1 connection
///            ttfb 2ms · first item 3ms · duration 10ms
/// ```
pub fn render_stream(outcome: &TestOutcome, stream: &StreamReport, palette: &Palette) -> String {
    let pad = FIGURES_PAD;
    let what = match &stream.name {
        Some(name) => format!("{} {name}", stream.kind),
        None => stream.kind.to_string(),
    };
    let heading = figures_heading(
        outcome,
        &what,
        stream.span,
        stream.branch.as_deref(),
        palette,
    );
    let mut out = format!(
        "{heading}: {}, {}, {}\n",
        plural(stream.items as usize, "item"),
        crate::transport::framing::format_size(stream.bytes as usize),
        plural(stream.connections as usize, "connection"),
    );
    let mut timing = vec![match stream.ttfb {
        Some(ttfb) => format!("ttfb {}", format_measured(ttfb)),
        None => "no response headers".to_string(),
    }];
    if let Some(first) = stream.first_item {
        timing.push(format!("first item {}", format_measured(first)));
    }
    if let Some(duration) = stream.duration {
        timing.push(format!("duration {}", format_measured(duration)));
    }
    out.push_str(&format!("{pad}  {}\n", timing.join(" · ")));
    if let Some(gaps) = stream.gaps {
        let names = ["min", "mean", "p50", "p95", "p99", "max"];
        let parts: Vec<String> = names
            .iter()
            .zip(gaps)
            .map(|(name, gap)| format!("{name} {}", format_measured(gap)))
            .collect();
        out.push_str(&format!("{pad}  gaps {}\n", parts.join(" · ")));
    }
    if !stream.reconnect_delays.is_empty() {
        const SHOWN: usize = 5;
        let mut delays: Vec<String> = stream
            .reconnect_delays
            .iter()
            .take(SHOWN)
            .map(|d| format_measured(*d))
            .collect();
        if stream.reconnect_delays.len() > SHOWN {
            delays.push(format!("… {} more", stream.reconnect_delays.len() - SHOWN));
        }
        out.push_str(&format!(
            "{pad}  waited before reconnecting: {}\n",
            delays.join(", ")
        ));
    }
    if let Some(items) = &stream.aborted_after {
        let received = if items.is_empty() {
            String::new()
        } else {
            "; the last received:".to_string()
        };
        out.push_str(&format!(
            "{pad}  aborted after {}{received}\n",
            plural(stream.items as usize, "item")
        ));
        for (text, at) in items {
            out.push_str(&format!(
                "{pad}    {}  # {}\n",
                shorten(text),
                format_measured(*at)
            ));
        }
    }
    out
}

/// How tightly a barrier released the branches that met at it, under its test:
///
/// ```text
///          barrier go on line 12: 10 branches released within 0.40ms
/// ```
pub fn render_barrier(outcome: &TestOutcome, barrier: &BarrierReport, palette: &Palette) -> String {
    let heading = figures_heading(
        outcome,
        &format!("barrier {}", barrier.name),
        barrier.span,
        barrier.branch.as_deref(),
        palette,
    );
    let branches = match barrier.branches {
        1 => "1 branch".to_string(),
        n => format!("{n} branches"),
    };
    format!(
        "{heading}: {branches} released within {}\n",
        format_measured(barrier.spread)
    )
}

/// One failure of a test: the diagnostic at the spec line, then the diff.
pub fn render_failure(outcome: &TestOutcome, failure: &Failure, palette: &Palette) -> String {
    let mut diagnostic = Diagnostic::error(&failure.message);
    if let Some(span) = failure.span {
        diagnostic = diagnostic.at(&outcome.file, span, &failure.label);
    }
    for note in &failure.notes {
        diagnostic = match note.strip_prefix("help: ") {
            Some(help) => diagnostic.help(help),
            None => diagnostic.note(note),
        };
    }
    let mut out = diagnostic.render(palette);
    if let Some(diff) = &failure.diff {
        let gutter = failure
            .span
            .map(|span| outcome.file.line_col(span.start).line.to_string().len())
            .unwrap_or(1);
        if failure.notes.is_empty() && failure.span.is_some() {
            out.push_str(&format!(
                "{} {}|{}\n",
                " ".repeat(gutter),
                palette.dim.render(),
                palette.dim.render_reset()
            ));
        }
        out.push_str(&render_diff(diff, gutter, palette));
    }
    out
}

/// Items longer than this are cut in the diff, so one huge item does not bury the others.
const MAX_DIFF_LINE: usize = 300;

/// How much of an expected line and of the item against it the diff shows when either is
/// longer than [`MAX_DIFF_LINE`]: the same window of both, around where they first differ.
const DIFF_WINDOW: usize = 120;

fn shorten(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_DIFF_LINE) {
        Some((cut, _)) => format!("{}…", &text[..cut]).into(),
        None => text.into(),
    }
}

/// The text of each diff line as shown: an expected line right before the item against it,
/// when either is too long to show whole, is shown with that item as the window of each
/// around where the two first differ; any other long line is cut at its end. The outcome was
/// masked already (see `report::redact`), so cutting anywhere cannot show part of a secret.
fn shown_texts(lines: &[DiffLine]) -> Vec<std::borrow::Cow<'_, str>> {
    let is_long = |text: &str| text.chars().nth(MAX_DIFF_LINE).is_some();
    let mut shown: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(lines.len());
    let mut index = 0;
    while index < lines.len() {
        let line = &lines[index];
        if let Some(next) = lines.get(index + 1)
            && line.tag == Tag::Removed
            && next.tag == Tag::Added
            && (is_long(&line.text) || is_long(&next.text))
        {
            let (expected, found) = crate::excerpt::difference(&line.text, &next.text, DIFF_WINDOW);
            shown.push(crate::excerpt::cut(&expected).into());
            shown.push(crate::excerpt::cut(&found).into());
            index += 2;
            continue;
        }
        shown.push(shorten(&line.text));
        index += 1;
    }
    shown
}

/// The diff as the lines under a diagnostic: `- expected`, `+ observed`, context with times.
pub fn render_diff(diff: &Diff, gutter: usize, palette: &Palette) -> String {
    let pad = " ".repeat(gutter);
    let mut out = format!("{pad} = diff of expected (-) and observed (+) items:\n");
    if diff.omitted_before > 0 {
        out.push_str(&format!(
            "{pad}     … {} earlier\n",
            plural(diff.omitted_before as usize, "item")
        ));
    }
    let texts = shown_texts(&diff.lines);
    let mut index = 0;
    while index < diff.lines.len() {
        let line = &diff.lines[index];
        let text = &texts[index];
        // Identical expected lines in a row (a repetition's items) are shown once, counted.
        let mut repeats = 1;
        if line.tag == Tag::Removed {
            while diff.lines.get(index + repeats) == Some(line) {
                repeats += 1;
            }
        }
        index += repeats;
        let (sign, style, what) = match line.tag {
            Tag::Context => (' ', palette.dim, ""),
            Tag::Removed => ('-', palette.removed, ""),
            Tag::Added => ('+', palette.added, ""),
            // Dropped by an `ignore`: dim, so it is read past.
            Tag::Ignored => ('~', palette.dim, "ignored: "),
        };
        let time = match (line.at, repeats) {
            (Some(at), _) => format!("  # {}", format_measured(at)),
            (None, 1) => String::new(),
            (None, n) => format!("  # × {n}"),
        };
        let text_style = if line.tag == Tag::Context {
            anstyle::Style::new()
        } else {
            style
        };
        out.push_str(&format!(
            "{pad}   {}{sign} {what}{}{time}{}\n",
            text_style.render(),
            text,
            text_style.render_reset()
        ));
    }
    if diff.cut_short {
        out.push_str(&format!("{pad}     … (stopped reading here)\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::report::fixtures::{parallel_outcome, span_of};

    /// What the reporter prints for `outcome`, with `run -v` or without.
    fn printed(outcome: &TestOutcome, verbose: bool) -> String {
        let mut out = Vec::new();
        HumanReporter::new(&mut out, Palette::plain(), verbose).test_finished(outcome);
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn verbose_names_each_stream_and_its_branch_then_the_barriers() {
        assert_eq!(
            printed(&parallel_outcome(), true),
            "  PASS [   0.250s] a.stream: readers see one feed
         sse feed[1] on line 6 (branch reader[1]): 2 items, 40 bytes, 1 connection
           ttfb 2ms · first item 3ms · duration 10ms
         sse feed[2] on line 6 (branch reader[2]): 2 items, 40 bytes, 1 connection
           ttfb 2ms · first item 3ms · duration 10ms
         sse on line 11: 2 items, 40 bytes, 1 connection
           ttfb 2ms · first item 3ms · duration 10ms
         barrier go on line 5: 3 branches released within 0.40ms
"
        );
    }

    #[test]
    fn a_named_stream_outside_a_branch_shows_only_its_name() {
        let mut outcome = parallel_outcome();
        let mut stream = outcome.streams[0].clone();
        stream.branch = None;
        stream.name = Some("feed".to_string());
        assert_eq!(
            render_stream(&outcome, &stream, &Palette::plain()),
            "         sse feed on line 6: 2 items, 40 bytes, 1 connection
           ttfb 2ms · first item 3ms · duration 10ms
"
        );
        // An unnamed stream in a branch: the branch alone.
        stream.name = None;
        stream.branch = Some("room/reader[3]".to_string());
        outcome.streams = vec![stream];
        assert_eq!(
            render_stream(&outcome, &outcome.streams[0], &Palette::plain()),
            "         sse on line 6 (branch room/reader[3]): 2 items, 40 bytes, 1 connection
           ttfb 2ms · first item 3ms · duration 10ms
"
        );
    }

    #[test]
    fn a_barrier_in_a_branch_names_it() {
        let outcome = parallel_outcome();
        let barrier = BarrierReport {
            name: "ready".to_string(),
            span: span_of(&outcome.file, "barrier go", 0),
            branches: 1,
            spread: Duration::from_micros(1_274_000),
            branch: Some("room[2]".to_string()),
        };
        assert_eq!(
            render_barrier(&outcome, &barrier, &Palette::plain()),
            "         barrier ready on line 5 (branch room[2]): 1 branch released within 1.27s\n"
        );
    }

    #[test]
    fn without_verbose_neither_streams_nor_barriers_show() {
        assert_eq!(
            printed(&parallel_outcome(), false),
            "  PASS [   0.250s] a.stream: readers see one feed\n"
        );
    }
}

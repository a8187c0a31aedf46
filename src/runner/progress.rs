//! The live progress line of a long run: `[ 12/50] 2 running, 1 failed · 14s · ./a.stream: name`,
//! drawn on standard error when it is a terminal, redrawn in place, and wiped before anything
//! else is printed. Nothing at all when standard error is a file or a pipe.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Counts of a run so far, and what runs now, for one line.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub done: usize,
    pub total: usize,
    pub failed: usize,
    /// `file: name` of the runs in progress, the oldest first.
    pub running: Vec<(usize, String)>,
}

/// The line for `status`, at most `width` characters wide (the terminal's).
pub fn render(status: &Status, elapsed: Duration, width: usize) -> String {
    let digits = status.total.to_string().len();
    let mut line = format!(
        "[{:>digits$}/{}] {} running",
        status.done,
        status.total,
        status.running.len()
    );
    if status.failed > 0 {
        line.push_str(&format!(", {} failed", status.failed));
    }
    line.push_str(&format!(" · {}s", elapsed.as_secs()));
    if let Some((_, oldest)) = status.running.first() {
        line.push_str(" · ");
        line.push_str(oldest);
    }
    truncate(&line, width)
}

/// Cuts `text` to `width` columns, ending with `…` when cut.
pub fn truncate(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut out = String::new();
    let mut used = 0;
    let chars: Vec<char> = text.chars().collect();
    let total: usize = chars.iter().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        return text.to_string();
    }
    for c in chars {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// The progress line on standard error, or nothing.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    started: Instant,
    status: Status,
    drawn: bool,
}

impl Progress {
    /// A line on standard error when it is a terminal (and `wanted`); otherwise a no-op.
    pub fn new(total: usize, wanted: bool) -> Progress {
        Progress {
            enabled: wanted && std::io::stderr().is_terminal(),
            started: Instant::now(),
            status: Status {
                total,
                ..Status::default()
            },
            drawn: false,
        }
    }

    pub fn started(&mut self, key: usize, label: String) {
        self.status.running.push((key, label));
        self.draw();
    }

    pub fn finished(&mut self, key: usize, passed: bool) {
        self.status.running.retain(|(k, _)| *k != key);
        self.status.done += 1;
        if !passed {
            self.status.failed += 1;
        }
    }

    /// Runs that will not happen after all (`--fail-fast`, a group whose services failed).
    pub fn skipped(&mut self, count: usize) {
        self.status.total = self.status.total.saturating_sub(count);
    }

    /// Wipes the line, so that other output starts on a clean line; `draw` puts it back.
    pub fn clear(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
        }
    }

    pub fn draw(&mut self) {
        if !self.enabled {
            return;
        }
        let line = render(&self.status, self.started.elapsed(), terminal_width() - 1);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        self.drawn = true;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Columns of the terminal on standard error, 80 when unknown.
pub fn terminal_width() -> usize {
    // SAFETY: TIOCGWINSZ fills in a winsize, which is plain data, zeroed beforehand.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let result = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) };
    if result == 0 && size.ws_col > 1 {
        usize::from(size.ws_col)
    } else {
        80
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(done: usize, total: usize, failed: usize, running: &[&str]) -> Status {
        Status {
            done,
            total,
            failed,
            running: running
                .iter()
                .enumerate()
                .map(|(i, name)| (i, name.to_string()))
                .collect(),
        }
    }

    #[test]
    fn the_line_counts_and_names_the_oldest_running_test() {
        let line = render(
            &status(12, 50, 1, &["./a.stream: ticker", "./b.stream: chat"]),
            Duration::from_millis(14_600),
            100,
        );
        assert_eq!(
            line,
            "[12/50] 2 running, 1 failed · 14s · ./a.stream: ticker"
        );
        let line = render(&status(3, 250, 0, &[]), Duration::ZERO, 100);
        assert_eq!(line, "[  3/250] 0 running · 0s");
    }

    #[test]
    fn the_line_fits_the_terminal() {
        let line = render(
            &status(1, 9, 0, &["./a.stream: a very long test name indeed"]),
            Duration::from_secs(2),
            30,
        );
        assert_eq!(line, "[1/9] 1 running · 2s · ./a.st…");
        assert_eq!(line.chars().count(), 30);
    }

    #[test]
    fn nothing_is_drawn_when_not_wanted() {
        let mut progress = Progress::new(3, false);
        progress.started(0, "x".into());
        progress.draw();
        assert!(!progress.drawn);
    }
}

//! Secrets: values of variables given with `--secret` or listed in `secrets = [...]` in
//! streamspec.toml. Every outcome is redacted before any reporter sees it, so no format (and no
//! escaping a format applies afterwards) can show a secret; the other things a run prints (the
//! `--update` lines, a service that did not start, the progress line, the warnings before the
//! run) go through [`Secrets::redact`] too. A secret is masked in each of its forms
//! ([`secret_forms`]), and so is any stretch of text that starts or ends one
//! ([`super::secret_finder`]), the spec file's path and text included; one split across the
//! items of a stream is masked in each of them ([`spec_literals`]). Redacting is also where long
//! values are cut for display ([`crate::excerpt`]): after masking, so that a cut never leaves
//! part of a secret.

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::secret_finder::SecretFinder;
use super::secret_forms;
use super::spec_literals::{self, Literal};
use super::{Reporter, Summary};
use crate::config::ProjectConfig;
use crate::diagnostic::Diagnostic;
use crate::diff::Tag;
use crate::outcome::{Fix, TestOutcome};
use crate::source::SourceFile;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// The fewest characters at the end of a text cut short that are masked as the start of a
/// secret: fewer would mask ordinary text (a secret beginning with `a` and a text ending in `a`).
const MIN_SECRET_START: usize = 3;

/// The secret values known so far, with every form in which they can reach a report
/// ([`secret_forms`]), and one automaton that finds them all in a text at once.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: Vec<String>,
    finder: SecretFinder,
    masked_files: MaskedFiles,
}

/// Spec files as reports show them, by the address of the file they stand for (see
/// [`Secrets::masked_file`]), each with that file (so that its address is not reused). Shared
/// by clones, and emptied when a secret is added.
type MaskedFiles = Arc<Mutex<HashMap<usize, (Arc<SourceFile>, Arc<SourceFile>)>>>;

impl Secrets {
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Adds a secret value, with its forms ([`secret_forms`]). Empty values mask nothing.
    pub fn add(&mut self, value: &str) {
        if value.is_empty() || self.values.iter().any(|known| known == value) {
            return;
        }
        self.values.push(value.to_string());
        self.finder.add(secret_forms::forms(value));
        self.masked_files = Arc::default();
    }

    /// Whether `text` holds anything a report masks: a secret in any of its forms, or enough of
    /// the start or the end of one.
    pub fn found_in(&self, text: &str) -> bool {
        !self.is_empty() && !self.finder.spans(text).is_empty()
    }

    /// `text` as a report shows it: every secret replaced by [`MASK`], then each long value in
    /// it cut to its excerpt ([`crate::excerpt`]).
    pub fn redact(&self, text: &str) -> String {
        crate::excerpt::settle(text, |text| self.mask(text), |text| self.mask_start(text))
    }

    fn redact_in_place(&self, text: &mut String) {
        if !self.is_empty() || crate::excerpt::has_excerpts(text) {
            *text = self.redact(text);
        }
    }

    /// `text` with every secret replaced by [`MASK`].
    fn mask(&self, text: &str) -> String {
        let spans = self.finder.spans(text);
        if spans.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut shown = 0;
        for span in spans {
            out.push_str(&text[shown..span.start]);
            out.push_str(MASK);
            shown = span.end;
        }
        out.push_str(&text[shown..]);
        out
    }

    /// `text`, which was cut short where it was read, with its end masked when it could be the
    /// start of a secret (at least [`MIN_SECRET_START`] characters of one).
    fn mask_start(&self, text: &str) -> String {
        // In bytes: the longest end of `text` that is how a secret begins. A whole secret was
        // masked already, so only shorter starts are looked for.
        let mut longest = 0;
        for form in self.finder.forms() {
            for (chars, (bytes, _)) in form.char_indices().enumerate() {
                if chars >= MIN_SECRET_START
                    && bytes > longest
                    && ends_with_ignoring_ascii_case(text, &form[..bytes])
                {
                    longest = bytes;
                }
            }
        }
        if longest == 0 {
            return text.to_string();
        }
        format!("{}{MASK}", &text[..text.len() - longest])
    }

    /// Turns every `--update` fix that would write a secret into a spec into one that says so.
    pub fn guard_fixes(&self, outcome: &mut TestOutcome) {
        if self.is_empty() {
            return;
        }
        for failure in &mut outcome.failures {
            if let Some(Fix::Replace { text, .. }) = failure.fix.as_deref()
                && self.written_in(text)
            {
                failure.fix = Some(Box::new(Fix::Cannot(
                    "what was observed holds a secret's value, which --update does not write \
                     into a spec; update it by hand"
                        .to_string(),
                )));
            }
        }
    }

    /// Whether spec text holds a secret, in any of the ways it can be read
    /// ([`spec_literals::readings`]).
    fn written_in(&self, spec_text: &str) -> bool {
        spec_literals::readings(spec_text)
            .iter()
            .any(|reading| self.found_in(reading))
    }

    /// A copy of the outcome with every secret masked in every text it holds, its file's name
    /// and text included (and no fix that would write one).
    pub fn redact_outcome(&self, outcome: &TestOutcome) -> TestOutcome {
        let mut outcome = outcome.clone();
        self.guard_fixes(&mut outcome);
        outcome.file = self.masked_file(&outcome.file);
        self.redact_in_place(&mut outcome.name);
        for failure in &mut outcome.failures {
            self.redact_in_place(&mut failure.message);
            self.redact_in_place(&mut failure.label);
            for note in &mut failure.notes {
                self.redact_in_place(note);
            }
            if let Some(diff) = &mut failure.diff {
                // The items the stream sent, in order: matched ones and the others.
                self.mask_split_values(
                    diff.lines
                        .iter_mut()
                        .filter(|line| line.tag != Tag::Removed)
                        .map(|line| &mut line.text)
                        .collect(),
                );
                for line in &mut diff.lines {
                    self.redact_in_place(&mut line.text);
                }
            }
        }
        for stream in &mut outcome.streams {
            // Names come from the spec, whose text is masked too (`masked_file`).
            for name in [&mut stream.name, &mut stream.branch].into_iter().flatten() {
                self.redact_in_place(name);
            }
            if let Some(items) = &mut stream.aborted_after {
                self.mask_split_values(items.iter_mut().map(|(text, _)| text).collect());
            }
            for (text, _) in stream.aborted_after.iter_mut().flatten() {
                self.redact_in_place(text);
            }
            if let Some(timeline) = &mut stream.timeline {
                self.mask_split_values(listed_texts(timeline));
                for text in listed_texts(timeline) {
                    self.redact_in_place(text);
                }
            }
        }
        for barrier in &mut outcome.barriers {
            self.redact_in_place(&mut barrier.name);
            if let Some(branch) = &mut barrier.branch {
                self.redact_in_place(branch);
            }
        }
        outcome
    }

    /// Masks a secret that a stream sent split across items, each too short a part of it to be
    /// masked on its own: `items` are the items' texts in order, as spec lines; each string
    /// literal that holds part of a secret found in joined values ([`spec_literals`]) becomes
    /// `"***"`.
    fn mask_split_values(&self, mut items: Vec<&mut String>) {
        if self.is_empty() || items.len() < 2 {
            return;
        }
        let joined = items
            .iter()
            .map(|item| item.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let literals = spec_literals::string_literals(&joined);
        let mut masked = vec![false; literals.len()];
        for run in spec_literals::joined_runs(&joined, &literals) {
            self.mark_split_secrets(&literals, &run, &mut masked);
        }
        let mut item_starts = Vec::with_capacity(items.len());
        let mut start = 0;
        for item in &items {
            item_starts.push(start);
            start += item.len() + 1;
        }
        // From the last, so that the ranges before stay where they are.
        for (literal, _) in literals.iter().zip(&masked).rev().filter(|(_, m)| **m) {
            let item = item_starts.partition_point(|&start| start <= literal.range.start) - 1;
            let offset = item_starts[item];
            let range = literal.range.start - offset..literal.range.end - offset;
            items[item].replace_range(range, &format!("\"{MASK}\""));
        }
    }

    /// Marks in `masked` the literals of `run` that hold part of a secret found across two or
    /// more of them once their values are joined (one found within a single literal is masked
    /// where it is).
    fn mark_split_secrets(&self, literals: &[Literal], run: &[usize], masked: &mut [bool]) {
        let mut joined = String::new();
        let mut starts = Vec::with_capacity(run.len());
        for &index in run {
            starts.push(joined.len());
            joined.push_str(&literals[index].value);
        }
        for span in self.finder.spans(&joined) {
            let first = starts.partition_point(|&start| start <= span.start) - 1;
            let last = starts.partition_point(|&start| start < span.end) - 1;
            if first < last {
                for &index in &run[first..=last] {
                    masked[index] = true;
                }
            }
        }
    }

    /// The spec file as reports show it: its path masked (a file named after a secret), and
    /// its text too (the lines under a failure, a test's name as written), each masked
    /// character replaced by a star of the same length in bytes, so that every span into the
    /// file, and every column, stays as it was. Made once per file.
    fn masked_file(&self, file: &Arc<SourceFile>) -> Arc<SourceFile> {
        if self.is_empty() {
            return Arc::clone(file);
        }
        let key = Arc::as_ptr(file) as usize;
        let mut cache = self
            .masked_files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, masked)) = cache.get(&key) {
            return Arc::clone(masked);
        }
        let path = file.path.to_string_lossy();
        let text_spans = self.finder.spans(&file.text);
        let masked = if text_spans.is_empty() && !self.found_in(&path) {
            Arc::clone(file)
        } else {
            let path = if self.found_in(&path) {
                PathBuf::from(self.mask(&path))
            } else {
                file.path.clone()
            };
            SourceFile::new(path, starred(&file.text, &text_spans))
        };
        // The original is kept with its masked copy, so that its address is not reused.
        cache.insert(key, (Arc::clone(file), Arc::clone(&masked)));
        masked
    }
}

fn ends_with_ignoring_ascii_case(text: &str, end: &str) -> bool {
    text.len() >= end.len()
        && text.is_char_boundary(text.len() - end.len())
        && text[text.len() - end.len()..].eq_ignore_ascii_case(end)
}

/// `text` with each character in `spans` replaced by a star as long in UTF-8 (so that byte
/// offsets and character counts stay), line breaks kept (so that lines stay).
fn starred(text: &str, spans: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut shown = 0;
    for span in spans {
        out.push_str(&text[shown..span.start]);
        for c in text[span.clone()].chars() {
            out.push(match c.len_utf8() {
                _ if c == '\n' || c == '\r' => c,
                1 => '*',
                2 => '\u{00D7}',  // ×
                3 => '\u{2217}',  // ∗
                _ => '\u{1F7B6}', // 🞶
            });
        }
        shown = span.end;
    }
    out.push_str(&text[shown..]);
    out
}

/// The secrets of a group once its variables are known: the values of the variables its config
/// lists in `secrets` ([`config_secrets`], with its warnings) and of those its specs send as
/// credentials ([`super::credentials`]).
pub fn group_secrets(
    group: &crate::project::Group,
    vars: &HashMap<String, String>,
) -> (Vec<String>, Vec<Diagnostic>) {
    let (mut values, warnings) = config_secrets(group.config.as_ref(), vars);
    let names = super::credentials::variables(&group.specs);
    for name in &names {
        if let Some(value) = vars.get(name)
            && super::credentials::worth_masking(value)
        {
            values.push(value.clone());
        }
    }
    values.extend(super::credentials::let_values(&group.specs, &names));
    (values, warnings)
}

/// The values of the variables a config lists in `secrets`, once a group's variables are known,
/// and a warning for each name that no source set.
pub fn config_secrets(
    config: Option<&ProjectConfig>,
    vars: &HashMap<String, String>,
) -> (Vec<String>, Vec<Diagnostic>) {
    let mut values = Vec::new();
    let mut warnings = Vec::new();
    for name in config.iter().flat_map(|config| &config.secrets) {
        match vars.get(&name.text) {
            Some(value) => values.push(value.clone()),
            None => {
                let mut warning = Diagnostic::warning(format!(
                    "secret `{}` is not set: no variable has that name",
                    name.text
                ));
                if let Some(config) = config {
                    warning = warning.at(&config.file, name.span, "not a variable");
                }
                warnings.push(warning.help(
                    "set it with `--var`, `--secret`, STREAMSPEC_VAR_* or [vars], or fix the name",
                ));
            }
        }
    }
    (values, warnings)
}

/// Masks secrets in every outcome before passing it on.
pub struct Redacting<R> {
    inner: R,
    secrets: Secrets,
}

impl<R: Reporter> Redacting<R> {
    pub fn new(inner: R, secrets: Secrets) -> Self {
        Redacting { inner, secrets }
    }
}

impl<R: Reporter> Reporter for Redacting<R> {
    fn run_started(&mut self, tests: usize, files: usize) {
        self.inner.run_started(tests, files);
    }

    fn test_finished(&mut self, outcome: &TestOutcome) {
        self.inner
            .test_finished(&self.secrets.redact_outcome(outcome));
    }

    fn run_finished(&mut self, summary: &Summary, outcomes: &[TestOutcome]) {
        let redacted: Vec<TestOutcome> = outcomes
            .iter()
            .map(|outcome| self.secrets.redact_outcome(outcome))
            .collect();
        self.inner.run_finished(summary, &redacted);
    }

    fn add_secrets(&mut self, values: &[String]) {
        for value in values {
            self.secrets.add(value);
        }
    }
}

/// The texts of the items a stream's timeline lists (for the HTML report), in order.
fn listed_texts(timeline: &mut crate::interp::timeline::Timeline) -> Vec<&mut String> {
    timeline
        .listed
        .iter_mut()
        .filter_map(|arrival| arrival.text.as_mut())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_value_and_its_escaped_forms() {
        let mut secrets = Secrets::default();
        secrets.add(r#"a"b c/d"#);
        assert_eq!(secrets.redact(r#"x a"b c/d y"#), "x *** y");
        assert_eq!(secrets.redact(r#"{"t": "a\"b c/d"}"#), r#"{"t": "***"}"#);
        assert_eq!(secrets.redact("?k=a%22b%20c%2Fd"), "?k=***");
        assert_eq!(secrets.redact("?k=a%22b%20c/d"), "?k=***");
    }

    #[test]
    fn a_longer_secret_is_masked_whole() {
        let mut secrets = Secrets::default();
        secrets.add("abc");
        secrets.add("abcdef");
        assert_eq!(secrets.redact("abcdef abc"), "*** ***");
    }

    #[test]
    fn a_long_value_is_cut_after_the_secret_in_it_is_masked() {
        let mut secrets = Secrets::default();
        secrets.add("sk-0123456789");
        let message = format!(
            "found {}",
            crate::excerpt::excerpt("abc sk-0123456789 def", 8)
        );
        assert_eq!(secrets.redact(&message), "found abc *** …");
    }

    #[test]
    fn the_end_of_a_text_cut_short_is_masked_when_a_secret_could_begin_there() {
        let mut secrets = Secrets::default();
        secrets.add("sk-0123456789");
        let cut_short = |text| secrets.redact(&crate::excerpt::excerpt_of_partial(text, 100));
        assert_eq!(cut_short("body: sk-0123"), "body: ***…");
        assert_eq!(cut_short("body: sk-"), "body: ***…");
        assert_eq!(cut_short("body: sk"), "body: sk…");
        assert_eq!(cut_short("body: sk-0123456789"), "body: ***…");
    }

    #[test]
    fn a_secret_split_across_items_is_masked_in_each() {
        let mut secrets = Secrets::default();
        secrets.add("sk-0123456789abcdef");
        let mut items: Vec<String> = [
            r#"data: json { "delta": { "content": "sk-01" }, "n": "x1" }"#,
            r#"data: json { "delta": { "content": "23456789a" }, "n": "x2" }"#,
            r#"data: json { "delta": { "content": "bcdef" }, "n": "x3" }"#,
            r#"data: "unrelated""#,
        ]
        .map(String::from)
        .to_vec();
        secrets.mask_split_values(items.iter_mut().collect());
        assert_eq!(
            items,
            [
                r#"data: json { "delta": { "content": "***" }, "n": "x1" }"#,
                r#"data: json { "delta": { "content": "***" }, "n": "x2" }"#,
                r#"data: json { "delta": { "content": "***" }, "n": "x3" }"#,
                r#"data: "unrelated""#,
            ]
        );
    }

    #[test]
    fn stream_barrier_and_branch_names_are_masked_as_the_spec_text_they_come_from() {
        let mut secrets = Secrets::default();
        secrets.add("s3cr3t");
        let mut outcome = crate::report::fixtures::parallel_outcome();
        outcome.streams[0].name = Some("s3cr3t[2]".to_string());
        outcome.streams[0].branch = Some("room/s3cr3t[1]".to_string());
        outcome.barriers[0].name = "s3cr3t".to_string();
        outcome.barriers[0].branch = Some("s3cr3t[2]".to_string());
        let redacted = secrets.redact_outcome(&outcome);
        let stream = &redacted.streams[0];
        assert_eq!(
            (stream.name.as_deref(), stream.branch.as_deref()),
            (Some("***[2]"), Some("room/***[1]"))
        );
        let barrier = &redacted.barriers[0];
        assert_eq!(
            (barrier.name.as_str(), barrier.branch.as_deref()),
            ("***", Some("***[2]"))
        );
    }

    #[test]
    fn empty_values_mask_nothing() {
        let mut secrets = Secrets::default();
        secrets.add("");
        assert!(secrets.is_empty());
        assert_eq!(secrets.redact("text"), "text");
    }
}

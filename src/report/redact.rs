//! Secrets: values of variables given with `--secret` or listed in `secrets = [...]` in
//! streamspec.toml. Every outcome is redacted before any reporter sees it, so no format (and no
//! escaping a format applies afterwards) can show a secret; the other things a run prints (the
//! `--update` lines, a service that did not start) go through [`Secrets::redact`] too. Redacting
//! is also where long values are cut for display ([`crate::excerpt`]): after masking, so that a
//! cut never leaves part of a secret.

use std::collections::HashMap;

use super::{Reporter, Summary};
use crate::config::ProjectConfig;
use crate::diagnostic::Diagnostic;
use crate::outcome::{Fix, TestOutcome};

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// The fewest characters at the end of a text cut short that are masked as the start of a
/// secret: fewer would mask ordinary text (a secret beginning with `a` and a text ending in `a`).
const MIN_SECRET_START: usize = 3;

/// The secret values known so far, with the forms in which they can reach a report.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// Longest first, so that a secret containing another is masked whole.
    forms: Vec<String>,
}

impl Secrets {
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// Adds a secret value. A value comes back in a report as written, inside a JSON string
    /// (an echoed header, a request body) or percent-encoded in a URL, so each of those forms is
    /// masked too. Empty values mask nothing.
    pub fn add(&mut self, value: &str) {
        if value.is_empty() {
            return;
        }
        let json = serde_json::Value::from(value).to_string();
        let forms = [
            value.to_string(),
            json[1..json.len() - 1].to_string(),
            percent_encode(value, |b| {
                !b.is_ascii_alphanumeric() && !b"-._~".contains(&b)
            }),
            // What a URL parser leaves of a value written into a query: the WHATWG query set.
            percent_encode(value, |b| b <= b' ' || b >= 0x7f || b"\"#<>'".contains(&b)),
        ];
        for form in forms {
            if !self.forms.contains(&form) {
                self.forms.push(form);
            }
        }
        self.forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
    }

    /// Whether `text` holds a secret, in any of its forms.
    pub fn found_in(&self, text: &str) -> bool {
        self.forms.iter().any(|form| text.contains(form.as_str()))
    }

    /// `text` as a report shows it: every secret replaced by [`MASK`], then each long value in
    /// it cut to its excerpt ([`crate::excerpt`]).
    pub fn redact(&self, text: &str) -> String {
        crate::excerpt::settle(text, |text| self.mask(text), |text| self.mask_start(text))
    }

    fn redact_in_place(&self, text: &mut String) {
        if !self.forms.is_empty() || crate::excerpt::has_excerpts(text) {
            *text = self.redact(text);
        }
    }

    /// `text` with every secret replaced by [`MASK`].
    fn mask(&self, text: &str) -> String {
        let mut text = text.to_string();
        for form in &self.forms {
            if text.contains(form.as_str()) {
                text = text.replace(form.as_str(), MASK);
            }
        }
        text
    }

    /// `text`, which was cut short where it was read, with its end masked when it could be the
    /// start of a secret (at least [`MIN_SECRET_START`] characters of one).
    fn mask_start(&self, text: &str) -> String {
        // In bytes: the longest end of `text` that is how a secret begins. A whole secret was
        // masked already, so only shorter starts are looked for.
        let mut longest = 0;
        for form in &self.forms {
            for (chars, (bytes, _)) in form.char_indices().enumerate() {
                if chars >= MIN_SECRET_START && bytes > longest && text.ends_with(&form[..bytes]) {
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
        for failure in &mut outcome.failures {
            if let Some(Fix::Replace { text, .. }) = failure.fix.as_deref()
                && self.found_in(text)
            {
                failure.fix = Some(Box::new(Fix::Cannot(
                    "what was observed holds a secret's value, which --update does not write \
                     into a spec; update it by hand"
                        .to_string(),
                )));
            }
        }
    }

    /// A copy of the outcome with every secret masked in every text it holds (and no fix that
    /// would write one).
    pub fn redact_outcome(&self, outcome: &TestOutcome) -> TestOutcome {
        let mut outcome = outcome.clone();
        self.guard_fixes(&mut outcome);
        self.redact_in_place(&mut outcome.name);
        for failure in &mut outcome.failures {
            self.redact_in_place(&mut failure.message);
            self.redact_in_place(&mut failure.label);
            for note in &mut failure.notes {
                self.redact_in_place(note);
            }
            if let Some(diff) = &mut failure.diff {
                for line in &mut diff.lines {
                    self.redact_in_place(&mut line.text);
                }
            }
        }
        for stream in &mut outcome.streams {
            for (text, _) in stream.aborted_after.iter_mut().flatten() {
                self.redact_in_place(text);
            }
        }
        outcome
    }
}

/// `%XX` for every byte `encode` picks, in upper-case hex as URL serializers write it.
fn percent_encode(value: &str, encode: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(value.len());
    for &byte in value.as_bytes() {
        if encode(byte) {
            out.push_str(&format!("%{byte:02X}"));
        } else {
            out.push(char::from(byte));
        }
    }
    out
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
    fn empty_values_mask_nothing() {
        let mut secrets = Secrets::default();
        secrets.add("");
        assert!(secrets.is_empty());
        assert_eq!(secrets.redact("text"), "text");
    }
}

//! Finds secrets in a text, in one pass with one automaton: every form of every secret
//! ([`super::secret_forms`]), letters in any ASCII case, and every stretch of at least
//! [`MIN_SECRET_PART`] characters that starts or ends a form (a secret split across events, or
//! cut short), extended where it is found to as much of the form as the text holds.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};

/// The fewest characters of a secret's start or end that are masked wherever they are: a secret
/// split across two events, or cut short by the server, shows as two such parts. Fewer would
/// mask ordinary text; a secret this short or shorter is masked only whole.
pub const MIN_SECRET_PART: usize = 6;

/// The forms of the secrets known so far, and the automaton that finds them.
#[derive(Debug, Clone, Default)]
pub struct SecretFinder {
    forms: Vec<String>,
    /// The forms in lower case, to leave out those already known.
    known: HashSet<String>,
    /// `None` without forms, or when the automaton could not be built (forms too large for it):
    /// then each form is looked for in turn, so that masking never fails open.
    automaton: Option<Automaton>,
}

#[derive(Debug, Clone)]
struct Automaton {
    patterns: AhoCorasick,
    /// For each pattern, what finding it means (one pattern can begin several forms).
    parts: Vec<Vec<Part>>,
}

#[derive(Debug, Clone, Copy)]
enum Part {
    /// A whole form, short enough to be its own pattern.
    Whole,
    /// The first characters of the form with this index.
    Start(usize),
    /// The last characters of the form with this index.
    End(usize),
}

impl SecretFinder {
    /// The forms known so far.
    pub fn forms(&self) -> &[String] {
        &self.forms
    }

    /// Adds forms (those already known, in any case, are left out), and builds the automaton
    /// anew.
    pub fn add(&mut self, forms: impl IntoIterator<Item = String>) {
        for form in forms {
            if self.known.insert(form.to_ascii_lowercase()) {
                self.forms.push(form);
            }
        }
        self.automaton = Automaton::new(&self.forms);
    }

    /// Where `text` holds a form of a secret, or at least [`MIN_SECRET_PART`] characters of the
    /// start or the end of one: in order, overlapping ones merged.
    pub fn spans(&self, text: &str) -> Vec<Range<usize>> {
        let Some(automaton) = &self.automaton else {
            return self.spans_without_an_automaton(text);
        };
        let mut spans = Vec::new();
        for found in automaton.patterns.find_overlapping_iter(text) {
            for part in &automaton.parts[found.pattern().as_usize()] {
                spans.push(match *part {
                    Part::Whole => found.range(),
                    Part::Start(form) => {
                        let len = common_start(&text[found.start()..], &self.forms[form]);
                        found.start()..found.start() + len
                    }
                    Part::End(form) => {
                        let len = common_end(&text[..found.end()], &self.forms[form]);
                        found.end() - len..found.end()
                    }
                });
            }
        }
        merged(spans)
    }

    /// What [`SecretFinder::spans`] finds, the slow way.
    fn spans_without_an_automaton(&self, text: &str) -> Vec<Range<usize>> {
        let lower = text.to_ascii_lowercase();
        let mut spans = Vec::new();
        for form in &self.forms {
            let form = form.to_ascii_lowercase();
            for (pattern, part) in patterns_of(&form, 0) {
                for (at, _) in lower.match_indices(pattern.as_str()) {
                    spans.push(match part {
                        Part::Whole => at..at + pattern.len(),
                        Part::Start(_) => at..at + common_start(&lower[at..], &form),
                        Part::End(_) => {
                            let end = at + pattern.len();
                            end - common_end(&lower[..end], &form)..end
                        }
                    });
                }
            }
        }
        merged(spans)
    }
}

impl Automaton {
    /// `None` without forms, or when the automaton cannot be built (they are too large for it).
    fn new(forms: &[String]) -> Option<Automaton> {
        if forms.is_empty() {
            return None;
        }
        let mut patterns: Vec<String> = Vec::new();
        let mut parts: Vec<Vec<Part>> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (form_index, form) in forms.iter().enumerate() {
            for (pattern, part) in patterns_of(form, form_index) {
                let slot = *index
                    .entry(pattern.to_ascii_lowercase())
                    .or_insert_with(|| {
                        patterns.push(pattern);
                        parts.push(Vec::new());
                        patterns.len() - 1
                    });
                parts[slot].push(part);
            }
        }
        let patterns = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .ok()?;
        Some(Automaton { patterns, parts })
    }
}

/// The patterns that find `form`: itself when it is short, else its first and its last
/// [`MIN_SECRET_PART`] characters.
fn patterns_of(form: &str, form_index: usize) -> Vec<(String, Part)> {
    let chars = form.chars().count();
    if chars <= MIN_SECRET_PART {
        return vec![(form.to_string(), Part::Whole)];
    }
    let start_end = form
        .char_indices()
        .nth(MIN_SECRET_PART)
        .map_or(form.len(), |(at, _)| at);
    let end_start = form
        .char_indices()
        .nth(chars - MIN_SECRET_PART)
        .map_or(0, |(at, _)| at);
    vec![
        (form[..start_end].to_string(), Part::Start(form_index)),
        (form[end_start..].to_string(), Part::End(form_index)),
    ]
}

/// In bytes of `text`: how much of its start is the start of `form`, letters in any ASCII case.
fn common_start(text: &str, form: &str) -> usize {
    text.chars()
        .zip(form.chars())
        .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
        .map(|(a, _)| a.len_utf8())
        .sum()
}

/// In bytes of `text`: how much of its end is the end of `form`, letters in any ASCII case.
fn common_end(text: &str, form: &str) -> usize {
    text.chars()
        .rev()
        .zip(form.chars().rev())
        .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
        .map(|(a, _)| a.len_utf8())
        .sum()
}

/// `spans` in order, with those that overlap made one.
fn merged(mut spans: Vec<Range<usize>>) -> Vec<Range<usize>> {
    spans.retain(|span| !span.is_empty());
    spans.sort_by_key(|span| (span.start, std::cmp::Reverse(span.end)));
    let mut out: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for span in spans {
        match out.last_mut() {
            Some(last) if span.start < last.end => last.end = last.end.max(span.end),
            _ => out.push(span),
        }
    }
    out
}

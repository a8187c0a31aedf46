//! Variables and captures in a spec: whether every `{{name}}` a template, pattern or message
//! uses is set by then (with a suggestion when not), and every capture a pattern, block or file
//! makes.

use std::collections::HashSet;

use super::{Checker, TestState};
use crate::ast::*;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::interpolate::{self, InterpolateError};
use crate::source::Span;

impl Checker {
    /// An aggregate on a capture (`expect reply joined …`, `expect id distinct`) needs the
    /// capture made before it.
    pub(super) fn captured_before(&mut self, name: &Ident, state: &TestState) {
        if state.captures.contains(&name.value) {
            return;
        }
        let suggestion = did_you_mean(&name.value, state.captures.iter().map(String::as_str));
        let mut diagnostic = Diagnostic::error(format!(
            "nothing captures `{}` before this line",
            name.value
        ))
        .at(&self.file, name.span, "not captured");
        diagnostic = match suggestion {
            _ if let Some(help) = self.capture_help(&name.value, name.span, false) => {
                diagnostic.help(help)
            }
            Some(s) => diagnostic.help(format!("did you mean `{s}`?")),
            None => diagnostic.help(format!(
                "capture a value in a pattern with `-> {}`",
                name.value
            )),
        };
        self.diagnostics.push(diagnostic);
    }

    pub(super) fn header_vars(&mut self, header: &HeaderExpectation, state: &mut TestState) {
        match &header.check {
            HeaderCheck::Equals(t) | HeaderCheck::NotEquals(t) | HeaderCheck::Contains(t) => {
                self.template(t, &state.captures)
            }
            _ => {}
        }
        if let Some(capture) = &header.capture {
            if matches!(header.check, HeaderCheck::Absent) {
                self.error(
                    capture.span,
                    "`not exists` has nothing to capture",
                    "the header is absent",
                );
            }
            state.captures.insert(capture.value.clone());
        }
    }

    /// Variables used in a pattern must be known; captures it makes become known after it.
    pub(super) fn pattern_vars(&mut self, pattern: &ItemPattern, state: &mut TestState) {
        let known = &state.captures;
        match &pattern.kind {
            ItemPatternKind::Sse(sse) => {
                for matcher in [&sse.id, &sse.event].into_iter().flatten() {
                    self.text_vars(matcher, known);
                }
                match &sse.data {
                    Some(DataMatcher::Text(m)) => self.text_vars(m, known),
                    Some(DataMatcher::Json(p)) => self.json_vars(p, known),
                    None => {}
                }
                self.path_vars(&sse.paths, known);
            }
            ItemPatternKind::Json(json) => {
                if let Some(p) = &json.value {
                    self.json_vars(p, known);
                }
                self.path_vars(&json.paths, known);
            }
            ItemPatternKind::Text(text)
            | ItemPatternKind::Socket(SocketPattern::Data(text) | SocketPattern::Text(text)) => {
                if let Some(m) = &text.text {
                    self.text_vars(m, known);
                }
                if let Some(p) = &text.json {
                    self.json_vars(p, known);
                }
                self.path_vars(&text.paths, known);
            }
            ItemPatternKind::Socket(SocketPattern::Control {
                payload: Some(payload),
                ..
            }) => self.text_vars(payload, known),
            ItemPatternKind::Socket(_) => {}
        }
        let captured: Vec<String> = pattern_captures(pattern)
            .into_iter()
            .map(|name| name.value.clone())
            .collect();
        state.captures.extend(captured);
    }

    pub(super) fn text_vars(&mut self, matcher: &TextMatcher, known: &HashSet<String>) {
        if let TextMatcherKind::Exact(t) | TextMatcherKind::Contains(t) = &matcher.kind {
            self.template(t, known);
        }
    }

    pub(super) fn path_vars(&mut self, paths: &[PathAssert], known: &HashSet<String>) {
        for path in paths {
            match &path.check {
                PathCheck::Matches(p) | PathCheck::NotMatches(p) => self.json_vars(p, known),
                PathCheck::Contains(t) => self.template(t, known),
                _ => {}
            }
        }
    }

    pub(super) fn message_vars(&mut self, message: &Message, captures: &HashSet<String>) {
        match message {
            Message::Json(pattern) | Message::JsonText(pattern) => {
                self.json_vars(pattern, captures)
            }
            Message::File(path)
            | Message::Binary(BinarySource::Hex(path))
            | Message::Binary(BinarySource::Base64(path))
            | Message::Binary(BinarySource::File(path))
            | Message::Ping(Some(path)) => self.template(path, captures),
            Message::Ping(None) => {}
        }
    }

    pub(super) fn json_vars(&mut self, pattern: &JsonPattern, captures: &HashSet<String>) {
        match &pattern.kind {
            JsonPatternKind::String(t) | JsonPatternKind::Repeated { text: t, .. } => {
                self.template(t, captures)
            }
            JsonPatternKind::Var(name) if !self.is_known(&name.value, captures) => {
                self.unknown_var(&name.value, name.span, captures);
            }
            JsonPatternKind::Object { members, .. } => {
                for (_, member) in members {
                    self.json_vars(member, captures);
                }
            }
            JsonPatternKind::Array { items, .. } => {
                for item in items {
                    self.json_vars(item, captures);
                }
            }
            _ => {}
        }
    }

    pub(super) fn is_known(&self, name: &str, captures: &HashSet<String>) -> bool {
        self.any_var || self.known.contains(name) || captures.contains(name)
    }

    pub(super) fn template(&mut self, template: &Template, captures: &HashSet<String>) {
        self.template_text(&template.text, template.text_offset, captures);
    }

    /// Every placeholder of the text must be well formed and name a variable set by then.
    pub(super) fn template_text(&mut self, text: &str, offset: usize, captures: &HashSet<String>) {
        for error in interpolate::check(text, |name| self.is_known(name, captures)) {
            let range = error.range();
            let span = Span::new(offset + range.start, offset + range.end);
            match error {
                InterpolateError::Unknown { name, .. } => self.unknown_var(&name, span, captures),
                InterpolateError::Malformed { text, .. } => {
                    self.not_a_placeholder(format!("`{text}` is not a placeholder"), &text, span)
                }
            }
        }
    }

    /// Variables written as another language writes them (`{base}`, `$base`) or with a brace
    /// too many (`{{base}}}`), where that can only be a mistake (see [`interpolate::Context`]).
    /// Only the variables really set count as names here, even for `fmt`.
    pub(super) fn look_alikes(
        &mut self,
        template: &Template,
        context: interpolate::Context,
        captures: &HashSet<String>,
    ) {
        let is_variable = |name: &str| self.known.contains(name) || captures.contains(name);
        let found = interpolate::look_alikes(&template.text, context, is_variable);
        for look_alike in found {
            let range = look_alike.range;
            let span = Span::new(
                template.text_offset + range.start,
                template.text_offset + range.end,
            );
            let written = look_alike.text;
            let message = if look_alike.extra_brace {
                format!("`{written}` has a `}}` too many")
            } else {
                format!("`{written}` is not a placeholder")
            };
            self.not_a_placeholder(message, &written, span);
        }
    }

    /// The error for text meant as a placeholder, with the placeholder it was meant to be.
    fn not_a_placeholder(&mut self, message: String, written: &str, span: Span) {
        let help = match interpolate::meant_placeholder(written) {
            Some(meant) => format!("did you mean `{meant}`?"),
            None => "a name is letters, digits, `_`, `.` and `-`".to_string(),
        };
        let diagnostic = Diagnostic::error(message)
            .at(&self.file, span, "placeholders are written `{{name}}`")
            .help(help);
        self.diagnostics.push(diagnostic);
    }

    pub(super) fn unknown_var(&mut self, name: &str, span: Span, captures: &HashSet<String>) {
        let candidates: Vec<&str> = self
            .known
            .iter()
            .chain(captures.iter())
            .map(String::as_str)
            .collect();
        let mut diagnostic = Diagnostic::error(format!("variable `{name}` is not defined")).at(
            &self.file,
            span,
            "undefined variable",
        );
        diagnostic = match did_you_mean(name, candidates.iter().copied()) {
            _ if let Some(help) = self.capture_help(name, span, true) => diagnostic.help(help),
            _ if self.captured_somewhere.contains_key(name) => {
                let line = self.file.line_col(self.captured_somewhere[name].start).line;
                diagnostic.help(format!(
                    "`{name}` is captured on line {line}; a capture can be used only after the item that sets it, in the same test"
                ))
            }
            Some(suggestion) => diagnostic.help(format!("did you mean `{suggestion}`?")),
            None => diagnostic.help(format!(
                "set it with `let {name} = …`, `--var {name}=…`, the environment variable `STREAMSPEC_VAR_{name}`, or `[vars]` in streamspec.toml"
            )),
        };
        self.diagnostics.push(diagnostic);
    }
}

/// Every `-> name` in a pattern, in order.
pub(super) fn pattern_captures(pattern: &ItemPattern) -> Vec<&Ident> {
    fn text(matcher: &Option<TextMatcher>) -> Option<&Ident> {
        matcher.as_ref().and_then(|m| m.capture.as_ref())
    }
    fn paths<'a>(paths: &'a [PathAssert], out: &mut Vec<&'a Ident>) {
        for path in paths {
            if let PathCheck::Matches(p) | PathCheck::NotMatches(p) = &path.check {
                json_captures(p, out);
            }
        }
    }
    let mut out = Vec::new();
    match &pattern.kind {
        ItemPatternKind::Sse(sse) => {
            out.extend(text(&sse.id));
            out.extend(text(&sse.event));
            match &sse.data {
                Some(DataMatcher::Text(m)) => out.extend(m.capture.as_ref()),
                Some(DataMatcher::Json(p)) => json_captures(p, &mut out),
                None => {}
            }
            paths(&sse.paths, &mut out);
        }
        ItemPatternKind::Json(json) => {
            if let Some(p) = &json.value {
                json_captures(p, &mut out);
            }
            paths(&json.paths, &mut out);
        }
        ItemPatternKind::Text(t)
        | ItemPatternKind::Socket(SocketPattern::Data(t) | SocketPattern::Text(t)) => {
            out.extend(text(&t.text));
            if let Some(p) = &t.json {
                json_captures(p, &mut out);
            }
            paths(&t.paths, &mut out);
        }
        ItemPatternKind::Socket(SocketPattern::Control {
            payload: Some(payload),
            ..
        }) => out.extend(payload.capture.as_ref()),
        ItemPatternKind::Socket(_) => {}
    }
    out
}

/// Every capture a block makes, with where.
pub(super) fn block_captures<'a>(entries: &'a [Entry], out: &mut Vec<&'a Ident>) {
    for entry in entries {
        match &entry.kind {
            EntryKind::Item(line) => out.extend(pattern_captures(&line.pattern)),
            EntryKind::Repeat { body, .. } => block_captures(body, out),
            EntryKind::Until { stop, body } => {
                out.extend(pattern_captures(stop));
                block_captures(body, out);
            }
            EntryKind::AnyOrder(lines) => {
                for line in lines {
                    out.extend(pattern_captures(&line.pattern));
                }
            }
            EntryKind::Split(groups) => {
                for group in groups {
                    block_captures(&group.body, out);
                }
            }
            _ => {}
        }
    }
}

/// Every capture in a file, first place first, so an early use can say where it is set.
pub(super) fn file_captures(spec: &Spec) -> Vec<&Ident> {
    let mut out = Vec::new();
    for test in &spec.tests {
        steps_captures(&test.steps, &mut out);
    }
    out
}

/// Every capture of these steps, those of `repeat` and branch bodies included.
pub(super) fn steps_captures<'a>(steps: &'a [Step], out: &mut Vec<&'a Ident>) {
    for step in steps {
        match &step.kind {
            StepKind::Repeat(repeat) => steps_captures(&repeat.steps, out),
            StepKind::Parallel(parallel) => {
                for branch in &parallel.branches {
                    steps_captures(&branch.steps, out);
                }
            }
            _ => step_captures(step, out),
        }
    }
}

/// The captures one step makes itself (a `repeat` or a `parallel` makes none itself).
pub(super) fn step_captures<'a>(step: &'a Step, out: &mut Vec<&'a Ident>) {
    match &step.kind {
        StepKind::Expect(Expectation::Stream(block)) => block_captures(&block.entries, out),
        StepKind::Expect(Expectation::WholeBody(body)) => {
            out.extend(pattern_captures(&body.pattern))
        }
        StepKind::Expect(Expectation::Header(header) | Expectation::Metadata { header, .. }) => {
            out.extend(header.capture.as_ref())
        }
        StepKind::Expect(Expectation::Message(line)) => out.extend(pattern_captures(&line.pattern)),
        StepKind::Expect(Expectation::GrpcStatus {
            message: Some(matcher),
            ..
        }) => out.extend(matcher.capture.as_ref()),
        _ => {}
    }
}

fn json_captures<'a>(pattern: &'a JsonPattern, out: &mut Vec<&'a Ident>) {
    if let Some(capture) = &pattern.capture {
        out.push(capture);
    }
    match &pattern.kind {
        JsonPatternKind::Object { members, .. } => {
            for (_, member) in members {
                json_captures(member, out);
            }
        }
        JsonPatternKind::Array { items, .. } => {
            for item in items {
                json_captures(item, out);
            }
        }
        _ => {}
    }
}

//! Checks on a response head: `expect status` and `expect header` (and a gRPC call's
//! `expect metadata` and `expect trailer`), what their `-> name` captures, and how `--update`
//! rewrites them.

use super::*;

impl TestRun<'_> {
    /// An `expect header` (or a gRPC call's `expect metadata`, `expect trailer`: `part` says
    /// which, for the messages).
    pub(super) fn check_header(
        &self,
        part: HeadPart,
        header: &HeaderExpectation,
        values: &[String],
        span: Span,
    ) -> Result<(), Failure> {
        let name = &header.name.value;
        let what = part.noun();
        let none = format!("no such {what}");
        let shown = match values {
            [] => none.clone(),
            [one] => format!("`{name}: {one}`"),
            many => format!("`{name}` values {}", many.join(", ")),
        };
        let (ok, expected) = match &header.check {
            HeaderCheck::Exists => (!values.is_empty(), format!("the {what} to be present")),
            HeaderCheck::Absent => (values.is_empty(), none),
            HeaderCheck::Equals(template) => {
                let want = self.scope.resolve(template)?;
                (values.contains(&want), format!("== {}", quote(&want)))
            }
            HeaderCheck::NotEquals(template) => {
                let want = self.scope.resolve(template)?;
                (
                    values.iter().all(|v| *v != want),
                    format!("!= {}", quote(&want)),
                )
            }
            HeaderCheck::Contains(template) => {
                let want = self.scope.resolve(template)?;
                (
                    values.iter().any(|v| v.contains(want.as_str())),
                    format!("contains {}", quote(&want)),
                )
            }
            HeaderCheck::Matches(regex) => (
                values.iter().any(|v| regex.regex.is_match(v)),
                format!("~ {}", render_regex(regex)),
            ),
        };
        if ok {
            return Ok(());
        }
        Err(Failure::assertion(
            format!("{what} `{name}` does not match"),
            span,
            format!("expected {expected}, found {shown}"),
        )
        .with_fix(header_fix(header, values, span)))
    }

    /// `-> name` of a header (or gRPC metadata) expectation that passed: the value that satisfied
    /// the check (the first, for `exists`); with a regex, its first group when it has one.
    pub(super) fn capture_header(
        &mut self,
        header: &HeaderExpectation,
        values: &[String],
    ) -> Result<(), Failure> {
        let Some(name) = &header.capture else {
            return Ok(());
        };
        let captured = values
            .iter()
            .find_map(|value| header_capture(&header.check, value, &self.scope));
        if let Some(captured) = captured {
            let mut captures = vec![(name.value.clone(), Value::String(captured))];
            self.scope.commit(&mut captures, name.span)?;
        }
        Ok(())
    }
}

/// What `expect header … -> name` captures from one value, if the check holds for it.
pub(super) fn header_capture(check: &HeaderCheck, value: &str, scope: &Scope) -> Option<String> {
    let resolved = |template: &Template| scope.resolve(template).ok();
    match check {
        HeaderCheck::Matches(regex) => regex.capture(value).map(str::to_string),
        HeaderCheck::Equals(template) => (resolved(template)? == value).then(|| value.to_string()),
        HeaderCheck::NotEquals(template) => {
            (resolved(template)? != value).then(|| value.to_string())
        }
        HeaderCheck::Contains(template) => value
            .contains(resolved(template)?.as_str())
            .then(|| value.to_string()),
        HeaderCheck::Exists => Some(value.to_string()),
        HeaderCheck::Absent => None,
    }
}

/// Where a header-like expectation looks: an HTTP response's headers, or a gRPC call's
/// response metadata (its headers) or trailers; each named as its protocol names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadPart {
    Header,
    Metadata,
    Trailer,
}

impl HeadPart {
    pub(super) fn noun(self) -> &'static str {
        match self {
            HeadPart::Header => "header",
            HeadPart::Metadata => "metadata",
            HeadPart::Trailer => "trailer",
        }
    }
}

/// `--update` for a header (or gRPC metadata) check: what follows the name says what was found —
/// `== "value"`, `~ /regex/` for a value that changes on every run (a request id, see
/// `update::volatile`), or `not exists` — and a capture stays.
pub(super) fn header_fix(header: &HeaderExpectation, values: &[String], span: Span) -> Fix {
    // `!=`, `exists` and `not exists` guard against something; a snapshot would turn them into
    // their opposite.
    if matches!(
        header.check,
        HeaderCheck::NotEquals(_) | HeaderCheck::Exists | HeaderCheck::Absent
    ) {
        return Fix::Cannot(
            "`!=`, `exists` and `not exists` are guards, not snapshots: update them by hand"
                .to_string(),
        );
    }
    let now = crate::update::volatile::Now::current();
    let mut text = match values.first() {
        Some(value) => match crate::update::volatile::text_regex(value, now) {
            Some(regex) => format!(" ~ /{regex}/"),
            None => format!(" == {}", quote(value)),
        },
        None => " not exists".to_string(),
    };
    if let Some(capture) = &header.capture {
        text.push_str(&format!(" -> {}", capture.value));
    }
    Fix::Replace {
        span: Span::new(header.name.span.end, span.end),
        text,
    }
}

/// The values of a header in a response head, as text, for `expect header`.
pub(super) fn header_values(headers: &reqwest::header::HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect()
}

/// The failure of `expect status …` when `status` is none of the alternatives, with the fix
/// `--update` writes; `None` when it is one of them.
pub(super) fn wrong_status(
    alternatives: &[Spanned<StatusPattern>],
    status: reqwest::StatusCode,
) -> Option<Failure> {
    if alternatives
        .iter()
        .any(|pattern| pattern.value.matches(status.as_u16()))
    {
        return None;
    }
    let codes: Vec<String> = alternatives.iter().map(|a| a.value.render()).collect();
    let codes_span = alternatives_span(alternatives);
    Some(
        Failure::assertion(
            format!(
                "expected status {}, got {}",
                crate::render::or_list(&codes),
                crate::transport::http::describe_status(status)
            ),
            codes_span,
            format!("the server answered {}", status.as_u16()),
        )
        .with_fix(Fix::Replace {
            span: codes_span,
            text: status.as_u16().to_string(),
        }),
    )
}

//! Canonical rendering of the statements of a spec file: `let` lines, test heads, steps and the
//! entries of expectation blocks. A statement that holds a block is rendered as its head (what
//! comes before the `{`); the formatter lays the block out. Patterns inside render through the
//! item and JSON pattern renderers of [`crate::render`], so a step reads the same in `fmt` output
//! as in a diff.

use crate::ast::*;
use crate::duration::format_duration;
use crate::pattern::format_number;
use crate::render::{
    quote, render_item_line, render_item_pattern, render_json_pattern, render_num_cond,
    render_regex, render_text_matcher,
};

/// `let name = value`. A string value is quoted; a number or boolean is written as it was.
pub fn render_let(decl: &Let) -> String {
    format!(
        "let {} = {}",
        decl.name.value,
        render_let_value(&decl.value)
    )
}

/// A `let` value keeps no flag saying whether it was quoted: a quoted value's span also covers
/// its quotes, so it is longer than its text, while a number or boolean is exactly its text.
fn render_let_value(value: &Spanned<String>) -> String {
    let is_literal = value.span.len() == value.value.len()
        && (matches!(value.value.as_str(), "true" | "false")
            || serde_json::from_str::<serde_json::Number>(&value.value).is_ok());
    if is_literal {
        value.value.clone()
    } else {
        quote(&value.value)
    }
}

/// `test "name" @tag @tag`, without the `{`.
pub fn render_test_head(test: &Test) -> String {
    let mut out = format!("test {}", quote(&test.name.value));
    for tag in &test.tags {
        out.push_str(" @");
        out.push_str(&tag.value);
    }
    out
}

/// A template as written: a quoted string (quoted again) or the raw text of a bare value, such
/// as a header value or a URL. A quoted template's text starts one byte after its span.
pub fn render_template(template: &Template) -> String {
    if template.text_offset == template.span.start {
        template.text.clone()
    } else {
        quote(&template.text)
    }
}

/// A step on one line; for `expect sse { … }` and the other blocks, the head before the `{`.
pub fn render_step(step: &StepKind) -> String {
    match step {
        StepKind::Request(request) => {
            let line = format!("{} {}", request.method.value, request.url.text);
            with_stream_name(line, &request.name)
        }
        StepKind::Header(header) => format!(
            "header {}: {}",
            header.name.value,
            render_template(&header.value)
        ),
        StepKind::Body(Body::Json(pattern)) => {
            format!("body json {}", render_json_pattern(pattern))
        }
        StepKind::Body(Body::Text { text, times }) => match times {
            Some(times) => format!("body text {} * {}", quote(&text.text), times.value),
            None => format!("body text {}", quote(&text.text)),
        },
        StepKind::Body(Body::File(path)) => format!("body file {}", quote(&path.text)),
        StepKind::Timeout(duration) => format!("timeout {}", format_duration(duration.value)),
        StepKind::Threshold(text) => format!("threshold {}", text.value),
        StepKind::Expect(expectation) => format!("expect {}", render_expectation(expectation)),
        StepKind::Control(control) => render_control(control),
        StepKind::Grpc(call) => with_stream_name(
            format!("grpc {} {}", call.target.text, call.method.value),
            &call.name,
        ),
        StepKind::GrpcOption(option) => render_grpc_option(option),
        StepKind::Repeat(repeat) => {
            with_index("repeat", &repeat.count.value.to_string(), &repeat.index)
        }
        StepKind::Parallel(_) => "parallel".to_string(),
        StepKind::Barrier(name) => format!("barrier {}", name.value),
        StepKind::Ws(request) => {
            with_stream_name(format!("ws {}", request.url.text), &request.name)
        }
        StepKind::Protocol(names) => {
            let names: Vec<&str> = names.iter().map(|name| name.value.as_str()).collect();
            format!("protocol {}", names.join(", "))
        }
    }
}

/// The head of a `branch` inside a `parallel`: `branch reader 5 times as i`.
pub fn render_branch_head(branch: &Branch) -> String {
    let name = match &branch.times {
        Some(times) => format!("{} {} times", branch.name.value, times.value),
        None => branch.name.value.clone(),
    };
    with_index("branch", &name, &branch.index)
}

fn with_index(keyword: &str, what: &str, index: &Option<Ident>) -> String {
    match index {
        Some(index) => format!("{keyword} {what} as {}", index.value),
        None => format!("{keyword} {what}"),
    }
}

fn with_stream_name(line: String, name: &Option<Ident>) -> String {
    match name {
        Some(name) => format!("{line} as {}", name.value),
        None => line,
    }
}

fn render_grpc_option(option: &GrpcOption) -> String {
    match option {
        GrpcOption::Metadata(header) => format!(
            "metadata {}: {}",
            header.name.value,
            render_template(&header.value)
        ),
        GrpcOption::Deadline(duration) => format!("deadline {}", format_duration(duration.value)),
        GrpcOption::Message(message) => format!("message {}", render_message(message)),
        GrpcOption::Authority(name) => format!("authority {}", render_template(name)),
        GrpcOption::Insecure => "insecure".to_string(),
        GrpcOption::Proto(path) => format!("proto {}", quote(&path.text)),
        GrpcOption::Import(path) => format!("import {}", quote(&path.text)),
        GrpcOption::Descriptor(path) => format!("descriptor {}", quote(&path.text)),
    }
}

/// What follows `expect `; for a stream block, its kind (`sse`, `messages`, …).
pub fn render_expectation(expectation: &Expectation) -> String {
    match expectation {
        Expectation::Status(alternatives) => {
            let codes: Vec<String> = alternatives.iter().map(|a| a.value.render()).collect();
            format!("status {}", codes.join(" | "))
        }
        Expectation::Header(header) => format!("header {}", render_header_expectation(header)),
        Expectation::Stream(block) => match &block.from {
            Some(name) => format!("{} from {}", block.kind.value.keyword(), name.value),
            None => block.kind.value.keyword().to_string(),
        },
        Expectation::SameItems(name, None) => format!("same items in {}", name.value),
        Expectation::SameItems(name, Some(only)) => format!(
            "same items in {} where {}",
            name.value,
            render_item_pattern(only)
        ),
        Expectation::WholeBody(body) => {
            let keyword = match body.pattern.kind {
                ItemPatternKind::Text(_) => "text",
                _ => "json",
            };
            format!("{keyword} {}", render_item_pattern(&body.pattern))
        }
        Expectation::Aggregate(aggregate) => render_aggregate(aggregate),
        Expectation::GrpcStatus { codes, message } => {
            let codes: Vec<&str> = codes.iter().map(|c| c.value.as_str()).collect();
            let codes = codes.join(" | ");
            match message {
                None => format!("status {codes}"),
                Some(matcher) => {
                    let message = match matcher.kind {
                        TextMatcherKind::Regex(_) => format!("~ {}", render_text_matcher(matcher)),
                        _ => render_text_matcher(matcher),
                    };
                    format!("status {codes} message {message}")
                }
            }
        }
        Expectation::Metadata { trailer, header } => format!(
            "{} {}",
            if *trailer { "trailer" } else { "metadata" },
            render_header_expectation(header)
        ),
        Expectation::Message(line) => format!("message {}", render_item_line(line)),
        Expectation::End => "end".to_string(),
        Expectation::Close { codes, reason } => {
            let mut out = "close".to_string();
            if !codes.is_empty() {
                let codes: Vec<String> = codes.iter().map(|c| c.value.to_string()).collect();
                out.push(' ');
                out.push_str(&codes.join(" | "));
            }
            if let Some(matcher) = reason {
                out.push(' ');
                out.push_str(&match matcher.kind {
                    TextMatcherKind::Regex(_) => format!("~ {}", render_text_matcher(matcher)),
                    _ => render_text_matcher(matcher),
                });
            }
            out
        }
    }
}

/// `name check [-> capture]` of `expect header`, `metadata` and `trailer`.
fn render_header_expectation(header: &HeaderExpectation) -> String {
    let check = match &header.check {
        HeaderCheck::Equals(value) => format!("== {}", render_template(value)),
        HeaderCheck::NotEquals(value) => format!("!= {}", render_template(value)),
        HeaderCheck::Matches(regex) => format!("~ {}", render_regex(regex)),
        HeaderCheck::Contains(value) => format!("contains {}", render_template(value)),
        HeaderCheck::Exists => "exists".to_string(),
        HeaderCheck::Absent => "not exists".to_string(),
    };
    let mut out = format!("{} {check}", header.name.value);
    if let Some(capture) = &header.capture {
        out.push_str(" -> ");
        out.push_str(&capture.value);
    }
    out
}

fn render_aggregate(aggregate: &Aggregate) -> String {
    // What is measured, and then the condition; `in NAME` goes between them.
    let (measure, condition) = match &aggregate.kind {
        AggregateKind::Count(cond) => ("count", render_count(&cond.value)),
        AggregateKind::Bytes(cond) => ("bytes", render_count(&cond.value)),
        AggregateKind::Ttfb(cond) => ("ttfb", render_duration_cond(&cond.value)),
        AggregateKind::Duration(cond) => ("duration", render_duration_cond(&cond.value)),
        AggregateKind::FirstItem(cond) => ("first item", render_duration_cond(&cond.value)),
        AggregateKind::Connections(cond) => ("connections", render_count(&cond.value)),
        AggregateKind::Retry(cond) => ("retry", render_count(&cond.value)),
        AggregateKind::ReconnectDelay(cond) => {
            ("reconnect delay", render_duration_cond(&cond.value))
        }
        AggregateKind::Ids(order) => match order.value {
            IdOrder::Increasing => ("ids", "increasing".to_string()),
            IdOrder::Contiguous => ("ids", "contiguous".to_string()),
        },
        AggregateKind::Gaps(bounds) => {
            let bounds: Vec<String> = bounds
                .iter()
                .map(|(stat, cond)| {
                    format!(
                        "{} {}",
                        stat.value.keyword(),
                        render_duration_cond(&cond.value)
                    )
                })
                .collect();
            ("gaps", bounds.join(", "))
        }
        AggregateKind::Distinct(name) => (name.value.as_str(), "distinct".to_string()),
        AggregateKind::Capture {
            name,
            function,
            check,
        } => {
            let check = format!(
                "{} {} {}",
                name.value,
                function.value.keyword(),
                render_value_check(check)
            );
            return match aggregate.whole_test {
                true => format!("test {check}"),
                false => check,
            };
        }
    };
    let mut out = String::new();
    if aggregate.whole_test {
        out.push_str("test ");
    }
    out.push_str(measure);
    if let Some(group) = &aggregate.group {
        out.push_str(" in ");
        out.push_str(&group.value);
    }
    out.push(' ');
    out.push_str(&condition);
    out
}

/// A number condition after an aggregate: `== 5`, `< 10`, `in 3..7`.
fn render_count(cond: &NumCond) -> String {
    match cond {
        NumCond::Compare(..) => render_num_cond(cond),
        NumCond::Range(lo, hi) => format!("in {}", render_range(*lo, *hi)),
    }
}

fn render_range(lo: Option<f64>, hi: Option<f64>) -> String {
    format!(
        "{}..{}",
        lo.map(format_number).unwrap_or_default(),
        hi.map(format_number).unwrap_or_default()
    )
}

/// `< 500ms`, `in 400ms..1.5s`.
pub fn render_duration_cond(cond: &DurationCond) -> String {
    match cond {
        DurationCond::Compare(op, duration) => {
            format!("{} {}", op.symbol(), format_duration(*duration))
        }
        DurationCond::Range(lo, hi) => {
            format!("in {}..{}", format_duration(*lo), format_duration(*hi))
        }
    }
}

fn render_value_check(check: &ValueCheck) -> String {
    match &check.kind {
        ValueCheckKind::Matches(pattern) => format!("== {}", render_json_pattern(pattern)),
        ValueCheckKind::NotMatches(pattern) => format!("!= {}", render_json_pattern(pattern)),
        ValueCheckKind::Regex(regex) => format!("~ {}", render_regex(regex)),
        ValueCheckKind::Contains(text) => format!("contains {}", quote(&text.text)),
        ValueCheckKind::Number(cond) => render_count(cond),
    }
}

/// A gRPC request message after `message` or `send`: `{ … }` or `file "message.json"`.
pub fn render_message(message: &Message) -> String {
    match message {
        Message::Json(pattern) => render_json_pattern(pattern),
        Message::File(path) => format!("file {}", quote(&path.text)),
        Message::JsonText(pattern) => format!("json {}", render_json_pattern(pattern)),
        Message::Binary(BinarySource::Hex(text)) => format!("binary hex {}", quote(&text.text)),
        Message::Binary(BinarySource::Base64(text)) => {
            format!("binary base64 {}", quote(&text.text))
        }
        Message::Binary(BinarySource::File(path)) => format!("binary file {}", quote(&path.text)),
        Message::Ping(None) => "ping".to_string(),
        Message::Ping(Some(payload)) => format!("ping {}", quote(&payload.text)),
    }
}

/// A client action: `abort after 3 items`, `wait 300ms`, `reconnect with header a: b`, …
pub fn render_control(control: &Control) -> String {
    match control {
        Control::Abort(None) => "abort".to_string(),
        Control::Abort(Some(AbortWhen::Items(count))) => format!(
            "abort after {count} {}",
            if *count == 1 { "item" } else { "items" }
        ),
        Control::Abort(Some(AbortWhen::After(duration))) => {
            format!("abort after {}", format_duration(*duration))
        }
        Control::Wait(duration) => format!("wait {}", format_duration(*duration)),
        Control::Pace(duration) => format!("pace {}", format_duration(*duration)),
        Control::Disconnect => "disconnect".to_string(),
        Control::Reconnect(options) => {
            // Headers and query parameters, in the order written.
            let mut changes: Vec<(usize, String)> = Vec::new();
            for (name, value) in &options.headers {
                let text = format!(" with header {}: {}", name.value, render_template(value));
                changes.push((name.span.start, text));
            }
            for (name, value) in &options.query {
                let text = format!(" with query {}={}", name.value, render_template(value));
                changes.push((name.span.start, text));
            }
            changes.sort_by_key(|(start, _)| *start);
            let mut out = "reconnect".to_string();
            for (_, text) in changes {
                out.push_str(&text);
            }
            out
        }
        Control::Send(message) => format!("send {}", render_message(message)),
        Control::Close(None) => "close".to_string(),
        Control::Close(Some(frame)) => match &frame.reason {
            Some(reason) => format!("close {} {}", frame.code.value, quote(&reason.text)),
            None => format!("close {}", frame.code.value),
        },
    }
}

/// An entry of an expectation block on one line; for a repetition, `until` or `any order`, the
/// head before the `{`. `where` groups render with [`crate::render::render_where`].
pub fn render_entry(entry: &EntryKind) -> String {
    match entry {
        EntryKind::Item(line) => render_item_line(line),
        EntryKind::Repeat { quantifier, .. } => format!("{} times", quantifier.render()),
        EntryKind::Until { stop, .. } => format!("until {}", render_item_pattern(stop)),
        EntryKind::AnyOrder(_) => "any order".to_string(),
        EntryKind::Skip => "...".to_string(),
        EntryKind::End => "end".to_string(),
        EntryKind::Dropped => "dropped".to_string(),
        EntryKind::Ignore(pattern) => format!("ignore {}", render_item_pattern(pattern)),
        EntryKind::FirstWithin(duration) => format!("first within {}", format_duration(*duration)),
        EntryKind::Control(control) => render_control(control),
        EntryKind::Split(groups) => groups
            .iter()
            .map(crate::render::render_where)
            .collect::<Vec<_>>()
            .join(" "),
        EntryKind::All(pattern) => format!("all {}", render_item_pattern(pattern)),
    }
}

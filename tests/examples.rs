//! The runnable examples in `examples/`, one small spec per language construct: every one must
//! parse and pass the static checks, cover the construct it is named for, and pass when run
//! against the bundled demo service (`streamspec run examples`, as a real subprocess).

use std::collections::{BTreeSet, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use streamspec::diagnostic::Diagnostic;
use streamspec::source::SourceFile;
use streamspec::style::Palette;

/// How long `streamspec run examples` may take before it is stopped (it takes a few seconds).
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Each example file and the code (comments excluded) it must contain to show its construct.
/// Every `.stream` file in `examples/` must be listed here, and every file listed must exist.
const CONSTRUCTS: &[(&str, &[&str])] = &[
    ("comments-and-layout.stream", &["let ", "test \"", "\n\n"]),
    (
        "variables.stream",
        &["let ", "= 3", "= true", "{{base}}", "{{count}} }"],
    ),
    ("tags.stream", &["@smoke", "@sse"]),
    (
        "named-streams.stream",
        &[" as sub", "expect sse from sub {", "within 200ms"],
    ),
    ("repeat-steps.stream", &["repeat 10 as i {", "{{i}}"]),
    (
        "parallel.stream",
        &[
            "parallel {",
            "branch reader 5 times as n {",
            "barrier ready",
            "writer.id",
        ],
    ),
    (
        "group-checks.stream",
        &[
            "expect same items in sub where event: \"message\"",
            "expect ids in sub contiguous",
            "expect count in sub == 15",
        ],
    ),
    ("unique-ids.stream", &["{{test_id}}", "{{run_id}}"]),
    (
        "ws-connect.stream",
        &[
            "ws {{ws}}/",
            "header authorization",
            "protocol echo.v2",
            "expect status 101",
        ],
    ),
    (
        "ws-send.stream",
        &[
            "send \"plain text\"",
            "send {",
            "send json",
            "send binary hex",
            "send binary base64",
            "send binary file",
            "send ping",
        ],
    ),
    (
        "ws-messages.stream",
        &[
            "/^hello/",
            "{ \"n\": 1, \"tags\"",
            "binary hex",
            "pong \"p\"",
        ],
    ),
    (
        "ws-close.stream",
        &[
            "close 1000 \"bye\"",
            "expect close 1000",
            "dropped",
            "expect close 4000",
        ],
    ),
    (
        "ws-reconnect.stream",
        &["disconnect", "reconnect with query token={{token}}"],
    ),
    (
        "ws-many-clients.stream",
        &[
            " as room",
            "expect messages from room",
            "barrier joined",
            "expect same items in room",
        ],
    ),
    (
        "ws-graphql.stream",
        &[
            "protocol graphql-transport-ws",
            "connection_init",
            "subscribe",
        ],
    ),
    ("ws-jsonrpc.stream", &["\"jsonrpc\": \"2.0\"", "any order"]),
    ("timeout.stream", &["timeout 10s", "timeout 1.5m"]),
    (
        "methods.stream",
        &["GET ", "HEAD ", "PUT ", "PATCH ", "DELETE ", "OPTIONS "],
    ),
    (
        "multiple-requests.stream",
        &["GET {{base}}/health", "GET {{base}}/stats"],
    ),
    ("request-body-json.stream", &["body json {"]),
    ("request-body-text.stream", &["body text \""]),
    (
        "request-body-file.stream",
        &["body file \"request-body-file.json\""],
    ),
    (
        "repeated-strings.stream",
        &["\"0123456789\" * 10000", "body text \"A\" * 65536"],
    ),
    (
        "headers.stream",
        &["header authorization: ", "header x-test-pattern: \""],
    ),
    (
        "expect-status.stream",
        &[
            "expect status 200",
            "expect status 2xx",
            "expect status 2xx | 404",
        ],
    ),
    (
        "expect-header.stream",
        &[
            "expect header content-type ~ /",
            "expect header Content-Type == ",
            "== \"no-cache\"",
            " contains ",
            " != ",
            " exists",
            " not exists",
        ],
    ),
    (
        "sse-fields.stream",
        &[
            "id: ",
            "event: ",
            "data: ",
            "retry: 500",
            "retry: 400..1000",
            "retry: > 0",
            "data: contains",
            "data: /",
            "id: _",
        ],
    ),
    ("sse-data-json.stream", &["data: json {"]),
    ("ndjson.stream", &["expect ndjson {", "$."]),
    (
        "lines.stream",
        &[
            "expect lines {",
            "contains ",
            "size 7",
            "size 6..7",
            "size < 10",
            "/^chunk 3$/",
            "json {",
            "$.value",
        ],
    ),
    ("chunks.stream", &["expect chunks {", "size "]),
    (
        "json-patterns.stream",
        &[
            ": string",
            ": number",
            ": integer",
            "!= bool",
            ": object",
            ": array",
            ": _",
            ": null",
            "/i",
            "1..1",
            ": ..2",
            ": 80..",
            ": > ",
            ": >= ",
            ": < ",
            ": <= ",
            ": != ",
            "exact {",
            ", ...]",
        ],
    ),
    (
        "lengths.stream",
        &[
            "string len 4",
            "array len 2..",
            "object len < 3",
            "bytes len 3",
            "string len 1..6",
        ],
    ),
    (
        "jsonpath.stream",
        &[
            "$.",
            " == ",
            " != ",
            " ~ /",
            " contains \"",
            " > ",
            " < ",
            " >= ",
            " <= ",
            " exists",
            " not exists",
            "$[*]",
            "$..",
            "$[?",
        ],
    ),
    (
        "repeat.stream",
        &[
            "5 times {",
            "2..4 times {",
            "1.. times {",
            "+ times {",
            "* times {",
        ],
    ),
    ("until.stream", &["until data: \"[DONE]\" {"]),
    ("any-order.stream", &["any order {"]),
    ("skip.stream", &["    ...\n"]),
    ("ignore.stream", &["ignore ", "expect count == 2"]),
    ("end-and-dropped.stream", &["; end }", "; dropped }"]),
    ("timing.stream", &["first within ", " within ", " after "]),
    ("abort.stream", &["\n    abort\n", "\n  abort\n"]),
    ("wait-and-pace.stream", &["pace ", "    wait ", "  wait "]),
    (
        "abort-after.stream",
        &["abort after 3 items\n", "abort after 120ms\n"],
    ),
    (
        "reconnect.stream",
        &[
            "    dropped\n    reconnect\n",
            "    end\n    reconnect\n",
            "    wait 100ms\n    reconnect\n",
            "}\n    reconnect\n",
            "      reconnect with header ",
        ],
    ),
    (
        "disconnect.stream",
        &[
            "    disconnect\n    reconnect\n",
            "    disconnect\n    wait ",
            "reconnect with query after={{last}}",
            " with header last-event-id: \"\"",
            "reconnect with header last-event-id: {{kept}}",
        ],
    ),
    (
        "stream-statistics.stream",
        &[
            "expect connections == ",
            "expect retry == ",
            "expect retry in ",
            "expect reconnect delay in ",
            "expect ids increasing",
            "expect ids contiguous",
            "expect first item < ",
            "expect test count ",
            "expect test bytes ",
            "expect test ttfb ",
            "expect test first item ",
            "expect test duration ",
            "expect test gaps ",
        ],
    ),
    (
        "composite-ids.stream",
        &[
            "id_prefix=1796411252:",
            "expect ids increasing",
            "expect ids contiguous",
        ],
    ),
    (
        "header-captures.stream",
        &[
            "expect header content-type ~ /^text\\/([a-z-]+)/ -> subtype",
            " exists -> caching",
            "{{subtype}}",
            "{{caching}}",
            "expect subtype first == ",
        ],
    ),
    (
        "whole-body-json.stream",
        &["expect json [", "expect json {", "expect json exact {"],
    ),
    (
        "whole-body-text.stream",
        &[
            "expect text \"",
            "expect text contains",
            "/m",
            "/s",
            "/xi",
            "size ",
        ],
    ),
    (
        "captures.stream",
        &[
            "-> reply",
            " joined == ",
            " joined ~ ",
            " joined contains ",
            " joined != ",
            " count == ",
            " count in ",
            " first == ",
            " last == ",
            " distinct",
            " first > ",
            "{{id}}",
            "{{n}}",
        ],
    ),
    (
        "aggregates.stream",
        &[
            "expect count ==",
            "expect count in",
            "expect bytes",
            "expect ttfb",
            "expect duration",
            "expect gaps",
            "min ",
            "max ",
            "mean ",
            "p50 ",
            "p95 ",
            "p99 ",
        ],
    ),
    (
        "one-line-blocks.stream",
        &["; expect sse { end } }", "; end }"],
    ),
    (
        "llm-chat.stream",
        &[
            "POST {{base}}/v1/chat/completions",
            "\"stream\": true",
            "data: \"[DONE]\"",
        ],
    ),
    (
        "grpc-unary.stream",
        &[
            "grpc {{grpc}} stock.StockService/GetQuote",
            "metadata x-request-id: ",
            "deadline 5s",
            "message {",
            "expect message {",
            "expect end",
            "expect status OK",
        ],
    ),
    (
        "grpc-server-streaming.stream",
        &["expect messages {", "first within", " within 5s", "end"],
    ),
    (
        "grpc-client-streaming.stream",
        &["send {", "close", "\"totalQuantity\": \"15\""],
    ),
    (
        "grpc-bidi.stream",
        &["send {", "-> ack", "    send {", "    close"],
    ),
    (
        "grpc-status.stream",
        &[
            "expect status NOT_FOUND message ~ /",
            "RESOURCE_EXHAUSTED | UNAVAILABLE message contains",
            "message \"not yours\"",
            "expect metadata x-demo-service == ",
            "expect trailer x-demo-reason == ",
        ],
    ),
    (
        "grpc-abort.stream",
        &["abort after 3 items", "expect status CANCELLED"],
    ),
    (
        "grpc-message-file.stream",
        &[
            "message file \"grpc-message-file.json\"",
            "    send file \"grpc-send-file.json\"",
            "  send file \"grpc-send-file.json\"",
        ],
    ),
    (
        "grpc-proto-file.stream",
        &["proto \"../proto/stock.proto\"", "import \"../proto\""],
    ),
    (
        "where-and-all.stream",
        &[
            "where symbol == \"AAPL\" {",
            "where $.symbol == ",
            "all { \"price\": 90..120 }",
            "where event == ",
        ],
    ),
];

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn examples_dir() -> PathBuf {
    manifest_dir().join("examples")
}

/// Every `.stream` file under `dir`, sorted.
fn stream_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "stream") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn render(diagnostics: &[Diagnostic]) -> String {
    let palette = Palette::plain();
    diagnostics.iter().map(|d| d.render(&palette)).collect()
}

/// The variable names `examples/streamspec.toml` gives every example (its vars and ports).
fn config_var_names() -> HashSet<String> {
    let path = examples_dir().join("streamspec.toml");
    let config = streamspec::config::load(&path)
        .unwrap_or_else(|errors| panic!("{} does not load:\n{}", path.display(), render(&errors)));
    config.var_names().map(str::to_string).collect()
}

/// The text without `#` comments (a `#` at the start of a line or after a blank, outside a
/// string), so that a construct named only in a comment does not count as shown.
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_string = false;
        let mut escaped = false;
        let mut previous = ' ';
        let mut end = line.len();
        for (i, c) in line.char_indices() {
            if in_string {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => in_string = false,
                    _ => {}
                }
            } else if c == '"' {
                in_string = true;
            } else if c == '#' && previous.is_whitespace() {
                end = i;
                break;
            }
            previous = c;
        }
        out.push_str(line[..end].trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn every_example_parses_and_passes_the_checks() {
    let files = stream_files(&examples_dir());
    assert!(!files.is_empty(), "no .stream files in examples/");
    let known = config_var_names();
    assert!(
        known.contains("base"),
        "examples/streamspec.toml should set `base`"
    );
    let mut failures = String::new();
    for file in &files {
        let source = SourceFile::read(file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let diagnostics = match streamspec::syntax::parse(&source) {
            Ok(spec) => streamspec::check::check(&spec, &known),
            Err(errors) => errors,
        };
        // Warnings would clutter every run of the examples too, so they count.
        if !diagnostics.is_empty() {
            failures.push_str(&render(&diagnostics));
            failures.push('\n');
        }
    }
    assert!(
        failures.is_empty(),
        "examples that do not parse or check:\n\n{failures}"
    );
    // The way the CLI loads them: every file, grouped under examples/streamspec.toml.
    if let Err(error) = streamspec::project::load(&[examples_dir()], &[]) {
        panic!(
            "streamspec::project::load(examples) failed:\n{}",
            render(&error.diagnostics)
        );
    }
}

#[test]
fn every_example_starts_with_a_comment_and_shows_its_construct() {
    let dir = examples_dir();
    let on_disk: BTreeSet<String> = stream_files(&dir)
        .iter()
        .map(|p| {
            p.strip_prefix(&dir)
                .expect("under examples/")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let listed: BTreeSet<String> = CONSTRUCTS.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(
        CONSTRUCTS.len(),
        listed.len(),
        "a file is listed twice in CONSTRUCTS"
    );
    let unlisted: Vec<_> = on_disk.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&on_disk).collect();
    assert!(
        unlisted.is_empty() && missing.is_empty(),
        "examples/ and CONSTRUCTS disagree: not listed: {unlisted:?}; listed but missing: {missing:?}"
    );

    let mut problems = Vec::new();
    for (name, needles) in CONSTRUCTS {
        let text = std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("cannot read examples/{name}: {e}"));
        if !text.starts_with("# Construct:") {
            problems.push(format!(
                "{name}: does not start with a `# Construct: …` comment"
            ));
        }
        let code = without_comments(&text);
        for needle in *needles {
            if !code.contains(needle) {
                problems.push(format!("{name}: no {needle:?} outside comments"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `examples/streamspec.toml` must start the demo exactly as `specs/streamspec.toml` does: the
/// two files may differ only in their comments.
#[test]
fn the_examples_config_starts_the_demo_like_the_specs_config() {
    let settings = |path: PathBuf| -> Vec<String> {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        settings(manifest_dir().join("examples/streamspec.toml")),
        settings(manifest_dir().join("specs/streamspec.toml"))
    );
}

/// Reads a child's pipe to the end on a thread of its own, so that neither pipe can fill up and
/// stall the child.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[test]
fn every_example_passes_against_the_demo_service() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_streamspec"));
    command
        .args(["run", "examples"])
        .current_dir(manifest_dir())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Variables from the environment would override the examples' own.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("STREAMSPEC_VAR_") {
            command.env_remove(key);
        }
    }
    let mut child = command.spawn().expect("start the streamspec binary");
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));

    let started = Instant::now();
    let status: ExitStatus = loop {
        if let Some(status) = child.try_wait().expect("wait for streamspec") {
            break status;
        }
        if started.elapsed() > RUN_TIMEOUT {
            stop(&mut child);
            // The pipes are not read further: a stuck grandchild could hold them open.
            panic!("`streamspec run examples` took longer than {RUN_TIMEOUT:?} and was stopped");
        }
        thread::sleep(Duration::from_millis(50));
    };
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    assert!(
        status.success(),
        "`streamspec run examples` exited with {status}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    );
    assert!(
        stdout.contains(" 0 failed"),
        "unexpected summary:\n{stdout}"
    );
}

/// Stops a run that hangs: an interrupt first, so that streamspec stops the demo service it
/// started, then a kill if that is not enough.
fn stop(child: &mut std::process::Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) with a pid we spawned and still own (not yet waited for).
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

//! SSE conformance: runs `SseDecoder` over the shared conformance vectors (and extra cases of
//! our own), each fed whole or in its given chunks, one byte at a time, and in other chunk
//! sizes, and reports every vector that fails, by name, with expected versus observed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use streamspec::transport::framing::sse::SseDecoder;
use streamspec::transport::framing::{FrameError, Framer};

const VECTORS_FILE: &str = "sse-vectors.json";

/// Which vectors file to use: `$STREAMSPEC_CONFORMANCE_DIR` when set (it must then hold the
/// file), else the shared checkout next to the repository, else the copy committed in
/// `tests/conformance`. No file is an error: a conformance test that finds nothing to check
/// must not pass.
fn vectors_path() -> PathBuf {
    if let Some(dir) = std::env::var_os("STREAMSPEC_CONFORMANCE_DIR") {
        let path = Path::new(&dir).join(VECTORS_FILE);
        assert!(
            path.is_file(),
            "STREAMSPEC_CONFORMANCE_DIR is set but {} does not exist",
            path.display()
        );
        return path;
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = manifest.join("../shared/conformance").join(VECTORS_FILE);
    let in_repo = manifest.join("tests/conformance").join(VECTORS_FILE);
    if shared.is_file() {
        // The committed copy should track the shared one; say so if it has gone stale.
        if let (Ok(a), Ok(b)) = (std::fs::read(&shared), std::fs::read(&in_repo))
            && a != b
        {
            eprintln!(
                "note: {} differs from {}; update the committed copy",
                in_repo.display(),
                shared.display()
            );
        }
        return shared;
    }
    assert!(
        in_repo.is_file(),
        "no SSE conformance vectors: neither {} nor {} exists (or set STREAMSPEC_CONFORMANCE_DIR)",
        shared.display(),
        in_repo.display()
    );
    in_repo
}

/// (event type, data, id) of a dispatched event.
type Event = (String, String, String);

struct Vector {
    name: String,
    input: Vec<u8>,
    chunks: Option<Vec<Vec<u8>>>,
    expected: Vec<Event>,
    retry: Option<u64>,
    last_event_id: String,
}

/// What a decoding observed: the comparable part of the result.
#[derive(Debug, PartialEq)]
struct Observed {
    events: Vec<Event>,
    retry: Option<u64>,
    last_event_id: String,
}

fn hex(text: &str) -> Result<Vec<u8>, String> {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !text.len().is_multiple_of(2) {
        return Err(format!("odd-length hex {text:?}"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(|e| format!("bad hex: {e}")))
        .collect()
}

fn parse_vector(v: &Value) -> Result<Vector, String> {
    let name = v["name"].as_str().ok_or("no name")?.to_string();
    let input = match (v["input"].as_str(), v["input_hex"].as_str()) {
        (Some(text), None) => text.as_bytes().to_vec(),
        (None, Some(h)) => hex(h)?,
        _ => return Err(format!("{name}: needs exactly one of input / input_hex")),
    };
    let chunks = if let Some(list) = v.get("chunks").and_then(Value::as_array) {
        let chunks: Option<Vec<Vec<u8>>> = list
            .iter()
            .map(|c| c.as_str().map(|s| s.as_bytes().to_vec()))
            .collect();
        Some(chunks.ok_or(format!("{name}: chunks must be strings"))?)
    } else if let Some(list) = v.get("chunks_hex").and_then(Value::as_array) {
        let chunks: Result<Vec<Vec<u8>>, String> = list
            .iter()
            .map(|c| hex(c.as_str().ok_or("chunks_hex must be strings")?))
            .collect();
        Some(chunks?)
    } else {
        None
    };
    if let Some(chunks) = &chunks
        && chunks.concat() != input
    {
        return Err(format!("{name}: chunks do not add up to the input"));
    }
    let expected = v["expected"]
        .as_array()
        .ok_or(format!("{name}: no expected list"))?
        .iter()
        .map(|e| {
            let field = |key: &str| {
                e[key]
                    .as_str()
                    .map(str::to_string)
                    .ok_or(format!("{name}: expected event without {key}"))
            };
            Ok((field("event")?, field("data")?, field("id")?))
        })
        .collect::<Result<Vec<Event>, String>>()?;
    let retry = match &v["retry"] {
        Value::Null => None,
        r => Some(r.as_u64().ok_or(format!("{name}: retry is not a number"))?),
    };
    let last_event_id = v["last_event_id"]
        .as_str()
        .ok_or(format!("{name}: no last_event_id"))?
        .to_string();
    Ok(Vector {
        name,
        input,
        chunks,
        expected,
        retry,
        last_event_id,
    })
}

fn decode(chunks: &[&[u8]]) -> Result<Observed, FrameError> {
    let mut decoder = SseDecoder::default();
    let mut events = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        while let Some(e) = decoder.next_item()? {
            events.push((e.event_type().to_string(), e.data, e.id.to_string()));
        }
    }
    let finished = decoder.finish()?;
    if let Some(e) = finished.last {
        events.push((e.event_type().to_string(), e.data, e.id.to_string()));
    }
    Ok(Observed {
        events,
        retry: decoder.retry(),
        last_event_id: decoder.last_event_id().to_string(),
    })
}

/// Each way the vector is fed: its own chunks (or whole), one byte at a time, and more sizes.
fn feedings(v: &Vector) -> Vec<(String, Vec<&[u8]>)> {
    let mut out = Vec::new();
    match &v.chunks {
        Some(chunks) => out.push((
            "given chunks".to_string(),
            chunks.iter().map(Vec::as_slice).collect(),
        )),
        None => out.push(("whole".to_string(), vec![v.input.as_slice()])),
    }
    for size in [1, 2, 3, 7] {
        out.push((
            format!("{size}-byte chunks"),
            v.input.chunks(size).collect(),
        ));
    }
    out
}

/// A failure report per failing way of feeding the vector; empty if it passes.
fn check(v: &Vector) -> Vec<String> {
    let expected = Observed {
        events: v.expected.clone(),
        retry: v.retry,
        last_event_id: v.last_event_id.clone(),
    };
    let mut failures = Vec::new();
    for (how, chunks) in feedings(v) {
        match decode(&chunks) {
            Ok(got) if got == expected => {}
            Ok(got) => failures.push(format!(
                "{} ({how}):\n  expected {expected:?}\n  got      {got:?}",
                v.name
            )),
            Err(e) => failures.push(format!("{} ({how}): error {e}", v.name)),
        }
    }
    failures
}

fn report(failures: &[String], total: usize) {
    if failures.is_empty() {
        return;
    }
    let mut text = format!("{} of {total} checks failed:\n", failures.len());
    for f in failures {
        let _ = writeln!(text, "- {f}");
    }
    panic!("{text}");
}

#[test]
fn shared_sse_vectors() {
    let path = vectors_path();
    println!("SSE conformance vectors: {}", path.display());
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let json: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let list = json
        .as_array()
        .unwrap_or_else(|| panic!("{} is not a JSON array", path.display()));
    assert!(!list.is_empty(), "{} holds no vectors", path.display());
    let mut failures = Vec::new();
    let mut checks = 0;
    for (i, raw) in list.iter().enumerate() {
        match parse_vector(raw) {
            Ok(v) => {
                checks += feedings(&v).len();
                failures.extend(check(&v));
            }
            Err(e) => failures.push(format!("vector #{i} is malformed: {e}")),
        }
    }
    println!("{} vectors, {checks} decodings", list.len());
    report(&failures, checks);
}

fn ev(event: &str, data: &str, id: &str) -> Event {
    (event.to_string(), data.to_string(), id.to_string())
}

fn extra(
    name: &str,
    chunks: &[&[u8]],
    expected: Vec<Event>,
    retry: Option<u64>,
    last_event_id: &str,
) -> Vector {
    Vector {
        name: name.to_string(),
        input: chunks.concat(),
        chunks: (chunks.len() > 1).then(|| chunks.iter().map(|c| c.to_vec()).collect()),
        expected,
        retry,
        last_event_id: last_event_id.to_string(),
    }
}

/// Cases the shared vectors do not cover, mostly about reads splitting the stream.
fn extra_vectors() -> Vec<Vector> {
    let mut many = Vec::new();
    let mut many_expected = Vec::new();
    for i in 0..200 {
        many.extend_from_slice(format!("id: {i}\nevent: e{}\ndata: {i}\n\n", i % 3).as_bytes());
        many_expected.push(ev(&format!("e{}", i % 3), &i.to_string(), &i.to_string()));
    }
    vec![
        extra(
            "CR at the end of a read, LF at the start of the next, is one line ending",
            &[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"],
            vec![ev("message", "a\nb", "")],
            None,
            "",
        ),
        extra(
            "blank line's CRLF split across reads dispatches once",
            &[b"data: a\r\n\r", b"\n\r", b"\ndata: b\r\n\r\n"],
            vec![ev("message", "a", ""), ev("message", "b", "")],
            None,
            "",
        ),
        extra(
            "CR-only line endings",
            &[b"id: 1\rdata: a\r\rdata: b\r\r"],
            vec![ev("message", "a", "1"), ev("message", "b", "1")],
            None,
            "1",
        ),
        extra(
            "BOM split across three reads",
            &[b"\xEF", b"\xBB", b"\xBFdata: x\n\n"],
            vec![ev("message", "x", "")],
            None,
            "",
        ),
        extra(
            "incomplete BOM is not a BOM",
            &[b"\xEF\xBB", b"data: x\n\ndata: y\n\n"],
            vec![ev("message", "y", "")],
            None,
            "",
        ),
        extra(
            "multibyte characters split across reads",
            &[
                b"data: \xC3",
                b"\xA9\xE2",
                b"\x82",
                b"\xAC\xF0\x9F\x98",
                b"\x80\n\n",
            ],
            vec![ev("message", "é€😀", "")],
            None,
            "",
        ),
        extra(
            "retry with leading spaces or trailing junk is ignored",
            &[b"retry:  10\nretry: 20 \nretry:\t30\nretry: 4_0\ndata: x\n\n"],
            vec![ev("message", "x", "")],
            None,
            "",
        ),
        extra(
            "retry of the discarded final event still applies",
            &[b"data: x\n\nretry: 70\ndata: y\n"],
            vec![ev("message", "x", "")],
            Some(70),
            "",
        ),
        extra(
            "data with colons and leading spaces",
            &[b"data: a:b\ndata::c\ndata:  d\ndata: \n\n"],
            vec![ev("message", "a:b\n:c\n d\n", "")],
            None,
            "",
        ),
        extra(
            "event name is reset after each dispatch, even an empty one",
            &[b"event: a\ndata: 1\n\nevent: b\n\ndata: 2\n\n"],
            vec![ev("a", "1", ""), ev("message", "2", "")],
            None,
            "",
        ),
        extra(
            "event named message and a space-only name",
            &[b"event: message\ndata: 1\n\nevent:  \ndata: 2\n\n"],
            vec![ev("message", "1", ""), ev(" ", "2", "")],
            None,
            "",
        ),
        extra(
            "id with NUL keeps the previous id",
            &[b"id: 1\ndata: a\n\nid: 2\0\ndata: b\n\n"],
            vec![ev("message", "a", "1"), ev("message", "b", "1")],
            None,
            "1",
        ),
        extra(
            "id set by a data-less block, then changed by a discarded event",
            &[b"id: 1\n\ndata: a\n\nid: 2\ndata: b\n"],
            vec![ev("message", "a", "1")],
            None,
            "1",
        ),
        extra(
            "id keeps spaces after the first",
            &[b"id:  a b \ndata: x\n\n"],
            vec![ev("message", "x", " a b ")],
            None,
            " a b ",
        ),
        extra(
            "many events in one read",
            &[&many],
            many_expected,
            None,
            "199",
        ),
        extra(
            "stream ending in a blank line made of a lone CR",
            &[b"data: x\n\r"],
            vec![ev("message", "x", "")],
            None,
            "",
        ),
    ]
}

#[test]
fn extra_sse_vectors() {
    let vectors = extra_vectors();
    let mut failures = Vec::new();
    let mut checks = 0;
    for v in &vectors {
        checks += feedings(v).len();
        failures.extend(check(v));
    }
    report(&failures, checks);
}

//! The SSE decoder against hand-written cases: line endings, BOMs, fields, limits and how a
//! stream that ends mid-event is finished (the shared conformance vectors are in tests/).

use super::*;

/// What a decoding produced: events, then an error or the finish result, then the state.
#[derive(Debug, PartialEq)]
struct Outcome {
    events: Vec<SseEvent>,
    error: Option<FrameError>,
    discarded: usize,
    last_event_id: String,
    retry: Option<u64>,
}

fn decode_with(max: usize, chunks: &[&[u8]]) -> Outcome {
    decode_by(SseDecoder::new(max), chunks)
}

fn decode_by(mut decoder: SseDecoder, chunks: &[&[u8]]) -> Outcome {
    let mut events = Vec::new();
    let mut error = None;
    'outer: for chunk in chunks {
        decoder.push(chunk);
        loop {
            match decoder.next_item() {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(e) => {
                    error = Some(e);
                    break 'outer;
                }
            }
        }
    }
    let mut discarded = 0;
    if error.is_none() {
        match decoder.finish() {
            Ok(f) => {
                assert!(f.last.is_none());
                discarded = f.discarded_bytes;
            }
            Err(e) => error = Some(e),
        }
    }
    Outcome {
        events,
        error,
        discarded,
        last_event_id: decoder.last_event_id().to_string(),
        retry: decoder.retry(),
    }
}

fn decode(chunks: &[&[u8]]) -> Outcome {
    decode_with(DEFAULT_MAX_ITEM_SIZE, chunks)
}

fn bytewise(input: &[u8]) -> Outcome {
    let chunks: Vec<&[u8]> = input.chunks(1).collect();
    decode(&chunks)
}

/// (type, data, id) of each event.
fn summary(outcome: &Outcome) -> Vec<(String, String, String)> {
    outcome
        .events
        .iter()
        .map(|e| (e.event_type().to_string(), e.data.clone(), e.id.to_string()))
        .collect()
}

fn ev(kind: &str, data: &str, id: &str) -> (String, String, String) {
    (kind.to_string(), data.to_string(), id.to_string())
}

#[test]
fn simple_event() {
    let out = decode(&[b"id: 123\ndata: {\"seq\":123}\n\n"]);
    assert_eq!(out.events.len(), 1);
    let e = &out.events[0];
    assert_eq!(e.event(), None);
    assert_eq!(e.data, "{\"seq\":123}");
    assert_eq!(&*e.id, "123");
    assert_eq!(e.retry(), None);
    assert!(!e.invalid_utf8);
    assert_eq!(out.last_event_id, "123");
    assert_eq!(out.discarded, 0);
}

#[test]
fn crlf_split_across_pushes_is_one_line_ending() {
    // If the `\n` after a pushed `\r` were a line of its own, "a" and "b" would be two events.
    let out = decode(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
    assert_eq!(summary(&out), vec![ev("message", "a\nb", "")]);
    // The blank line's `\r\n` split: one dispatch, not a second (empty) one.
    let out = decode(&[b"data: a\r\n\r", b"\ndata: b\n\n"]);
    assert_eq!(
        summary(&out),
        vec![ev("message", "a", ""), ev("message", "b", "")]
    );
}

#[test]
fn lone_cr_ends_lines() {
    let out = decode(&[b"data: a\rdata: b\r\r"]);
    assert_eq!(summary(&out), vec![ev("message", "a\nb", "")]);
    // ...and dispatches at once, without waiting for a possible `\n`.
    let mut d = SseDecoder::default();
    d.push(b"data: x\r\r");
    assert_eq!(d.next_item().unwrap().unwrap().data, "x");
}

#[test]
fn bom_split_across_pushes() {
    let input = b"\xEF\xBB\xBFdata: x\n\n";
    for cut1 in 0..4 {
        for cut2 in cut1..4 {
            let out = decode(&[&input[..cut1], &input[cut1..cut2], &input[cut2..]]);
            assert_eq!(summary(&out), vec![ev("message", "x", "")]);
        }
    }
    // Only one BOM, and only at the start.
    let out = decode(&[b"\xEF\xBB", b"\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n"]);
    assert_eq!(summary(&out), vec![ev("message", "y", "")]);
    // A BOM prefix that is not a BOM is decoded (as U+FFFD, making an unknown field name).
    let out = decode(&[b"\xEF", b"\xBBdata: x\n\ndata: y\n\n"]);
    assert_eq!(summary(&out), vec![ev("message", "y", "")]);
}

#[test]
fn multibyte_chars_split_across_pushes() {
    let input = "data: é€😀\n\n".as_bytes();
    for cut in 0..input.len() {
        let out = decode(&[&input[..cut], &input[cut..]]);
        assert_eq!(summary(&out), vec![ev("message", "é€😀", "")]);
        assert!(!out.events[0].invalid_utf8);
    }
}

#[test]
fn invalid_utf8_is_replaced_and_flagged() {
    let out = decode(&[b"data: a\xffb\xe2\x82\n\ndata: ok\n\n"]);
    assert_eq!(
        summary(&out),
        vec![
            ev("message", "a\u{FFFD}b\u{FFFD}", ""),
            ev("message", "ok", "")
        ]
    );
    assert!(out.events[0].invalid_utf8);
    assert!(!out.events[1].invalid_utf8);
    // Invalid bytes in a comment of the event also flag it.
    let out = decode(&[b":\xff\ndata: x\n\n"]);
    assert!(out.events[0].invalid_utf8);
}

#[test]
fn empty_lines_without_data_dispatch_nothing() {
    let out = decode(&[b"\n\n\r\n\r\revent: x\n\ndata: y\n\n"]);
    // The event type is reset by the empty dispatch too.
    assert_eq!(summary(&out), vec![ev("message", "y", "")]);
}

#[test]
fn field_parsing() {
    let out =
        decode(&[b"data:a:b\ndata::c\ndata:  two\ndata\ndata:\tt\nDATA: no\n data: no\nx: y\n\n"]);
    assert_eq!(
        summary(&out),
        vec![ev("message", "a:b\n:c\n two\n\n\tt", "")]
    );
}

#[test]
fn event_type_is_per_event() {
    let out = decode(&[b"event: a\ndata: 1\n\ndata: 2\n\nevent: b\nevent: c\ndata: 3\n\n"]);
    assert_eq!(
        summary(&out),
        vec![ev("a", "1", ""), ev("message", "2", ""), ev("c", "3", "")]
    );
    assert_eq!(out.events[0].event(), Some("a"));
    assert_eq!(out.events[1].event(), None);
}

#[test]
fn id_persistence() {
    let out = decode(&[
        b"id: 1\ndata: a\n\ndata: b\n\nid: 2\n\ndata: c\n\nid: x\0\ndata: d\n\nid\ndata: e\n\n",
    ]);
    assert_eq!(
        summary(&out),
        vec![
            ev("message", "a", "1"),
            ev("message", "b", "1"),
            ev("message", "c", "2"),
            ev("message", "d", "2"),
            ev("message", "e", ""),
        ]
    );
    // A short id is held inline: no allocation per event, even when every event changes it.
    assert!(out.events.iter().all(|event| !event.id.is_heap_allocated()));
    // A long one is allocated once and shared, not copied, while it does not change.
    let long = decode(&[b"id: 0123456789-0123456789-0123456789\ndata: a\n\ndata: b\n\n"]);
    assert!(long.events[0].id.is_heap_allocated());
    assert_eq!(long.events[0].id.as_ptr(), long.events[1].id.as_ptr());
    assert_eq!(out.last_event_id, "");
}

#[test]
fn unterminated_event_is_discarded_with_its_id() {
    let out = decode(&[b"id: 1\ndata: a\n\nid: 2\ndata: b\n"]);
    assert_eq!(summary(&out), vec![ev("message", "a", "1")]);
    assert_eq!(out.last_event_id, "1");
    assert_eq!(out.discarded, "id: 2\ndata: b\n".len());
    let out = decode(&[b"data: a\n\ndata: b"]);
    assert_eq!(out.discarded, 7);
    // Comments after the last event are not an incomplete event.
    let out = decode(&[b"data: a\n\n:keep-alive\n:ping"]);
    assert_eq!(out.discarded, 0);
    // A `\r\n` split across reads counts two bytes, as when it is not.
    assert_eq!(decode(&[b"data: b\r", b"\n"]).discarded, 9);
    assert_eq!(decode(&[b"data: b\r\n"]).discarded, 9);
}

#[test]
fn retry_rules() {
    let out = decode(&[b"retry: 100\ndata: a\n\ndata: b\n\n"]);
    assert_eq!(out.events[0].retry(), Some(100));
    assert_eq!(out.events[1].retry(), None);
    assert_eq!(out.retry, Some(100));
    for bad in [
        "retry:  100",
        "retry: 100 ",
        "retry: -1",
        "retry: +1",
        "retry: 1e3",
        "retry: 1.5",
        "retry:",
        "retry",
        "Retry: 5",
        "retry: ١٢",
    ] {
        let out = decode(&[format!("{bad}\ndata: x\n\n").as_bytes()]);
        assert_eq!(out.retry, None, "{bad:?}");
        assert_eq!(out.events[0].retry(), None, "{bad:?}");
    }
    assert_eq!(decode(&[b"retry:007\n"]).retry, Some(7));
    assert_eq!(
        decode(&[b"retry: 99999999999999999999999\n"]).retry,
        Some(u64::MAX)
    );
    // A retry in a block without data is reported on the next dispatched event.
    let out = decode(&[b"retry: 5\n\ndata: x\n\n"]);
    assert_eq!(out.events[0].retry(), Some(5));
    // A later bogus value does not undo a valid one.
    assert_eq!(decode(&[b"retry: 5\nretry: x\n"]).retry, Some(5));
}

#[test]
fn many_events_per_push() {
    let mut input = Vec::new();
    for i in 0..1000 {
        input.extend_from_slice(format!("id: {i}\ndata: {{\"seq\":{i}}}\n\n").as_bytes());
    }
    let out = decode(&[&input]);
    assert_eq!(out.events.len(), 1000);
    assert_eq!(out.events[999].data, "{\"seq\":999}");
    assert_eq!(out.last_event_id, "999");
    assert_eq!(bytewise(&input), out);
}

#[test]
fn max_item_size() {
    let too_large = Some(FrameError::TooLarge { limit: 8 });
    // Exactly at the limit is fine: a line of 8 bytes, data of 8 bytes.
    let out = decode_with(8, &[b"data:123\ndata:123\ndata:\n\n"]);
    assert_eq!(summary(&out), vec![ev("message", "123\n123\n", "")]);
    assert_eq!(out.error, None);
    // A line of 9 bytes.
    let out = decode_with(8, &[b"data:x\n\ndata:1234\n\n"]);
    assert_eq!((out.events.len(), out.error), (1, too_large.clone()));
    // Data of 9 bytes from short lines.
    let out = decode_with(8, &[b"data:123\ndata:123\ndata:1\n\n"]);
    assert_eq!((out.events.len(), &out.error), (0, &too_large));
    // An unterminated line is refused as soon as it is too long.
    let mut d = SseDecoder::new(8);
    d.push(b"data:");
    assert_eq!(d.next_item(), Ok(None));
    d.push(b"1234");
    assert_eq!(d.next_item(), Err(FrameError::TooLarge { limit: 8 }));
    // Also when the very first read is refused (before the BOM check could run).
    let mut d = SseDecoder::new(8);
    d.push(&[b'x'; 100]);
    assert_eq!(d.next_item(), Err(FrameError::TooLarge { limit: 8 }));
}

#[test]
fn huge_line_is_not_buffered() {
    let mut d = SseDecoder::new(1 << 20);
    let chunk = vec![b'x'; 64 * 1024];
    d.push(b"data: ");
    let mut result = Ok(None);
    for _ in 0..100 {
        d.push(&chunk);
        result = d.next_item();
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(FrameError::TooLarge { limit: 1 << 20 }));
    for _ in 0..100 {
        d.push(&chunk);
    }
    assert!(d.lines.pending().len() < 2 << 20);
}

#[test]
fn state_is_reported() {
    let mut d = SseDecoder::default();
    assert_eq!((d.last_event_id(), d.retry()), ("", None));
    d.push(b"id: abc\nretry: 3000\n\n");
    assert_eq!(d.next_item(), Ok(None));
    assert_eq!((d.last_event_id(), d.retry()), ("abc", Some(3000)));
}

/// Pushes `bytes` and returns every event they complete.
fn events(decoder: &mut SseDecoder, bytes: &[u8]) -> Vec<SseEvent> {
    decoder.push(bytes);
    std::iter::from_fn(|| decoder.next_item().unwrap()).collect()
}

#[test]
fn resume_keeps_the_last_event_id() {
    let mut old = SseDecoder::default();
    events(&mut old, b"id: 3\ndata: a\n\n");
    let mut next = old.resume();
    assert_eq!(next.last_event_id(), "3");
    // Events without an `id` field carry the kept id, until one changes it.
    let got = events(&mut next, b"data: b\n\nid: 4\ndata: c\n\ndata: d\n\n");
    let ids: Vec<&str> = got.iter().map(|e| &*e.id).collect();
    assert_eq!(ids, ["3", "4", "4"]);
    assert_eq!(next.last_event_id(), "4");
    // And again across a second reconnection.
    let mut third = next.resume();
    assert_eq!(&*events(&mut third, b"data: e\n\n")[0].id, "4");
    // An empty `id` still resets it on the new connection.
    let mut fourth = third.resume();
    assert_eq!(&*events(&mut fourth, b"id\ndata: f\n\n")[0].id, "");
    assert_eq!(fourth.last_event_id(), "");
}

#[test]
fn resume_drops_the_pending_event_of_the_old_connection() {
    let mut old = SseDecoder::default();
    // Event 2 is cut off: its id, type and data must not leak into the new connection.
    let got = events(&mut old, b"id: 1\ndata: a\n\nid: 2\nevent: cut\ndata: half");
    assert_eq!(got.len(), 1);
    let mut next = old.resume();
    assert_eq!(next.last_event_id(), "1");
    let got = events(&mut next, b"data: b\n\n");
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].event_type(), &*got[0].data), ("message", "b"));
    assert_eq!(&*got[0].id, "1");
    // Nothing of the old connection is left to discard when the new one ends.
    assert_eq!(next.finish().unwrap().discarded_bytes, 0);
    // A `\r` that ended the old connection does not swallow a `\n` starting the new one.
    let mut old = SseDecoder::default();
    events(&mut old, b"data: a\r");
    let mut next = old.resume();
    let got = events(&mut next, b"\ndata: b\n\n");
    assert_eq!(got.iter().map(|e| &*e.data).collect::<Vec<_>>(), ["b"]);
}

#[test]
fn resume_keeps_the_reconnection_time_and_the_limit() {
    let mut old = SseDecoder::new(16);
    // The retry of a cut-off event still took effect.
    events(&mut old, b"retry: 250\ndata: cut");
    let mut next = old.resume();
    assert_eq!(next.retry(), Some(250));
    // It was waiting for the cut-off event; the new connection's first event does not
    // report it, as the server did not send it on this connection.
    let got = events(&mut next, b"data: x\n\n");
    assert_eq!(got[0].retry(), None);
    let got = events(&mut next, b"retry: 500\ndata: y\n\n");
    assert_eq!((got[0].retry(), next.retry()), (Some(500), Some(500)));
    let mut refused = next.resume();
    refused.push(b"data: 12345678901234567890\n\n");
    assert_eq!(refused.next_item(), Err(FrameError::TooLarge { limit: 16 }));
    // A refused connection does not poison the next one.
    let mut after = refused.resume();
    assert_eq!(events(&mut after, b"data: ok\n\n")[0].data, "ok");
    assert_eq!(after.retry(), Some(500));
}

#[test]
fn resume_strips_a_bom_at_the_start_of_the_new_connection() {
    let mut old = SseDecoder::default();
    events(&mut old, b"\xEF\xBB\xBFid: 1\ndata: a\n\n");
    // Split across reads, as on the first connection.
    let mut next = old.resume();
    assert!(events(&mut next, b"\xEF\xBB").is_empty());
    let got = events(&mut next, b"\xBFdata: b\n\n");
    assert_eq!((&*got[0].data, &*got[0].id), ("b", "1"));
    // Only one, as on the first connection.
    let mut next = old.resume();
    let got = events(&mut next, b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n");
    assert_eq!(got.iter().map(|e| &*e.data).collect::<Vec<_>>(), ["y"]);
}

/// The event-stream interpretation rules written out as literally as possible, for whole
/// inputs only: the BOM stripped, the whole stream UTF-8 decoded, split into lines by
/// characters, each line processed in turn. The fuzz test checks the decoder against it.
fn reference(input: &[u8]) -> (Vec<(String, String, String)>, String, Option<u64>) {
    let input = input.strip_prefix(BOM).unwrap_or(input);
    let text = String::from_utf8_lossy(input);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                lines.push(std::mem::take(&mut line));
            }
            '\n' => lines.push(std::mem::take(&mut line)),
            c => line.push(c),
        }
    }
    // `line` now holds an unterminated last line: discarded.
    let (mut data, mut kind, mut id_buffer) = (String::new(), String::new(), String::new());
    let (mut last_event_id, mut retry, mut events) = (String::new(), None, Vec::new());
    for line in lines {
        if line.is_empty() {
            last_event_id = id_buffer.clone();
            if data.is_empty() {
                kind.clear();
                continue;
            }
            if data.ends_with('\n') {
                data.pop();
            }
            let kind = std::mem::take(&mut kind);
            let kind = if kind.is_empty() {
                "message".into()
            } else {
                kind
            };
            events.push((kind, std::mem::take(&mut data), last_event_id.clone()));
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (name, value) = match line.find(':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (&line[..], ""),
        };
        match name {
            "event" => kind = value.to_string(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => id_buffer = value.to_string(),
            "retry" if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) => {
                retry = value.parse::<u64>().ok().or(Some(u64::MAX));
            }
            _ => {}
        }
    }
    (events, last_event_id, retry)
}

/// Inputs made of the pieces that matter to the parser, in random orders and chunkings,
/// must never panic and must decode the same however they are split.
#[test]
fn random_inputs_in_random_chunkings_agree() {
    let pieces: &[&[u8]] = &[
        b"\r",
        b"\n",
        b"\r\n",
        b":",
        b" ",
        b"data",
        b"id",
        b"event",
        b"retry",
        b"x",
        b"1",
        b"\xEF\xBB\xBF",
        b"\xEF",
        b"\xff",
        b"\xc3",
        b"\xa9",
        b"\0",
        b"\xe2\x82\xac",
    ];
    let mut rng = crate::transport::framing::lines::tests::Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..6000 {
        let mut input = Vec::new();
        if round % 5 == 4 {
            // Arbitrary bytes, too.
            for _ in 0..rng.below(100) {
                input.push(rng.next() as u8);
            }
        } else {
            for _ in 0..rng.below(60) {
                input.extend_from_slice(pieces[rng.below(pieces.len())]);
            }
        }
        let max = if round % 3 == 0 {
            4 + rng.below(16)
        } else {
            DEFAULT_MAX_ITEM_SIZE
        };
        let whole = decode_with(max, &[&input]);
        if max == DEFAULT_MAX_ITEM_SIZE {
            assert_eq!(
                (summary(&whole), whole.last_event_id.clone(), whole.retry),
                reference(&input),
                "input {input:?}"
            );
        }
        let mut chunks: Vec<&[u8]> = Vec::new();
        let mut rest = &input[..];
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len().min(8));
            chunks.push(&rest[..n]);
            rest = &rest[n..];
        }
        assert_eq!(decode_with(max, &chunks), whole, "input {input:?}");
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(decode_with(max, &bytes), whole, "input {input:?}");
    }
}

/// Blocks read whole give exactly what reading line by line gives: the same events, error,
/// discarded bytes and stream state, over generated streams cut into random reads, with every
/// line ending, comments, BOMs, invalid UTF-8, NULs in ids, unfinished events and small limits.
#[test]
fn blocks_read_whole_agree_with_reading_line_by_line() {
    const LINES: &[&[u8]] = &[
        b"data: {\"seq\":1}",
        b"data: x",
        b"data:",
        b"data",
        b"data:  two spaces",
        b"data: caf\xc3\xa9",
        b"data: bad \xff byte",
        b"data: cut \xc3",
        b"id: 7",
        b"id: 0123456789abcdef0123456789abcdef",
        b"id: nul\0",
        b"id",
        b"event: tick",
        b"event:",
        b"retry: 1500",
        b"retry: 15x",
        b": comment",
        b":\xff",
        b"unknown: field",
        b"dat",
        b"",
    ];
    const ENDINGS: &[&[u8]] = &[b"\n", b"\n", b"\n", b"\n", b"\r\n", b"\r"];
    let mut rng = fastrand::Rng::with_seed(14);
    let mut checked_whole = 0;
    for _ in 0..3000 {
        let mut stream = Vec::new();
        if rng.u8(0..8) == 0 {
            stream.extend_from_slice(b"\xEF\xBB\xBF");
        }
        for _ in 0..rng.usize(0..40) {
            stream.extend_from_slice(LINES[rng.usize(0..LINES.len())]);
            stream.extend_from_slice(ENDINGS[rng.usize(0..ENDINGS.len())]);
            if rng.u8(0..3) == 0 {
                stream.push(b'\n');
            }
        }
        // An unfinished line or event at the end, now and then.
        if rng.u8(0..4) == 0 {
            stream.extend_from_slice(LINES[rng.usize(0..LINES.len())]);
        }
        let mut chunks = Vec::new();
        let mut rest = stream.as_slice();
        while !rest.is_empty() {
            let cut = if rng.bool() {
                rest.len()
            } else {
                rng.usize(1..=rest.len())
            };
            let (chunk, after) = rest.split_at(cut);
            chunks.push(chunk);
            rest = after;
        }
        let max = if rng.u8(0..5) == 0 {
            rng.usize(1..40)
        } else {
            DEFAULT_MAX_ITEM_SIZE
        };
        let whole = decode_by(SseDecoder::new(max), &chunks);
        let by_line = decode_by(SseDecoder::line_by_line(max), &chunks);
        assert_eq!(
            whole,
            by_line,
            "{:?} in reads of {:?}",
            String::from_utf8_lossy(&stream),
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>()
        );
        checked_whole += whole.events.len();
    }
    assert!(checked_whole > 5_000, "only {checked_whole} events");
}

/// An event's data given back with `recycle` holds the next event's data: a stream of small
/// events then allocates none. A large buffer is not kept for reuse.
#[test]
fn recycled_data_holds_the_next_event() {
    let mut decoder = SseDecoder::default();
    decoder.push(b"id: 1\ndata: first\n\nid: 2\ndata: second\n\ndata: third\n\n");
    let first = decoder.next_item().unwrap().unwrap();
    let mut buffer = first.data;
    buffer.reserve(64);
    let reused = buffer.as_ptr();
    decoder.recycle(buffer);
    let second = decoder.next_item().unwrap().unwrap();
    assert_eq!((&*second.data, &*second.id), ("second", "2"));
    assert_eq!(second.data.as_ptr(), reused);
    // Nothing given back: a new buffer, and the same event.
    let third = decoder.next_item().unwrap().unwrap();
    assert_eq!((&*third.data, &*third.id), ("third", "2"));
    assert_ne!(third.data.as_ptr(), reused);

    let mut decoder = SseDecoder::default();
    decoder.recycle(String::with_capacity(COPY_DATA_LIMIT + 1));
    assert_eq!(decoder.state.spare.capacity(), 0);
}

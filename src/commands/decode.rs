//! `streamspec decode sse|ndjson [FILE]`: runs a captured stream through the same decoders the
//! runner uses and prints one JSON object per item, for debugging a stream by hand.

use std::io::{BufWriter, Read, Write};

use serde_json::json;

use crate::cli::{DecodeArgs, DecodeFormat};
use crate::exit_code;
use crate::transport::framing::ndjson::NdjsonDecoder;
use crate::transport::framing::sse::SseDecoder;
use crate::transport::framing::{DEFAULT_MAX_ITEM_SIZE, FrameError, Framer};
use crate::transport::item::SseEvent;

pub fn decode(args: &DecodeArgs) -> i32 {
    let input: Box<dyn Read> = match &args.file {
        Some(path) => match std::fs::File::open(path) {
            Ok(file) => Box::new(file),
            Err(error) => {
                eprintln!("error: cannot read `{}`: {error}", path.display());
                return exit_code::USAGE_ERROR;
            }
        },
        None => Box::new(std::io::stdin().lock()),
    };
    // A buffer this large is plenty; a larger request is read in pieces of this size anyway.
    let chunk_size = args.chunk_size.min(1 << 24);
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::new(stdout);
    let result = match args.format {
        DecodeFormat::Sse => pump(
            input,
            chunk_size,
            SseDecoder::new(DEFAULT_MAX_ITEM_SIZE),
            &mut out,
            sse_json,
        ),
        DecodeFormat::Ndjson => pump(
            input,
            chunk_size,
            NdjsonDecoder::new(DEFAULT_MAX_ITEM_SIZE),
            &mut out,
            |value| value,
        ),
    };
    let flushed = out.flush();
    match (result, flushed) {
        (Ok(()), Ok(())) => exit_code::SUCCESS,
        (Err(message), _) => {
            eprintln!("error: {}", crate::excerpt::cut(&message));
            exit_code::TEST_FAILED
        }
        (Ok(()), Err(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            exit_code::SUCCESS
        }
        (Ok(()), Err(error)) => {
            eprintln!("error: cannot write the output: {error}");
            exit_code::TEST_FAILED
        }
    }
}

/// An event as the keys an EventSource gives it: `event`, `data`, and `id` (the lastEventId).
/// Invalid UTF-8 is shown as U+FFFD, as a browser shows it, with a note on standard error.
fn sse_json(event: SseEvent) -> serde_json::Value {
    if event.invalid_utf8 {
        eprintln!(
            "note: an event held invalid UTF-8, shown as U+FFFD: {:?}",
            event.data
        );
    }
    json!({ "event": event.event_type(), "data": event.data, "id": &*event.id })
}

fn pump<F: Framer>(
    mut input: Box<dyn Read>,
    chunk_size: usize,
    mut framer: F,
    out: &mut impl Write,
    to_json: impl Fn(F::Item) -> serde_json::Value,
) -> Result<(), String> {
    let mut buffer = vec![0u8; chunk_size];
    let mut items = 0usize;
    let frame_error = |error: FrameError| format!("the input is not a valid stream: {error}");
    loop {
        let read = match input.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(format!("cannot read the input: {error}")),
        };
        framer.push(&buffer[..read]);
        while let Some(item) = framer.next_item().map_err(frame_error)? {
            write_line(out, &to_json(item))?;
            items += 1;
        }
    }
    let finished = framer.finish().map_err(frame_error)?;
    if let Some(item) = finished.last {
        write_line(out, &to_json(item))?;
        items += 1;
    }
    if finished.discarded_bytes > 0 {
        eprintln!(
            "note: the input ended in the middle of an item; {} bytes were discarded",
            finished.discarded_bytes
        );
    }
    if items == 0 && finished.discarded_bytes > 0 {
        eprintln!(
            "note: no item was complete; SSE events end with a blank line, NDJSON values with a line break"
        );
    }
    Ok(())
}

fn write_line(out: &mut impl Write, value: &serde_json::Value) -> Result<(), String> {
    writeln!(out, "{value}").map_err(|error| {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            "the output was closed".to_string()
        } else {
            format!("cannot write the output: {error}")
        }
    })
}

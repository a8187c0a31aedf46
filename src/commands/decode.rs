//! `streamspec decode sse|ndjson [FILE]`: runs a captured stream through the same decoders the
//! runner uses and prints one JSON object per item, for debugging a stream by hand.

use std::io::{BufWriter, Read, Write};

use serde_json::json;

use crate::cli::{DecodeArgs, DecodeFormat};
use crate::exit_code;
use crate::output::errln;
use crate::transport::framing::ndjson::NdjsonDecoder;
use crate::transport::framing::sse::SseDecoder;
use crate::transport::framing::{DEFAULT_MAX_ITEM_SIZE, FrameError, Framer};
use crate::transport::item::SseEvent;

pub fn decode(args: &DecodeArgs) -> i32 {
    let input: Box<dyn Read> = match &args.file {
        Some(path) => match std::fs::File::open(path) {
            Ok(file) => Box::new(file),
            Err(error) => {
                errln!("error: cannot read `{}`: {error}", path.display());
                return exit_code::USAGE_ERROR;
            }
        },
        None => Box::new(std::io::stdin().lock()),
    };
    // A buffer this large is plenty; a larger request is read in pieces of this size anyway.
    let chunk_size = args.chunk_size.min(1 << 24);
    // Checked: a write that fails stops the decoding, and the command's end says why (see
    // `crate::output`); a closed pipe ends it quietly.
    let mut out = BufWriter::new(crate::output::stdout());
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
    let _ = out.flush();
    match result {
        Ok(()) | Err(Stopped::OutputFailed) => exit_code::SUCCESS,
        Err(Stopped::Invalid(message)) => {
            errln!("error: {}", crate::excerpt::cut(&message));
            exit_code::TEST_FAILED
        }
    }
}

/// Why decoding stopped before the end of the input.
enum Stopped {
    /// The input is not a valid stream, or cannot be read.
    Invalid(String),
    /// Standard output could not be written (its error is reported when the command ends).
    OutputFailed,
}

/// An event as the keys an EventSource gives it: `event`, `data`, and `id` (the lastEventId).
/// Invalid UTF-8 is shown as U+FFFD, as a browser shows it, with a note on standard error.
fn sse_json(event: SseEvent) -> serde_json::Value {
    if event.invalid_utf8 {
        errln!(
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
) -> Result<(), Stopped> {
    let mut buffer = vec![0u8; chunk_size];
    let mut items = 0usize;
    let frame_error =
        |error: FrameError| Stopped::Invalid(format!("the input is not a valid stream: {error}"));
    loop {
        let read = match input.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(Stopped::Invalid(format!("cannot read the input: {error}"))),
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
        errln!(
            "note: the input ended in the middle of an item; {} bytes were discarded",
            finished.discarded_bytes
        );
    }
    if items == 0 && finished.discarded_bytes > 0 {
        errln!(
            "note: no item was complete; SSE events end with a blank line, NDJSON values with a line break"
        );
    }
    Ok(())
}

fn write_line(out: &mut impl Write, value: &serde_json::Value) -> Result<(), Stopped> {
    writeln!(out, "{value}").map_err(|_| Stopped::OutputFailed)
}

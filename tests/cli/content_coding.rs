//! Compressed bodies (`Content-Encoding: gzip`, `br`, `deflate`, `zstd`): SSE, NDJSON, lines and
//! whole bodies are decoded as they arrive, the header is still what the server sent, and a
//! corrupt, cut or unknown coding, or a body that decodes past the maximum item size, fails with
//! a message that says so. The server here compresses each piece and flushes the encoder after
//! it, as a streaming server does, so every piece can be decoded as soon as it arrives.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::OnceLock;

use async_compression::tokio::write::{
    BrotliEncoder, DeflateEncoder, GzipEncoder, ZlibEncoder, ZstdEncoder,
};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use tokio::io::AsyncWriteExt;

use crate::servers;
use crate::support::{Test, all_passed, fails};

/// A compressing writer into memory, for one coding.
enum Compressor {
    Gzip(GzipEncoder<Vec<u8>>),
    Deflate(ZlibEncoder<Vec<u8>>),
    /// Raw deflate data, without the zlib header RFC 9110 asks for `deflate`.
    RawDeflate(DeflateEncoder<Vec<u8>>),
    /// Boxed: brotli's state is kilobytes.
    Brotli(Box<BrotliEncoder<Vec<u8>>>),
    Zstd(ZstdEncoder<Vec<u8>>),
}

/// Runs `$body` with `$encoder` bound to whichever encoder `$compressor` holds.
macro_rules! with_encoder {
    ($compressor:expr, $encoder:ident => $body:expr) => {
        match $compressor {
            Compressor::Gzip($encoder) => $body,
            Compressor::Deflate($encoder) => $body,
            Compressor::RawDeflate($encoder) => $body,
            Compressor::Brotli($encoder) => $body,
            Compressor::Zstd($encoder) => $body,
        }
    };
}

impl Compressor {
    fn new(coding: &str) -> Compressor {
        match coding {
            "gzip" => Compressor::Gzip(GzipEncoder::new(Vec::new())),
            "deflate" => Compressor::Deflate(ZlibEncoder::new(Vec::new())),
            "raw-deflate" => Compressor::RawDeflate(DeflateEncoder::new(Vec::new())),
            "br" => Compressor::Brotli(Box::new(BrotliEncoder::new(Vec::new()))),
            "zstd" => Compressor::Zstd(ZstdEncoder::new(Vec::new())),
            other => panic!("no encoder for `{other}`"),
        }
    }

    /// `bytes` compressed and flushed: all a decoder needs to give them back.
    async fn piece(&mut self, bytes: &[u8]) -> Vec<u8> {
        with_encoder!(self, encoder => {
            encoder.write_all(bytes).await.expect("compress into memory");
            encoder.flush().await.expect("flush into memory");
            std::mem::take(encoder.get_mut())
        })
    }

    /// The end of the compressed data.
    async fn finish(&mut self) -> Vec<u8> {
        with_encoder!(self, encoder => {
            encoder.shutdown().await.expect("finish into memory");
            std::mem::take(encoder.get_mut())
        })
    }
}

/// The codings of a comma-separated list (`gzip,br`), applied in that order.
struct Layers(Vec<Compressor>);

impl Layers {
    fn new(codings: &str) -> Layers {
        Layers(codings.split(',').map(Compressor::new).collect())
    }

    async fn piece(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut bytes = bytes.to_vec();
        for layer in &mut self.0 {
            bytes = layer.piece(&bytes).await;
        }
        bytes
    }

    /// Each layer's end, carried through the layers outside it.
    async fn finish(&mut self) -> Vec<u8> {
        let mut carried = Vec::new();
        for layer in &mut self.0 {
            let mut bytes = layer.piece(&carried).await;
            bytes.extend(layer.finish().await);
            carried = bytes;
        }
        carried
    }
}

/// The server of this file, started once.
fn server() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        servers::serve(
            Router::new()
                .route("/{coding}/{kind}", get(coded))
                .route("/corrupt", get(corrupt))
                .route("/unknown", get(unknown))
                .route("/empty", get(empty)),
        )
    })
}

/// The content type and pieces of each kind of body.
fn body_of(kind: &str) -> (&'static str, Vec<Vec<u8>>) {
    let pieces = |pieces: &[&str]| pieces.iter().map(|p| p.as_bytes().to_vec()).collect();
    match kind {
        "sse" => (
            "text/event-stream",
            pieces(&["data: one\n\n", "data: two\n\n"]),
        ),
        "ndjson" => (
            "application/x-ndjson",
            pieces(&["{\"n\":1}\n", "{\"n\":2}\n"]),
        ),
        "lines" => ("text/plain", pieces(&["one\n", "two\n"])),
        "json" => ("application/json", pieces(&["{\"list\": [1, 2", ", 3]}"])),
        "text" => ("text/plain", pieces(&["hello, ", "world"])),
        // 4 MiB of one event's data, which compresses to a few KiB.
        "sse-bomb" => {
            let mut event = b"data: ".to_vec();
            event.extend(std::iter::repeat_n(b'a', 4 << 20));
            event.extend_from_slice(b"\n\n");
            ("text/event-stream", vec![event])
        }
        "text-bomb" => ("text/plain", vec![vec![b'a'; 4 << 20]]),
        other => panic!("no body of kind `{other}`"),
    }
}

/// `/{codings}/{kind}`: the body, compressed a piece at a time (with each coding of a list like
/// `gzip,br`, in turn). `?hold` keeps the connection open
/// after the pieces (the compressed data never ends); `?cut` closes it there, before the end of
/// the compressed data; `?trail` sends plain bytes after the end of the compressed data.
async fn coded(
    Path((coding, kind)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (content_type, pieces) = body_of(&kind);
    let mut compressor = Layers::new(&coding);
    let mut frames = Vec::new();
    for piece in pieces {
        frames.push(compressor.piece(&piece).await);
    }
    let ends = !query.contains_key("hold") && !query.contains_key("cut");
    if ends {
        frames.push(compressor.finish().await);
    }
    if query.contains_key("trail") {
        frames.push(b"data: more\n\n".to_vec());
    }
    let frames = stream::iter(
        frames
            .into_iter()
            .map(|frame| Ok::<_, Infallible>(Bytes::from(frame))),
    );
    let body = if query.contains_key("hold") {
        Body::from_stream(frames.chain(stream::pending()))
    } else {
        Body::from_stream(frames)
    };
    let header = coding.replace("raw-deflate", "deflate").replace(',', ", ");
    respond(body, content_type, &header)
}

fn respond(body: Body, content_type: &'static str, coding: &str) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_str(coding).expect("a header value"),
    );
    response
}

/// Says gzip, sends plain text.
async fn corrupt() -> Response {
    respond(
        Body::from("data: not gzip at all\n\n"),
        "text/event-stream",
        "gzip",
    )
}

/// Says gzip, sends nothing at all (as some servers do for an empty answer).
async fn empty() -> Response {
    respond(Body::empty(), "text/plain", "gzip")
}

/// A coding streamspec does not decode.
async fn unknown() -> Response {
    respond(Body::from("data: one\n\n"), "text/event-stream", "compress")
}

/// Every kind of body in `coding`, each test also checking that the header is as sent.
fn every_kind_of_body_is_decoded(coding: &str) {
    let spec = r#"
        test "sse" {
          GET {{base}}/CODING/sse
          expect header content-encoding == CODING
          expect sse { data: "one"; data: "two"; end }
        }

        test "ndjson" {
          GET {{base}}/CODING/ndjson
          expect ndjson { { "n": 1 }; { "n": 2 }; end }
        }

        test "lines" {
          GET {{base}}/CODING/lines
          expect lines { "one"; "two"; end }
        }

        test "chunks" {
          GET {{base}}/CODING/lines
          expect chunks { + times { contains "o" }; end }
        }

        test "json" {
          GET {{base}}/CODING/json
          expect header content-encoding == CODING
          expect json { "list": [1, 2, 3] }
        }

        test "text" {
          GET {{base}}/CODING/text
          expect text "hello, world"
        }

        test "held open" {
          timeout 5s
          GET {{base}}/CODING/sse?hold
          expect sse {
            abort after 2 items
            data: "one"
            data: "two"
          }
        }
    "#
    .replace("CODING", coding);
    Test::new()
        .spec("a.stream", &spec)
        .args(["run", "a.stream"])
        .var("base", server())
        .stdout(&all_passed(
            1,
            &[
                ("a.stream", "sse"),
                ("a.stream", "ndjson"),
                ("a.stream", "lines"),
                ("a.stream", "chunks"),
                ("a.stream", "json"),
                ("a.stream", "text"),
                ("a.stream", "held open"),
            ],
        ))
        .run();
}

#[test]
fn gzip_bodies_are_decoded_as_they_arrive() {
    every_kind_of_body_is_decoded("gzip");
}

#[test]
fn brotli_bodies_are_decoded_as_they_arrive() {
    every_kind_of_body_is_decoded("br");
}

#[test]
fn deflate_bodies_are_decoded_as_they_arrive() {
    every_kind_of_body_is_decoded("deflate");
}

#[test]
fn zstd_bodies_are_decoded_as_they_arrive() {
    every_kind_of_body_is_decoded("zstd");
}

/// The first event is matched while the compressed stream is still open: `first within` holds
/// although the stream never ends.
#[test]
fn the_first_compressed_event_is_matched_before_the_stream_ends() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "first event" {
              timeout 5s
              GET {{base}}/gzip/sse?hold
              expect sse {
                first within 4s
                data: "one"
              }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", server())
        .stdout(&all_passed(1, &[("a.stream", "first event")]))
        .run();
}

#[test]
fn a_body_that_is_not_what_its_coding_says_fails() {
    fails(
        server(),
        r#"
        test "corrupt" {
          GET {{base}}/corrupt
          expect sse { data: "not gzip at all"; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: corrupt

        error: the connection was dropped before any item: the body is not valid gzip data (Content-Encoding: gzip): Invalid gzip header
         --> a.stream:3:16
          |
        3 |   expect sse { data: "not gzip at all"; end }
          |                ^^^^^^^^^^^^^^^^^^^^^^^ still expected `data: "not gzip at all"`
          |
          = diff of expected (-) and observed (+) items:
            - data: "not gzip at all"
            - end
            + dropped  # the body is not valid gzip data (Content-Encoding: gzip): Invalid gzip header

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: corrupt
        "#,
    );
}

#[test]
fn compressed_data_cut_short_fails_after_what_it_held() {
    fails(
        server(),
        r#"
        test "cut" {
          GET {{base}}/zstd/sse?cut
          expect sse { data: "one"; data: "two"; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: cut

        error: expected a clean end, but the connection was dropped: the body ended in the middle of its compressed data (Content-Encoding: zstd)
         --> a.stream:3:42
          |
        3 |   expect sse { data: "one"; data: "two"; end }
          |                                          ^^^ expected a clean end
          |
          = diff of expected (-) and observed (+) items:
              data: "one"  # [TIME]
              data: "two"  # [TIME]
            - end
            + dropped  # the body ended in the middle of its compressed data (Content-Encoding: zstd)

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: cut
        "#,
    );
}

#[test]
fn a_coding_streamspec_does_not_know_fails() {
    fails(
        server(),
        r#"
        test "compress" {
          GET {{base}}/unknown
          expect sse { data: "one"; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: compress

        error: the connection was dropped before any item: the server sent the body with Content-Encoding `compress`, which streamspec cannot decode (it decodes gzip, br, deflate and zstd)
         --> a.stream:3:16
          |
        3 |   expect sse { data: "one"; end }
          |                ^^^^^^^^^^^ still expected `data: "one"`
          |
          = diff of expected (-) and observed (+) items:
            - data: "one"
            - end
            + dropped  # the server sent the body with Content-Encoding `compress`, which streamspec cannot decode (it decodes gzip, br, deflate and zstd)

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: compress
        "#,
    );
}

/// A few KiB that decode to 4 MiB: the maximum item size applies to what they decode to.
#[test]
fn a_compressed_event_larger_than_the_maximum_item_size_fails() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "bomb" {
              GET {{base}}/gzip/sse-bomb
              expect sse { data: _; end }
            }
            "#,
        )
        .args(["run", "a.stream", "--max-item-size", "64KiB"])
        .var("base", server())
        .stdout(
            r#"
            Running 1 test from 1 file
             ERROR [TIME] a.stream: bomb

            error: item 1 is larger than the maximum item size of 64 KiB
             --> a.stream:3:10
              |
            3 |   expect sse { data: _; end }
              |          ^^^ reading this `sse` stream
              |
              = help: streamspec holds one item in memory at a time; raise the limit with --max-item-size

            Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
             ERROR a.stream:1: bomb
            "#,
        )
        .status(1)
        .run();
}

#[test]
fn a_compressed_body_larger_than_the_maximum_item_size_fails() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "bomb" {
              GET {{base}}/br/text-bomb
              expect text "a"
            }
            "#,
        )
        .args(["run", "a.stream", "--max-item-size", "64KiB"])
        .var("base", server())
        .stdout(
            r#"
            Running 1 test from 1 file
             ERROR [TIME] a.stream: bomb

            error: the body is larger than the maximum item size of 64 KiB
             --> a.stream:3:3
              |
            3 |   expect text "a"
              |   ^^^^^^^^^^^^^^^ reading the whole body
              |
              = note: raise it with --max-item-size, or read the body as a stream

            Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
             ERROR a.stream:1: bomb
            "#,
        )
        .status(1)
        .run();
}

/// No compressed data at all is an empty body, not a cut one.
#[test]
fn an_empty_body_with_a_coding_is_empty() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "empty" {
              GET {{base}}/empty
              expect header content-encoding == gzip
              expect text ""
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", server())
        .stdout(&all_passed(1, &[("a.stream", "empty")]))
        .run();
}

/// `Content-Encoding: gzip, br`: brotli is undone first, then gzip, still as the bytes arrive.
#[test]
fn several_codings_are_undone_in_turn() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "gzip, then br" {
              timeout 5s
              GET {{base}}/gzip,br/ndjson?hold
              expect header content-encoding == "gzip, br"
              expect ndjson {
                abort after 2 items
                { "n": 1 }
                { "n": 2 }
              }
            }

            test "br, then deflate, then zstd" {
              GET {{base}}/br,deflate,zstd/json
              expect json { "list": [1, 2, 3] }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", server())
        .stdout(&all_passed(
            1,
            &[
                ("a.stream", "gzip, then br"),
                ("a.stream", "br, then deflate, then zstd"),
            ],
        ))
        .run();
}

/// `deflate` as some servers send it, raw deflate data without the zlib header: browsers and
/// curl read it, and so does streamspec.
#[test]
fn raw_deflate_data_is_decoded_too() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "raw deflate" {
              timeout 5s
              GET {{base}}/raw-deflate/sse?hold
              expect header content-encoding == deflate
              expect sse {
                abort after 2 items
                data: "one"
                data: "two"
              }
            }

            test "raw deflate body" {
              GET {{base}}/raw-deflate/json
              expect json { "list": [1, 2, 3] }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", server())
        .stdout(&all_passed(
            1,
            &[
                ("a.stream", "raw deflate"),
                ("a.stream", "raw deflate body"),
            ],
        ))
        .run();
}

/// Bytes after the end of the compressed data are a broken body in every coding, not something
/// dropped unread: gzip and zstd (whose data may be several members) read them as the start of
/// another member, the others as data after their end.
#[test]
fn bytes_after_the_end_of_the_compressed_data_fail_in_every_coding() {
    for (coding, named, reason) in [
        ("gzip", "gzip", "Invalid gzip header"),
        ("zstd", "zstd", "Unknown frame descriptor"),
        (
            "deflate",
            "deflate",
            "bytes follow the end of the compressed data",
        ),
        (
            "raw-deflate",
            "deflate",
            "bytes follow the end of the compressed data",
        ),
        ("br", "br", "bytes follow the end of the compressed data"),
    ] {
        let spec = format!(
            "test \"trail\" {{\n  GET {{{{base}}}}/{coding}/sse?trail\n  expect sse {{ data: \"one\"; data: \"two\"; end }}\n}}\n"
        );
        let dropped =
            format!("the body is not valid {named} data (Content-Encoding: {named}): {reason}");
        fails(
            server(),
            &spec,
            &format!(
                r#"
                Running 1 test from 1 file
                  FAIL [TIME] a.stream: trail

                error: expected a clean end, but the connection was dropped: {dropped}
                 --> a.stream:3:42
                  |
                3 |   expect sse {{ data: "one"; data: "two"; end }}
                  |                                          ^^^ expected a clean end
                  |
                  = diff of expected (-) and observed (+) items:
                      data: "one"  # [TIME]
                      data: "two"  # [TIME]
                    - end
                    + dropped  # {dropped}

                Summary 1 test: 0 passed, 1 failed [TIME]
                  FAIL a.stream:1: trail
                "#
            ),
        );
    }
}

//! Content codings (`Content-Encoding: gzip`, `br`, `deflate`, `zstd`): the body is decoded as
//! its compressed bytes arrive, so a stream's items are matched, and timed, when the bytes that
//! carry them are read, and never more than one read buffer of decoded bytes is held here.
//!
//! The response's headers are left as the server sent them (`expect header content-encoding`
//! sees the coding). streamspec sends no `Accept-Encoding` of its own; a spec that sets one gets
//! what the server makes of it, decoded.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use std::task::{Context, Poll, ready};

use async_compression::tokio::bufread::{
    BrotliDecoder, DeflateDecoder, GzipDecoder, ZlibDecoder, ZstdDecoder,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::header::{CONTENT_ENCODING, HeaderMap};
use tokio::io::{AsyncBufRead, AsyncRead, AsyncReadExt, BufReader};
use tokio_util::io::StreamReader;

/// Decoded bytes handed out per read: the most this layer holds, however much a few compressed
/// bytes expand to (a decompression bomb is read, and limited, a buffer at a time).
const READ_BUFFER: usize = 32 * 1024;

/// One content coding streamspec decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Gzip,
    /// `deflate`: the zlib format, as RFC 9110 defines it, or raw deflate data, as some servers
    /// send it (browsers and curl take both).
    Deflate,
    Brotli,
    Zstd,
}

impl Coding {
    fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }
}

/// The codings `Content-Encoding` lists, in the order the server applied them (`identity`
/// left out), or the name of one streamspec cannot decode.
pub fn codings(headers: &HeaderMap) -> Result<Vec<Coding>, String> {
    let mut codings = Vec::new();
    for value in headers.get_all(CONTENT_ENCODING) {
        let Ok(value) = value.to_str() else {
            return Err(String::from_utf8_lossy(value.as_bytes()).into_owned());
        };
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            codings.push(match name.to_ascii_lowercase().as_str() {
                "identity" => continue,
                "gzip" | "x-gzip" => Coding::Gzip,
                "deflate" => Coding::Deflate,
                "br" => Coding::Brotli,
                "zstd" => Coding::Zstd,
                _ => return Err(name.to_string()),
            });
        }
    }
    Ok(codings)
}

/// A transport error on the compressed bytes, carried through the decoders unchanged so that it
/// is told apart from a decoding error.
#[derive(Debug)]
struct Broken(String);

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Broken {}

/// What reading the decoded body gave.
pub enum Decoded {
    /// Decoded bytes, and when the compressed bytes that completed them arrived.
    Data(Bytes, Instant),
    End,
    Failed(String),
}

/// A body being decoded.
pub struct DecodedBody {
    reader: Pin<Box<dyn AsyncRead + Send + Sync>>,
    /// When the latest compressed bytes arrived; `None` until any have.
    arrived: Arc<Mutex<Option<Instant>>>,
    buffer: Box<[u8]>,
    /// `gzip`, `br, gzip`: the codings as the header lists them, for messages.
    named: String,
}

/// Reads `input` and undoes `coding`.
fn decoder(coding: Coding, input: Input) -> Pin<Box<dyn AsyncRead + Send + Sync>> {
    match coding {
        Coding::Gzip => {
            let mut decoder = GzipDecoder::new(input);
            // RFC 1952: a gzip file may be several members one after another.
            decoder.multiple_members(true);
            Box::pin(decoder)
        }
        Coding::Deflate => Box::pin(Deflate::Undecided(input)),
        Coding::Brotli => Box::pin(Ended(BrotliDecoder::new(input))),
        Coding::Zstd => {
            // Windows up to 8 MiB, as RFC 9659 sets for HTTP (not zstd's 128 MiB).
            let mut decoder = ZstdDecoder::new_for_http(input);
            // RFC 8878: zstd data may be several frames one after another.
            decoder.multiple_members(true);
            Box::pin(decoder)
        }
    }
}

/// A decoder of a format that holds one stream only (zlib, raw deflate, brotli). Left alone it
/// stops reading at the end of its data, so bytes a server sends after that would be dropped
/// unseen; here they break the body, as they do for gzip and zstd, which read them as the start
/// of another member.
struct Ended<D>(D);

/// A decoder whose compressed input can be looked at once it has ended.
trait ReadsInput: AsyncRead + Unpin {
    fn input(&mut self) -> &mut Input;
}

impl ReadsInput for BrotliDecoder<Input> {
    fn input(&mut self) -> &mut Input {
        self.get_mut()
    }
}

impl ReadsInput for ZlibDecoder<Input> {
    fn input(&mut self) -> &mut Input {
        self.get_mut()
    }
}

impl ReadsInput for DeflateDecoder<Input> {
    fn input(&mut self) -> &mut Input {
        self.get_mut()
    }
}

impl<D: ReadsInput> AsyncRead for Ended<D> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let decoder = &mut self.get_mut().0;
        let before = buf.filled().len();
        ready!(Pin::new(&mut *decoder).poll_read(cx, buf))?;
        if buf.filled().len() > before || buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        // The decoder's data has ended: so must the body.
        let rest = ready!(decoder.input().as_mut().poll_fill_buf(cx))?;
        Poll::Ready(if rest.is_empty() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bytes follow the end of the compressed data",
            ))
        })
    }
}

type Input = Pin<Box<dyn AsyncBufRead + Send + Sync>>;

/// A `deflate` body: zlib data, or raw deflate data, told apart by the first byte (a zlib header
/// says compression method 8 in its low four bits, which raw data cannot start with unless its
/// first block is stored, and a stored block's first byte is then 0 or 1).
enum Deflate {
    Undecided(Input),
    Zlib(Ended<ZlibDecoder<Input>>),
    Raw(Ended<DeflateDecoder<Input>>),
}

impl AsyncRead for Deflate {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            match this {
                Deflate::Undecided(input) => {
                    let first = ready!(input.as_mut().poll_fill_buf(cx))?.first().copied();
                    let input = std::mem::replace(input, Box::pin(tokio::io::empty()));
                    // An empty body goes to the zlib decoder, which tells it apart.
                    *this = if first.is_none_or(|byte| byte & 0x0F == 8 && byte >> 4 <= 7) {
                        Deflate::Zlib(Ended(ZlibDecoder::new(input)))
                    } else {
                        Deflate::Raw(Ended(DeflateDecoder::new(input)))
                    };
                }
                Deflate::Zlib(decoder) => return Pin::new(decoder).poll_read(cx, buf),
                Deflate::Raw(decoder) => return Pin::new(decoder).poll_read(cx, buf),
            }
        }
    }
}

impl DecodedBody {
    /// Decodes the body whose bytes `compressed` gives (each piece with when it arrived, or
    /// why the connection broke, in words), undoing `codings` (as [`codings`] gives them) last
    /// one first.
    pub fn new<S>(compressed: S, codings: &[Coding]) -> DecodedBody
    where
        S: Stream<Item = Result<(Bytes, Instant), String>> + Send + Sync + 'static,
    {
        let arrived = Arc::new(Mutex::new(None));
        let stamp = Arc::clone(&arrived);
        let compressed = compressed.map(move |chunk| match chunk {
            Ok((bytes, at)) => {
                if let Ok(mut arrived) = stamp.lock() {
                    *arrived = Some(at);
                }
                Ok(bytes)
            }
            Err(reason) => Err(io::Error::other(Broken(reason))),
        });
        let compressed: Input = Box::pin(StreamReader::new(compressed));
        let mut undo = codings.iter().rev();
        let mut reader = match undo.next() {
            Some(&coding) => decoder(coding, compressed),
            None => compressed as Pin<Box<dyn AsyncRead + Send + Sync>>,
        };
        for &coding in undo {
            reader = decoder(
                coding,
                Box::pin(BufReader::with_capacity(READ_BUFFER, reader)),
            );
        }
        let named = codings
            .iter()
            .map(|coding| coding.name())
            .collect::<Vec<_>>()
            .join(", ");
        DecodedBody {
            reader,
            arrived,
            buffer: vec![0; READ_BUFFER].into_boxed_slice(),
            named,
        }
    }

    fn arrived(&self) -> Option<Instant> {
        self.arrived.lock().ok().and_then(|at| *at)
    }

    /// The next decoded bytes, or how the body ended.
    pub async fn next(&mut self) -> Decoded {
        match self.reader.read(&mut self.buffer).await {
            Ok(0) => Decoded::End,
            Ok(read) => Decoded::Data(
                Bytes::copy_from_slice(&self.buffer[..read]),
                self.arrived().unwrap_or_else(Instant::now),
            ),
            Err(error) => match error.get_ref().and_then(|e| e.downcast_ref::<Broken>()) {
                Some(Broken(reason)) => Decoded::Failed(reason.clone()),
                // An empty body (a HEAD, a 204) carries no compressed data at all.
                None if error.kind() == io::ErrorKind::UnexpectedEof
                    && self.arrived().is_none() =>
                {
                    Decoded::End
                }
                None if error.kind() == io::ErrorKind::UnexpectedEof => Decoded::Failed(format!(
                    "the body ended in the middle of its compressed data (Content-Encoding: {})",
                    self.named
                )),
                None => Decoded::Failed(format!(
                    "the body is not valid {} data (Content-Encoding: {}): {error}",
                    self.named, self.named
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn listed(values: &[&str]) -> Result<Vec<Coding>, String> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CONTENT_ENCODING, HeaderValue::from_str(value).unwrap());
        }
        codings(&headers)
    }

    #[test]
    fn reads_the_codings_in_the_order_they_were_applied() {
        assert_eq!(listed(&[]), Ok(vec![]));
        assert_eq!(listed(&["identity"]), Ok(vec![]));
        assert_eq!(listed(&["GZIP"]), Ok(vec![Coding::Gzip]));
        assert_eq!(
            listed(&["deflate, br", "zstd"]),
            Ok(vec![Coding::Deflate, Coding::Brotli, Coding::Zstd])
        );
        assert_eq!(listed(&["gzip, compress"]), Err("compress".to_string()));
    }
}

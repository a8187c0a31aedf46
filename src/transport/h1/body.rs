//! A response body's framing undone as its bytes arrive: a `Content-Length` count, chunked
//! transfer coding (extensions ignored, trailers read and ignored, every line bounded), or the
//! bytes up to the end of the connection. No input/output here: bytes are pushed in, data
//! slices come out (sharing the bytes read, never copied), and the end says whether the
//! connection may carry another response.

use bytes::{Buf, Bytes};

/// The most bytes of chunk extensions a body may carry, all its chunks together (hyper's limit,
/// which streamspec used before it spoke HTTP/1.1 itself).
const MAX_EXTENSION_BYTES: u64 = 16 * 1024;
/// The most bytes of trailer fields after the last chunk (hyper's limit).
const MAX_TRAILER_BYTES: usize = 16 * 1024;
/// The most trailer fields after the last chunk: as many as a response head may have.
const MAX_TRAILER_FIELDS: usize = super::super::http::MAX_HEADER_FIELDS;

/// How a response's body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body at all (a `HEAD` response, `204`, `304`).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything up to the end of the connection.
    UntilClose,
}

/// What decoding the bytes pushed so far gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Body data, a slice of the input.
    Data(Bytes),
    /// Every byte of the input was taken; more are needed.
    NeedMore,
    /// The body ended at its framing; whatever the input still holds follows it.
    End,
    /// The bytes break the framing; the text says how.
    Broken(String),
}

/// A body's framing, undone.
#[derive(Debug)]
pub struct BodyDecoder {
    state: State,
}

#[derive(Debug)]
enum State {
    Length(u64),
    Chunked(Chunked),
    UntilClose,
    Ended,
}

/// Where in a chunked body the decoder is, and what it has counted of it.
#[derive(Debug)]
struct Chunked {
    at: ChunkedAt,
    /// The size of the chunk being read, or left of its data.
    size: u64,
    extension_bytes: u64,
    trailer_bytes: usize,
    trailer_fields: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkedAt {
    /// The first hexadecimal digit of a size line.
    SizeStart,
    Size,
    /// Spaces or tabs after the size.
    SizeSpace,
    /// `;…` after the size, up to the CR.
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    /// After the last chunk: a trailer field, or the CRLF that ends the body.
    TrailerStart,
    Trailer,
    TrailerLf,
    EndLf,
}

impl BodyDecoder {
    pub fn new(framing: Framing) -> BodyDecoder {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => State::Ended,
            Framing::Length(length) => State::Length(length),
            Framing::Chunked => State::Chunked(Chunked {
                at: ChunkedAt::SizeStart,
                size: 0,
                extension_bytes: 0,
                trailer_bytes: 0,
                trailer_fields: 0,
            }),
            Framing::UntilClose => State::UntilClose,
        };
        BodyDecoder { state }
    }

    /// Whether the body has ended (at its framing, at the end of the connection, or broken).
    pub fn ended(&self) -> bool {
        matches!(self.state, State::Ended)
    }

    /// The connection broke: the body is over.
    pub fn stop(&mut self) {
        self.state = State::Ended;
    }

    /// Takes what it can from the front of `input`: data (one chunk's worth at most, as a slice
    /// of `input`), or framing bytes, until `input` is empty or the body ends.
    pub fn decode(&mut self, input: &mut Bytes) -> Decoded {
        match &mut self.state {
            State::Ended => Decoded::End,
            State::Length(left) => {
                if input.is_empty() {
                    return Decoded::NeedMore;
                }
                let take = usize::try_from(*left).map_or(input.len(), |left| left.min(input.len()));
                *left -= take as u64;
                if *left == 0 {
                    self.state = State::Ended;
                }
                Decoded::Data(input.split_to(take))
            }
            State::UntilClose if input.is_empty() => Decoded::NeedMore,
            State::UntilClose => Decoded::Data(std::mem::take(input)),
            State::Chunked(chunked) => {
                let decoded = chunked.decode(input);
                if matches!(decoded, Decoded::End | Decoded::Broken(_)) {
                    self.state = State::Ended;
                }
                decoded
            }
        }
    }

    /// The connection ended: whether that ends the body or cuts it short (in hyper's words,
    /// which users of streamspec saw before it spoke HTTP/1.1 itself).
    pub fn end_of_connection(&mut self) -> Result<(), &'static str> {
        let state = std::mem::replace(&mut self.state, State::Ended);
        match state {
            State::Ended | State::UntilClose => Ok(()),
            State::Length(_) => Err("end of file before message length reached"),
            State::Chunked(Chunked {
                at: ChunkedAt::Data,
                ..
            }) => Err("end of file before message length reached"),
            State::Chunked(_) => Err("unexpected EOF during chunk size line"),
        }
    }
}

impl Chunked {
    fn decode(&mut self, input: &mut Bytes) -> Decoded {
        loop {
            if self.at == ChunkedAt::Data {
                if input.is_empty() {
                    return Decoded::NeedMore;
                }
                let take =
                    usize::try_from(self.size).map_or(input.len(), |size| size.min(input.len()));
                self.size -= take as u64;
                if self.size == 0 {
                    self.at = ChunkedAt::DataCr;
                }
                return Decoded::Data(input.split_to(take));
            }
            let Some(&byte) = input.first() else {
                return Decoded::NeedMore;
            };
            input.advance(1);
            match self.step(byte) {
                Ok(true) => return Decoded::End,
                Ok(false) => {}
                Err(why) => {
                    return Decoded::Broken(format!(
                        "the server sent a broken chunked body: {why}"
                    ));
                }
            }
        }
    }

    /// One framing byte; `Ok(true)` once it ends the body.
    fn step(&mut self, byte: u8) -> Result<bool, String> {
        use ChunkedAt::*;
        self.at = match (self.at, byte) {
            (SizeStart, _) => {
                let Some(digit) = hex_digit(byte) else {
                    return Err(format!(
                        "a chunk size line starts with {}, not a hexadecimal digit",
                        shown(byte)
                    ));
                };
                self.size = u64::from(digit);
                Size
            }
            (Size, _) if hex_digit(byte).is_some() => {
                let digit = hex_digit(byte).unwrap_or_default();
                self.size = self
                    .size
                    .checked_mul(16)
                    .and_then(|size| size.checked_add(u64::from(digit)))
                    .ok_or("a chunk size larger than 64 bits can count")?;
                Size
            }
            (Size | SizeSpace, b' ' | b'\t') => SizeSpace,
            (Size | SizeSpace, b';') => Extension,
            (Size | SizeSpace, b'\r') => SizeLf,
            (Size, _) => return Err(format!("a chunk size with {} in it", shown(byte))),
            (SizeSpace, _) => {
                return Err(format!("a chunk size followed by {}", shown(byte)));
            }
            (Extension, b'\r') => SizeLf,
            (Extension, b'\n') => return Err("a chunk extension with a bare LF in it".into()),
            (Extension, _) => {
                self.extension_bytes += 1;
                if self.extension_bytes > MAX_EXTENSION_BYTES {
                    return Err(format!(
                        "chunk extensions of more than {} KiB",
                        MAX_EXTENSION_BYTES / 1024
                    ));
                }
                Extension
            }
            (SizeLf, b'\n') if self.size == 0 => TrailerStart,
            (SizeLf, b'\n') => Data,
            (SizeLf, _) => return Err("a chunk size line ends in a CR without an LF".into()),
            (Data, _) => unreachable!("data is taken whole, not a byte at a time"),
            (DataCr, b'\r') => DataLf,
            (DataCr, _) => {
                return Err(format!(
                    "a chunk's data is followed by {}, not CRLF (more data than its size?)",
                    shown(byte)
                ));
            }
            (DataLf, b'\n') => SizeStart,
            (DataLf, _) => return Err("a chunk's data is followed by a CR without an LF".into()),
            (TrailerStart, b'\r') => EndLf,
            (TrailerStart | Trailer, _) => {
                if self.at == TrailerStart {
                    self.trailer_fields += 1;
                    if self.trailer_fields > MAX_TRAILER_FIELDS {
                        return Err(format!(
                            "more than {MAX_TRAILER_FIELDS} trailer fields after the last chunk"
                        ));
                    }
                }
                self.trailer_bytes += 1;
                if self.trailer_bytes > MAX_TRAILER_BYTES {
                    return Err(format!(
                        "trailer fields of more than {} KiB after the last chunk",
                        MAX_TRAILER_BYTES / 1024
                    ));
                }
                if byte == b'\r' { TrailerLf } else { Trailer }
            }
            (TrailerLf, b'\n') => TrailerStart,
            (TrailerLf, _) => return Err("a trailer field ends in a CR without an LF".into()),
            (EndLf, b'\n') => return Ok(true),
            (EndLf, _) => return Err("the body's last line ends in a CR without an LF".into()),
        };
        Ok(false)
    }
}

fn hex_digit(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

/// A byte as a failure shows it: `` `x` ``, or `LF`, `CR`, `0x07`.
fn shown(byte: u8) -> String {
    match byte {
        b'\n' => "an LF".to_string(),
        b'\r' => "a CR".to_string(),
        0x21..=0x7e => format!("`{}`", byte as char),
        _ => format!("the byte {byte:#04x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `wire` pushed in the given pieces; the data, and how it ended (`None` if it
    /// needs more), and what was left after the end.
    fn decode_pieces(framing: Framing, pieces: &[&[u8]]) -> (Vec<u8>, Option<Decoded>, Vec<u8>) {
        let mut decoder = BodyDecoder::new(framing);
        let mut data = Vec::new();
        for (index, piece) in pieces.iter().enumerate() {
            let mut input = Bytes::copy_from_slice(piece);
            loop {
                match decoder.decode(&mut input) {
                    Decoded::Data(bytes) => data.extend_from_slice(&bytes),
                    Decoded::NeedMore => break,
                    ended => {
                        let mut rest = input.to_vec();
                        rest.extend(pieces[index + 1..].concat());
                        return (data, Some(ended), rest);
                    }
                }
            }
        }
        (data, None, Vec::new())
    }

    fn decode(framing: Framing, wire: &[u8]) -> (Vec<u8>, Option<Decoded>, Vec<u8>) {
        decode_pieces(framing, &[wire])
    }

    const CHUNKED: &[u8] = b"5;name=value\r\nhello\r\n1A \t; ext\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-trailer: 1\r\nx-other: 2\r\n\r\nNEXT";

    #[test]
    fn a_chunked_body_split_at_every_byte_boundary_gives_the_same_data() {
        let whole = decode(Framing::Chunked, CHUNKED);
        assert_eq!(
            whole,
            (
                b"helloabcdefghijklmnopqrstuvwxyz".to_vec(),
                Some(Decoded::End),
                b"NEXT".to_vec()
            )
        );
        for split in 0..=CHUNKED.len() {
            let (first, second) = CHUNKED.split_at(split);
            assert_eq!(
                decode_pieces(Framing::Chunked, &[first, second]),
                whole,
                "split at {split}"
            );
        }
        let bytes: Vec<&[u8]> = CHUNKED.chunks(1).collect();
        assert_eq!(decode_pieces(Framing::Chunked, &bytes), whole);
    }

    #[test]
    fn each_chunk_is_its_own_piece_of_data() {
        let mut decoder = BodyDecoder::new(Framing::Chunked);
        let mut input = Bytes::from_static(b"2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n");
        assert_eq!(
            decoder.decode(&mut input),
            Decoded::Data(Bytes::from_static(b"ab"))
        );
        assert_eq!(
            decoder.decode(&mut input),
            Decoded::Data(Bytes::from_static(b"cde"))
        );
        assert_eq!(decoder.decode(&mut input), Decoded::End);
        assert!(input.is_empty());
        assert!(decoder.ended());
    }

    #[test]
    fn an_empty_chunked_body_ends_at_its_last_chunk() {
        assert_eq!(
            decode(Framing::Chunked, b"0\r\n\r\n"),
            (Vec::new(), Some(Decoded::End), Vec::new())
        );
    }

    fn broken(wire: &[u8]) -> String {
        match decode(Framing::Chunked, wire).1 {
            Some(Decoded::Broken(why)) => why,
            other => panic!("{wire:?} gave {other:?}"),
        }
    }

    #[test]
    fn bad_chunk_sizes_say_what_was_wrong() {
        assert_eq!(
            broken(b"x\r\n"),
            "the server sent a broken chunked body: a chunk size line starts with `x`, not a hexadecimal digit"
        );
        assert_eq!(
            broken(b"\r\n"),
            "the server sent a broken chunked body: a chunk size line starts with a CR, not a hexadecimal digit"
        );
        assert_eq!(
            broken(b"5g\r\n"),
            "the server sent a broken chunked body: a chunk size with `g` in it"
        );
        assert_eq!(
            broken(b"5 5\r\n"),
            "the server sent a broken chunked body: a chunk size followed by `5`"
        );
        assert_eq!(
            broken(b"5\n"),
            "the server sent a broken chunked body: a chunk size with an LF in it"
        );
        assert_eq!(
            broken(b"5\rx"),
            "the server sent a broken chunked body: a chunk size line ends in a CR without an LF"
        );
        assert_eq!(
            broken(b"5;a\nb\r\n"),
            "the server sent a broken chunked body: a chunk extension with a bare LF in it"
        );
    }

    #[test]
    fn a_chunk_size_past_64_bits_is_refused_and_16_hex_digits_are_not() {
        assert_eq!(
            broken(b"10000000000000000\r\n"),
            "the server sent a broken chunked body: a chunk size larger than 64 bits can count"
        );
        let (data, end, _) = decode(Framing::Chunked, b"FFFFFFFFFFFFFFFF\r\nabc");
        assert_eq!((data, end), (b"abc".to_vec(), None));
    }

    #[test]
    fn chunk_data_must_end_at_its_size() {
        assert_eq!(
            broken(b"2\r\nabc\r\n"),
            "the server sent a broken chunked body: a chunk's data is followed by `c`, not CRLF (more data than its size?)"
        );
        assert_eq!(
            broken(b"2\r\nab\rx"),
            "the server sent a broken chunked body: a chunk's data is followed by a CR without an LF"
        );
    }

    #[test]
    fn extensions_and_trailers_are_bounded() {
        let mut long_extension = b"1;".to_vec();
        long_extension.extend(std::iter::repeat_n(b'e', 16 * 1024 + 1));
        assert_eq!(
            broken(&long_extension),
            "the server sent a broken chunked body: chunk extensions of more than 16 KiB"
        );
        let mut long_trailer = b"0\r\nx: ".to_vec();
        long_trailer.extend(std::iter::repeat_n(b't', 16 * 1024));
        assert_eq!(
            broken(&long_trailer),
            "the server sent a broken chunked body: trailer fields of more than 16 KiB after the last chunk"
        );
        let many = format!("0\r\n{}", "a\r\n".repeat(MAX_TRAILER_FIELDS + 1));
        assert_eq!(
            broken(many.as_bytes()),
            "the server sent a broken chunked body: more than 2000 trailer fields after the last chunk"
        );
        assert_eq!(
            broken(b"0\r\nx: 1\rx"),
            "the server sent a broken chunked body: a trailer field ends in a CR without an LF"
        );
        assert_eq!(
            broken(b"0\r\n\rx"),
            "the server sent a broken chunked body: the body's last line ends in a CR without an LF"
        );
    }

    #[test]
    fn a_chunked_body_cut_short_says_where() {
        for (wire, said) in [
            (
                &b"5\r\nhel"[..],
                "end of file before message length reached",
            ),
            (b"5\r\nhello", "unexpected EOF during chunk size line"),
            (b"5\r\nhello\r\n", "unexpected EOF during chunk size line"),
            (b"5", "unexpected EOF during chunk size line"),
            (b"0\r\nx: 1\r\n", "unexpected EOF during chunk size line"),
        ] {
            let mut decoder = BodyDecoder::new(Framing::Chunked);
            let mut input = Bytes::copy_from_slice(wire);
            while let Decoded::Data(_) = decoder.decode(&mut input) {}
            assert_eq!(decoder.end_of_connection(), Err(said), "{wire:?}");
        }
    }

    #[test]
    fn a_content_length_body_ends_at_its_length() {
        assert_eq!(
            decode(Framing::Length(5), b"helloNEXT"),
            (b"hello".to_vec(), Some(Decoded::End), b"NEXT".to_vec())
        );
        assert_eq!(
            decode_pieces(Framing::Length(5), &[b"he", b"l", b"lo"]),
            (b"hello".to_vec(), Some(Decoded::End), Vec::new())
        );
        assert_eq!(
            decode(Framing::Length(0), b"NEXT"),
            (Vec::new(), Some(Decoded::End), b"NEXT".to_vec())
        );
    }

    #[test]
    fn a_content_length_body_cut_short_is_an_error_and_a_whole_one_is_not() {
        let mut short = BodyDecoder::new(Framing::Length(5));
        let mut input = Bytes::from_static(b"hel");
        assert_eq!(
            short.decode(&mut input),
            Decoded::Data(Bytes::from_static(b"hel"))
        );
        assert_eq!(short.decode(&mut input), Decoded::NeedMore);
        assert_eq!(
            short.end_of_connection(),
            Err("end of file before message length reached")
        );
        let mut whole = BodyDecoder::new(Framing::Length(3));
        let mut input = Bytes::from_static(b"hel");
        assert!(matches!(whole.decode(&mut input), Decoded::Data(_)));
        assert_eq!(whole.decode(&mut input), Decoded::End);
        assert_eq!(whole.end_of_connection(), Ok(()));
    }

    #[test]
    fn a_body_until_close_takes_everything_and_ends_with_the_connection() {
        let mut decoder = BodyDecoder::new(Framing::UntilClose);
        let mut input = Bytes::from_static(b"any\r\n0\r\n\r\nbytes");
        assert_eq!(
            decoder.decode(&mut input),
            Decoded::Data(Bytes::from_static(b"any\r\n0\r\n\r\nbytes"))
        );
        assert_eq!(decoder.decode(&mut input), Decoded::NeedMore);
        assert!(!decoder.ended());
        assert_eq!(decoder.end_of_connection(), Ok(()));
        assert!(decoder.ended());
    }

    #[test]
    fn an_empty_body_has_ended_before_any_byte() {
        let mut decoder = BodyDecoder::new(Framing::Empty);
        assert!(decoder.ended());
        let mut input = Bytes::from_static(b"NEXT");
        assert_eq!(decoder.decode(&mut input), Decoded::End);
        assert_eq!(input, Bytes::from_static(b"NEXT"));
    }
}

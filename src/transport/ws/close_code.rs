//! The close code a server put on the wire, watched in the bytes as they are read. tungstenite
//! answers a close frame whose code may not be sent (1005, 999, 5000…) with `1002`, and hands
//! its own `1002 "Protocol violation"` up as if the server had sent it; this finds the code the
//! server really sent, so a failure can say what the server did.

/// Follows the frames of a byte stream (server to client) far enough to see each close
/// frame's code: frame headers are read, payloads skipped, but the first two bytes of a close
/// frame's payload.
#[derive(Debug, Default)]
pub struct CloseCodeWatch {
    /// Bytes of the frame header being read (at most 14).
    header: [u8; 14],
    have: usize,
    /// Payload bytes of the current frame still to skip, once its header is whole.
    remaining: u64,
    /// The current frame is a close frame: its code's bytes, as they come.
    close: Option<CodeBytes>,
    /// The masking key, when the server (wrongly) masked the frame.
    mask: Option<[u8; 4]>,
    /// How far into the payload the current frame is, for the mask.
    offset: u64,
    /// The code of the last close frame seen whole; `None` for a close frame without one.
    last: Option<Option<u16>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct CodeBytes {
    bytes: [u8; 2],
    have: usize,
}

impl CloseCodeWatch {
    /// The code of the last close frame read (`Some(None)`: it had no code).
    pub fn last(&self) -> Option<Option<u16>> {
        self.last
    }

    /// Follows `bytes`, the next bytes read from the connection.
    pub fn watch(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let take = usize::try_from(self.remaining)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                self.payload(&bytes[..take]);
                self.remaining -= take as u64;
                bytes = &bytes[take..];
                if self.remaining == 0 {
                    self.frame_done();
                }
                continue;
            }
            self.header[self.have] = bytes[0];
            self.have += 1;
            bytes = &bytes[1..];
            if let Some(length) = self.header_length()
                && self.have == length
            {
                self.start_payload(length);
            }
        }
    }

    /// The whole header's length, once its first two bytes say it.
    fn header_length(&self) -> Option<usize> {
        if self.have < 2 {
            return None;
        }
        let masked = self.header[1] & 0x80 != 0;
        let extended = match self.header[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        Some(2 + extended + if masked { 4 } else { 0 })
    }

    fn start_payload(&mut self, length: usize) {
        let masked = self.header[1] & 0x80 != 0;
        let payload = match self.header[1] & 0x7f {
            126 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
            127 => {
                let mut eight = [0u8; 8];
                eight.copy_from_slice(&self.header[2..10]);
                u64::from_be_bytes(eight)
            }
            short => u64::from(short),
        };
        self.mask = masked.then(|| {
            let mut key = [0u8; 4];
            key.copy_from_slice(&self.header[length - 4..length]);
            key
        });
        self.close = (self.header[0] & 0x0f == 0x8).then(CodeBytes::default);
        self.offset = 0;
        self.have = 0;
        self.remaining = payload;
        if payload == 0 {
            self.frame_done();
        }
    }

    fn payload(&mut self, bytes: &[u8]) {
        if let Some(close) = &mut self.close {
            for (index, &byte) in bytes.iter().enumerate() {
                if close.have == 2 {
                    break;
                }
                let at = self.offset + index as u64;
                let key = self.mask.map_or(0, |key| key[(at % 4) as usize]);
                close.bytes[close.have] = byte ^ key;
                close.have += 1;
            }
        }
        self.offset += bytes.len() as u64;
    }

    fn frame_done(&mut self) {
        if let Some(close) = self.close.take() {
            self.last = Some((close.have == 2).then(|| u16::from_be_bytes(close.bytes)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_of_a_close_frame_after_other_frames_in_pieces() {
        let mut watch = CloseCodeWatch::default();
        let mut bytes = vec![0x81, 0x03, b'a', b'b', b'c'];
        bytes.extend([0x82, 126, 0x00, 0x80]);
        bytes.extend([0u8; 128]);
        bytes.extend([0x88, 0x04, 0x03, 0xed, b'h', b'i']);
        for piece in bytes.chunks(3) {
            watch.watch(piece);
        }
        assert_eq!(watch.last(), Some(Some(1005)));
    }

    #[test]
    fn a_close_frame_without_a_code_and_a_masked_one() {
        let mut watch = CloseCodeWatch::default();
        watch.watch(&[0x88, 0x00]);
        assert_eq!(watch.last(), Some(None));
        let key = [1, 2, 3, 4];
        let code = 999u16.to_be_bytes();
        watch.watch(&[0x88, 0x82, key[0], key[1], key[2], key[3]]);
        watch.watch(&[code[0] ^ key[0], code[1] ^ key[1]]);
        assert_eq!(watch.last(), Some(Some(999)));
    }
}

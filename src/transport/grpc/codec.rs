//! A tonic [`Codec`] over [`DynamicMessage`]: requests of any message type are encoded as they
//! are; responses are decoded as the method's output type, known only at run time.

use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use super::error::MalformedMessage;

/// A reply, and its size on the wire (without the 5-byte frame header).
#[derive(Debug, Clone)]
pub struct Reply {
    pub message: DynamicMessage,
    pub size: usize,
}

/// Encodes any [`DynamicMessage`]; decodes into `output`.
#[derive(Debug, Clone)]
pub struct DynamicCodec {
    output: MessageDescriptor,
}

impl DynamicCodec {
    pub fn new(output: MessageDescriptor) -> DynamicCodec {
        DynamicCodec { output }
    }
}

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = Reply;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> DynamicEncoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> DynamicDecoder {
        DynamicDecoder {
            output: self.output.clone(),
        }
    }
}

#[derive(Debug)]
pub struct DynamicEncoder;

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: DynamicMessage, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        // The buffer grows as needed, so encoding cannot run out of room.
        item.encode(dst)
            .map_err(|error| Status::internal(format!("could not encode the request: {error}")))
    }
}

#[derive(Debug)]
pub struct DynamicDecoder {
    output: MessageDescriptor,
}

impl Decoder for DynamicDecoder {
    type Item = Reply;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Reply>, Status> {
        let size = bytes::Buf::remaining(src);
        match DynamicMessage::decode(self.output.clone(), src) {
            Ok(message) => Ok(Some(Reply { message, size })),
            // A source marks it as ours, not the server's status (see `error::classify`).
            Err(error) => Err(Status::from_error(Box::new(MalformedMessage(format!(
                "the message is not a valid `{}`: {error}",
                self.output.full_name()
            ))))),
        }
    }
}

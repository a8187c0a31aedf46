//! The schema of a server that offers reflection: `grpc.reflection.v1`, or `v1alpha` when the
//! server answers UNIMPLEMENTED for v1.
//!
//! Both versions have the same messages field for field, so one set of types (tonic-reflection's
//! v1) is used on either path. On one reflection stream: `ListServices`, then
//! `FileContainingSymbol` for the service a call needs (and no other: one service whose files
//! the server cannot give must not break calls to the others), then `FileByFilename` for every
//! import not yet had until the set is closed (servers answer with the file holding the symbol
//! and often nothing more). The files are kept as their bytes came (custom options and all; see
//! `schema` for what a call gets of them). `google/protobuf/*` files a server cannot give are
//! taken from prost-reflect's own. The reflection services are resolved like any other, so they can be
//! called too (as grpcurl can).

use std::collections::BTreeMap;
use std::time::Instant;

use bytes::Bytes;
use prost_reflect::DescriptorPool;
use tokio::sync::mpsc;
use tonic::Code;
use tonic::codec::Streaming;
use tonic::codegen::http::uri::PathAndQuery;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

use super::channel::GrpcChannel;
use super::error::{Classified, GrpcError, classify, describe_failure};
use super::method::unknown_service;
use super::prune::SchemaFile;
use super::status::code_name;
use crate::transport::framing::format_size;

const V1: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const V1ALPHA: &str = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

/// The services the server lists (the reflection services themselves left out).
pub async fn list_services(
    channel: &GrpcChannel,
    deadline: Instant,
) -> Result<Vec<String>, GrpcError> {
    bounded(channel, deadline, "the server's list of services", async {
        let (mut session, services) = Session::open(channel, usize::MAX).await?;
        session.close();
        Ok(services)
    })
    .await
}

/// The file that defines `service` (its full name) and every file it imports; no answer may be
/// larger than `max_answer_size` bytes (`--max-item-size`).
pub(crate) async fn fetch_schema(
    channel: &GrpcChannel,
    deadline: Instant,
    service: &str,
    max_answer_size: usize,
) -> Result<Vec<SchemaFile>, GrpcError> {
    bounded(channel, deadline, "the server's schema (reflection)", async {
        let (mut session, services) = Session::open(channel, max_answer_size).await?;
        let mut files: BTreeMap<String, SchemaFile> = BTreeMap::new();
        let defining = session
            .files(MessageRequest::FileContainingSymbol(service.to_string()))
            .await;
        let defining = match defining {
            Ok(defining) => defining,
            // The server does not know the symbol, and does not list it either.
            Err(GrpcError::Reflection { .. })
                if !services.iter().any(|listed| listed == service) =>
            {
                return Err(unknown_service(service, services));
            }
            Err(error) => return Err(error),
        };
        for file in defining {
            files.entry(file.name.clone()).or_insert(file);
        }
        // Close the set over imports.
        loop {
            let missing: Vec<(String, String)> = files
                .values()
                .flat_map(|file| {
                    file.dependencies
                        .iter()
                        .map(|dependency| (dependency.clone(), file.name.clone()))
                })
                .filter(|(dependency, _)| !files.contains_key(dependency))
                .collect();
            let Some((dependency, importer)) = missing.into_iter().next() else {
                break;
            };
            let fetched = match session
                .files(MessageRequest::FileByFilename(dependency.clone()))
                .await
            {
                Ok(fetched) => fetched,
                Err(error) => match (builtin(&dependency), error) {
                    (Some(file), _) => vec![file],
                    (None, GrpcError::Reflection { reason, .. }) => {
                        return Err(GrpcError::Reflection {
                            url: channel.url().to_string(),
                            reason: format!(
                                "it could not give `{dependency}`, imported by `{importer}`: {reason}"
                            ),
                        });
                    }
                    (None, error) => return Err(error),
                },
            };
            if !fetched.iter().any(|file| file.name == dependency) {
                return Err(GrpcError::Reflection {
                    url: channel.url().to_string(),
                    reason: format!(
                        "asked for `{dependency}` (imported by `{importer}`), it answered with other files"
                    ),
                });
            }
            for file in fetched {
                files.entry(file.name.clone()).or_insert(file);
            }
        }
        session.close();
        Ok(files.into_values().collect())
    })
    .await
}

async fn bounded<T>(
    channel: &GrpcChannel,
    deadline: Instant,
    what: &str,
    work: impl Future<Output = Result<T, GrpcError>>,
) -> Result<T, GrpcError> {
    let started = Instant::now();
    tokio::time::timeout_at(deadline.into(), work)
        .await
        .unwrap_or_else(|_| {
            Err(GrpcError::Deadline {
                after: started.elapsed(),
                waiting_for: format!("{what} from {}", channel.address()),
            })
        })
}

/// A well-known type's file from prost-reflect's built-in pool.
fn builtin(name: &str) -> Option<SchemaFile> {
    let file = DescriptorPool::global().get_file_by_name(name)?;
    SchemaFile::decode(Bytes::from(file.encode_to_vec())).ok()
}

/// One reflection stream: requests go out one at a time, each answer is read before the next.
/// Some servers (tonic's) end the stream on a question they cannot answer: the next question
/// then opens a new one.
struct Session<'a> {
    channel: &'a GrpcChannel,
    path: &'static str,
    max_answer_size: usize,
    requests: Option<mpsc::Sender<ServerReflectionRequest>>,
    responses: Streaming<ServerReflectionResponse>,
    ended: bool,
}

impl<'a> Session<'a> {
    /// Opens a stream (v1, else v1alpha) and asks for the list of services on it.
    async fn open(
        channel: &'a GrpcChannel,
        max_answer_size: usize,
    ) -> Result<(Session<'a>, Vec<String>), GrpcError> {
        for path in [V1, V1ALPHA] {
            let first = MessageRequest::ListServices(String::new());
            let Some(mut session) = Session::start(channel, path, first, max_answer_size).await?
            else {
                continue;
            };
            match session.answer().await {
                Ok(MessageResponse::ListServicesResponse(list)) => {
                    let services = list
                        .service
                        .into_iter()
                        .map(|service| service.name)
                        .filter(|name| !name.starts_with("grpc.reflection."))
                        .collect();
                    return Ok((session, services));
                }
                Ok(other) => return Err(session.unexpected(&other)),
                Err(Answer::Unimplemented) => continue,
                Err(Answer::Failed(error)) => return Err(error),
            }
        }
        Err(GrpcError::NoReflection {
            url: channel.url().to_string(),
        })
    }

    /// Starts a stream on `path` with `first` as its first request; `None` if the server has
    /// no such service.
    async fn start(
        channel: &'a GrpcChannel,
        path: &'static str,
        first: MessageRequest,
        max_answer_size: usize,
    ) -> Result<Option<Session<'a>>, GrpcError> {
        let (sender, mut receiver) = mpsc::channel(4);
        // The first request is queued before the call starts: a server may hold its response
        // headers until it has read one.
        let _ = sender.try_send(request(first));
        let outgoing = futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx));
        let mut grpc = tonic::client::Grpc::new(channel.channel.clone())
            .max_decoding_message_size(max_answer_size);
        grpc.ready()
            .await
            .map_err(|error| describe_failure(&*error, &channel.peer))?;
        let answer = grpc
            .streaming(
                tonic::Request::new(outgoing),
                PathAndQuery::from_static(path),
                tonic_prost::ProstCodec::<ServerReflectionRequest, ServerReflectionResponse>::default(),
            )
            .await;
        match answer {
            Ok(response) => Ok(Some(Session {
                channel,
                path,
                max_answer_size,
                requests: Some(sender),
                responses: response.into_inner(),
                ended: false,
            })),
            Err(status) => match classify(&status, &channel.peer) {
                Classified::Server(status) if status.code == Code::Unimplemented => Ok(None),
                Classified::Server(status) => Err(GrpcError::Status(Box::new(status))),
                Classified::Failed(error) => Err(error),
            },
        }
    }

    /// The files an answer to `question` holds.
    async fn files(&mut self, question: MessageRequest) -> Result<Vec<SchemaFile>, GrpcError> {
        let asked = match &question {
            MessageRequest::FileByFilename(name) => format!("the file `{name}`"),
            MessageRequest::FileContainingSymbol(symbol) => format!("the file defining `{symbol}`"),
            _ => "a file".to_string(),
        };
        if self.ended {
            match Session::start(self.channel, self.path, question, self.max_answer_size).await? {
                Some(fresh) => *self = fresh,
                None => return Err(self.failed("UNIMPLEMENTED")),
            }
        } else {
            let sent = match &self.requests {
                Some(sender) => sender.send(request(question)).await.is_ok(),
                None => false,
            };
            if !sent {
                return Err(self.failed("it closed the reflection stream"));
            }
        }
        match self.answer().await {
            Ok(MessageResponse::FileDescriptorResponse(response)) => response
                .file_descriptor_proto
                .into_iter()
                .map(|bytes| SchemaFile::decode(Bytes::from(bytes)))
                .collect::<Result<Vec<SchemaFile>, _>>()
                .map_err(|error| {
                    self.failed(&format!("{asked} it sent cannot be decoded: {error}"))
                }),
            Ok(MessageResponse::ErrorResponse(error)) => Err(self.failed(&format!(
                "{asked}: {} {}",
                code_name(Code::from_i32(error.error_code)),
                error.error_message
            ))),
            Ok(other) => Err(self.unexpected(&other)),
            Err(Answer::Unimplemented) => Err(self.failed("UNIMPLEMENTED")),
            Err(Answer::Failed(error)) => Err(error),
        }
    }

    async fn answer(&mut self) -> Result<MessageResponse, Answer> {
        let answer = self.responses.message().await;
        if !matches!(answer, Ok(Some(_))) {
            self.ended = true;
        }
        match answer {
            Ok(Some(ServerReflectionResponse {
                message_response: Some(response),
                ..
            })) => Ok(response),
            Ok(Some(_)) => Err(Answer::Failed(self.failed("it sent an empty answer"))),
            Ok(None) => Err(Answer::Failed(
                self.failed("it ended the reflection stream early"),
            )),
            Err(status) => match classify(&status, &self.channel.peer) {
                Classified::Server(status) if status.code == Code::Unimplemented => {
                    Err(Answer::Unimplemented)
                }
                Classified::Server(status) => Err(Answer::Failed(self.failed(&status.to_string()))),
                Classified::Failed(GrpcError::TooLarge { size, limit }) => {
                    Err(Answer::Failed(self.failed(&format!(
                        "its answer of {} is larger than the maximum item size of {} (raise it with --max-item-size)",
                        format_size(size),
                        format_size(limit)
                    ))))
                }
                Classified::Failed(error) => Err(Answer::Failed(error)),
            },
        }
    }

    fn failed(&self, reason: &str) -> GrpcError {
        GrpcError::Reflection {
            url: self.channel.url().to_string(),
            reason: reason.to_string(),
        }
    }

    fn unexpected(&self, response: &MessageResponse) -> GrpcError {
        let kind = match response {
            MessageResponse::FileDescriptorResponse(_) => "files",
            MessageResponse::AllExtensionNumbersResponse(_) => "extension numbers",
            MessageResponse::ListServicesResponse(_) => "a list of services",
            MessageResponse::ErrorResponse(_) => "an error",
        };
        self.failed(&format!("it answered with {kind}, not what was asked"))
    }

    /// Half-closes the stream: the server ends it.
    fn close(&mut self) {
        self.requests = None;
    }
}

enum Answer {
    Unimplemented,
    Failed(GrpcError),
}

fn request(question: MessageRequest) -> ServerReflectionRequest {
    ServerReflectionRequest {
        host: String::new(),
        message_request: Some(question),
    }
}

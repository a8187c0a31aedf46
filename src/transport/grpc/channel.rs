//! Where a gRPC server is and how to reach it: a [`GrpcTarget`] (URL, TLS verification,
//! `:authority` override) becomes a [`GrpcChannel`], one HTTP/2 connection that every call to
//! that server shares.
//!
//! The connection is made by our own connector rather than tonic's so that each way it can fail
//! gets its own words: the TCP connect, the TLS handshake (rustls with the ring provider; with
//! `insecure`, a verifier that accepts any certificate), and the first bytes the server sends.
//! Those are sniffed: a server that answers `HTTP/1.1 400 …` speaks HTTP/1, and one that answers
//! with a TLS record speaks TLS; h2 would only say "frame with invalid size".

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tonic::codegen::Service;
use tonic::codegen::http::Uri;
use tonic::transport::Endpoint;

use super::checked::CheckedChannel;
use super::error::{ConnectFailure, GrpcError, describe_failure};
use super::wire::{Direction, Wire};

/// The largest header block taken (response headers, trailers), as HTTP/2 counts it: 1 MiB, as
/// the HTTP transport takes. hyper's default of 16 KiB refuses a trailers-only answer whose
/// `grpc-message` is long.
pub(crate) const MAX_HEADER_LIST: u32 = 1 << 20;

/// A gRPC server as a spec names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GrpcTarget {
    /// `http://host:port` (HTTP/2 without TLS) or `https://host:port`.
    pub url: String,
    /// Skip TLS certificate verification (the handshake's signatures are still checked).
    pub insecure: bool,
    /// Sent as `:authority` instead of the URL's host and port; with TLS it is also the name
    /// the certificate must hold (as grpcurl's `-authority`).
    pub authority: Option<String>,
}

/// An open connection to one server; cheap to clone, shared by the calls to that server.
#[derive(Clone)]
pub struct GrpcChannel {
    /// Replies come through a check of their framing (see `frames`).
    pub(crate) channel: CheckedChannel,
    pub(crate) peer: Arc<Peer>,
}

impl GrpcChannel {
    /// The target URL as given.
    pub fn url(&self) -> &str {
        &self.peer.url
    }

    /// `host:port`, as errors name the server.
    pub fn address(&self) -> &str {
        &self.peer.address
    }

    /// How long the TCP connect of the connection took (before TLS, if any): a load's
    /// `connect`, as for HTTP and WebSocket.
    pub fn connect_time(&self) -> Option<Duration> {
        *self
            .peer
            .connect_time
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What errors need to know about the server at the other end.
#[derive(Debug)]
pub(crate) struct Peer {
    pub target: GrpcTarget,
    pub url: String,
    pub address: String,
    /// What the latest connection's first bytes (or their absence) showed.
    sniffed: Mutex<Option<Sniffed>>,
    /// How long the latest connection's TCP connect took.
    connect_time: Mutex<Option<Duration>>,
    /// The HTTP/2 streams open on the latest connection.
    pub wire: Wire,
}

impl Peer {
    /// What the server's first bytes showed, if they were not HTTP/2.
    pub fn sniffed(&self) -> Option<Sniffed> {
        self.lock().clone()
    }

    fn set_sniffed(&self, found: Option<Sniffed>) {
        *self.lock() = found;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Sniffed>> {
        self.sniffed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A server that answered in another protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// Its status line, e.g. `HTTP/1.1 400 Bad Request`.
    Http1 {
        answer: String,
    },
    Tls,
    /// A plain-text connection the server closed before sending a byte.
    Silent,
}

/// Opens the connection (TCP, TLS when `https://`, the HTTP/2 preface) before `deadline`.
/// Should it drop later, the next call reconnects.
pub async fn connect(target: &GrpcTarget, deadline: Instant) -> Result<GrpcChannel, GrpcError> {
    let parsed = parse_target(target)?;
    let peer = Arc::new(Peer {
        target: target.clone(),
        url: target.url.clone(),
        address: parsed.address.clone(),
        sniffed: Mutex::new(None),
        connect_time: Mutex::new(None),
        wire: Wire::default(),
    });
    let tls = if parsed.tls {
        Some(TlsSetup {
            config: crate::transport::tls::client_config(
                target.insecure,
                crate::transport::tls::Alpn::H2,
            )
            .map_err(|reason| GrpcError::Tls {
                address: parsed.address.clone(),
                reason,
            })?,
            server_name: parsed.server_name.clone(),
        })
    } else {
        None
    };
    let connector = Connector {
        host: parsed.host,
        port: parsed.port,
        tls,
        peer: peer.clone(),
    };
    let invalid = |reason: String| GrpcError::InvalidTarget {
        url: target.url.clone(),
        reason,
    };
    let endpoint = Endpoint::from_shared(format!("http://{}", parsed.address))
        .map_err(|error| invalid(error.to_string()))?
        .origin(parsed.origin)
        .user_agent(concat!("streamspec/", env!("CARGO_PKG_VERSION")))
        .map_err(|error| invalid(error.to_string()))?
        .http2_max_header_list_size(MAX_HEADER_LIST);
    let started = Instant::now();
    match tokio::time::timeout_at(deadline.into(), endpoint.connect_with_connector(connector)).await
    {
        Err(_) => Err(GrpcError::Deadline {
            after: started.elapsed(),
            waiting_for: format!("the connection to {}", peer.address),
        }),
        Ok(Err(error)) => Err(describe_failure(&error, &peer)),
        Ok(Ok(channel)) => Ok(GrpcChannel {
            channel: CheckedChannel(channel),
            peer,
        }),
    }
}

struct ParsedTarget {
    tls: bool,
    /// Without IPv6 brackets, for the TCP connect.
    host: String,
    port: u16,
    /// `host:port`, IPv6 in brackets.
    address: String,
    /// `scheme://authority`: what requests carry as `:scheme` and `:authority`.
    origin: Uri,
    server_name: ServerName<'static>,
}

fn parse_target(target: &GrpcTarget) -> Result<ParsedTarget, GrpcError> {
    let invalid = |reason: &str| GrpcError::InvalidTarget {
        url: target.url.clone(),
        reason: reason.to_string(),
    };
    let uri: Uri = target
        .url
        .parse()
        .map_err(|_| invalid("expected `http://host:port` or `https://host:port`"))?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => return Err(invalid("the scheme must be `http://` or `https://`")),
    };
    let host = uri.host().ok_or_else(|| invalid("it has no host"))?;
    if uri
        .path_and_query()
        .is_some_and(|path| path.as_str() != "/")
    {
        return Err(invalid("a gRPC target has no path (the method gives it)"));
    }
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let address = format!("{host}:{port}");
    let bare_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let scheme = if tls { "https" } else { "http" };
    let authority = target.authority.as_deref().unwrap_or(&address);
    let origin: Uri = format!("{scheme}://{authority}")
        .parse()
        .ok()
        .filter(|origin: &Uri| {
            origin.authority().is_some()
                && origin
                    .path_and_query()
                    .is_none_or(|path| path.as_str() == "/")
        })
        .ok_or_else(|| GrpcError::InvalidTarget {
            url: target.url.clone(),
            reason: format!("`{authority}` is not a valid `:authority`"),
        })?;
    // The name the certificate must hold: the authority's host when one is given.
    let name_host = match origin.host() {
        Some(host) if target.authority.is_some() => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        _ => bare_host.clone(),
    };
    let server_name =
        ServerName::try_from(name_host.clone()).map_err(|_| GrpcError::InvalidTarget {
            url: target.url.clone(),
            reason: format!("`{name_host}` is not a valid TLS server name"),
        })?;
    Ok(ParsedTarget {
        tls,
        host: bare_host,
        port,
        address,
        origin,
        server_name,
    })
}

#[derive(Clone)]
struct TlsSetup {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

/// Makes the connection for tonic (it ignores the URI tonic passes: the target is fixed).
#[derive(Clone)]
struct Connector {
    host: String,
    port: u16,
    tls: Option<TlsSetup>,
    peer: Arc<Peer>,
}

type ConnectFuture = Pin<Box<dyn Future<Output = Result<TokioIo<Sniffer>, ConnectFailure>> + Send>>;

impl Service<Uri> for Connector {
    type Response = TokioIo<Sniffer>;
    type Error = ConnectFailure;
    type Future = ConnectFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let io = this.open().await.map_err(ConnectFailure)?;
            this.peer.wire.connection_opened();
            Ok(TokioIo::new(Sniffer {
                inner: io,
                peer: this.peer,
                checked: false,
            }))
        })
    }
}

impl Connector {
    async fn open(&self) -> Result<Io, GrpcError> {
        let address = &self.peer.address;
        let started = Instant::now();
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|error| GrpcError::Connect {
                address: address.clone(),
                reason: io_reason(&error),
            })?;
        *self
            .peer
            .connect_time
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(started.elapsed());
        // Small messages go out at once; a stream of them is what we test.
        let _ = tcp.set_nodelay(true);
        let Some(tls) = &self.tls else {
            return Ok(Io::Plain(tcp));
        };
        let stream = tokio_rustls::TlsConnector::from(tls.config.clone())
            .connect(tls.server_name.clone(), tcp)
            .await
            .map_err(|error| describe_tls_error(&error, address))?;
        match stream.get_ref().1.alpn_protocol() {
            // No ALPN at all: some servers speak HTTP/2 without saying so; let h2 find out.
            None | Some(b"h2") => Ok(Io::Tls(Box::new(stream))),
            Some(other) => Err(GrpcError::Http1 {
                address: address.clone(),
                answer: format!(
                    "`{}` in the TLS handshake (ALPN)",
                    String::from_utf8_lossy(other)
                ),
            }),
        }
    }
}

/// `Connection refused`, without the `(os error 111)` that follows it.
fn io_reason(error: &io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(index) => text[..index].to_string(),
        None => text,
    }
}

fn describe_tls_error(error: &io::Error, address: &str) -> GrpcError {
    let tls = |reason: String| GrpcError::Tls {
        address: address.to_string(),
        reason,
    };
    match error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidMessage(_)) | Some(rustls::Error::InappropriateMessage { .. }) => {
            GrpcError::NotTls {
                address: address.to_string(),
            }
        }
        Some(rustls::Error::InvalidCertificate(reason)) => {
            let why = match reason {
                rustls::CertificateError::UnknownIssuer => {
                    "it is not signed by an authority this machine trusts (self-signed?)".to_string()
                }
                other => crate::transport::tls::readable_error(&other.to_string()),
            };
            tls(format!(
                "the server's certificate was not accepted: {why}; to skip verification, mark the target insecure"
            ))
        }
        Some(rustls::Error::AlertReceived(alert)) => {
            tls(format!("the server refused it with the alert `{alert:?}`"))
        }
        Some(other) => tls(crate::transport::tls::readable_error(&other.to_string())),
        None if error.kind() == io::ErrorKind::UnexpectedEof
            || error.kind() == io::ErrorKind::ConnectionReset =>
        {
            tls("the server closed the connection during the handshake (does it speak TLS? should the URL be `http://`?)".to_string())
        }
        None => tls(io_reason(error)),
    }
}

/// A TCP connection, with or without TLS.
enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// The connection, watching the first bytes the server sends for another protocol, and the
/// frames going each way (see `wire`).
pub(crate) struct Sniffer {
    inner: Io,
    peer: Arc<Peer>,
    checked: bool,
}

/// What the first bytes of a server's answer show, when not HTTP/2. An HTTP/2 server starts
/// with a SETTINGS frame: a 3-byte length (at most 16384 for a first frame, so a first byte of
/// 0) and type 4; `H` (0x48) or a TLS record type (0x15, 0x16) cannot start one.
fn sniff(first: &[u8]) -> Option<Sniffed> {
    if first.starts_with(b"HTTP/") {
        let line_end = first
            .iter()
            .position(|&byte| byte == b'\r' || byte == b'\n')
            .unwrap_or(first.len())
            .min(100);
        return Some(Sniffed::Http1 {
            answer: format!("`{}`", String::from_utf8_lossy(&first[..line_end])),
        });
    }
    if first.len() >= 2 && matches!(first[0], 0x15 | 0x16) && first[1] == 0x03 {
        return Some(Sniffed::Tls);
    }
    None
}

impl Sniffer {
    /// The first read on the connection gave `first` (empty at its end): remember what it
    /// shows, and whether to fail the read now rather than let h2 misread it.
    fn first_bytes(&mut self, first: &[u8]) -> Option<io::Error> {
        self.checked = true;
        let found = if first.is_empty() {
            matches!(self.inner, Io::Plain(_)).then_some(Sniffed::Silent)
        } else {
            sniff(first)
        };
        let error = match &found {
            Some(Sniffed::Http1 { answer }) => Some(format!("the server answered {answer}")),
            Some(Sniffed::Tls) => Some("the server answered with TLS".to_string()),
            Some(Sniffed::Silent) | None => None,
        };
        self.peer.set_sniffed(found);
        error.map(|text| io::Error::new(io::ErrorKind::InvalidData, text))
    }

    /// The connection failed before anything was read. A server that answered in another
    /// protocol and hung up may have left its answer unread (h2 writes its preface and the
    /// request before it reads): look at whatever has arrived.
    fn failed_before_reading(&mut self) {
        if self.checked {
            return;
        }
        let mut first = [0u8; 128];
        let read = match &self.inner {
            Io::Plain(stream) => stream.try_read(&mut first).unwrap_or(0),
            Io::Tls(_) => 0,
        };
        self.first_bytes(&first[..read]);
    }
}

impl AsyncRead for Sniffer {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let room = buf.remaining() > 0;
        let this = &mut *self;
        let result = match &mut this.inner {
            Io::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Io::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        };
        if let Err(error) = ready!(result) {
            this.failed_before_reading();
            this.peer.wire.connection_closed();
            return Poll::Ready(Err(error));
        }
        if !this.checked
            && let Some(error) = this.first_bytes(&buf.filled()[before..])
        {
            buf.set_filled(before);
            return Poll::Ready(Err(error));
        }
        let read = &buf.filled()[before..];
        if read.is_empty() && room {
            this.peer.wire.connection_closed();
        } else {
            this.peer.wire.saw(Direction::In, read);
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for Sniffer {
    fn drop(&mut self) {
        self.inner.discard_what_arrived();
        self.peer.wire.connection_closed();
    }
}

impl Io {
    /// Reads and drops what the server sent that was not read yet (a SETTINGS acknowledgement,
    /// say), without waiting. A socket closed with unread bytes is reset (RST) rather than
    /// closed (FIN), and a reset makes the server's kernel drop what it has not read yet: the
    /// last frames this client wrote (the DATA and RST_STREAM of a cancelled call) would never
    /// reach the server.
    fn discard_what_arrived(&self) {
        use std::os::fd::AsRawFd;
        let socket = match self {
            Io::Plain(stream) => stream.as_raw_fd(),
            Io::Tls(stream) => stream.get_ref().0.as_raw_fd(),
        };
        let mut buffer = [0u8; 16 * 1024];
        // Bounded: a server that keeps sending is not drained forever.
        for _ in 0..64 {
            // SAFETY: recv(2) into a buffer this function owns, on a socket `self` owns and keeps
            // open; MSG_DONTWAIT makes it return at once when nothing is there.
            let read = unsafe {
                libc::recv(
                    socket,
                    buffer.as_mut_ptr().cast(),
                    buffer.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if read <= 0 {
                break;
            }
        }
    }
}

impl AsyncWrite for Sniffer {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = match &mut self.inner {
            Io::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Io::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        };
        match &result {
            Poll::Ready(Ok(written)) => self.peer.wire.saw(Direction::Out, &buf[..*written]),
            Poll::Ready(Err(_)) => self.failed_before_reading(),
            Poll::Pending => {}
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = match &mut self.inner {
            Io::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Io::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        };
        match &result {
            Poll::Ready(Ok(written)) => {
                let mut left = *written;
                for buf in bufs {
                    if left == 0 {
                        break;
                    }
                    let part = left.min(buf.len());
                    self.peer.wire.saw(Direction::Out, &buf[..part]);
                    left -= part;
                }
            }
            Poll::Ready(Err(_)) => self.failed_before_reading(),
            Poll::Pending => {}
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            Io::Plain(stream) => stream.is_write_vectored(),
            Io::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            Io::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Io::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            Io::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Io::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> GrpcTarget {
        GrpcTarget {
            url: url.to_string(),
            insecure: false,
            authority: None,
        }
    }

    #[test]
    fn targets_are_parsed_with_default_ports_and_authority() {
        let parsed = parse_target(&target("https://example.com")).expect("valid");
        assert!(parsed.tls);
        assert_eq!(parsed.address, "example.com:443");
        assert_eq!(parsed.origin.to_string(), "https://example.com:443/");

        let parsed = parse_target(&target("http://[::1]:50051")).expect("valid");
        assert_eq!(parsed.host, "::1");
        assert_eq!(parsed.address, "[::1]:50051");

        let mut with_authority = target("https://127.0.0.1:8443");
        with_authority.authority = Some("api.example.com".to_string());
        let parsed = parse_target(&with_authority).expect("valid");
        assert_eq!(parsed.origin.to_string(), "https://api.example.com/");
        assert_eq!(
            parsed.server_name,
            ServerName::try_from("api.example.com").expect("name")
        );
    }

    #[test]
    fn bad_targets_say_why() {
        let error = parse_target(&target("ftp://host:1"))
            .err()
            .expect("invalid");
        assert_eq!(
            error.to_string(),
            "`ftp://host:1` is not a gRPC target: the scheme must be `http://` or `https://`"
        );
        let error = parse_target(&target("http://host:1/api"))
            .err()
            .expect("invalid");
        assert!(error.to_string().contains("has no path"), "{error}");
    }

    #[test]
    fn first_bytes_tell_http1_and_tls_from_http2() {
        assert_eq!(
            sniff(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n"),
            Some(Sniffed::Http1 {
                answer: "`HTTP/1.1 400 Bad Request`".to_string()
            })
        );
        assert_eq!(sniff(&[0x15, 0x03, 0x03, 0x00, 0x02]), Some(Sniffed::Tls));
        assert_eq!(sniff(&[0x00, 0x00, 0x12, 0x04, 0x00]), None);
    }
}

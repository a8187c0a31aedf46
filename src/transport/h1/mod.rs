//! streamspec's own HTTP/1.1 client, for `http://` URLs: a request goes out on an idle
//! connection to its host or a new one, its response head is read whole, and its body is read
//! as it arrives with no buffer held in between, so an open stream costs its socket and little
//! more (benches/many_streams.sh). What a server sees, and the words a failure uses, are those
//! of reqwest and hyper, which streamspec used before (and still uses for `https://`).

mod body;
mod connection;
mod framing;
mod pool;
mod request;
mod response_head;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::Stream;
use reqwest::header::{CONNECTION, HeaderMap};
use reqwest::{StatusCode, Url};

use self::body::{BodyDecoder, Decoded};
use self::connection::Connection;
pub use self::pool::Pool;
use self::response_head::HeadError;
use crate::transport::http::{HttpRequest, describe_body_error, describe_error, head_too_large};

/// A response whose head has arrived.
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: BodyReader,
    /// How long the TCP connection took to open; `None` when a kept one was used.
    pub connect: Option<std::time::Duration>,
}

/// Where a request goes.
struct Target {
    /// `host:port`, as failures name it and the pool files its connections.
    authority: String,
    /// What to connect to: a name or an address, without brackets.
    host: String,
    port: u16,
    /// The `Host` header: the port only when it is not 80.
    host_header: String,
}

impl Target {
    fn of(url: &Url) -> Result<Target, String> {
        let host = url.host_str().ok_or("the URL has no host")?;
        let port = url.port_or_known_default().unwrap_or(80);
        Ok(Target {
            authority: format!("{host}:{port}"),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            host_header: match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            },
        })
    }
}

/// Sends `request` (an `http://` one) and reads its response head. A connection kept from an
/// earlier request is used if one is open; if nothing comes back on it (the server closed it
/// as the request went out), the request goes once more on a new connection. Should that fail
/// as well before any answer, the failure reported is the first one: the retry is the
/// client's business, and the first is what happened to the request.
pub async fn send(pool: &Arc<Pool>, request: &HttpRequest) -> Result<Response, String> {
    let target = Target::of(&request.url)?;
    let wire = request::encode(request, &target.host_header);
    let mut first_failure = None;
    if let Some(connection) = pool.take(&target.authority) {
        match exchange(connection, &wire, request, &target, pool).await {
            Err(failed @ Failed::NothingCame(_)) => first_failure = Some(failed),
            done => return done.map_err(|failed| failed.describe(&target)),
        }
    }
    let connecting = std::time::Instant::now();
    let connection = match Connection::connect(&target.host, target.port).await {
        Ok(connection) => connection,
        Err(error) => {
            return Err(match first_failure {
                Some(first) => first.describe(&target),
                None => format!(
                    "could not connect to {}: {}",
                    target.authority,
                    describe_error(&error)
                ),
            });
        }
    };
    let connect = connecting.elapsed();
    match exchange(connection, &wire, request, &target, pool).await {
        Err(failed @ Failed::NothingCame(_)) => {
            Err(first_failure.unwrap_or(failed).describe(&target))
        }
        Ok(response) => Ok(Response {
            connect: Some(connect),
            ..response
        }),
        Err(failed) => Err(failed.describe(&target)),
    }
}

/// Why an exchange gave no response.
enum Failed {
    /// The request could not be written, or the connection ended before any byte came back.
    NothingCame(Option<std::io::Error>),
    Head(HeadError),
    /// The head says something about the body that cannot be.
    Framing(String),
}

impl Failed {
    fn describe(self, target: &Target) -> String {
        let failed = |cause: &dyn std::fmt::Display| {
            format!("the request to {} failed: {cause}", target.authority)
        };
        // hyper's words, which users of streamspec saw before it spoke HTTP/1.1 itself.
        let closed = || failed(&"connection closed before message completed");
        match self {
            Failed::NothingCame(None)
            | Failed::Head(HeadError::NothingCame(None) | HeadError::Closed) => closed(),
            Failed::NothingCame(Some(error))
            | Failed::Head(HeadError::NothingCame(Some(error)) | HeadError::Io(error)) => {
                failed(&describe_error(&error))
            }
            Failed::Head(HeadError::TooLarge) => head_too_large(&target.authority),
            Failed::Head(HeadError::Invalid(why)) | Failed::Framing(why) => format!(
                "the server at {} sent an invalid response head: {why}",
                target.authority
            ),
        }
    }
}

/// Writes `wire` (the request) on `connection` and reads the response head.
async fn exchange(
    mut connection: Connection,
    wire: &[u8],
    request: &HttpRequest,
    target: &Target,
    pool: &Arc<Pool>,
) -> Result<Response, Failed> {
    let written = connection.write_all(wire).await;
    let request_sent = written.is_ok();
    let (head, rest) = match (response_head::read(&mut connection).await, written) {
        (Ok(read), _) => read,
        // A server may answer before it has read the whole request (a `413`), then close; if
        // it did not, the failed write is what happened.
        (Err(_), Err(error)) => return Err(Failed::NothingCame(Some(error))),
        (Err(HeadError::NothingCame(error)), Ok(())) => return Err(Failed::NothingCame(error)),
        (Err(error), Ok(())) => return Err(Failed::Head(error)),
    };
    let read_at = Instant::now();
    let body_of = framing::body_of(
        &request.method,
        head.status.as_u16(),
        head.minor,
        &head.headers,
    )
    .map_err(Failed::Framing)?;
    let request_closes = request.headers.iter().any(|(name, value)| {
        *name == CONNECTION
            && value
                .as_bytes()
                .split(|&byte| byte == b',')
                .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"))
    });
    let home = (body_of.keep_alive && !request_closes && request_sent).then(|| Home {
        pool: Arc::clone(pool),
        authority: target.authority.clone().into_boxed_str(),
    });
    let mut body = BodyReader {
        connection: Some(connection),
        decoder: BodyDecoder::new(body_of.framing),
        pending: rest,
        read_at,
        home,
        turn: Turn::default(),
    };
    if body.decoder.ended() {
        // No body (a `HEAD`, a `204`): the connection is free at once.
        body.release();
    }
    Ok(Response {
        status: head.status,
        headers: head.headers,
        body,
        connect: None,
    })
}

/// A response body read from its connection as it arrives. Dropped before its end, it closes
/// the connection; read to the end of its framing, it leaves the connection for the next request.
pub struct BodyReader {
    /// `None` once the body has ended.
    connection: Option<Connection>,
    decoder: BodyDecoder,
    /// Bytes read and not yet decoded.
    pending: Bytes,
    /// When `pending` arrived.
    read_at: Instant,
    /// Where the connection goes when the body ends at its framing; `None` when it must close.
    home: Option<Home>,
    turn: Turn,
}

/// How long a reader hands out pieces of what it read already before it yields, so that its
/// thread sees to the sockets and timers other tasks wait on. hyper's reader handed a body over
/// a chunk at a time through a channel, so a flood read in one task left a ticker read in
/// another on time; this reader may hold a thousand chunks from one read, and takes turns
/// itself: with tokio's budget alone (128 pieces a poll) a ticker beside ten floods in a debug
/// build was held back for seconds; with 200µs turns, for well under one (as over hyper, two).
/// A reader that yields when nothing else waits loses next to nothing: one look at the
/// sockets per turn.
const TURN: Duration = Duration::from_micros(200);
/// Pieces handed out between looks at the clock.
const PIECES_PER_LOOK: u8 = 8;

/// The reader's current turn: since when it has handed out pieces without waiting.
#[derive(Default)]
struct Turn {
    /// `None` until the first piece of a turn.
    since: Option<Instant>,
    pieces: u8,
}

struct Home {
    pool: Arc<Pool>,
    authority: Box<str>,
}

impl BodyReader {
    /// The body has ended at its framing: the connection goes back to the pool if both sides
    /// allow it and nothing followed the body, else it closes.
    fn release(&mut self) {
        let connection = self.connection.take();
        if let (Some(connection), Some(home)) = (connection, self.home.take())
            && self.pending.is_empty()
        {
            home.pool.put(&home.authority, connection);
        }
    }
}

/// What reading a body gave.
#[derive(Debug)]
pub enum BodyRead {
    /// A piece of the body, and when its bytes were read.
    Data(Bytes, Instant),
    End,
    /// How the connection broke, or what the server got wrong, in words.
    Failed(String),
    /// The deadline passed before the next piece was read.
    TimedOut,
}

impl BodyReader {
    /// The next piece of the body. Bytes read already are handed out whenever they are asked
    /// for; the socket is not read once `deadline` has passed (a test whose time is up gets no
    /// more of the stream than it had, as over hyper).
    pub fn poll_read(&mut self, cx: &mut Context<'_>, deadline: Option<Instant>) -> Poll<BodyRead> {
        if self.turn.pieces >= PIECES_PER_LOOK {
            self.turn.pieces = 0;
            if self.turn.since.is_some_and(|since| since.elapsed() >= TURN) {
                self.turn.since = None;
                // Yields until the thread has looked at its sockets and timers.
                if std::pin::pin!(tokio::task::yield_now())
                    .poll(cx)
                    .is_pending()
                {
                    return Poll::Pending;
                }
            }
        }
        // Each piece costs the task a unit of tokio's budget, as a channel receive does.
        let coop = ready!(tokio::task::coop::poll_proceed(cx));
        let read = self.poll_body(cx, deadline);
        match &read {
            Poll::Ready(_) => {
                coop.made_progress();
                self.turn.pieces += 1;
                if self.turn.since.is_none() {
                    self.turn.since = Some(Instant::now());
                }
            }
            // Waiting for the socket ends the turn.
            Poll::Pending => self.turn = Turn::default(),
        }
        read
    }

    fn poll_body(&mut self, cx: &mut Context<'_>, deadline: Option<Instant>) -> Poll<BodyRead> {
        loop {
            match self.decoder.decode(&mut self.pending) {
                Decoded::Data(bytes) => return Poll::Ready(BodyRead::Data(bytes, self.read_at)),
                Decoded::End => {
                    self.release();
                    return Poll::Ready(BodyRead::End);
                }
                Decoded::Broken(why) => {
                    self.connection = None;
                    return Poll::Ready(BodyRead::Failed(why));
                }
                Decoded::NeedMore => {}
            }
            let Some(connection) = self.connection.as_mut() else {
                return Poll::Ready(BodyRead::End);
            };
            if deadline.is_some_and(|deadline| deadline <= Instant::now()) {
                return Poll::Ready(BodyRead::TimedOut);
            }
            match ready!(connection.poll_read(cx)) {
                Ok(bytes) if !bytes.is_empty() => {
                    self.pending = bytes;
                    self.read_at = Instant::now();
                }
                Ok(_) => {
                    self.connection = None;
                    return Poll::Ready(match self.decoder.end_of_connection() {
                        Ok(()) => BodyRead::End,
                        Err(said) => BodyRead::Failed(format!("closed mid-body ({said})")),
                    });
                }
                Err(error) => {
                    self.connection = None;
                    self.decoder.stop();
                    return Poll::Ready(BodyRead::Failed(describe_body_error(&error)));
                }
            }
        }
    }
}

/// The body's data with no deadline (for a decoder to read), each piece with when its bytes
/// were read.
impl Stream for BodyReader {
    type Item = Result<(Bytes, Instant), String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_read(cx, None).map(|read| match read {
            BodyRead::Data(bytes, at) => Some(Ok((bytes, at))),
            BodyRead::Failed(why) => Some(Err(why)),
            BodyRead::End | BodyRead::TimedOut => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Chunks already read are handed out with no wait on the socket, yet the task reading them
    /// yields now and then: another task of its thread runs before the last chunk is read.
    #[tokio::test(flavor = "current_thread")]
    async fn reading_many_chunks_from_memory_lets_other_tasks_run() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connection = Connection::connect("127.0.0.1", port).await.unwrap();
        let (mut server, _) = listener.accept().unwrap();
        // All of it in the client's socket before the first read.
        server.write_all(&b"1\r\nx\r\n".repeat(1000)).unwrap();
        server.write_all(b"0\r\n\r\n").unwrap();
        let mut reader = BodyReader {
            connection: Some(connection),
            decoder: BodyDecoder::new(body::Framing::Chunked),
            pending: Bytes::new(),
            read_at: Instant::now(),
            home: None,
            turn: Turn::default(),
        };
        // The first read takes all of it (waiting for the socket, it may yield).
        reader.next().await.unwrap().unwrap();
        let other_ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&other_ran);
        tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
        let mut chunks = 1;
        let mut ran_before_the_end = false;
        while let Some(chunk) = reader.next().await {
            chunk.unwrap();
            chunks += 1;
            ran_before_the_end |= other_ran.load(Ordering::SeqCst);
        }
        assert_eq!(chunks, 1000);
        assert!(ran_before_the_end, "the reader never yielded");
    }

    /// Past its deadline, a body hands out what it read already, and does not read the socket.
    #[tokio::test(flavor = "current_thread")]
    async fn past_its_deadline_a_body_hands_out_only_what_was_read() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connection = Connection::connect("127.0.0.1", port).await.unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(b"2\r\nab\r\n2\r\ncd\r\n").unwrap();
        let mut reader = BodyReader {
            connection: Some(connection),
            decoder: BodyDecoder::new(body::Framing::Chunked),
            pending: Bytes::new(),
            read_at: Instant::now(),
            home: None,
            turn: Turn::default(),
        };
        async fn read(reader: &mut BodyReader, deadline: Option<Instant>) -> BodyRead {
            std::future::poll_fn(|cx| reader.poll_read(cx, deadline)).await
        }
        let r = &mut reader;
        assert!(matches!(read(r, None).await, BodyRead::Data(bytes, _) if bytes == "ab"));
        server.write_all(b"2\r\nef\r\n").unwrap();
        let passed = Some(Instant::now());
        assert!(matches!(read(r, passed).await, BodyRead::Data(bytes, _) if bytes == "cd"));
        assert!(matches!(read(r, passed).await, BodyRead::TimedOut));
        assert!(matches!(read(r, None).await, BodyRead::Data(bytes, _) if bytes == "ef"));
    }
}

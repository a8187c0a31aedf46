//! One TCP connection of the HTTP/1.1 client. It holds no buffer: a read lands in a scratch
//! buffer of the thread's and only the bytes that came are copied out, so a thousand idle
//! streams cost a thousand sockets and nothing more.

use std::cell::RefCell;
use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// The most bytes one read takes: enough for a flood of small events to come in few reads.
const SCRATCH_BYTES: usize = 64 * 1024;

thread_local! {
    /// Where reads land before the bytes that came are copied out; one per thread, borrowed only
    /// for the length of a read (never across an await).
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_BYTES].into_boxed_slice());
}

pub struct Connection {
    stream: TcpStream,
}

impl Connection {
    /// Connects to `host` (a name or an address, without brackets) on `port`; the error is the
    /// system's, as `could not connect to …: ` ends with it.
    pub async fn connect(host: &str, port: u16) -> io::Result<Connection> {
        let stream = TcpStream::connect((host, port)).await?;
        // Small requests and events go out at once, as before (reqwest's `tcp_nodelay`).
        stream.set_nodelay(true)?;
        Ok(Connection { stream })
    }

    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// The next bytes the server sent, as they come; empty at the end of the connection.
    pub fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Bytes>> {
        self.poll_read_with(cx, Bytes::copy_from_slice)
    }

    /// Reads and appends what came to `into`; `Ok(0)` at the end of the connection.
    pub async fn read_appending(&mut self, into: &mut Vec<u8>) -> io::Result<usize> {
        std::future::poll_fn(|cx| {
            self.poll_read_with(cx, |bytes| {
                into.extend_from_slice(bytes);
                bytes.len()
            })
        })
        .await
    }

    /// Reads what the socket has into the scratch buffer and hands it to `take`, or waits for
    /// it. Through tokio's `poll_read`, which takes a short read as the socket drained: one
    /// `recv` per arrival, where readiness and `try_read` take a second that finds nothing.
    /// Cancel-safe: bytes are read only in the poll that hands them out.
    fn poll_read_with<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut take: impl FnMut(&[u8]) -> T,
    ) -> Poll<io::Result<T>> {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let mut buf = ReadBuf::new(&mut scratch);
            ready!(Pin::new(&mut self.stream).poll_read(cx, &mut buf))?;
            Poll::Ready(Ok(take(buf.filled())))
        })
    }

    /// Whether an idle connection can carry a request: the server has not closed it, nor sent
    /// anything unasked. Looks at the socket itself (not at what the runtime last heard of it),
    /// without taking a byte.
    pub fn is_reusable(&self) -> bool {
        let mut byte = 0u8;
        // SAFETY: a one-byte read into a live local, on the connection's own descriptor.
        let peeked = unsafe {
            libc::recv(
                self.stream.as_raw_fd(),
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        peeked < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn an_idle_connection_is_reusable_until_the_server_closes_or_speaks() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut connection = Connection::connect("127.0.0.1", port).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        assert!(connection.is_reusable());

        server.write_all(b"x").await.unwrap();
        let mut read = Vec::new();
        // Readable now; unasked bytes make it unfit, and looking does not take them.
        connection.stream.readable().await.unwrap();
        assert!(!connection.is_reusable());
        assert_eq!(connection.read_appending(&mut read).await.unwrap(), 1);
        assert_eq!(read, b"x");
        assert!(connection.is_reusable());

        drop(server);
        connection.stream.readable().await.unwrap();
        assert!(!connection.is_reusable());
        let mut rest = [0u8; 1];
        assert_eq!(connection.stream.read(&mut rest).await.unwrap(), 0);
    }
}

//! The demo's listening sockets, bound with the longest accept queue the system allows.
//!
//! A load test opens thousands of connections in its first second. Connections the server has
//! not accepted yet wait in the listener's accept queue; once it is full, the kernel drops the
//! next SYNs and those clients connect only when they send the SYN again, 1 s later (then 3 s,
//! 7 s). tokio's `TcpListener::bind` asks for a queue of 128 (as std does), which 10,000 users starting at
//! once overflow: the run then lasted seconds longer than its streams, waiting for retries.

use std::io;

use tokio::net::{TcpListener, TcpSocket, lookup_host};

/// The accept queue asked for. The kernel caps it at its own limit (`net.core.somaxconn` on
/// Linux, 4096 by default since 5.4), so this asks for "as long as allowed".
pub const BACKLOG: u32 = 65_535;

/// Listens on `address` (`host:port`; port 0 picks a free one) with a [`BACKLOG`] accept queue,
/// trying each address the host resolves to, as `TcpListener::bind` does.
pub async fn bind(address: &str) -> io::Result<TcpListener> {
    let mut last_error = None;
    for addr in lookup_host(address).await? {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // As `TcpListener::bind` does: a restarted demo can listen again at once, while the
        // connections of the previous one are still in TIME_WAIT.
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(BACKLOG)) {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        )
    }))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::os::fd::AsRawFd;

    use super::*;

    /// The accept queue the kernel gave `listener`: for a listening socket, `TCP_INFO` reports
    /// its length limit in `tcpi_sacked`.
    fn accept_queue_limit(listener: &TcpListener) -> u32 {
        // SAFETY: tcp_info is plain integers; all zeroes is a valid value.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `info`, which lives for the call.
        let status = unsafe {
            libc::getsockopt(
                listener.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                (&mut info as *mut libc::tcp_info).cast(),
                &mut len,
            )
        };
        assert_eq!(status, 0, "TCP_INFO: {}", io::Error::last_os_error());
        info.tcpi_sacked
    }

    #[tokio::test]
    async fn the_accept_queue_is_as_long_as_the_system_allows() {
        let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .expect("net.core.somaxconn")
            .trim()
            .parse()
            .expect("a number");
        let listener = bind("127.0.0.1:0").await.unwrap();
        assert_eq!(accept_queue_limit(&listener), somaxconn.min(BACKLOG));
        // And the listener works.
        let port = listener.local_addr().unwrap().port();
        let (client, accepted) = tokio::join!(
            tokio::net::TcpStream::connect(("127.0.0.1", port)),
            listener.accept()
        );
        client.unwrap();
        accepted.unwrap();
    }

    #[tokio::test]
    async fn an_address_that_cannot_be_bound_is_an_error() {
        let taken = bind("127.0.0.1:0").await.unwrap();
        let address = taken.local_addr().unwrap().to_string();
        let error = bind(&address).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
    }
}

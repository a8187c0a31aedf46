//! streamspec's own HTTP/1.1 client (for `http://`), against raw servers that script every
//! byte: what a server sees of a request, interim answers, framing a server gets wrong,
//! connections kept for the next request (and one the server dropped meanwhile), proxies from
//! the environment, and what an open stream costs in memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::servers;
use crate::support::{BIN, Test, all_passed, fails};

/// A request as a scripted server read it.
struct Request {
    /// 1 for the first connection the server accepted.
    connection: u32,
    /// 1 for the first request on that connection.
    number: u32,
    head: String,
    body: Vec<u8>,
}

/// What a scripted server does with a request.
enum Answer {
    /// These bytes; the connection stays open for the next request.
    Send(Vec<u8>),
    /// These bytes, then the connection is closed.
    SendAndClose(Vec<u8>),
    /// Nothing: the connection is closed.
    Close,
}

/// A raw server that reads each request (head, and body by its `Content-Length`) and answers
/// it as `script` says. Its port is written `PORT` in what it sees, so a script may echo it.
fn scripted(script: fn(&Request) -> Answer) -> String {
    let (listener, url) = servers::bind();
    let port = url.rsplit(':').next().unwrap_or_default().to_string();
    let connections = Arc::new(AtomicU32::new(0));
    servers::runtime().spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let connection = connections.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(serve(socket, connection, port.clone(), script));
        }
    });
    url
}

async fn serve(
    mut socket: tokio::net::TcpStream,
    connection: u32,
    port: String,
    script: fn(&Request) -> Answer,
) {
    let mut buffer = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for number in 1.. {
        let Some((head, body)) = read_request(&mut socket, &mut buffer, deadline).await else {
            return;
        };
        let head = head.replace(&port, "PORT");
        let request = Request {
            connection,
            number,
            head,
            body,
        };
        match script(&request) {
            Answer::Send(bytes) => {
                if socket.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Answer::SendAndClose(bytes) => {
                let _ = socket.write_all(&bytes).await;
                return;
            }
            Answer::Close => return,
        }
    }
}

/// The next request's head and body (by its `Content-Length`) from `socket`; `None` once the
/// client closes it or `deadline` passes. `buffer` keeps what came after.
async fn read_request(
    socket: &mut tokio::net::TcpStream,
    buffer: &mut Vec<u8>,
    deadline: tokio::time::Instant,
) -> Option<(String, Vec<u8>)> {
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut piece = [0u8; 4096];
        match tokio::time::timeout_at(deadline, socket.read(&mut piece)).await {
            Ok(Ok(read)) if read > 0 => buffer.extend_from_slice(&piece[..read]),
            _ => return None,
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .and_then(|length| length.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let mut piece = [0u8; 4096];
        match tokio::time::timeout_at(deadline, socket.read(&mut piece)).await {
            Ok(Ok(read)) if read > 0 => buffer.extend_from_slice(&piece[..read]),
            _ => return None,
        }
    }
    let body = buffer[head_end..head_end + length].to_vec();
    buffer.drain(..head_end + length);
    Some((head, body))
}

/// A 200 with this text as its body, framed by its length.
fn text(body: &str) -> Answer {
    Answer::Send(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// Which connection and request this is, as a body.
fn where_answered(request: &Request) -> Answer {
    text(&format!(
        "connection {}, request {}",
        request.connection, request.number
    ))
}

#[test]
fn a_server_sees_the_request_head_it_saw_before() {
    // The bytes reqwest and hyper sent, which streamspec's own client sends alike.
    let base = scripted(|request| {
        let lines: Vec<&str> = request.head.trim_end().split("\r\n").collect();
        let echo = serde_json::json!({
            "head": lines,
            "body": String::from_utf8_lossy(&request.body),
        });
        Answer::Send(
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{echo}",
                echo.to_string().len()
            )
            .into_bytes(),
        )
    });
    let version = env!("CARGO_PKG_VERSION");
    Test::new()
        .spec(
            "a.stream",
            &format!(
                r#"
                test "the request heads" {{
                  GET {{{{base}}}}/get?q=1&r=a%20b
                  header x-b: 1
                  header x-a: 2
                  header x-b: 3
                  expect json {{
                    "head": [
                      "GET /get?q=1&r=a%20b HTTP/1.1", "x-b: 1", "x-b: 3", "x-a: 2",
                      "accept: */*", "user-agent: streamspec/{version}", "host: 127.0.0.1:PORT"
                    ],
                    "body": ""
                  }}

                  POST {{{{base}}}}/post
                  body json {{ "a": 1 }}
                  expect json {{
                    "head": [
                      "POST /post HTTP/1.1", "content-type: application/json", "accept: */*",
                      "user-agent: streamspec/{version}", "host: 127.0.0.1:PORT",
                      "content-length: 7"
                    ],
                    "body": "{{\"a\":1}}"
                  }}

                  POST {{{{base}}}}/empty
                  expect json {{
                    "head": [
                      "POST /empty HTTP/1.1", "accept: */*", "user-agent: streamspec/{version}",
                      "host: 127.0.0.1:PORT"
                    ],
                    "body": ""
                  }}

                  GET {{{{base}}}}/own
                  header user-agent: mine
                  header Host: example.com
                  expect json {{
                    "head": [
                      "GET /own HTTP/1.1", "user-agent: mine", "host: example.com", "accept: */*"
                    ],
                    "body": ""
                  }}
                }}
                "#
            ),
        )
        .args(["run", "a.stream"])
        .var("base", base)
        .stdout(&all_passed(1, &[("a.stream", "the request heads")]))
        .run();
}

#[test]
fn interim_answers_before_the_final_one_are_passed_over() {
    let base = servers::raw_reply(
        b"HTTP/1.1 100 Continue\r\n\r\n\
          HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n\
          HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n\
          data: hi\n\n",
    );
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "early hints, then the answer" {
              GET {{base}}/sse
              expect status 200
              expect header link not exists
              expect sse { data: "hi"; end }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", base)
        .stdout(&all_passed(
            1,
            &[("a.stream", "early hints, then the answer")],
        ))
        .run();
}

#[test]
fn http_1_0_and_a_status_line_without_a_reason_are_read() {
    let old = servers::raw_reply(
        b"HTTP/1.0 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: old\n\n",
    );
    let bare = servers::raw_reply(
        b"HTTP/1.1 200\r\ncontent-type: text/event-stream\r\ncontent-length: 12\r\n\
          connection: close\r\n\r\ndata: bare\n\n",
    );
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "HTTP/1.0, read to the close" {
              GET {{old}}/sse
              expect status 200
              expect sse { data: "old"; end }
            }

            test "no reason phrase" {
              GET {{bare}}/sse
              expect status 200
              expect sse { data: "bare"; end }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("old", old)
        .var("bare", bare)
        .stdout(&all_passed(
            1,
            &[
                ("a.stream", "HTTP/1.0, read to the close"),
                ("a.stream", "no reason phrase"),
            ],
        ))
        .run();
}

#[test]
fn chunk_extensions_and_trailers_are_passed_over() {
    let base = servers::raw_reply(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\
          content-length: 3\r\nconnection: close\r\n\r\n\
          9;name=value\r\ndata: 1\n\n\r\n9 ; ext\r\ndata: 2\n\n\r\n\
          0\r\nx-checksum: abc\r\nx-other: 1\r\n\r\n",
    );
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "chunked, with extensions and trailers" {
              GET {{base}}/sse
              expect sse { data: "1"; data: "2"; end }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", base)
        .stdout(&all_passed(
            1,
            &[("a.stream", "chunked, with extensions and trailers")],
        ))
        .run();
}

#[test]
fn a_broken_chunk_size_says_what_the_server_sent() {
    fails(
        &servers::raw_reply(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\
              connection: close\r\n\r\n9\r\ndata: 1\n\n\r\n9g\r\ndata: 2\n\n\r\n0\r\n\r\n",
        ),
        r#"
        test "a broken chunk" {
          GET {{base}}/sse
          expect sse { data: "1"; data: "2"; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: a broken chunk

        error: the connection was dropped after 1 item: the server sent a broken chunked body: a chunk size with `g` in it
         --> a.stream:3:27
          |
        3 |   expect sse { data: "1"; data: "2"; end }
          |                           ^^^^^^^^^ still expected `data: "2"`
          |
          = diff of expected (-) and observed (+) items:
              data: "1"  # [TIME]
            - data: "2"
            - end
            + dropped  # the server sent a broken chunked body: a chunk size with `g` in it

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: a broken chunk
        "#,
    );
}

#[test]
fn content_lengths_that_disagree_are_an_invalid_head() {
    fails(
        &servers::raw_reply(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 11\r\n\
              content-length: 12\r\nconnection: close\r\n\r\ndata: one\n\n",
        ),
        r#"
        test "two lengths" {
          GET {{base}}/sse
          expect sse { data: "one"; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: two lengths

        error: the server at 127.0.0.1:PORT sent an invalid response head: it has two different Content-Length values, 11 and 12
         --> a.stream:2:3
          |
        2 |   GET {{base}}/sse
          |   ^^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/sse

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: two lengths
        "#,
    );
}

#[test]
fn a_connection_carries_the_next_request_once_its_body_has_ended() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "two requests, one connection" {
              GET {{base}}/a
              expect text "connection 1, request 1"
              GET {{base}}/b
              expect text "connection 1, request 2"
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", scripted(where_answered))
        .stdout(&all_passed(
            1,
            &[("a.stream", "two requests, one connection")],
        ))
        .run();
}

#[test]
fn a_body_left_in_the_middle_closes_its_connection() {
    // The first answer promises more than it sends: the client hangs up mid-body, and the next
    // request needs a new connection.
    let base = scripted(|request| match request.connection {
        1 => Answer::Send(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 1000\r\n\r\n\
              data: 1\n\n"
                .to_vec(),
        ),
        _ => where_answered(request),
    });
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "abort, then another request" {
              GET {{base}}/sse
              expect sse {
                abort after 1 items
                data: "1"
              }
              GET {{base}}/b
              expect text "connection 2, request 1"
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", base)
        .stdout(&all_passed(
            1,
            &[("a.stream", "abort, then another request")],
        ))
        .run();
}

#[test]
fn a_kept_connection_the_server_closed_while_idle_is_not_used() {
    // The server closes each connection right after its first answer, without saying so in it.
    let base = scripted(|request| match where_answered(request) {
        Answer::Send(bytes) => Answer::SendAndClose(bytes),
        other => other,
    });
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "the second request gets a connection of its own" {
              GET {{base}}/a
              expect text "connection 1, request 1"
              GET {{base}}/b
              expect text "connection 2, request 1"
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", base)
        .stdout(&all_passed(
            1,
            &[(
                "a.stream",
                "the second request gets a connection of its own",
            )],
        ))
        .run();
}

#[test]
fn a_request_a_kept_connection_drops_unanswered_is_sent_again_on_a_new_one() {
    // As when a server closes an idle connection just as the next request goes out on it: the
    // request is read, and the connection closed without a word.
    let base = scripted(|request| match (request.connection, request.number) {
        (1, 2) => Answer::Close,
        _ => where_answered(request),
    });
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "the dropped request is sent again" {
              GET {{base}}/a
              expect text "connection 1, request 1"
              GET {{base}}/b
              expect text "connection 2, request 1"
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", base)
        .stdout(&all_passed(
            1,
            &[("a.stream", "the dropped request is sent again")],
        ))
        .run();
}

/// A raw server that acts as an HTTP proxy: it answers with the request line it got (the
/// absolute URL a client puts there for a proxy).
fn proxy() -> String {
    scripted(|request| {
        let line = request.head.lines().next().unwrap_or_default().to_string();
        text(&format!("proxied: {line}"))
    })
}

#[test]
fn a_proxy_set_in_the_environment_carries_http_requests() {
    let target = servers::refused();
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "through the proxy" {
              GET {{target}}/path?q=1
              expect text /^proxied: GET http:\/\/127\.0\.0\.1:\d+\/path\?q=1 HTTP\/1\.1$/
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("target", target)
        .env("http_proxy", proxy())
        .without_env("HTTP_PROXY")
        .without_env("all_proxy")
        .without_env("ALL_PROXY")
        .without_env("no_proxy")
        .without_env("NO_PROXY")
        .stdout(&all_passed(1, &[("a.stream", "through the proxy")]))
        .run();
}

#[test]
fn a_host_no_proxy_names_is_reached_directly() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "not through the proxy" {
              GET {{base}}/a
              expect text "connection 1, request 1"
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", scripted(where_answered))
        .env("ALL_PROXY", servers::refused())
        .env("no_proxy", "example.com, 127.0.0.1")
        .without_env("http_proxy")
        .without_env("HTTP_PROXY")
        .without_env("all_proxy")
        .without_env("NO_PROXY")
        .stdout(&all_passed(1, &[("a.stream", "not through the proxy")]))
        .run();
}

/// The resident memory (KB) of process `pid`, from /proc.
fn resident_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A server that notes the resident memory of process `pid` (once known) at each request.
fn resident_memory_probe(
    pid: tokio::sync::watch::Receiver<Option<u32>>,
    readings: Arc<std::sync::Mutex<Vec<u64>>>,
) -> String {
    let (listener, url) = servers::bind();
    servers::runtime().spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut pid = pid.clone();
            let readings = Arc::clone(&readings);
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
                while read_request(&mut socket, &mut buffer, deadline)
                    .await
                    .is_some()
                {
                    // The run cannot reach the probe before it is spawned, but its pid is noted
                    // a moment after that.
                    let known = match tokio::time::timeout_at(
                        deadline,
                        pid.wait_for(Option::is_some),
                    )
                    .await
                    {
                        Ok(Ok(known)) => *known,
                        _ => return,
                    };
                    let rss = known.and_then(resident_kb);
                    if let (Some(rss), Ok(mut readings)) = (rss, readings.lock()) {
                        readings.push(rss);
                    }
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nnoted";
                    if socket.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// Issue 14: an open HTTP stream costs the client less than 20 KB (hyper's connection alone
/// took about 28 KB). The test holds 410 SSE subscriptions open, one after another as
/// benches/many_streams.sh does; after each, a probe server notes streamspec's resident memory
/// (peak RSS would not do: a spawned child's counts its parent's memory at the spawn).
#[test]
fn an_open_stream_costs_under_20_kb() {
    let (pid_sender, pid) = tokio::sync::watch::channel(None::<u32>);
    let readings = Arc::new(std::sync::Mutex::new(Vec::new()));
    let probe = resident_memory_probe(pid, Arc::clone(&readings));
    let test = Test::new().spec(
        "a.stream",
        r#"
        test "410 open streams" {
          timeout 2m
          repeat 410 {
            GET {{base}}/channels/http1-memory/subscribe as sub
            expect sse { event: "subscribed" }
            GET {{probe}}/rss
            expect status 200
          }
          POST {{base}}/channels/http1-memory/publish
          body json { "note": "to every subscriber" }
          expect status 200
          expect sse from sub { event: "message" }
        }
        "#,
    );
    let mut child = std::process::Command::new(BIN)
        .args(["run", "a.stream", "--var"])
        .arg(format!("base={}", servers::demo()))
        .arg("--var")
        .arg(format!("probe={probe}"))
        .current_dir(test.path())
        .stdout(std::process::Stdio::null())
        .env("NO_COLOR", "1")
        .spawn()
        .expect("streamspec runs");
    let _ = pid_sender.send(Some(child.id()));
    // Bounded by the spec's timeout.
    let status = child.wait().expect("streamspec ends");
    assert!(status.success(), "the run failed: {status}");
    let readings = readings.lock().expect("the readings").clone();
    assert_eq!(readings.len(), 410, "{readings:?}");
    let per_stream = (readings[409] as f64 - readings[9] as f64) / 400.0;
    assert!(
        per_stream < 20.0,
        "{per_stream:.1} KB per open stream ({} KB with 10 open, {} KB with 410)",
        readings[9],
        readings[409]
    );
}

#[test]
fn an_answer_sent_before_the_whole_request_was_read_counts() {
    // The server reads the head of a large request, refuses it and closes the connection while
    // the client is still writing the body.
    let (listener, base) = servers::bind();
    servers::runtime().spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
                while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
                    let mut piece = [0u8; 4096];
                    match tokio::time::timeout_at(deadline, socket.read(&mut piece)).await {
                        Ok(Ok(read)) if read > 0 => buffer.extend_from_slice(&piece[..read]),
                        _ => return,
                    }
                }
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 8\r\n\
                          connection: close\r\n\r\ntoo big!",
                    )
                    .await;
            });
        }
    });
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "refused early" {
              POST {{base}}/upload
              body text "A" * 8000000
              expect status 413
              expect text "too big!"
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", base)
        .stdout(&all_passed(1, &[("a.stream", "refused early")]))
        .run();
}

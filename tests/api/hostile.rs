//! Hostile input refused early: declared sizes beyond the
//! limit get 413 before the body is read, a body streamed past the limit
//! is cut off, deep JSON and too many files are refused, and a client that
//! stalls in its headers or its body is dropped instead of holding a
//! connection. Raw sockets, because a well-behaved HTTP client cannot send
//! these requests.

use crate::case;
use macro_rules_attribute::apply;

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, apps_with};

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server has answered (and returns the response head and
/// whatever body came) or closed the connection; `None` on timeout.
async fn answer(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let started = Instant::now();
    loop {
        let left = limit.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => {
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok());
                    if length.is_some_and(|n| body.len() >= n) {
                        return Some(text.into_owned());
                    }
                }
            }
        }
    }
}

fn status(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"))
}

#[apply(case!)]
async fn bodies_are_refused_before_they_are_read() {
    for app in apps_with(|_| {}).await {
        // A declared length past the limit: refused on the headers alone,
        // without waiting for a byte of the body.
        for (path, content_type, length) in [
            ("/api/v1/feedback", "application/json", 100_000_000u64),
            (
                "/api/v1/feedback",
                "application/x-www-form-urlencoded",
                100_000_000,
            ),
            (
                "/api/v1/feedback",
                "multipart/form-data; boundary=x",
                1_000_000_000,
            ),
            (
                "/gui-phan-anh",
                "multipart/form-data; boundary=x",
                1_000_000_000,
            ),
        ] {
            let mut stream = connect(&app).await;
            stream
                .write_all(
                    format!(
                        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await
                .unwrap();
            let response = answer(&mut stream, Duration::from_secs(5))
                .await
                .unwrap_or_else(|| {
                    panic!("[{}] {path} {content_type}: no early answer", app.backend)
                });
            assert_eq!(
                status(&response),
                413,
                "[{}] {path}: {response}",
                app.backend
            );
            assert!(response.contains("payload_too_large"), "{response}");
        }

        // No declared length (chunked): cut off once past the limit; the
        // client is told before it has sent everything it meant to.
        let mut stream = connect(&app).await;
        stream
            .write_all(b"POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 65536, " ".repeat(65536));
        let mut sent = 0usize;
        for _ in 0..64 {
            if stream.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
            sent += 65536;
            let mut peek = [0u8; 1];
            let peeked =
                tokio::time::timeout(Duration::from_millis(20), stream.peek(&mut peek)).await;
            if matches!(peeked, Ok(Ok(n)) if n > 0) {
                break;
            }
        }
        let response = answer(&mut stream, Duration::from_secs(5)).await.unwrap();
        assert_eq!(
            status(&response),
            413,
            "[{}] chunked: {response}",
            app.backend
        );
        assert!(
            sent < 4 * 1024 * 1024,
            "[{}] refused after {sent} bytes, not at the end of 4 MiB",
            app.backend
        );

        // Deep JSON within the size limit: a clear 400, no crash.
        let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
        let reply = app
            .send(
                reqwest::Method::POST,
                "/api/v1/feedback",
                "/api/v1/feedback",
                |r| r.header("content-type", "application/json").body(deep),
            )
            .await;
        assert_eq!(reply.status, 400, "[{}] {}", app.backend, reply.body);
        assert_eq!(reply.body["code"], "malformed_request");

        // Fifty tiny files: refused at the sixth part, not stored.
        let mut form = reqwest::multipart::Form::new();
        for i in 0..50 {
            form = form.part(
                "attachments",
                reqwest::multipart::Part::bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec())
                    .file_name(format!("{i}.pdf")),
            );
        }
        let reply = app
            .send(
                reqwest::Method::POST,
                "/api/v1/feedback",
                "/api/v1/feedback",
                |r| r.multipart(form),
            )
            .await;
        assert_eq!(reply.status, 422, "[{}] {}", app.backend, reply.body);
        assert_eq!(reply.body["errors"][0]["code"], "too_many_attachments");
    }
}

#[apply(case!)]
async fn a_client_that_stalls_is_dropped() {
    for app in apps_with(|s| s.server.body_idle_timeout_seconds = 1).await {
        // The body stops half-way: 408 once it has been idle for the
        // configured second, and the connection is closed.
        let mut stream = connect(&app).await;
        stream
            .write_all(b"POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"kind\": \"phan_anh\",")
            .await
            .unwrap();
        let started = Instant::now();
        let response = answer(&mut stream, Duration::from_secs(10))
            .await
            .expect("an answer, not a hang");
        assert_eq!(status(&response), 408, "[{}] {response}", app.backend);
        assert!(response.contains("request_timeout"), "{response}");
        assert!(started.elapsed() < Duration::from_secs(5));

        // The headers never end: actix's request timeout (5 s) closes it.
        let mut stream = connect(&app).await;
        stream
            .write_all(b"POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Ty")
            .await
            .unwrap();
        let response = answer(&mut stream, Duration::from_secs(10))
            .await
            .expect("the connection is closed, not held");
        assert!(
            response.is_empty() || status(&response) == 408,
            "[{}] {response}",
            app.backend
        );
    }
}

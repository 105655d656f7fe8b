//! For the tests of request shapes where the emulator cannot show them (Incident Manager has
//! no backend; Cost Explorer answers injected results whatever the filter): a server on
//! 127.0.0.1 that answers one request with a fixed JSON body and hands its body over.

use aws_credential_types::Credentials;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Test credentials: the server checks no signature.
pub(crate) fn credentials() -> Credentials {
    Credentials::new("AKIDCAPTURE", "not-a-secret", None, None, "capture")
}

/// The server's URL, and the body of the one request it will take.
pub(crate) async fn once(answer: &'static str) -> (String, tokio::task::JoinHandle<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a local port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let served = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("a request");
        let mut read = Vec::new();
        let mut buffer = [0u8; 8192];
        let body_at = loop {
            let n = stream.read(&mut buffer).await.expect("the request");
            assert!(n > 0, "the connection closed before the body");
            read.extend_from_slice(&buffer[..n]);
            if let Some(at) = read.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = String::from_utf8_lossy(&read[..body_at]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while read.len() < body_at + length {
            let n = stream.read(&mut buffer).await.expect("the body");
            assert!(n > 0, "the connection closed inside the body");
            read.extend_from_slice(&buffer[..n]);
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        );
        stream
            .write_all(response.as_bytes())
            .await
            .expect("the answer");
        String::from_utf8_lossy(&read[body_at..body_at + length]).into_owned()
    });
    (url, served)
}

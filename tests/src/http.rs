//! HTTP for the tests: the emulator's control API and the controller's admin endpoints.
//!
//! Blocking calls, each on a thread of its own: tests call them from plain test functions
//! and from inside tokio runtimes alike, where reqwest's blocking client must not run.

use std::sync::OnceLock;
use std::time::Duration;

fn client() -> &'static reqwest::blocking::Client {
    static CLIENT: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        std::thread::spawn(|| {
            reqwest::blocking::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(10))
                // Everything tests reach is on loopback.
                .no_proxy()
                .build()
                .expect("an HTTP client")
        })
        .join()
        .expect("the HTTP client is built")
    })
}

/// `method url`, with a bearer `token` and a JSON `body` when given: the status and the
/// body, or why there was no answer.
pub fn request(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut request = client().request(method, url);
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                if let Some(body) = body {
                    request = request
                        .header("content-type", "application/json")
                        .body(body.to_string());
                }
                let response = request.send().map_err(|e| e.to_string())?;
                let status = response.status().as_u16();
                let text = response.text().map_err(|e| e.to_string())?;
                Ok((status, text))
            })
            .join()
            .unwrap_or_else(|_| Err("the request panicked".to_string()))
    })
}

/// A server on 127.0.0.1 that answers every request with `status` and `body` (a stand-in
/// for a public document, like the exchange rates); its base URL. It lives as long as the
/// test process.
pub fn serve(status: u16, content_type: &str, body: &str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let body = body.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let Ok(clone) = stream.try_clone() else {
                continue;
            };
            let mut reader = BufReader::new(clone);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    url
}

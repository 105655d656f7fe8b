//! The admin endpoint of a running controller (`spa controller run --listen`), for the
//! operator commands.

use std::io::{Read, Write as _};
use std::time::Duration;

use crate::cli::{Failure, Output};

/// A plain HTTP/1.1 request to the admin endpoint (loopback; no TLS needed there).
pub fn request(
    url: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<(u16, String), Failure> {
    let address = url
        .strip_prefix("http://")
        .ok_or_else(|| {
            Failure::Usage(format!(
                "the controller URL must be http://HOST:PORT, not `{url}`"
            ))
        })?
        .trim_end_matches('/');
    let fail = |e: std::io::Error| {
        Failure::Runtime(anyhow::anyhow!(
            "cannot reach the controller at {url}: {e} (is `spa controller run` running? --controller URL)"
        ))
    };
    let mut stream = std::net::TcpStream::connect(address).map_err(fail)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(fail)?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let token = std::env::var("SPA_ADMIN_TOKEN").unwrap_or_default();
    let authorization = if token.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {token}\r\n")
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(fail)?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(fail)?;
    let status: u16 = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Failure::Runtime(anyhow::anyhow!("not an HTTP answer from {url}")))?;
    let (_, content) = response.split_once("\r\n\r\n").unwrap_or(("", ""));
    Ok((status, content.to_string()))
}

/// The answer of a mutating endpoint: success, or a clear error.
pub fn expect_ok(status: u16, body: String, what: &str) -> Result<Output, Failure> {
    if (200..300).contains(&status) {
        return Ok(Output {
            stdout: format!("{what}\n"),
            ..Output::default()
        });
    }
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or(body);
    let hint = if status == 401 || status == 403 {
        " (set SPA_ADMIN_TOKEN to the controller's token)"
    } else {
        ""
    };
    Err(Failure::Refused(format!(
        "the controller answered {status}: {message}{hint}"
    )))
}

//! The admin endpoint of a running controller (`spa controller run --listen`), for the
//! operator commands: one small HTTP client with bounded waits and errors that say what to
//! check.

use std::time::Duration;

use crate::cli::Failure;

/// How long a request may take to connect, and in all: the endpoints answer at once (a
/// resync is only queued), so a longer wait means something is wrong.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A client of one controller's admin endpoint.
pub struct Admin {
    url: String,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

/// What the controller answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `error` of a JSON answer, else the body as it came.
    pub fn message(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or_else(|| self.body.trim().to_string())
    }
}

impl Admin {
    /// A client of the controller at `url` (http://HOST:PORT, or https:// behind a proxy).
    pub fn new(url: &str) -> Result<Admin, Failure> {
        Admin::with_timeout(url, REQUEST_TIMEOUT)
    }

    /// As [`Admin::new`], giving up on any request after `timeout`.
    pub fn with_timeout(url: &str, timeout: Duration) -> Result<Admin, Failure> {
        let parsed = reqwest::Url::parse(url).ok().filter(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some() && u.query().is_none()
        });
        if parsed.is_none() {
            return Err(Failure::Usage(format!(
                "--controller: `{url}` is not the URL of an admin endpoint, e.g. http://127.0.0.1:8080"
            )));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            // The endpoint is the controller itself (loopback, or inside its network).
            .no_proxy()
            .user_agent(concat!("spa/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure::Runtime(anyhow::anyhow!("cannot build an HTTP client: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Failure::Runtime(anyhow::Error::new(e).context("cannot start the async runtime"))
            })?;
        Ok(Admin {
            url: url.trim_end_matches('/').to_string(),
            client,
            runtime,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Result<Answer, Failure> {
        self.send(self.client.get(format!("{}{path}", self.url)))
    }

    /// `POST path` with a JSON body, authorised by the token in `SPA_ADMIN_TOKEN` when set.
    pub fn post(&self, path: &str, body: Option<&serde_json::Value>) -> Result<Answer, Failure> {
        let mut request = self.client.post(format!("{}{path}", self.url));
        if let Ok(token) = std::env::var("SPA_ADMIN_TOKEN")
            && !token.is_empty()
        {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request)
    }

    fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, Failure> {
        self.runtime
            .block_on(async {
                let response = request.send().await?;
                let status = response.status().as_u16();
                let body = response.text().await?;
                Ok(Answer { status, body })
            })
            .map_err(|error: reqwest::Error| {
                Failure::Runtime(anyhow::anyhow!(
                    "cannot reach the controller at {}: {}\nhint: is `spa controller run` running there? Give its address with --controller URL (or SPA_CONTROLLER_URL)",
                    self.url,
                    reason(&error)
                ))
            })
    }
}

/// The root cause of a failed request, in a few words ("Connection refused (os error
/// 111)"), rather than reqwest's "error sending request for url (…)".
fn reason(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer in time".to_string();
    }
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_http_url_is_an_endpoint() {
        for bad in ["127.0.0.1:8080", "ftp://host/", "http://", "not a url"] {
            assert!(
                matches!(Admin::new(bad), Err(Failure::Usage(m)) if m.contains("--controller")),
                "{bad}"
            );
        }
        let admin = Admin::new("http://127.0.0.1:8080/").unwrap();
        assert_eq!(admin.url(), "http://127.0.0.1:8080");
    }

    #[test]
    fn a_refused_connection_names_the_url_and_what_to_check() {
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let Err(Failure::Runtime(error)) = Admin::new(&url).unwrap().get("/healthz") else {
            panic!("nothing listens on {url}");
        };
        let message = error.to_string();
        assert!(
            message.contains(&format!("cannot reach the controller at {url}: ")),
            "{message}"
        );
        assert!(message.contains("refused"), "{message}");
        assert!(message.contains("--controller URL"), "{message}");
    }

    #[test]
    fn an_error_answer_gives_its_message() {
        let answer = Answer {
            status: 403,
            body: r#"{"error": "no admin token configured"}"#.to_string(),
        };
        assert!(!answer.is_success());
        assert_eq!(answer.message(), "no admin token configured");
        let answer = Answer {
            status: 502,
            body: "Bad Gateway\n".to_string(),
        };
        assert_eq!(answer.message(), "Bad Gateway");
    }
}

//! Admin endpoints (axum), on loopback by default. Reads are open; every mutating endpoint
//! (`/resync`, `/suspend`, `/resume`, `/approve`) needs `Authorization: Bearer
//! <SPA_ADMIN_TOKEN>` and is disabled when no token is set.
//!
//! The server bounds what a client can hold: a few seconds to send the request headers, a
//! maximum age per connection, a cap on open connections (past it, new ones are closed at
//! once), and small request bodies.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::Shared;
use crate::time::{now, parse_time};

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/resync", post(resync))
        .route("/suspend", post(suspend))
        .route("/resume", post(resume))
        .route("/approve", post(approve))
        .with_state(shared)
}

/// What one client may hold of the admin server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// To send the headers of a request (also the idle time between requests).
    pub header_read_timeout: Duration,
    /// Of a connection, whatever it does.
    pub max_connection_age: Duration,
    /// Open at once; more are closed as soon as accepted.
    pub max_connections: usize,
    /// Of a request body.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(5),
            max_connection_age: Duration::from_secs(120),
            max_connections: 64,
            max_body_bytes: 64 * 1024,
        }
    }
}

pub async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    serve_with(listener, router(shared), Limits::default()).await
}

/// Serves `router` on `listener` within `limits`, until the task is dropped.
pub async fn serve_with(listener: tokio::net::TcpListener, router: Router, limits: Limits) {
    let router = router.layer(axum::extract::DefaultBodyLimit::max(limits.max_body_bytes));
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: pause rather than spin.
                tracing::warn!("admin endpoints: cannot accept: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "admin endpoints: too many connections, one refused");
            drop(stream);
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let _ = tokio::time::timeout(limits.max_connection_age, connection).await;
        });
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// Checks the bearer token, comparing in constant time; the token's id (a digest prefix).
fn authorized(shared: &Shared, headers: &HeaderMap) -> Result<String, Box<Response>> {
    let Some(expected) = shared.admin_token.as_deref().filter(|t| !t.is_empty()) else {
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            "mutating endpoints are disabled: start the controller with SPA_ADMIN_TOKEN set",
        )));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let same = given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(super::approvals::token_id(given))
    } else {
        Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token",
        )))
    }
}

/// Healthy while every background task runs.
async fn health(State(shared): State<Arc<Shared>>) -> Response {
    match shared.dead() {
        None => "ok\n".into_response(),
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response(),
    }
}

async fn ready(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(why) = shared.dead() {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response();
    }
    if shared.status().ready {
        "ready\n".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response()
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let status = shared.status();
    let queued = status.lifecycle.as_ref().map(|l| l.queued);
    let text = shared
        .metrics
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .render(status.suspension.is_some(), status.leader, queued);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn status(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.status()).into_response()
}

#[derive(Debug, Deserialize)]
struct ResyncQuery {
    #[serde(default)]
    hard: bool,
}

async fn resync(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<ResyncQuery>,
) -> Response {
    if let Err(response) = authorized(&shared, &headers) {
        return *response;
    }
    let reason = if query.hard {
        "operator resync (hard)"
    } else {
        "operator resync"
    };
    tracing::info!(hard = query.hard, "resync requested");
    shared.trigger(reason, true, query.hard);
    (
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({ "accepted": reason })),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct SuspendBody {
    reason: Option<String>,
    who: Option<String>,
    until: Option<String>,
}

async fn suspend(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Option<axum::Json<SuspendBody>>,
) -> Response {
    if let Err(response) = authorized(&shared, &headers) {
        return *response;
    }
    let Some(axum::Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected a JSON body: {\"reason\": …, \"who\": …, \"until\": optional}",
        );
    };
    let (Some(reason), Some(who)) = (
        body.reason.filter(|r| !r.trim().is_empty()),
        body.who.filter(|w| !w.trim().is_empty()),
    ) else {
        return error(StatusCode::BAD_REQUEST, "`reason` and `who` are required");
    };
    let until = match body.until.as_deref().map(|u| parse_time(u, now())) {
        None => None,
        Some(Ok(until)) if until > now() => Some(until),
        Some(Ok(_)) => return error(StatusCode::BAD_REQUEST, "`until` is in the past"),
        Some(Err(message)) => return error(StatusCode::BAD_REQUEST, &message),
    };
    tracing::warn!(%reason, %who, "suspended");
    shared.suspend(reason, who, until);
    axum::Json(shared.status().suspension).into_response()
}

#[derive(Debug, Deserialize)]
struct ApproveBody {
    fingerprint: Option<String>,
    reason: Option<String>,
    who: Option<String>,
    #[serde(default)]
    resync: bool,
}

/// Approves the destructive changes withheld now, by their fingerprint.
async fn approve(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Option<axum::Json<ApproveBody>>,
) -> Response {
    let token = match authorized(&shared, &headers) {
        Ok(token) => token,
        Err(response) => return *response,
    };
    let Some(axum::Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected a JSON body: {\"fingerprint\": …, \"reason\": …, \"who\": …}",
        );
    };
    let (Some(fingerprint), Some(reason), Some(who)) = (
        body.fingerprint.filter(|f| !f.trim().is_empty()),
        body.reason.filter(|r| !r.trim().is_empty()),
        body.who.filter(|w| !w.trim().is_empty()),
    ) else {
        return error(
            StatusCode::BAD_REQUEST,
            "`fingerprint`, `reason` and `who` are required",
        );
    };
    match shared.approve(fingerprint.trim(), reason, who, token, body.resync) {
        Ok(approval) => (StatusCode::ACCEPTED, axum::Json(approval)).into_response(),
        Err(why) => error(StatusCode::CONFLICT, &why),
    }
}

async fn resume(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(response) = authorized(&shared, &headers) {
        return *response;
    }
    let resumed = shared.resume();
    tracing::info!(resumed, "resume requested");
    axum::Json(serde_json::json!({ "resumed": resumed })).into_response()
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    async fn server(limits: Limits) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Router::new().route("/healthz", get(|| async { "ok\n" }));
        tokio::spawn(serve_with(listener, router, limits));
        address
    }

    /// Reads until the server closes the connection; what it sent.
    async fn until_closed(stream: &mut TcpStream) -> String {
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    }

    #[tokio::test]
    async fn a_client_too_slow_to_send_its_headers_is_disconnected() {
        let address = server(Limits {
            header_read_timeout: Duration::from_millis(200),
            ..Limits::default()
        })
        .await;
        let mut slow = TcpStream::connect(address).await.unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let closed = tokio::time::timeout(Duration::from_secs(5), until_closed(&mut slow)).await;
        assert!(closed.is_ok(), "the server keeps a slow client forever");
        // A client that sends its request in time is served.
        let mut quick = TcpStream::connect(address).await.unwrap();
        quick
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = until_closed(&mut quick).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }

    #[tokio::test]
    async fn connections_past_the_cap_are_closed_at_once() {
        let address = server(Limits {
            max_connections: 2,
            ..Limits::default()
        })
        .await;
        let _first = TcpStream::connect(address).await.unwrap();
        let _second = TcpStream::connect(address).await.unwrap();
        let mut third = TcpStream::connect(address).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(5), until_closed(&mut third))
            .await
            .expect("closed at once");
        assert_eq!(answer, "", "refused without an answer");
        drop(_first);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut fourth = TcpStream::connect(address).await.unwrap();
        fourth
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        assert!(until_closed(&mut fourth).await.starts_with("HTTP/1.1 200"));
    }
}

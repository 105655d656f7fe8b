//! Admin endpoints (axum), on loopback by default. Reads are open; every mutating endpoint
//! needs `Authorization: Bearer <SPA_ADMIN_TOKEN>` and is disabled when no token is set.

use std::sync::Arc;

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
        .with_state(shared)
}

pub async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    if let Err(error) = axum::serve(listener, router(shared)).await {
        tracing::error!("admin endpoints stopped: {error}");
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// Checks the bearer token, comparing in constant time.
fn authorized(shared: &Shared, headers: &HeaderMap) -> Result<(), Box<Response>> {
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
        Ok(())
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
    let text = shared
        .metrics
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .render(&shared.calls, &status);
    let mut text = text;
    if let Some(lifecycle) = &status.lifecycle {
        lifecycle.render(&mut text);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
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

async fn resume(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(response) = authorized(&shared, &headers) {
        return *response;
    }
    let resumed = shared.resume();
    tracing::info!(resumed, "resume requested");
    axum::Json(serde_json::json!({ "resumed": resumed })).into_response()
}

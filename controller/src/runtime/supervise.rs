//! The controller's background tasks are supervised: one that ends or panics leaves the
//! controller unable to do its job (no admin endpoint, no lease renewal, accounts no longer
//! moving), so health and readiness turn red and the process stops with the reason, for
//! its supervisor (ECS, systemd, Kubernetes) to start a fresh one. Tasks stopped on purpose
//! (aborted) are not failures.

use std::sync::Arc;

use tokio::task::{AbortHandle, JoinHandle};

use super::shared::Shared;

/// Watches `handle`; returns the handle that stops the task on purpose.
pub(super) fn supervise(
    name: &'static str,
    handle: JoinHandle<()>,
    shared: &Arc<Shared>,
) -> AbortHandle {
    let abort = handle.abort_handle();
    let shared = shared.clone();
    tokio::spawn(async move {
        let why = match handle.await {
            Ok(()) => "ended".to_string(),
            Err(error) if error.is_cancelled() => return,
            Err(error) => match error.try_into_panic() {
                Ok(panic) => format!("panicked: {}", panic_message(panic.as_ref())),
                Err(_) => "failed".to_string(),
            },
        };
        shared.task_died(name, &why);
    });
    abort
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicked_task_is_reported_and_an_aborted_one_is_not() {
        let shared = Shared::new(None);
        let aborted = supervise(
            "sleeper",
            tokio::spawn(async { tokio::time::sleep(std::time::Duration::from_secs(3600)).await }),
            &shared,
        );
        aborted.abort();
        tokio::task::yield_now().await;
        assert_eq!(shared.dead(), None);
        let died = shared.died();
        supervise("worker", tokio::spawn(async { panic!("boom") }), &shared);
        died.await;
        let dead = shared.dead().unwrap();
        assert!(dead.contains("worker") && dead.contains("boom"), "{dead}");
    }
}

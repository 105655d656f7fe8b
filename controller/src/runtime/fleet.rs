//! Sends the fleet's metrics to CloudWatch once a minute, with the controller's health of
//! that minute: AWS calls and throttles, accounts queued and parked, records dropped and
//! failed (reconciles are counted as they end).

use std::sync::Arc;
use std::time::Duration;

use super::shared::Shared;
use crate::aws::Aws;
use crate::lifecycle::engine::Engine;

/// How often metrics are sent.
pub const EVERY: Duration = Duration::from_secs(60);

/// Totals seen at the last minute, to send what happened since.
#[derive(Default)]
struct Previous {
    calls: u64,
    throttles: u64,
    dropped: u64,
    errors: u64,
}

/// What a total grew by since `previous`, which becomes the total.
fn since(previous: &mut u64, total: u64) -> f64 {
    let grown = total.saturating_sub(*previous);
    *previous = total;
    grown as f64
}

fn total(counter: &crate::aws::CallCounter) -> (u64, u64) {
    let snapshot = counter.snapshot();
    let calls = snapshot.values().sum();
    let throttles = snapshot
        .iter()
        .filter(|((_, outcome), _)| *outcome == "throttled")
        .map(|(_, n)| n)
        .sum();
    (calls, throttles)
}

/// Runs until dropped.
pub async fn send(shared: Arc<Shared>, engine: Arc<Engine>, aws: Aws) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + EVERY, EVERY);
    let mut previous = Previous::default();
    loop {
        tick.tick().await;
        let fleet = &shared.fleet;
        let (calls, throttles) = total(&shared.calls);
        fleet.gauge("AwsCalls", None, since(&mut previous.calls, calls));
        fleet.gauge(
            "AwsThrottles",
            None,
            since(&mut previous.throttles, throttles),
        );
        fleet.gauge("LifecycleQueueDepth", None, engine.queue.len() as f64);
        fleet.gauge("ParkedAccounts", None, engine.parked_count() as f64);
        if let Some(recorder) = engine.recorder() {
            use std::sync::atomic::Ordering::Relaxed;
            let counters = &recorder.counters;
            fleet.gauge(
                "RecordsDropped",
                None,
                since(&mut previous.dropped, counters.dropped.load(Relaxed)),
            );
            fleet.gauge(
                "RecordErrors",
                None,
                since(&mut previous.errors, counters.errors.load(Relaxed)),
            );
        }
        if let Err(error) = fleet.flush(&aws, engine.now_ms()).await {
            tracing::warn!("cannot send the fleet's metrics to CloudWatch: {error}");
        }
    }
}

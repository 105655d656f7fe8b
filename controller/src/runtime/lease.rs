//! The lease: only one replica applies. Renewed on its own clock every third of its
//! duration, through the door to AWS (retried when throttled), each renewal bounded in time.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Shared;
use crate::aws::Aws;

/// The lease table and the door to it (the controller's own identity, not the management
/// role: the table is in the automation account).
#[derive(Clone)]
pub(super) struct Lease {
    pub(super) aws: Aws,
    pub(super) table: String,
}

/// Takes and renews the lease every third of its duration; tells the loop when it is won or lost.
pub(super) async fn hold_lease(
    lease: Lease,
    name: String,
    holder: String,
    duration: Duration,
    shared: Arc<Shared>,
) {
    let mut tick = tokio::time::interval(duration / 3);
    loop {
        tick.tick().await;
        let now = crate::time::now().as_second();
        // Retries (throttling) must end before the lease could expire: past that, another
        // replica may hold it, so this one stops applying.
        let renewal = lease.aws.acquire_lease(
            &lease.table,
            &name,
            &holder,
            now,
            now + duration.as_secs() as i64,
        );
        let held = match tokio::time::timeout(duration / 3, renewal).await {
            Ok(Ok(held)) => held,
            Ok(Err(error)) => {
                tracing::warn!("cannot renew the lease: {error}");
                false
            }
            Err(_) => {
                tracing::warn!("cannot renew the lease: no answer in time");
                false
            }
        };
        let was = shared.leader.swap(held, Ordering::SeqCst);
        shared.update(|s| s.leader = held);
        if held && !was {
            tracing::info!("lease won: this replica applies");
            shared.trigger("lease won", true, false);
        } else if was && !held {
            tracing::warn!("lease lost: this replica becomes a standby");
            shared.lost.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ErrorKind;
    use crate::aws::api;
    use crate::aws::fake::{Fakes, Fault};

    /// A replica renewing a 30 s lease on fakes, once it has won it.
    async fn holding() -> (Fakes, Arc<Shared>, tokio::task::JoinHandle<()>) {
        let fakes = Fakes::default();
        let shared = Shared::new(None);
        let lease = Lease {
            aws: fakes.aws(),
            table: "locks".to_string(),
        };
        let task = tokio::spawn(hold_lease(
            lease,
            "spa".to_string(),
            "me".to_string(),
            Duration::from_secs(30),
            shared.clone(),
        ));
        tokio::time::sleep(Duration::from_secs(1)).await;
        (fakes, shared, task)
    }

    /// One throttled renewal is retried, not taken for a lost lease.
    #[tokio::test(start_paused = true)]
    async fn a_throttled_renewal_keeps_the_lease() {
        let (fakes, shared, task) = holding().await;
        assert!(shared.leader.load(Ordering::SeqCst), "the lease is won");
        fakes.leases.behaviour.inject(Fault {
            api: Some(api::PUT_ITEM),
            resource: None,
            kind: ErrorKind::Throttled,
            times: Some(2),
        });
        // Two renewals later, both through a throttled first attempt.
        tokio::time::sleep(Duration::from_secs(21)).await;
        assert!(shared.leader.load(Ordering::SeqCst), "still the leader");
        assert_eq!(
            fakes
                .leases
                .behaviour
                .served
                .count(api::PUT_ITEM, "throttled"),
            2
        );
        assert_eq!(fakes.leases.holder("spa").as_deref(), Some("me"));
        task.abort();
    }

    /// A renewal that cannot finish before the lease could expire gives the lead up.
    #[tokio::test(start_paused = true)]
    async fn a_renewal_that_never_answers_gives_the_lease_up() {
        let (fakes, shared, task) = holding().await;
        assert!(shared.leader.load(Ordering::SeqCst));
        fakes.leases.behaviour.storm(Duration::from_secs(3600));
        tokio::time::sleep(Duration::from_secs(25)).await;
        assert!(!shared.leader.load(Ordering::SeqCst), "a standby now");
        task.abort();
    }
}

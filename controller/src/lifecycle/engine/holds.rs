//! One writer of an account's per-state attachments at a time. A transition of the life
//! cycle attaches and detaches the account's per-state policies, then writes its new state;
//! the settings apply repairs per-state attachments from a plan computed on the state it
//! knew. Without a hold, a plan made between a transition's detach and its state write
//! attaches again what the transition has just removed (a purge guardrail left on an
//! account handed back to its engineer until the next full observation).
//!
//! The life cycle waits for a hold (an apply holds an account for one call); the apply
//! never waits: an account that is moving is left to the next plan.

use std::collections::BTreeSet;
use std::sync::Mutex;

use tokio::sync::Notify;

/// The accounts held now; an entry lives as long as its [`Held`].
#[derive(Default)]
pub struct Holds {
    held: Mutex<BTreeSet<String>>,
    released: Notify,
}

/// A hold on one account, released when dropped.
pub struct Held<'a> {
    holds: &'a Holds,
    account: String,
}

impl Holds {
    /// Holds `account` unless someone else does.
    pub fn try_hold(&self, account: &str) -> Option<Held<'_>> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.insert(account.to_string()).then(|| Held {
            holds: self,
            account: account.to_string(),
        })
    }

    /// Holds `account`, waiting for whoever holds it now.
    pub async fn hold(&self, account: &str) -> Held<'_> {
        loop {
            // Registered before the attempt, so that a release in between is not missed.
            let released = self.released.notified();
            if let Some(held) = self.try_hold(account) {
                return held;
            }
            released.await;
        }
    }

    /// How many accounts are held.
    #[cfg(test)]
    fn count(&self) -> usize {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.holds
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.account);
        self.holds.released.notify_waiters();
    }
}

impl crate::apply::Moves for super::Engine {
    fn hold(&self, account: &str, state: &str) -> Option<Box<dyn Send + '_>> {
        // Held first: the state read then stays true until the hold ends.
        let held = self.holds.try_hold(account)?;
        (self.known_state(account).as_deref() == Some(state))
            .then(|| Box::new(held) as Box<dyn Send + '_>)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn one_holder_per_account_and_nothing_kept_after_release() {
        let holds = Holds::default();
        let a = holds.try_hold("111111111111").expect("free");
        assert!(holds.try_hold("111111111111").is_none(), "held twice");
        let b = holds
            .try_hold("222222222222")
            .expect("another account is free");
        assert_eq!(holds.count(), 2);
        drop(a);
        drop(b);
        assert_eq!(holds.count(), 0, "no entry outlives its hold");
        assert!(holds.try_hold("111111111111").is_some());
    }

    #[tokio::test]
    async fn a_waiting_holder_gets_the_account_when_it_is_released() {
        let holds = Arc::new(Holds::default());
        let first = holds.try_hold("111111111111").expect("free");
        let waiter = {
            let holds = holds.clone();
            tokio::spawn(async move {
                let _held = holds.hold("111111111111").await;
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "waits while the account is held");
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken by the release")
            .expect("no panic");
        assert_eq!(holds.count(), 0);
    }
}

//! One notification per exception label and account within a window: a storm of the same
//! alert gives one message, and the next one after the window says how many were held back.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// The most (label, account) pairs remembered; past it, the expired ones are forgotten,
/// and if that is not enough, all of them (a burst of new pairs then notifies again).
const CAPACITY: usize = 100_000;

#[derive(Debug)]
pub struct Dedup {
    window: Duration,
    seen: HashMap<(String, String), (Instant, u64)>,
}

impl Dedup {
    pub fn new(window: Duration) -> Dedup {
        Dedup {
            window,
            seen: HashMap::new(),
        }
    }

    /// `Some(repeats held back since the last notification)` when this one goes out, `None`
    /// when it is held back.
    pub fn admit(&mut self, label: &str, account: &str, now: Instant) -> Option<u64> {
        let key = (label.to_string(), account.to_string());
        if let Some((since, held)) = self.seen.get_mut(&key) {
            if now.duration_since(*since) < self.window {
                *held += 1;
                return None;
            }
            let repeats = *held;
            *since = now;
            *held = 0;
            return Some(repeats);
        }
        if self.seen.len() >= CAPACITY {
            let window = self.window;
            self.seen
                .retain(|_, (since, _)| now.duration_since(*since) < window);
            if self.seen.len() >= CAPACITY {
                self.seen.clear();
            }
        }
        self.seen.insert(key, (now, 0));
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_within_the_window_are_held_back_and_counted() {
        let start = Instant::now();
        let mut dedup = Dedup::new(Duration::from_secs(3600));
        assert_eq!(dedup.admit("BudgetAlertException", "1", start), Some(0));
        for minute in 1..=4 {
            let at = start + Duration::from_secs(60 * minute);
            assert_eq!(dedup.admit("BudgetAlertException", "1", at), None);
        }
        // Another label or account is another notification.
        assert_eq!(dedup.admit("GenericException", "1", start), Some(0));
        assert_eq!(dedup.admit("BudgetAlertException", "2", start), Some(0));
        let later = start + Duration::from_secs(3600);
        assert_eq!(dedup.admit("BudgetAlertException", "1", later), Some(4));
        assert_eq!(dedup.admit("BudgetAlertException", "1", later), None);
    }

    #[test]
    fn memory_is_bounded() {
        let start = Instant::now();
        let mut dedup = Dedup::new(Duration::from_secs(3600));
        for i in 0..CAPACITY + 10 {
            dedup.admit("L", &i.to_string(), start);
        }
        assert!(dedup.seen.len() <= CAPACITY);
    }
}

//! What a running engine remembers of an account between reconciles: builds it started,
//! failures in a row and back-off clocks. All of it can be lost safely (a restart): it only
//! saves calls and keeps retries paced.

use std::time::Duration;

use crate::aws::BuildStatus;
use crate::lifecycle::member;

#[derive(Debug, Default)]
pub(super) struct Memory {
    /// Builds this process started, with the cycle (`since`) they belong to: covers a
    /// controller clock slightly ahead of AWS's.
    pub(super) builds: Vec<(i64, String)>,
    /// Consecutive failures of the current step, and when to try again.
    pub(super) failures: u32,
    pub(super) retry_at: Option<i64>,
    /// The attempt whose back-off was already waited.
    pub(super) backoff_done_for: Option<(i64, u32)>,
    /// The status last seen of the newest build, to report its end once.
    pub(super) last_status: Option<(String, BuildStatus)>,
    /// The account's roles, rules and topic were brought to this.
    pub(super) ready: Option<(member::Desired, member::Ready)>,
}

/// The back-off after `failures` failures in a row: `base`, doubled at each next one,
/// capped (no overflow whatever the count).
pub(super) fn backoff(base: Duration, failures: u32) -> Duration {
    base.saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(10)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_is_capped() {
        let base = Duration::from_secs(60);
        assert_eq!(backoff(base, 1), Duration::from_secs(60));
        assert_eq!(backoff(base, 2), Duration::from_secs(120));
        assert_eq!(backoff(base, 3), Duration::from_secs(240));
        assert_eq!(backoff(base, 11), backoff(base, u32::MAX));
        assert_eq!(backoff(Duration::MAX, 5), Duration::MAX);
    }
}

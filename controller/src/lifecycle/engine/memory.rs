//! What a running engine remembers of an account between reconciles: builds it started,
//! failures in a row and back-off clocks. All of it can be lost safely (a restart): it only
//! saves calls and keeps retries paced.

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

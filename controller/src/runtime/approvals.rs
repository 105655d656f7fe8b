//! Approving withheld destructive changes, one plan at a time. A controller started without
//! `--allow-destructive` applies everything but the destructive part of a plan, and shows
//! that part on `/status` under its fingerprint (`Plan::withheld_fingerprint`). An operator
//! approves exactly that fingerprint, with a reason (`spa approve`, `POST /approve`): the
//! next reconcile applies the destructive part only if the plan it computes then has the
//! same fingerprint — the same settings, the same changes against the same values in AWS —
//! and withholds anything else. An approval is used once, and lapses after an hour or when
//! the plan moves on.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long an approval waits for its plan.
pub const APPROVAL_LIFETIME: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

/// Destructive lines shown on `/status`, at most.
const SHOWN: usize = 20;

/// The destructive part of the plan the controller withholds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withheld {
    pub fingerprint: String,
    pub commit: Option<String>,
    /// Since when this very part has been withheld.
    pub since: String,
    /// Destructive changes, and the first of their reasons.
    pub count: usize,
    pub destructive: Vec<String>,
}

impl Withheld {
    pub fn of(plan: &crate::plan::Plan, fingerprint: String, since: String) -> Withheld {
        Withheld {
            fingerprint,
            commit: plan.commit.clone(),
            since,
            count: plan.destructive.len(),
            destructive: plan
                .destructive
                .iter()
                .take(SHOWN)
                .map(|d| d.reason.clone())
                .collect(),
        }
    }
}

/// What became of an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Waiting for a reconcile whose withheld part has its fingerprint.
    Pending,
    /// The plan was applied with its destructive part.
    Applied,
    /// Applied, but some writes failed (see `last_plan` and the logs).
    Failed,
    /// No plan with that fingerprint came within the hour.
    Expired,
}

/// An approval, as recorded: who, why, with which token, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub fingerprint: String,
    pub reason: String,
    pub who: String,
    /// Which token approved: the first 12 hex digits of its SHA-256, never the token.
    pub token: String,
    pub at: String,
    pub outcome: Outcome,
    /// Why it is still pending, or how it ended.
    pub note: Option<String>,
    #[serde(skip)]
    pub at_time: Option<jiff::Timestamp>,
}

/// A token named without being shown.
pub fn token_id(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{}", &hex[..12])
}

/// Whether `given` (at least 12 hex digits) names `fingerprint`.
pub fn names(given: &str, fingerprint: &str) -> bool {
    given.len() >= 12
        && given.len() <= fingerprint.len()
        && given.chars().all(|c| c.is_ascii_hexdigit())
        && fingerprint.starts_with(&given.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_named_by_twelve_hex_digits_or_more() {
        let fingerprint = "0123456789abcdef0123";
        assert!(names("0123456789ab", fingerprint));
        assert!(names("0123456789ABCDEF", fingerprint));
        assert!(!names("0123456789a", fingerprint), "too short to be sure");
        assert!(!names("0123456789ac", fingerprint));
        assert!(
            !names("0123456789abcdef01234", fingerprint),
            "longer than it"
        );
        assert!(!names("0123456789a-", fingerprint));
    }

    #[test]
    fn a_token_is_recorded_by_a_digest_prefix_only() {
        let id = token_id("s3cret-token-value");
        assert!(id.starts_with("sha256:"));
        assert_eq!(id.len(), 7 + 12);
        assert!(!id.contains("s3cret"));
    }
}

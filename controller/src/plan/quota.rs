//! What Parameter Store will hold once a plan is applied, against its quotas: 10,000
//! standard parameters per account and region (shared with everything else there) and
//! 100,000 advanced ones at $0.05 a month each. A plan that would pass a quota is refused
//! before any write, with the count, the quota and the options; AWS would otherwise fail the
//! writes past it one by one (`ParameterLimitExceeded`), leaving the settings half-published.

use serde::{Deserialize, Serialize};

use super::ParameterChange;
use crate::aws::Tier;
use crate::aws::parameters::{ADVANCED_MONTHLY_USD, ADVANCED_QUOTA, STANDARD_QUOTA};
use crate::desired::Desired;
use crate::observe::{Observation, by_size};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterStoreUsage {
    /// `automation.parameter_tier`: standard, intelligent-tiering or advanced.
    pub strategy: Tier,
    /// spa's parameters (under `/<env>/`) per tier once the plan is applied.
    pub standard: usize,
    pub advanced: usize,
    /// Everybody else's parameters in the account and region.
    pub standard_elsewhere: usize,
    pub advanced_elsewhere: usize,
    pub standard_quota: usize,
    pub advanced_quota: usize,
    /// What spa's advanced parameters cost a month, in US cents.
    pub monthly_cost_cents: u64,
}

impl ParameterStoreUsage {
    pub fn standard_total(&self) -> usize {
        self.standard + self.standard_elsewhere
    }

    pub fn advanced_total(&self) -> usize {
        self.advanced + self.advanced_elsewhere
    }

    /// Worth a line in a plan: close to a quota, or costing money.
    pub fn is_notable(&self) -> bool {
        self.advanced > 0 || self.standard_total() * 10 >= self.standard_quota * 9
    }
}

fn dollars(parameters: usize) -> String {
    format!("${:.2}", parameters as f64 * ADVANCED_MONTHLY_USD)
}

/// The tier each of spa's parameters will be in, and the blockers.
pub(super) fn parameter_store(
    desired: &Desired,
    observed: &Observation,
    changes: &[ParameterChange],
) -> (Option<ParameterStoreUsage>, Vec<String>) {
    let Some(usage) = observed.parameter_usage else {
        return (None, Vec::new());
    };
    let changed = |name: &str| changes.iter().find(|c| c.name == name);
    // Parameters that stay as they are keep their tier; the others take the tier they ask
    // for (intelligent-tiering: standard while it fits and there is room).
    let (mut standard, mut advanced) = (0, 0);
    let mut undecided = Vec::new();
    for (name, want) in &desired.parameters {
        let change = changed(name);
        let current = observed.parameters.get(name).map(|p| p.tier());
        match (change, current) {
            (None, Some(Tier::Advanced)) => advanced += 1,
            (None, _) => standard += 1,
            (Some(_), Some(Tier::Advanced)) => advanced += 1,
            (Some(change), _) => match change.tier {
                Tier::IntelligentTiering => undecided.push(&want.value),
                Tier::Advanced => advanced += 1,
                Tier::Standard => standard += 1,
            },
        }
    }
    let room = STANDARD_QUOTA.saturating_sub(usage.standard_elsewhere + standard);
    let fitting = undecided
        .iter()
        .filter(|v| by_size(v) == Tier::Standard)
        .count();
    let to_standard = fitting.min(room);
    standard += to_standard;
    advanced += undecided.len() - to_standard;
    let result = ParameterStoreUsage {
        strategy: desired.tier_strategy,
        standard,
        advanced,
        standard_elsewhere: usage.standard_elsewhere,
        advanced_elsewhere: usage.advanced_elsewhere,
        standard_quota: STANDARD_QUOTA,
        advanced_quota: ADVANCED_QUOTA,
        monthly_cost_cents: (advanced as u64) * 5,
    };
    let mut blockers = Vec::new();
    if result.standard_total() > STANDARD_QUOTA {
        let over = result.standard_total() - STANDARD_QUOTA;
        let ours = desired.parameters.len();
        let prefix = format!("/{}/Accounts/", desired.environment);
        let accounts = desired
            .parameters
            .keys()
            .filter(|n| n.starts_with(&prefix))
            .count();
        let fewer = if accounts > 0 {
            format!(
                "; `features.with_account_parameters: false` (spa then publishes {} instead of {ours}: nothing in spa reads {prefix}*, they exist for tools that read the predecessor's layout)",
                ours - accounts,
            )
        } else {
            String::new()
        };
        blockers.push(format!(
            "SSM Parameter Store: once applied, the account and region would hold {} standard parameters ({} of spa's under /{}/, {} of others), {over} above the standard-tier quota of {STANDARD_QUOTA}; AWS would refuse them (ParameterLimitExceeded). Options: `automation.parameter_tier: intelligent-tiering` (the parameters past the quota become advanced: about {} a month); `automation.parameter_tier: advanced` (all {ours} of spa's: {} a month){fewer}; or fewer parameters elsewhere in the account",
            result.standard_total(),
            result.standard,
            desired.environment,
            result.standard_elsewhere,
            dollars(over),
            dollars(ours),
        ));
    }
    if result.advanced_total() > ADVANCED_QUOTA {
        blockers.push(format!(
            "SSM Parameter Store: once applied, the account and region would hold {} advanced parameters, above the quota of {ADVANCED_QUOTA}: publish fewer (`features.with_account_parameters: false`)",
            result.advanced_total()
        ));
    }
    (Some(result), blockers)
}

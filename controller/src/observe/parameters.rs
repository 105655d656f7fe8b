//! The parameters under `/<env>/` (values, from GetParametersByPath, ten a page) and what
//! the whole account and region hold in Parameter Store (names and tiers, from
//! DescribeParameters, fifty a page): the standard-tier quota of 10,000 counts every
//! parameter of the account, spa's and everybody else's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::aws::parameters::STANDARD_VALUE_LIMIT;
use crate::aws::{Aws, AwsError, Tier};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedParameter {
    pub value: String,
    pub version: i64,
    /// The tier it is in (`None` in observations made before spa read tiers: judged by size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
}

impl ObservedParameter {
    /// Standard or advanced.
    pub fn tier(&self) -> Tier {
        match self.tier {
            Some(Tier::Standard) => Tier::Standard,
            Some(Tier::Advanced) => Tier::Advanced,
            _ => by_size(&self.value),
        }
    }
}

/// The tier a value needs at least.
pub fn by_size(value: &str) -> Tier {
    if value.len() <= STANDARD_VALUE_LIMIT {
        Tier::Standard
    } else {
        Tier::Advanced
    }
}

/// Parameters of the account and region outside `/<env>/`, per tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterUsage {
    pub standard_elsewhere: usize,
    pub advanced_elsewhere: usize,
}

/// Reads the parameters under `prefix` and counts the others of the account.
pub async fn observe_parameters(
    aws: &Aws,
    prefix: &str,
) -> Result<(BTreeMap<String, ObservedParameter>, ParameterUsage), AwsError> {
    let (values, tiers) = tokio::join!(
        aws.parameters_by_path(prefix.trim_end_matches('/')),
        aws.parameter_tiers()
    );
    let mut usage = ParameterUsage::default();
    let mut ours: BTreeMap<String, Tier> = BTreeMap::new();
    for info in tiers? {
        if info.name.starts_with(prefix) {
            ours.insert(info.name, info.tier);
        } else if info.tier == Tier::Advanced {
            usage.advanced_elsewhere += 1;
        } else {
            usage.standard_elsewhere += 1;
        }
    }
    let parameters = values?
        .into_iter()
        // Only what spa owns, whatever the backend returned.
        .filter(|p| p.name.starts_with(prefix))
        .map(|p| {
            // The emulator echoes "intelligent-tiering": judged by size there.
            let tier = ours
                .get(&p.name)
                .copied()
                .filter(|t| *t != Tier::IntelligentTiering);
            (
                p.name,
                ObservedParameter {
                    value: p.value,
                    version: p.version,
                    tier,
                },
            )
        })
        .collect();
    Ok((parameters, usage))
}

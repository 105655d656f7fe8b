//! A parameter store in memory, with the tiers and quotas of SSM: a standard parameter holds
//! 4 KB, an account and region hold 10,000 standard parameters (`ParameterLimitExceeded`
//! beyond) and 100,000 advanced ones, an advanced parameter never becomes standard again,
//! and intelligent-tiering makes a parameter standard when it fits and advanced otherwise.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Behaviour, SSM_PAGE, paginate};
use crate::parameters::{ADVANCED_QUOTA, STANDARD_QUOTA, STANDARD_VALUE_LIMIT};
use crate::{AwsError, ErrorKind, Page, Parameter, ParameterInfo, Parameters, Tier, api};

/// DescribeParameters answers at most 50 a page.
const DESCRIBE_PAGE: usize = 50;

#[derive(Debug)]
struct Store {
    parameters: BTreeMap<String, (String, Tier, i64)>,
    standard_quota: usize,
}

/// A parameter store in memory.
#[derive(Debug)]
pub struct FakeParameters {
    store: Mutex<Store>,
    pub behaviour: Behaviour,
}

impl Default for FakeParameters {
    fn default() -> Self {
        FakeParameters::new(Behaviour::default())
    }
}

impl FakeParameters {
    pub fn new(behaviour: Behaviour) -> FakeParameters {
        FakeParameters {
            store: Mutex::new(Store {
                parameters: BTreeMap::new(),
                standard_quota: STANDARD_QUOTA,
            }),
            behaviour,
        }
    }

    /// A smaller standard-tier quota, for tests that fill it.
    pub fn with_standard_quota(self, quota: usize) -> FakeParameters {
        self.store().standard_quota = quota;
        self
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A standard parameter written by someone else.
    pub fn insert(&self, name: &str, value: &str) {
        let mut store = self.store();
        let version = store.parameters.get(name).map_or(1, |(_, _, v)| v + 1);
        store.parameters.insert(
            name.to_string(),
            (value.to_string(), Tier::Standard, version),
        );
    }

    /// The value and the tier a parameter is in.
    pub fn get(&self, name: &str) -> Option<(String, Tier)> {
        self.store()
            .parameters
            .get(name)
            .map(|(v, t, _)| (v.clone(), *t))
    }

    /// Parameters per tier.
    pub fn count(&self, tier: Tier) -> usize {
        self.store()
            .parameters
            .values()
            .filter(|(_, t, _)| *t == tier)
            .count()
    }
}

fn refused(kind: ErrorKind, code: &str, message: String) -> AwsError {
    AwsError::new(api::PUT_PARAMETER, kind, code, message)
}

#[async_trait]
impl Parameters for FakeParameters {
    async fn get_parameters_by_path(
        &self,
        path: &str,
        next_token: Option<String>,
    ) -> Result<Page<Parameter>, AwsError> {
        self.behaviour
            .enter(api::GET_PARAMETERS_BY_PATH, path)
            .await?;
        let prefix = if path.ends_with('/') {
            path.to_string()
        } else {
            format!("{path}/")
        };
        let store = self.store();
        let matching: Vec<Parameter> = store
            .parameters
            .iter()
            .filter(|(name, _)| name.starts_with(&prefix))
            .map(|(name, (value, _, version))| Parameter {
                name: name.clone(),
                value: value.clone(),
                version: *version,
            })
            .collect();
        Ok(paginate(&matching, next_token, SSM_PAGE))
    }

    async fn put_parameter(&self, name: &str, value: &str, tier: Tier) -> Result<(), AwsError> {
        self.behaviour.enter(api::PUT_PARAMETER, name).await?;
        let mut store = self.store();
        let current = store.parameters.get(name).map(|(_, t, v)| (*t, *v));
        let count = |tier: Tier| {
            store
                .parameters
                .iter()
                .filter(|(n, (_, t, _))| *t == tier && n.as_str() != name)
                .count()
        };
        let fits = value.len() <= STANDARD_VALUE_LIMIT;
        let room = count(Tier::Standard) < store.standard_quota;
        let was_advanced = current.is_some_and(|(t, _)| t == Tier::Advanced);
        let tier = match tier {
            Tier::IntelligentTiering if fits && room && !was_advanced => Tier::Standard,
            Tier::IntelligentTiering => Tier::Advanced,
            other => other,
        };
        if tier == Tier::Standard {
            if was_advanced {
                return Err(refused(
                    ErrorKind::Terminal,
                    "ValidationException",
                    format!("{name} is an advanced parameter: it cannot become standard"),
                ));
            }
            if !fits {
                return Err(refused(
                    ErrorKind::Terminal,
                    "ValidationException",
                    format!("a standard parameter holds at most {STANDARD_VALUE_LIMIT} bytes"),
                ));
            }
            if !room {
                return Err(refused(
                    ErrorKind::Quota,
                    "ParameterLimitExceeded",
                    "You have exceeded the number of parameters for this AWS account".to_string(),
                ));
            }
        } else if count(Tier::Advanced) >= ADVANCED_QUOTA {
            return Err(refused(
                ErrorKind::Quota,
                "ParameterLimitExceeded",
                "You have exceeded the number of advanced parameters for this AWS account"
                    .to_string(),
            ));
        }
        let version = current.map_or(1, |(_, v)| v + 1);
        store
            .parameters
            .insert(name.to_string(), (value.to_string(), tier, version));
        Ok(())
    }

    async fn delete_parameters(&self, names: &[String]) -> Result<(), AwsError> {
        self.behaviour.enter(api::DELETE_PARAMETERS, "").await?;
        let mut store = self.store();
        for name in names {
            store.parameters.remove(name);
        }
        Ok(())
    }

    async fn describe_parameters(
        &self,
        next_token: Option<String>,
    ) -> Result<Page<ParameterInfo>, AwsError> {
        self.behaviour.enter(api::DESCRIBE_PARAMETERS, "").await?;
        let all: Vec<ParameterInfo> = self
            .store()
            .parameters
            .iter()
            .map(|(name, (_, tier, _))| ParameterInfo {
                name: name.clone(),
                tier: *tier,
            })
            .collect();
        Ok(paginate(&all, next_token, DESCRIBE_PAGE))
    }
}

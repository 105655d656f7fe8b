//! A parameter store in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Behaviour, SSM_PAGE, paginate};
use crate::{AwsError, Page, Parameter, Parameters, Tier, api};

/// A parameter store in memory.
#[derive(Debug, Default)]
pub struct FakeParameters {
    parameters: Mutex<BTreeMap<String, (String, Tier, i64)>>,
    pub behaviour: Behaviour,
}

impl FakeParameters {
    pub fn new(behaviour: Behaviour) -> FakeParameters {
        FakeParameters {
            parameters: Mutex::default(),
            behaviour,
        }
    }

    pub fn insert(&self, name: &str, value: &str) {
        let mut parameters = self.parameters.lock().unwrap_or_else(|p| p.into_inner());
        let version = parameters.get(name).map_or(1, |(_, _, v)| v + 1);
        parameters.insert(
            name.to_string(),
            (value.to_string(), Tier::Standard, version),
        );
    }

    pub fn get(&self, name: &str) -> Option<(String, Tier)> {
        let parameters = self.parameters.lock().unwrap_or_else(|p| p.into_inner());
        parameters.get(name).map(|(v, t, _)| (v.clone(), *t))
    }
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
        let parameters = self.parameters.lock().unwrap_or_else(|p| p.into_inner());
        let matching: Vec<Parameter> = parameters
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
        let mut parameters = self.parameters.lock().unwrap_or_else(|p| p.into_inner());
        let version = parameters.get(name).map_or(1, |(_, _, v)| v + 1);
        parameters.insert(name.to_string(), (value.to_string(), tier, version));
        Ok(())
    }

    async fn delete_parameters(&self, names: &[String]) -> Result<(), AwsError> {
        self.behaviour.enter(api::DELETE_PARAMETERS, "").await?;
        let mut parameters = self.parameters.lock().unwrap_or_else(|p| p.into_inner());
        for name in names {
            parameters.remove(name);
        }
        Ok(())
    }
}

//! SSM Parameter Store of the automation account and region.

use async_trait::async_trait;

use crate::{Aws, AwsError, Page, Parameter, Tier, api};

/// The backend of SSM Parameter Store.
#[async_trait]
pub trait Parameters: Send + Sync {
    /// One page (at most 10 parameters) under `path`, recursively.
    async fn get_parameters_by_path(
        &self,
        path: &str,
        next_token: Option<String>,
    ) -> Result<Page<Parameter>, AwsError>;
    async fn put_parameter(&self, name: &str, value: &str, tier: Tier) -> Result<(), AwsError>;
    /// At most 10 names per call.
    async fn delete_parameters(&self, names: &[String]) -> Result<(), AwsError>;
}

impl Aws {
    /// Every parameter under `path`, recursively.
    pub async fn parameters_by_path(&self, path: &str) -> Result<Vec<Parameter>, AwsError> {
        let ssm = &self.backends.parameters;
        self.all_pages(api::GET_PARAMETERS_BY_PATH, |t| {
            ssm.get_parameters_by_path(path, t)
        })
        .await
    }

    /// Creates or overwrites a String parameter.
    pub async fn put_parameter(&self, name: &str, value: &str, tier: Tier) -> Result<(), AwsError> {
        let ssm = &self.backends.parameters;
        self.call(api::PUT_PARAMETER, || ssm.put_parameter(name, value, tier))
            .await
    }

    /// Deletes at most 10 parameters.
    pub async fn delete_parameters(&self, names: &[String]) -> Result<(), AwsError> {
        let ssm = &self.backends.parameters;
        self.call(api::DELETE_PARAMETERS, || ssm.delete_parameters(names))
            .await
    }
}

//! SSM Parameter Store of the automation account and region.

use async_trait::async_trait;

use crate::{Aws, AwsError, Page, Parameter, ParameterInfo, Tier, api};

/// Standard parameters an account holds in a region (not adjustable).
pub const STANDARD_QUOTA: usize = 10_000;
/// Advanced parameters an account holds in a region.
pub const ADVANCED_QUOTA: usize = 100_000;
/// What one advanced parameter costs a month, in USD (standard ones are free).
pub const ADVANCED_MONTHLY_USD: f64 = 0.05;
/// The largest value of a standard parameter.
pub const STANDARD_VALUE_LIMIT: usize = 4096;

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
    /// One page (at most 50) of the names and tiers of every parameter of the account and
    /// region, whoever made them.
    async fn describe_parameters(
        &self,
        next_token: Option<String>,
    ) -> Result<Page<ParameterInfo>, AwsError>;
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

    /// The name and tier of every parameter of the account and region (metadata only: the
    /// standard-tier quota counts them all).
    pub async fn parameter_tiers(&self) -> Result<Vec<ParameterInfo>, AwsError> {
        let ssm = &self.backends.parameters;
        self.all_pages(api::DESCRIBE_PARAMETERS, |t| ssm.describe_parameters(t))
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

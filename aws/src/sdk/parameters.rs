//! SSM Parameter Store on the SDK.

use async_trait::async_trait;

use super::{classify, next, text};
use crate::{AwsError, Page, Parameter, ParameterInfo, Parameters, Tier, api};

pub(crate) struct SdkParameters {
    pub(crate) client: aws_sdk_ssm::Client,
}

#[async_trait]
impl Parameters for SdkParameters {
    async fn get_parameters_by_path(
        &self,
        path: &str,
        next_token: Option<String>,
    ) -> Result<Page<Parameter>, AwsError> {
        let output = self
            .client
            .get_parameters_by_path()
            .path(path)
            .recursive(true)
            .max_results(10)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::GET_PARAMETERS_BY_PATH, e))?;
        Ok(Page {
            items: output
                .parameters()
                .iter()
                .map(|p| Parameter {
                    name: text(p.name()),
                    value: text(p.value()),
                    version: p.version(),
                })
                .collect(),
            next_token: next(output.next_token()),
        })
    }
    async fn put_parameter(&self, name: &str, value: &str, tier: Tier) -> Result<(), AwsError> {
        let tier = match tier {
            Tier::Standard => aws_sdk_ssm::types::ParameterTier::Standard,
            Tier::Advanced => aws_sdk_ssm::types::ParameterTier::Advanced,
            Tier::IntelligentTiering => aws_sdk_ssm::types::ParameterTier::IntelligentTiering,
        };
        self.client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .tier(tier)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| classify(api::PUT_PARAMETER, e))?;
        Ok(())
    }

    async fn delete_parameters(&self, names: &[String]) -> Result<(), AwsError> {
        self.client
            .delete_parameters()
            .set_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| classify(api::DELETE_PARAMETERS, e))?;
        Ok(())
    }

    async fn describe_parameters(
        &self,
        next_token: Option<String>,
    ) -> Result<Page<ParameterInfo>, AwsError> {
        let output = self
            .client
            .describe_parameters()
            .max_results(50)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::DESCRIBE_PARAMETERS, e))?;
        Ok(Page {
            items: output
                .parameters()
                .iter()
                .map(|p| ParameterInfo {
                    name: text(p.name()),
                    tier: match p.tier() {
                        Some(aws_sdk_ssm::types::ParameterTier::Advanced) => Tier::Advanced,
                        // AWS answers what a parameter is; the emulator echoes the request.
                        Some(aws_sdk_ssm::types::ParameterTier::IntelligentTiering) => {
                            Tier::IntelligentTiering
                        }
                        _ => Tier::Standard,
                    },
                })
                .collect(),
            next_token: next(output.next_token()),
        })
    }
}

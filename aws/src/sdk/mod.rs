//! The real implementations of our traits, on the official AWS SDK. Clients come from the
//! standard configuration chain (environment, profiles, SSO, instance and container roles)
//! and honour `AWS_ENDPOINT_URL` (or `--endpoint-url`) for the local emulator.
//! Organizations is always called in us-east-1. The SDK's own retries are off: our policy
//! in [`crate::Aws`] retries, so that counts and limits see every attempt.
//!
//! One file per service; the clients are private to this crate.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::{Api, Aws, AwsError, Backends, ErrorKind, Limiters};

#[cfg(test)]
mod capture;
mod costs;
mod events;
mod incidents;
mod leases;
mod mail;
mod members;
mod monitoring;
mod objects;
mod organizations;
mod parameters;
mod policies;
mod queues;
mod records;
mod topics;

/// Where and as whom to call AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// Overrides every service endpoint (the emulator); else `AWS_ENDPOINT_URL`, else AWS.
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    /// Role assumed for Organizations (`automation.role_arn_to_manage_accounts`), and the
    /// first link of the chain into member accounts.
    pub management_role_arn: Option<String>,
    /// Role assumed in each member account (`automation.role_name_to_manage_codebuild`),
    /// from the management role when there is one: the default `AWSControlTowerExecution`
    /// trusts the management account only.
    pub member_role_name: Option<String>,
    /// Static credentials (access key id, secret) instead of the chain: for the local
    /// emulator, which accepts any.
    pub static_credentials: Option<(String, String)>,
}

impl AwsOptions {
    /// Options for the local emulator at `endpoint`.
    pub fn emulator(endpoint: &str) -> AwsOptions {
        AwsOptions {
            endpoint_url: Some(endpoint.to_string()),
            region: Some("eu-west-1".to_string()),
            static_credentials: Some(("testing".to_string(), "testing".to_string())),
            ..AwsOptions::default()
        }
    }
}

/// The shared SDK configuration: credentials chain, region, endpoint, timeouts, no SDK retries.
pub async fn sdk_config(options: &AwsOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some((key, secret)) = &options.static_credentials {
        loader = loader.credentials_provider(aws_credential_types::Credentials::new(
            key.clone(),
            secret.clone(),
            None,
            None,
            "spa-static",
        ));
    }
    let config = loader.load().await;
    if config.region().is_none() {
        // Organizations and STS work from any region; SSM needs one. us-east-1 as a last resort.
        return config
            .into_builder()
            .region(Region::new("us-east-1"))
            .build();
    }
    config
}

/// Credentials of an assumed role, refreshed before they expire. Chained sessions last at
/// most one hour, so that is what we ask for.
pub async fn assume_role(base: &SdkConfig, role_arn: &str, session_name: &str) -> SdkConfig {
    let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
        .session_name(session_name)
        .session_length(Duration::from_secs(3600))
        .configure(base)
        .build()
        .await;
    base.clone()
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}

/// The role spa assumes in member accounts when settings name none.
pub const DEFAULT_MEMBER_ROLE: &str = "AWSControlTowerExecution";

/// Builds [`Aws`] on the SDK. Clients are lazy: nothing is called before the first
/// operation (assumed roles included).
pub async fn connect(options: &AwsOptions, limiters: Arc<Limiters>) -> Aws {
    let base = sdk_config(options).await;
    let management = match &options.management_role_arn {
        Some(arn) => assume_role(&base, arn, "spa-organizations").await,
        None => base.clone(),
    };
    let organizations_config = aws_sdk_organizations::config::Builder::from(&management)
        .region(Region::new("us-east-1"))
        .build();
    let organizations = Arc::new(organizations::SdkOrganizations {
        client: aws_sdk_organizations::Client::from_conf(organizations_config),
    });
    // Cost Explorer answers in us-east-1, with the organization's data to the management
    // account only.
    let costs_config = aws_sdk_costexplorer::config::Builder::from(&management)
        .region(Region::new("us-east-1"))
        .build();
    let backends = Backends {
        organizations: organizations.clone(),
        policies: organizations,
        parameters: Arc::new(parameters::SdkParameters {
            client: aws_sdk_ssm::Client::new(&base),
        }),
        members: Arc::new(members::SdkMembers::new(
            management,
            options
                .member_role_name
                .as_deref()
                .unwrap_or(DEFAULT_MEMBER_ROLE),
        )),
        events: Arc::new(events::SdkEvents {
            client: aws_sdk_eventbridge::Client::new(&base),
        }),
        queues: Arc::new(queues::SdkQueues {
            client: aws_sdk_sqs::Client::new(&base),
        }),
        leases: Arc::new(leases::SdkLeases {
            client: aws_sdk_dynamodb::Client::new(&base),
        }),
        topics: Arc::new(topics::SdkTopics {
            client: aws_sdk_sns::Client::new(&base),
        }),
        incidents: Arc::new(incidents::SdkIncidents {
            client: aws_sdk_ssmincidents::Client::new(&base),
        }),
        records: Arc::new(records::SdkRecords {
            client: aws_sdk_dynamodb::Client::new(&base),
        }),
        objects: Arc::new(objects::SdkObjects {
            client: s3_client(&base),
        }),
        monitoring: Arc::new(monitoring::SdkMonitoring {
            client: aws_sdk_cloudwatch::Client::new(&base),
        }),
        costs: Arc::new(costs::SdkCosts {
            client: aws_sdk_costexplorer::Client::from_conf(costs_config),
        }),
        mail: Arc::new(mail::SdkMail {
            client: aws_sdk_sesv2::Client::new(&base),
        }),
    };
    Aws::new(backends, limiters)
}

/// S3 with path-style addressing when an endpoint is given (the emulator on 127.0.0.1
/// cannot answer virtual-hosted bucket names).
fn s3_client(base: &SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(base)
        .force_path_style(base.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Turns an SDK error into ours: kind, AWS code, and a message with the whole cause chain.
/// The text between `<tag>` and `</tag>`.
fn element<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + body[start..].find(&format!("</{tag}>"))?;
    Some(body[start..end].trim())
}

/// The code and message of an error body in another shape than the protocol's (an XML
/// error wrapped in `<Errors>`, say), or the start of the body.
fn unparsed_error(body: &str) -> (String, String) {
    let code = element(body, "Code").unwrap_or_default().to_string();
    let message = match element(body, "Message") {
        Some(message) => message.to_string(),
        None => body.chars().take(300).collect(),
    };
    (code, message)
}

pub(crate) fn classify<E>(api: Api, error: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    match &error {
        SdkError::ServiceError(context) => {
            let mut code = context.err().code().unwrap_or_default().to_string();
            let status = context.raw().status().as_u16();
            let mut message = context.err().message().unwrap_or_default().to_string();
            if code.is_empty() && message.is_empty() {
                // A body the SDK could not read as this protocol's error: what it says
                // (which names the denied action) is still the best explanation.
                let body = context.raw().body().bytes().unwrap_or_default();
                (code, message) = unparsed_error(&String::from_utf8_lossy(body));
            }
            AwsError::new(
                api,
                crate::error::kind_of_code(&code, Some(status)),
                code,
                message,
            )
        }
        SdkError::TimeoutError(_) => AwsError::new(
            api,
            ErrorKind::Transient,
            "Timeout",
            "the request timed out",
        ),
        SdkError::ResponseError(context) if context.raw().status().as_u16() >= 400 => {
            // An error the SDK could not read (a body in another protocol's shape): its
            // status and its text still say what happened.
            let status = context.raw().status().as_u16();
            let body = context.raw().body().bytes().unwrap_or_default();
            let (code, message) = unparsed_error(&String::from_utf8_lossy(body));
            AwsError::new(
                api,
                crate::error::kind_of_code(&code, Some(status)),
                code,
                message,
            )
        }
        SdkError::ResponseError(_) => AwsError::new(
            api,
            ErrorKind::Transient,
            "ResponseError",
            DisplayErrorContext(&error).to_string(),
        ),
        SdkError::DispatchFailure(failure) => {
            let message = DisplayErrorContext(&error).to_string();
            let kind = if failure.is_timeout() {
                ErrorKind::Transient
            } else if message.contains("credentials") {
                ErrorKind::AccessDenied
            } else if failure.is_io() {
                ErrorKind::Unreachable
            } else {
                ErrorKind::Terminal
            };
            AwsError::new(api, kind, "DispatchFailure", message)
        }
        _ => {
            let message = DisplayErrorContext(&error).to_string();
            let kind = if message.contains("credentials") {
                ErrorKind::AccessDenied
            } else {
                ErrorKind::Terminal
            };
            AwsError::new(api, kind, "", message)
        }
    }
}

pub(crate) fn text(value: Option<&str>) -> String {
    value.unwrap_or_default().to_string()
}

pub(crate) fn next(token: Option<&str>) -> Option<String> {
    token.filter(|t| !t.is_empty()).map(str::to_string)
}

pub(crate) fn built<T>(
    api: Api,
    result: Result<T, aws_smithy_types::error::operation::BuildError>,
) -> Result<T, AwsError> {
    result.map_err(|e| AwsError::new(api, ErrorKind::Terminal, "", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::unparsed_error;

    #[test]
    fn an_error_body_in_another_shape_still_gives_its_code_and_message() {
        let body = "<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User: arn:aws:sts::1:assumed-role/R/s is not authorized to perform: iam:CreateRole</Message></Error></Errors></ErrorResponse>";
        assert_eq!(
            unparsed_error(body),
            (
                "AccessDenied".to_string(),
                "User: arn:aws:sts::1:assumed-role/R/s is not authorized to perform: iam:CreateRole"
                    .to_string()
            )
        );
        assert_eq!(unparsed_error("nope"), (String::new(), "nope".to_string()));
    }
}

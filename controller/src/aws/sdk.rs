//! The real implementations of our traits, on the official AWS SDK. Clients come from the
//! standard configuration chain (environment, profiles, SSO, instance and container roles)
//! and honour `AWS_ENDPOINT_URL` (or `--endpoint-url`) for the local emulator.
//! Organizations is always called in us-east-1. The SDK's own retries are off: our policy
//! in [`super::Aws::call`] retries, so that counts and limits see every attempt.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{
    Account, AccountBuilds, Aws, AwsError, BuildInfo, BuildStatus, Builds, ErrorKind, EventEntry,
    Events, LeaseStore, Limiters, OrganizationalUnit, OrganizationsRead, OrganizationsWrite, Page,
    Parameter, ParametersRead, ParametersWrite, Parent, ProjectSpec, Queue, QueueMessage, Root,
    Tag, Tier, api,
};

/// Where and as whom to call AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// Overrides every service endpoint (the emulator); else `AWS_ENDPOINT_URL`, else AWS.
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    /// Role assumed for Organizations (`automation.role_arn_to_manage_accounts`).
    pub management_role_arn: Option<String>,
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

/// Builds [`Aws`] on the SDK.
pub async fn connect(options: &AwsOptions, limiters: Arc<Limiters>) -> Aws {
    let base = sdk_config(options).await;
    let management = match &options.management_role_arn {
        Some(arn) => assume_role(&base, arn, "spa-organizations").await,
        None => base.clone(),
    };
    let organizations_config = aws_sdk_organizations::config::Builder::from(&management)
        .region(Region::new("us-east-1"))
        .build();
    let organizations = Arc::new(SdkOrganizations {
        client: aws_sdk_organizations::Client::from_conf(organizations_config),
    });
    let parameters = Arc::new(SdkParameters {
        client: aws_sdk_ssm::Client::new(&base),
    });
    Aws::new(organizations, parameters, limiters)
}

/// Turns an SDK error into ours: kind, AWS code, and a message with the whole cause chain.
pub fn classify<E>(api: &'static str, error: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    match &error {
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or_default().to_string();
            let status = context.raw().status().as_u16();
            let message = context.err().message().unwrap_or_default().to_string();
            AwsError::new(
                api,
                super::error::kind_of_code(&code, Some(status)),
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

fn text(value: Option<&str>) -> String {
    value.unwrap_or_default().to_string()
}

fn next(token: Option<&str>) -> Option<String> {
    token.filter(|t| !t.is_empty()).map(str::to_string)
}

fn account(account: &aws_sdk_organizations::types::Account) -> Account {
    Account {
        id: text(account.id()),
        name: text(account.name()),
        email: text(account.email()),
        #[allow(deprecated)] // `state` replaces `status`, but the emulator only fills `status`
        status: account
            .state()
            .map(|s| s.as_str().to_string())
            .or_else(|| account.status().map(|s| s.as_str().to_string()))
            .unwrap_or_default(),
    }
}

pub struct SdkOrganizations {
    pub client: aws_sdk_organizations::Client,
}

#[async_trait]
impl OrganizationsRead for SdkOrganizations {
    async fn list_roots(&self, next_token: Option<String>) -> Result<Page<Root>, AwsError> {
        let output = self
            .client
            .list_roots()
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::LIST_ROOTS, e))?;
        Ok(Page {
            items: output
                .roots()
                .iter()
                .map(|r| Root { id: text(r.id()) })
                .collect(),
            next_token: next(output.next_token()),
        })
    }

    async fn describe_organizational_unit(&self, id: &str) -> Result<OrganizationalUnit, AwsError> {
        let output = self
            .client
            .describe_organizational_unit()
            .organizational_unit_id(id)
            .send()
            .await
            .map_err(|e| classify(api::DESCRIBE_ORGANIZATIONAL_UNIT, e))?;
        let unit = output.organizational_unit();
        Ok(OrganizationalUnit {
            id: text(unit.and_then(|u| u.id())),
            name: text(unit.and_then(|u| u.name())),
        })
    }

    async fn list_organizational_units_for_parent(
        &self,
        parent: &str,
        next_token: Option<String>,
    ) -> Result<Page<OrganizationalUnit>, AwsError> {
        let output = self
            .client
            .list_organizational_units_for_parent()
            .parent_id(parent)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::LIST_ORGANIZATIONAL_UNITS_FOR_PARENT, e))?;
        Ok(Page {
            items: output
                .organizational_units()
                .iter()
                .map(|u| OrganizationalUnit {
                    id: text(u.id()),
                    name: text(u.name()),
                })
                .collect(),
            next_token: next(output.next_token()),
        })
    }

    async fn list_accounts_for_parent(
        &self,
        parent: &str,
        next_token: Option<String>,
    ) -> Result<Page<Account>, AwsError> {
        let output = self
            .client
            .list_accounts_for_parent()
            .parent_id(parent)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::LIST_ACCOUNTS_FOR_PARENT, e))?;
        Ok(Page {
            items: output.accounts().iter().map(account).collect(),
            next_token: next(output.next_token()),
        })
    }

    async fn list_tags_for_resource(
        &self,
        id: &str,
        next_token: Option<String>,
    ) -> Result<Page<Tag>, AwsError> {
        let output = self
            .client
            .list_tags_for_resource()
            .resource_id(id)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::LIST_TAGS_FOR_RESOURCE, e))?;
        Ok(Page {
            items: output
                .tags()
                .iter()
                .map(|t| Tag {
                    key: t.key().to_string(),
                    value: t.value().to_string(),
                })
                .collect(),
            next_token: next(output.next_token()),
        })
    }

    async fn describe_account(&self, id: &str) -> Result<Account, AwsError> {
        let output = self
            .client
            .describe_account()
            .account_id(id)
            .send()
            .await
            .map_err(|e| classify(api::DESCRIBE_ACCOUNT, e))?;
        output.account().map(account).ok_or_else(|| {
            AwsError::new(
                api::DESCRIBE_ACCOUNT,
                ErrorKind::NotFound,
                "",
                format!("no account {id}"),
            )
        })
    }

    async fn list_parents(
        &self,
        child: &str,
        next_token: Option<String>,
    ) -> Result<Page<Parent>, AwsError> {
        let output = self
            .client
            .list_parents()
            .child_id(child)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::LIST_PARENTS, e))?;
        Ok(Page {
            items: output
                .parents()
                .iter()
                .map(|p| Parent {
                    id: text(p.id()),
                    kind: p
                        .r#type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                })
                .collect(),
            next_token: next(output.next_token()),
        })
    }
}

#[async_trait]
impl OrganizationsWrite for SdkOrganizations {
    async fn tag_resource(&self, id: &str, tags: &[Tag]) -> Result<(), AwsError> {
        let mut request = self.client.tag_resource().resource_id(id);
        for tag in tags {
            let tag = aws_sdk_organizations::types::Tag::builder()
                .key(&tag.key)
                .value(&tag.value)
                .build()
                .map_err(|e| {
                    AwsError::new(api::TAG_RESOURCE, ErrorKind::Terminal, "", e.to_string())
                })?;
            request = request.tags(tag);
        }
        request
            .send()
            .await
            .map_err(|e| classify(api::TAG_RESOURCE, e))?;
        Ok(())
    }

    async fn untag_resource(&self, id: &str, keys: &[String]) -> Result<(), AwsError> {
        self.client
            .untag_resource()
            .resource_id(id)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| classify(api::UNTAG_RESOURCE, e))?;
        Ok(())
    }
}

pub struct SdkParameters {
    pub client: aws_sdk_ssm::Client,
}

#[async_trait]
impl ParametersRead for SdkParameters {
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
}

#[async_trait]
impl ParametersWrite for SdkParameters {
    async fn put_parameter(&self, name: &str, value: &str, tier: Tier) -> Result<(), AwsError> {
        let tier = match tier {
            Tier::Standard => aws_sdk_ssm::types::ParameterTier::Standard,
            Tier::Advanced => aws_sdk_ssm::types::ParameterTier::Advanced,
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
}

/// The controller's lease in a DynamoDB table (partition key `lease`, a string).
pub struct SdkLease {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

impl SdkLease {
    pub async fn new(options: &AwsOptions, table: &str) -> SdkLease {
        let config = sdk_config(options).await;
        SdkLease {
            client: aws_sdk_dynamodb::Client::new(&config),
            table: table.to_string(),
        }
    }
}

fn is_condition_failure<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    matches!(error, SdkError::ServiceError(context) if context.err().code() == Some("ConditionalCheckFailedException"))
}

#[async_trait]
impl LeaseStore for SdkLease {
    async fn acquire(
        &self,
        lease: &str,
        holder: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, AwsError> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("lease", AttributeValue::S(lease.to_string()))
            .item("holder", AttributeValue::S(holder.to_string()))
            .item("expires_at", AttributeValue::N(expires_at.to_string()))
            .condition_expression(
                "attribute_not_exists(lease) OR expires_at < :now OR holder = :me",
            )
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":me", AttributeValue::S(holder.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => {
                let mut error = classify(api::PUT_ITEM, error);
                if error.code == "ResourceNotFoundException" {
                    error.message = format!(
                        "the lease table `{}` does not exist: create it (docs/controller.md), or run without --lease-table",
                        self.table
                    );
                    error.kind = ErrorKind::Terminal;
                }
                Err(error)
            }
        }
    }

    async fn release(&self, lease: &str, holder: &str) -> Result<(), AwsError> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("lease", AttributeValue::S(lease.to_string()))
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", AttributeValue::S(holder.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_condition_failure(&error) => Ok(()),
            Err(error) => Err(classify(api::DELETE_ITEM, error)),
        }
    }
}

/// Creates the lease table (for the local emulator and first installs; docs/controller.md).
pub async fn create_lease_table(options: &AwsOptions, table: &str) -> Result<(), AwsError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let config = sdk_config(options).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let result = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("lease")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| {
                    AwsError::new("CreateTable", ErrorKind::Terminal, "", e.to_string())
                })?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("lease")
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| {
                    AwsError::new("CreateTable", ErrorKind::Terminal, "", e.to_string())
                })?,
        )
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(error) => {
            let error = classify("CreateTable", error);
            if error.code == "ResourceInUseException" {
                Ok(())
            } else {
                Err(error)
            }
        }
    }
}

fn built<T>(
    api: &'static str,
    result: Result<T, aws_smithy_types::error::operation::BuildError>,
) -> Result<T, AwsError> {
    result.map_err(|e| AwsError::new(api, ErrorKind::Terminal, "", e.to_string()))
}

/// CodeBuild and IAM inside one managed account.
pub struct SdkBuilds {
    pub codebuild: aws_sdk_codebuild::Client,
    pub iam: aws_sdk_iam::Client,
}

impl SdkBuilds {
    /// Clients in `account`, through `role_name` assumed from `base` (refreshed credentials).
    pub async fn in_account(base: &SdkConfig, account: &str, role_name: &str) -> SdkBuilds {
        let config = assume_role(
            base,
            &format!("arn:aws:iam::{account}:role/{role_name}"),
            "spa-lifecycle",
        )
        .await;
        SdkBuilds {
            codebuild: aws_sdk_codebuild::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
        }
    }
}

/// What the life cycle needs besides [`Aws`]: CodeBuild in each managed account (through
/// `role_name`, assumed from the controller's identity) and the automation account's bus.
pub async fn lifecycle_clients(
    options: &AwsOptions,
    role_name: &str,
) -> (Arc<dyn AccountBuilds>, Arc<dyn Events>) {
    let base = sdk_config(options).await;
    let events = Arc::new(SdkEvents {
        client: aws_sdk_eventbridge::Client::new(&base),
    });
    (Arc::new(SdkAccountBuilds::new(base, role_name)), events)
}

/// The SQS queue the EventBridge rules feed.
pub async fn queue(options: &AwsOptions, url: &str) -> Arc<dyn Queue> {
    let base = sdk_config(options).await;
    Arc::new(SdkQueue {
        client: aws_sdk_sqs::Client::new(&base),
        url: url.to_string(),
    })
}

/// CodeBuild clients per managed account, through `role_name` assumed from the controller's
/// own identity; made once per account (the SDK refreshes the credentials).
pub struct SdkAccountBuilds {
    base: SdkConfig,
    role_name: String,
    clients: tokio::sync::Mutex<std::collections::HashMap<String, Arc<SdkBuilds>>>,
}

impl SdkAccountBuilds {
    pub fn new(base: SdkConfig, role_name: &str) -> SdkAccountBuilds {
        SdkAccountBuilds {
            base,
            role_name: role_name.to_string(),
            clients: Default::default(),
        }
    }
}

#[async_trait]
impl AccountBuilds for SdkAccountBuilds {
    async fn builds_in(&self, account: &str) -> Result<Arc<dyn Builds>, AwsError> {
        let mut clients = self.clients.lock().await;
        if let Some(builds) = clients.get(account) {
            return Ok(builds.clone());
        }
        let builds = Arc::new(SdkBuilds::in_account(&self.base, account, &self.role_name).await);
        clients.insert(account.to_string(), builds.clone());
        Ok(builds)
    }
}

const CODEBUILD_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

#[async_trait]
impl Builds for SdkBuilds {
    async fn ensure_service_role(&self, role_name: &str) -> Result<String, AwsError> {
        let existing = self.iam.get_role().role_name(role_name).send().await.ok();
        if let Some(role) = existing.as_ref().and_then(|o| o.role()) {
            return Ok(role.arn().to_string());
        }
        let output = self
            .iam
            .create_role()
            .role_name(role_name)
            .assume_role_policy_document(CODEBUILD_TRUST)
            .description("Runs the preparation and purge builds of spa")
            .send()
            .await
            .map_err(|e| classify(api::CREATE_ROLE, e))?;
        Ok(output
            .role()
            .map(|r| r.arn().to_string())
            .unwrap_or_default())
    }

    async fn ensure_project(&self, spec: &ProjectSpec) -> Result<(), AwsError> {
        use aws_sdk_codebuild::types::*;
        let mut variables = Vec::new();
        for (name, value) in &spec.environment {
            variables.push(built(
                api::CREATE_PROJECT,
                EnvironmentVariable::builder()
                    .name(name)
                    .value(value)
                    .r#type(EnvironmentVariableType::Plaintext)
                    .build(),
            )?);
        }
        let (kind, image) = if spec.arm {
            (
                EnvironmentType::ArmContainer,
                "aws/codebuild/amazonlinux2-aarch64-standard:3.0",
            )
        } else {
            (
                EnvironmentType::LinuxContainer,
                "aws/codebuild/standard:7.0",
            )
        };
        let environment = built(
            api::CREATE_PROJECT,
            ProjectEnvironment::builder()
                .r#type(kind)
                .image(image)
                .compute_type(ComputeType::BuildGeneral1Small)
                .set_environment_variables(Some(variables))
                .build(),
        )?;
        // A NO_SOURCE project still needs a location for some backends (the emulator).
        let source = built(
            api::CREATE_PROJECT,
            ProjectSource::builder()
                .r#type(SourceType::NoSource)
                .location("no-source")
                .buildspec(&spec.buildspec)
                .build(),
        )?;
        let artifacts = built(
            api::CREATE_PROJECT,
            ProjectArtifacts::builder()
                .r#type(ArtifactsType::NoArtifacts)
                .build(),
        )?;
        let created = self
            .codebuild
            .create_project()
            .name(&spec.name)
            .source(source.clone())
            .artifacts(artifacts.clone())
            .environment(environment.clone())
            .service_role(&spec.service_role_arn)
            .timeout_in_minutes(spec.timeout_minutes)
            .send()
            .await;
        let error = match created {
            Ok(_) => return Ok(()),
            Err(error) => classify(api::CREATE_PROJECT, error),
        };
        if error.code != "ResourceAlreadyExistsException" {
            return Err(error);
        }
        let updated = self
            .codebuild
            .update_project()
            .name(&spec.name)
            .source(source.clone())
            .artifacts(artifacts.clone())
            .environment(environment.clone())
            .service_role(&spec.service_role_arn)
            .timeout_in_minutes(spec.timeout_minutes)
            .send()
            .await;
        if updated.is_ok() {
            return Ok(());
        }
        // Backends without UpdateProject (the emulator): replace the project.
        tracing::debug!(
            project = spec.name,
            "UpdateProject failed: replacing the project"
        );
        self.codebuild
            .delete_project()
            .name(&spec.name)
            .send()
            .await
            .map_err(|e| classify(api::DELETE_PROJECT, e))?;
        self.codebuild
            .create_project()
            .name(&spec.name)
            .source(source)
            .artifacts(artifacts)
            .environment(environment)
            .service_role(&spec.service_role_arn)
            .timeout_in_minutes(spec.timeout_minutes)
            .send()
            .await
            .map_err(|e| classify(api::CREATE_PROJECT, e))?;
        Ok(())
    }

    async fn start_build(
        &self,
        project: &str,
        idempotency_token: &str,
    ) -> Result<String, AwsError> {
        let output = self
            .codebuild
            .start_build()
            .project_name(project)
            .idempotency_token(idempotency_token)
            .send()
            .await
            .map_err(|e| {
                let mut error = classify(api::START_BUILD, e);
                if error.message.contains("Cannot have more than 0 builds in queue") {
                    // New accounts often start with a concurrent-build quota of zero.
                    error.kind = ErrorKind::Throttled;
                    error.message.push_str(" (the account's CodeBuild concurrency quota is 0: request an increase, e.g. through a quota template)");
                }
                error
            })?;
        Ok(output
            .build_value()
            .and_then(|b| b.id())
            .unwrap_or_default()
            .to_string())
    }

    async fn builds(&self, ids: &[String]) -> Result<Vec<BuildInfo>, AwsError> {
        use aws_sdk_codebuild::types::StatusType;
        let output = self
            .codebuild
            .batch_get_builds()
            .set_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| classify(api::BATCH_GET_BUILDS, e))?;
        Ok(output
            .builds()
            .iter()
            .map(|b| BuildInfo {
                id: b.id().unwrap_or_default().to_string(),
                status: match b.build_status() {
                    Some(StatusType::Succeeded) => BuildStatus::Succeeded,
                    Some(StatusType::InProgress) => BuildStatus::InProgress,
                    Some(StatusType::Stopped) => BuildStatus::Stopped,
                    _ => BuildStatus::Failed,
                },
                started_ms: b
                    .start_time()
                    .and_then(|t| t.to_millis().ok())
                    .unwrap_or_default(),
            })
            .collect())
    }

    async fn recent_builds(&self, project: &str) -> Result<Vec<String>, AwsError> {
        let output = self
            .codebuild
            .list_builds_for_project()
            .project_name(project)
            .sort_order(aws_sdk_codebuild::types::SortOrderType::Descending)
            .send()
            .await
            .map_err(|e| classify(api::LIST_BUILDS_FOR_PROJECT, e))?;
        Ok(output.ids().to_vec())
    }

    async fn project_arn(&self, name: &str) -> Result<Option<String>, AwsError> {
        let output = self
            .codebuild
            .batch_get_projects()
            .names(name)
            .send()
            .await
            .map_err(|e| classify(api::BATCH_GET_PROJECTS, e))?;
        Ok(output
            .projects()
            .first()
            .and_then(|p| p.arn())
            .map(str::to_string))
    }
}

pub struct SdkEvents {
    pub client: aws_sdk_eventbridge::Client,
}

#[async_trait]
impl Events for SdkEvents {
    async fn put_events(&self, bus: &str, entries: &[EventEntry]) -> Result<(), AwsError> {
        let mut request = self.client.put_events();
        for entry in entries {
            request = request.entries(
                aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                    .event_bus_name(bus)
                    .source(&entry.source)
                    .detail_type(&entry.detail_type)
                    .detail(entry.detail.to_string())
                    .build(),
            );
        }
        let output = request
            .send()
            .await
            .map_err(|e| classify(api::PUT_EVENTS, e))?;
        if output.failed_entry_count() > 0 {
            let reasons: Vec<String> = output
                .entries()
                .iter()
                .filter_map(|e| e.error_message().map(str::to_string))
                .collect();
            return Err(AwsError::new(
                api::PUT_EVENTS,
                ErrorKind::Transient,
                "FailedEntries",
                reasons.join("; "),
            ));
        }
        Ok(())
    }
}

pub struct SdkQueue {
    pub client: aws_sdk_sqs::Client,
    pub url: String,
}

#[async_trait]
impl Queue for SdkQueue {
    async fn receive(&self, max: i32, wait_seconds: i32) -> Result<Vec<QueueMessage>, AwsError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, 10))
            .wait_time_seconds(wait_seconds.clamp(0, 20))
            .send()
            .await
            .map_err(|e| classify(api::RECEIVE_MESSAGE, e))?;
        Ok(output
            .messages()
            .iter()
            .map(|m| QueueMessage {
                receipt: m.receipt_handle().unwrap_or_default().to_string(),
                body: m.body().unwrap_or_default().to_string(),
            })
            .collect())
    }

    async fn delete(&self, receipt: &str) -> Result<(), AwsError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| classify(api::DELETE_MESSAGE, e))?;
        Ok(())
    }
}

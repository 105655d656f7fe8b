//! Everything that talks to AWS. SDK types never leave this module: above it, code sees our
//! narrow traits ([`OrganizationsRead`], [`ParametersRead`], …) and our data types, so that
//! tests can swap in the fakes of [`fake`], which inject throttling, faults and latency and
//! enforce the published quotas on tokio's clock.
//!
//! Every call goes through [`Aws::call`]: a token bucket per API family, a retry policy
//! that classifies errors, and a counter of calls per API and outcome.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub mod error;
pub mod fake;
pub mod limits;
pub mod metrics;
pub mod sdk;
pub mod seed;

pub use error::{AwsError, ErrorKind};
pub use limits::{Family, Limiters, Quota, RetryPolicy};
pub use metrics::CallCounter;

/// Milliseconds since the epoch. Injected so that fakes and the life cycle share tokio's
/// paused clock in tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    })
}

/// One page of a paginated list and the token of the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationalUnit {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub email: String,
    /// ACTIVE, SUSPENDED, PENDING_CLOSURE.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parent {
    pub id: String,
    /// ROOT or ORGANIZATIONAL_UNIT.
    pub kind: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Standard,
    Advanced,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    pub name: String,
    pub value: String,
    pub version: i64,
}

/// API names, as AWS spells them (they label counters and metrics).
pub mod api {
    pub const LIST_ROOTS: &str = "ListRoots";
    pub const DESCRIBE_ORGANIZATIONAL_UNIT: &str = "DescribeOrganizationalUnit";
    pub const LIST_ORGANIZATIONAL_UNITS_FOR_PARENT: &str = "ListOrganizationalUnitsForParent";
    pub const LIST_ACCOUNTS_FOR_PARENT: &str = "ListAccountsForParent";
    pub const LIST_TAGS_FOR_RESOURCE: &str = "ListTagsForResource";
    pub const DESCRIBE_ACCOUNT: &str = "DescribeAccount";
    pub const LIST_PARENTS: &str = "ListParents";
    pub const TAG_RESOURCE: &str = "TagResource";
    pub const UNTAG_RESOURCE: &str = "UntagResource";
    pub const GET_PARAMETERS_BY_PATH: &str = "GetParametersByPath";
    pub const PUT_PARAMETER: &str = "PutParameter";
    pub const DELETE_PARAMETERS: &str = "DeleteParameters";
    pub const PUT_ITEM: &str = "PutItem";
    pub const CREATE_PROJECT: &str = "CreateProject";
    pub const UPDATE_PROJECT: &str = "UpdateProject";
    pub const DELETE_PROJECT: &str = "DeleteProject";
    pub const START_BUILD: &str = "StartBuild";
    pub const BATCH_GET_BUILDS: &str = "BatchGetBuilds";
    pub const BATCH_GET_PROJECTS: &str = "BatchGetProjects";
    pub const LIST_BUILDS_FOR_PROJECT: &str = "ListBuildsForProject";
    pub const CREATE_ROLE: &str = "CreateRole";
    pub const GET_ROLE: &str = "GetRole";
    pub const PUT_EVENTS: &str = "PutEvents";
    pub const RECEIVE_MESSAGE: &str = "ReceiveMessage";
    pub const DELETE_MESSAGE: &str = "DeleteMessage";
    pub const DELETE_ITEM: &str = "DeleteItem";
}

/// Reads of AWS Organizations (management account, us-east-1).
#[async_trait]
pub trait OrganizationsRead: Send + Sync {
    async fn list_roots(&self, next_token: Option<String>) -> Result<Page<Root>, AwsError>;
    async fn describe_organizational_unit(&self, id: &str) -> Result<OrganizationalUnit, AwsError>;
    async fn list_organizational_units_for_parent(
        &self,
        parent: &str,
        next_token: Option<String>,
    ) -> Result<Page<OrganizationalUnit>, AwsError>;
    async fn list_accounts_for_parent(
        &self,
        parent: &str,
        next_token: Option<String>,
    ) -> Result<Page<Account>, AwsError>;
    async fn list_tags_for_resource(
        &self,
        id: &str,
        next_token: Option<String>,
    ) -> Result<Page<Tag>, AwsError>;
    async fn describe_account(&self, id: &str) -> Result<Account, AwsError>;
    async fn list_parents(
        &self,
        child: &str,
        next_token: Option<String>,
    ) -> Result<Page<Parent>, AwsError>;
}

/// Writes of AWS Organizations: tags only. spa never creates, moves or closes accounts.
#[async_trait]
pub trait OrganizationsWrite: Send + Sync {
    async fn tag_resource(&self, id: &str, tags: &[Tag]) -> Result<(), AwsError>;
    async fn untag_resource(&self, id: &str, keys: &[String]) -> Result<(), AwsError>;
}

/// Reads of SSM Parameter Store (automation account and region).
#[async_trait]
pub trait ParametersRead: Send + Sync {
    /// One page (at most 10 parameters) under `path`, recursively.
    async fn get_parameters_by_path(
        &self,
        path: &str,
        next_token: Option<String>,
    ) -> Result<Page<Parameter>, AwsError>;
}

/// Writes of SSM Parameter Store.
#[async_trait]
pub trait ParametersWrite: Send + Sync {
    async fn put_parameter(&self, name: &str, value: &str, tier: Tier) -> Result<(), AwsError>;
    /// At most 10 names per call.
    async fn delete_parameters(&self, names: &[String]) -> Result<(), AwsError>;
}

/// A CodeBuild project spa keeps inside a managed account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSpec {
    pub name: String,
    pub buildspec: String,
    pub service_role_arn: String,
    /// Plain-text environment variables of every build.
    pub environment: std::collections::BTreeMap<String, String>,
    pub arm: bool,
    pub timeout_minutes: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BuildStatus {
    InProgress,
    Succeeded,
    Failed,
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    pub id: String,
    pub status: BuildStatus,
    /// When the build started, in milliseconds since the epoch (AWS's clock).
    pub started_ms: i64,
}

/// CodeBuild inside one managed account (through the role assumed there).
#[async_trait]
pub trait Builds: Send + Sync {
    /// Creates the service role of the projects if missing; returns its ARN.
    async fn ensure_service_role(&self, role_name: &str) -> Result<String, AwsError>;
    /// Creates the project, or brings it to `spec` (update where the backend supports it,
    /// else delete and create again).
    async fn ensure_project(&self, spec: &ProjectSpec) -> Result<(), AwsError>;
    /// Starts one build. The same `idempotency_token` within five minutes starts no second
    /// build (CodeBuild's guarantee), so a retried call is safe.
    async fn start_build(&self, project: &str, idempotency_token: &str)
    -> Result<String, AwsError>;
    /// The status of builds, at most 100 ids per call.
    async fn builds(&self, ids: &[String]) -> Result<Vec<BuildInfo>, AwsError>;
    /// Build ids of a project, newest first (one page).
    async fn recent_builds(&self, project: &str) -> Result<Vec<String>, AwsError>;
    /// The ARN of a project, if it exists.
    async fn project_arn(&self, name: &str) -> Result<Option<String>, AwsError>;
}

/// CodeBuild in any managed account: the clients of the role assumed there, made once.
#[async_trait]
pub trait AccountBuilds: Send + Sync {
    async fn builds_in(&self, account: &str) -> Result<Arc<dyn Builds>, AwsError>;
}

/// An event for EventBridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventEntry {
    pub source: String,
    pub detail_type: String,
    pub detail: serde_json::Value,
}

/// EventBridge of the automation account.
#[async_trait]
pub trait Events: Send + Sync {
    /// At most 10 entries per call.
    async fn put_events(&self, bus: &str, entries: &[EventEntry]) -> Result<(), AwsError>;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMessage {
    pub receipt: String,
    pub body: String,
}

/// The SQS queue fed by EventBridge rules.
#[async_trait]
pub trait Queue: Send + Sync {
    async fn receive(&self, max: i32, wait_seconds: i32) -> Result<Vec<QueueMessage>, AwsError>;
    async fn delete(&self, receipt: &str) -> Result<(), AwsError>;
}

/// A lease in a table with conditional writes (DynamoDB): one applier at a time.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes or renews `lease` for `holder` until `expires_at` (seconds since the epoch):
    /// succeeds when the lease is free, expired at `now`, or already held by `holder`.
    /// `Ok(false)` when another holder has it.
    async fn acquire(
        &self,
        lease: &str,
        holder: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, AwsError>;
    /// Gives the lease up if `holder` has it (on shutdown, so that a standby takes over at once).
    async fn release(&self, lease: &str, holder: &str) -> Result<(), AwsError>;
}

/// The clients spa uses, and the policy every call goes through. Cheap to clone.
#[derive(Clone)]
pub struct Aws {
    pub organizations: Arc<dyn OrganizationsRead>,
    pub organizations_write: Arc<dyn OrganizationsWrite>,
    pub parameters: Arc<dyn ParametersRead>,
    pub parameters_write: Arc<dyn ParametersWrite>,
    pub limiters: Arc<Limiters>,
    pub retry: RetryPolicy,
    pub calls: Arc<CallCounter>,
    /// Concurrent ListTagsForResource calls: Organizations also refuses bursts of parallel
    /// requests ("another request is already in progress"), so keep it low.
    pub tag_read_concurrency: usize,
}

/// A small deterministic generator for jitter: reproducible runs beat cryptographic quality.
fn jitter() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

impl Aws {
    /// The clients with the default retry policy, fresh counters and `limiters`.
    pub fn new<O, P>(organizations: Arc<O>, parameters: Arc<P>, limiters: Arc<Limiters>) -> Aws
    where
        O: OrganizationsRead + OrganizationsWrite + 'static,
        P: ParametersRead + ParametersWrite + 'static,
    {
        Aws {
            organizations: organizations.clone(),
            organizations_write: organizations,
            parameters: parameters.clone(),
            parameters_write: parameters,
            limiters,
            retry: RetryPolicy::default(),
            calls: Default::default(),
            tag_read_concurrency: 4,
        }
    }

    /// Runs one AWS call under the family's rate limit, retrying what can be retried.
    pub async fn call<T, F, Fut>(
        &self,
        api: &'static str,
        family: Family,
        operation: F,
    ) -> Result<T, AwsError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        self.call_in(api, Some(family), operation).await
    }

    /// Like [`Aws::call`], for APIs whose quotas belong to another account (CodeBuild and
    /// IAM inside each managed account, `None`): retried and counted, not limited here.
    pub async fn call_in<T, F, Fut>(
        &self,
        api: &'static str,
        family: Option<Family>,
        operation: F,
    ) -> Result<T, AwsError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let mut attempt = 1;
        loop {
            if let Some(family) = family {
                self.limiters.take(family).await;
            }
            match operation().await {
                Ok(value) => {
                    self.calls.record(api, "ok");
                    return Ok(value);
                }
                Err(error) => {
                    self.calls.record(api, error.kind.as_str());
                    if !self.retry.retries(error.kind, attempt) {
                        tracing::debug!(
                            api,
                            attempt,
                            kind = error.kind.as_str(),
                            "giving up: {error}"
                        );
                        return Err(error);
                    }
                    let delay = self.retry.delay(attempt, jitter());
                    tracing::debug!(api, attempt, ?delay, kind = error.kind.as_str(), "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Follows NextToken until the end, even where a backend never paginates.
    pub async fn all_pages<T, F, Fut>(
        &self,
        api: &'static str,
        family: Family,
        page: F,
    ) -> Result<Vec<T>, AwsError>
    where
        F: Fn(Option<String>) -> Fut,
        Fut: Future<Output = Result<Page<T>, AwsError>>,
    {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let current = token.clone();
            let result = self.call(api, family, || page(current.clone())).await?;
            items.extend(result.items);
            match result.next_token {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => return Ok(items),
            }
        }
    }

    pub async fn roots(&self) -> Result<Vec<Root>, AwsError> {
        let orgs = self.organizations.clone();
        self.all_pages(api::LIST_ROOTS, Family::OrgListRoots, |t| {
            let orgs = orgs.clone();
            async move { orgs.list_roots(t).await }
        })
        .await
    }

    pub async fn organizational_unit(&self, id: &str) -> Result<OrganizationalUnit, AwsError> {
        self.call(
            api::DESCRIBE_ORGANIZATIONAL_UNIT,
            Family::OrgDescribe,
            || self.organizations.describe_organizational_unit(id),
        )
        .await
    }

    pub async fn accounts_for_parent(&self, parent: &str) -> Result<Vec<Account>, AwsError> {
        let orgs = self.organizations.clone();
        let parent = parent.to_string();
        self.all_pages(api::LIST_ACCOUNTS_FOR_PARENT, Family::OrgListParents, |t| {
            let orgs = orgs.clone();
            let parent = parent.clone();
            async move { orgs.list_accounts_for_parent(&parent, t).await }
        })
        .await
    }

    pub async fn tags(&self, id: &str) -> Result<Vec<Tag>, AwsError> {
        let orgs = self.organizations.clone();
        let id = id.to_string();
        self.all_pages(api::LIST_TAGS_FOR_RESOURCE, Family::OrgListTags, |t| {
            let orgs = orgs.clone();
            let id = id.clone();
            async move { orgs.list_tags_for_resource(&id, t).await }
        })
        .await
    }

    pub async fn account(&self, id: &str) -> Result<Account, AwsError> {
        self.call(api::DESCRIBE_ACCOUNT, Family::OrgDescribe, || {
            self.organizations.describe_account(id)
        })
        .await
    }

    pub async fn parents(&self, child: &str) -> Result<Vec<Parent>, AwsError> {
        let orgs = self.organizations.clone();
        let child = child.to_string();
        self.all_pages(api::LIST_PARENTS, Family::OrgListParents, |t| {
            let orgs = orgs.clone();
            let child = child.clone();
            async move { orgs.list_parents(&child, t).await }
        })
        .await
    }

    pub async fn parameters_by_path(&self, path: &str) -> Result<Vec<Parameter>, AwsError> {
        let ssm = self.parameters.clone();
        let path = path.to_string();
        self.all_pages(api::GET_PARAMETERS_BY_PATH, Family::SsmRead, |t| {
            let ssm = ssm.clone();
            let path = path.clone();
            async move { ssm.get_parameters_by_path(&path, t).await }
        })
        .await
    }
}

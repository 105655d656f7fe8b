//! Data types of our own for what AWS returns and takes: code above this crate never sees
//! an SDK type.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Milliseconds since the epoch. Injected so that fakes and the life cycle share tokio's
/// paused clock in tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
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

/// A tier of SSM Parameter Store. `IntelligentTiering` is what spa asks for, never what a
/// parameter is: AWS then makes it standard when it fits (4 KB, and room under the
/// standard-tier quota) and advanced otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    Standard,
    Advanced,
    IntelligentTiering,
}

/// A parameter's name and tier, without its value (DescribeParameters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterInfo {
    pub name: String,
    pub tier: Tier,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    pub name: String,
    pub value: String,
    pub version: i64,
}

/// A CodeBuild project spa keeps inside a managed account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSpec {
    pub name: String,
    pub buildspec: String,
    pub service_role_arn: String,
    /// Plain-text environment variables of every build.
    pub environment: BTreeMap<String, String>,
    pub arm: bool,
    pub timeout_minutes: i32,
    /// Builds of this project at once (CodeBuild's `concurrentBuildLimit`).
    pub concurrency: i32,
    pub tags: Vec<Tag>,
}

/// What bringing a project to its spec did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectChange {
    Created,
    Updated,
    /// Deleted and created again (backends without UpdateProject: the emulator).
    Replaced,
    Unchanged,
}

/// An IAM role as spa reads it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub arn: String,
    /// The trust policy, JSON (decoded from IAM's URL encoding).
    pub trust_policy: String,
}

/// An EventBridge rule on a default bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub arn: String,
    pub pattern: String,
    /// ENABLED or DISABLED.
    pub state: String,
}

/// A target of an EventBridge rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    pub id: String,
    pub arn: String,
    pub role_arn: Option<String>,
}

/// A subscription of an SNS topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
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

/// An event for EventBridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventEntry {
    pub source: String,
    pub detail_type: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMessage {
    pub receipt: String,
    pub body: String,
}

/// A service control policy of the organization, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySummary {
    pub id: String,
    pub name: String,
    pub description: String,
    /// AWS's own policies (`FullAWSAccess`): never spa's.
    pub aws_managed: bool,
}

/// What a policy is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Root,
    OrganizationalUnit,
    Account,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PolicyTarget {
    pub id: String,
    pub kind: TargetKind,
}

/// What an attachment or a detachment found: done now, or already so (AWS refuses a second
/// attachment and the detachment of what is not attached; both are idempotent for spa).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attachment {
    Changed,
    AlreadySo,
}

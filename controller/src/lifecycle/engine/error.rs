//! Why a step of an account's reconcile failed: typed, so that the error policy (retry,
//! park, which exception) decides on the kind, never on the text.

use crate::aws::{AwsError, ErrorKind};
use crate::lifecycle::machine::{Event, Job};
use crate::lifecycle::member::SetupError;

/// What to do about a denied step inside a member account.
fn hint(kind: ErrorKind) -> &'static str {
    if kind == ErrorKind::AccessDenied {
        "; hint: the role spa assumes in member accounts needs the permissions of deploy/member-role.yaml, and must trust the management role (docs/install.md)"
    } else {
        ""
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StepError {
    #[error("reading the account's tags: {0}")]
    ReadTags(AwsError),
    #[error("writing the state: {0}")]
    WriteState(AwsError),
    #[error("assuming the role to manage CodeBuild: {0}")]
    AssumeRole(AwsError),
    #[error("reading the builds: {0}")]
    ReadBuilds(AwsError),
    #[error("preparing the account {account} through the role {role} ({error}){}", hint(.error.error.kind))]
    Member {
        account: String,
        role: String,
        error: SetupError,
    },
    #[error(
        "reading the ARN of the alerts queue {url} (the controller needs sqs:GetQueueAttributes on it): {error}"
    )]
    AlertsQueue { url: String, error: AwsError },
    #[error("creating the project: {0}")]
    Project(AwsError),
    #[error("starting the build: {0}")]
    StartBuild(AwsError),
    #[error("{} is enabled but settings name no {} buildspec", .0.label(), .0.label())]
    NoBuildspec(Job),
    #[error("parking the account: {0}")]
    Park(AwsError),
    #[error("{} the service control policy {policy}: {error}{}", if *.attach { "attaching" } else { "detaching" }, policy_hint(.error.kind))]
    Policy {
        policy: String,
        attach: bool,
        error: AwsError,
    },
}

/// What to do about a denied policy change.
fn policy_hint(kind: ErrorKind) -> &'static str {
    if kind == ErrorKind::AccessDenied {
        "; hint: the management role needs organizations:AttachPolicy and DetachPolicy on spa's policies and the accounts (deploy/management.yaml)"
    } else {
        ""
    }
}

impl StepError {
    /// The AWS error behind the failure, if any.
    pub fn aws(&self) -> Option<&AwsError> {
        match self {
            StepError::ReadTags(e)
            | StepError::WriteState(e)
            | StepError::AssumeRole(e)
            | StepError::ReadBuilds(e)
            | StepError::Project(e)
            | StepError::StartBuild(e)
            | StepError::Park(e) => Some(e),
            StepError::Policy { error, .. } => Some(error),
            StepError::Member { error, .. } => Some(&error.error),
            StepError::AlertsQueue { error, .. } => Some(error),
            StepError::NoBuildspec(_) => None,
        }
    }

    /// Throttling is AWS saying "later", never a reason to park an account.
    pub fn is_throttled(&self) -> bool {
        self.aws().is_some_and(|e| e.kind == ErrorKind::Throttled)
    }

    /// The exception of an account parked after this failure: the CodeBuild path (role,
    /// project, builds) or anything else.
    pub fn exception(&self) -> Event {
        match self {
            StepError::AssumeRole(_)
            | StepError::ReadBuilds(_)
            | StepError::Member { .. }
            | StepError::Project(_)
            | StepError::StartBuild(_)
            | StepError::NoBuildspec(_) => Event::FailedCodebuildException,
            StepError::ReadTags(_)
            | StepError::WriteState(_)
            | StepError::Park(_)
            | StepError::AlertsQueue { .. }
            | StepError::Policy { .. } => Event::GenericException,
        }
    }
}

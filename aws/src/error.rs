//! Errors from AWS, classified so that callers decide without looking at SDK types.

use std::fmt;

use crate::api::Api;

/// What kind of failure a call met; decides between retrying, reporting and giving up.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Rate exceeded (`TooManyRequestsException`, `ThrottlingException`): retry after a pause.
    Throttled,
    /// A passing fault (5xx, timeout, connection reset, "another request is in progress"): retry.
    Transient,
    /// The endpoint cannot be reached at all (connection refused, DNS).
    Unreachable,
    /// The thing does not exist (account, OU, parameter).
    NotFound,
    /// Permission missing, or credentials refused.
    AccessDenied,
    /// Credentials expired (assumed-role sessions last at most an hour): refresh and retry.
    Expired,
    /// A concurrent change got in the way (`ConcurrentModificationException`, `TooManyUpdates`).
    Conflict,
    /// A service quota is full (`ParameterLimitExceeded`): nothing of the kind succeeds until
    /// usage drops or the quota is raised. Never retried.
    Quota,
    /// Anything else: the request itself is wrong, retrying will not help.
    Terminal,
}

impl ErrorKind {
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled | ErrorKind::Transient | ErrorKind::Expired | ErrorKind::Conflict
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::Transient => "transient",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::Expired => "expired",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Quota => "quota",
            ErrorKind::Terminal => "terminal",
        }
    }
}

/// A failed AWS call: which API, what kind of failure, and AWS's own code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub api: &'static str,
    pub kind: ErrorKind,
    pub code: String,
    pub message: String,
}

impl AwsError {
    pub fn new(
        api: Api,
        kind: ErrorKind,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> AwsError {
        AwsError::named(api.name, kind, code, message)
    }

    /// An error of an operation outside [`crate::api`] (the emulator's seeding).
    pub fn named(
        api: &'static str,
        kind: ErrorKind,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> AwsError {
        AwsError {
            api,
            kind,
            code: code.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.api)?;
        if !self.code.is_empty() {
            write!(f, " ({})", self.code)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        match self.kind {
            ErrorKind::Unreachable => write!(
                f,
                " — is the endpoint reachable? For the local emulator: scripts/emulator start, then eval \"$(scripts/emulator env)\""
            ),
            ErrorKind::AccessDenied => write!(
                f,
                " — check the credentials and the IAM permissions of the role in use"
            ),
            ErrorKind::Quota if self.code == "ParameterLimitExceeded" => write!(
                f,
                " — the account and region hold the 10,000 standard parameters SSM allows: set automation.parameter_tier to intelligent-tiering or advanced, or features.with_account_parameters to false (docs/settings.md)"
            ),
            ErrorKind::Terminal if self.code == "MessageRejected" => write!(
                f,
                " — SES sends only from a verified identity (the address of features.with_origin_email_recipient or its domain) and, in the SES sandbox, only to verified recipients"
            ),
            ErrorKind::Terminal if self.code == "DataUnavailableException" => write!(
                f,
                " — Cost Explorer has no data for this period yet (costs appear about a day late, a new organization's after Cost Explorer is enabled)"
            ),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for AwsError {}

/// Classifies an AWS error code (the same codes for every service).
pub fn kind_of_code(code: &str, status: Option<u16>) -> ErrorKind {
    match code {
        "TooManyRequestsException"
        | "ThrottlingException"
        | "Throttling"
        | "ThrottledException"
        | "RequestLimitExceeded"
        | "RequestThrottled"
        | "SlowDown"
        | "ProvisionedThroughputExceededException"
        | "RequestThrottledException"
        | "LimitExceededException" => ErrorKind::Throttled,
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => ErrorKind::Expired,
        "ParameterLimitExceeded" => ErrorKind::Quota,
        "ConcurrentModificationException"
        | "TooManyUpdates"
        | "ConditionalCheckFailedException"
        | "ResourceInUseException"
        | "OperationAbortedException"
        | "PolicyChangesInProgressException" => ErrorKind::Conflict,
        "AccessDeniedException"
        | "AccessDenied"
        | "UnauthorizedOperation"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "AWSOrganizationsNotInUseException"
        | "AccessDeniedForDependencyException" => ErrorKind::AccessDenied,
        "AccountNotFoundException"
        | "OrganizationalUnitNotFoundException"
        | "ParentNotFoundException"
        | "ChildNotFoundException"
        | "TargetNotFoundException"
        | "RootNotFoundException"
        | "PolicyNotFoundException"
        | "ParameterNotFound"
        | "ResourceNotFoundException"
        | "ParameterVersionNotFound"
        | "NoSuchEntity"
        | "NoSuchKey" => ErrorKind::NotFound,
        "ServiceException"
        | "InternalError"
        | "InternalFailure"
        | "InternalServerError"
        | "ServiceUnavailable"
        | "ServiceUnavailableException"
        | "InternalServerErrorException" => ErrorKind::Transient,
        _ => match status {
            Some(429) => ErrorKind::Throttled,
            Some(500..=599) => ErrorKind::Transient,
            Some(403) => ErrorKind::AccessDenied,
            Some(404) => ErrorKind::NotFound,
            _ => ErrorKind::Terminal,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        assert_eq!(
            kind_of_code("TooManyRequestsException", Some(400)),
            ErrorKind::Throttled
        );
        assert_eq!(kind_of_code("ExpiredToken", Some(400)), ErrorKind::Expired);
        assert_eq!(
            kind_of_code("AccountNotFoundException", Some(400)),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind_of_code("AccessDeniedException", Some(400)),
            ErrorKind::AccessDenied
        );
        assert_eq!(
            kind_of_code("ConcurrentModificationException", Some(400)),
            ErrorKind::Conflict
        );
        assert_eq!(kind_of_code("Whatever", Some(503)), ErrorKind::Transient);
        assert_eq!(
            kind_of_code("ParameterLimitExceeded", Some(400)),
            ErrorKind::Quota
        );
        assert!(!ErrorKind::Quota.is_retryable());
        assert_eq!(
            kind_of_code("ValidationException", Some(400)),
            ErrorKind::Terminal
        );
        assert!(ErrorKind::Throttled.is_retryable());
        assert!(!ErrorKind::AccessDenied.is_retryable());
    }
}

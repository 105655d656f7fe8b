//! Every AWS operation spa performs, named once with the rate-limit family it draws from.
//! Typed methods of [`crate::Aws`] pass these to the policy; the fakes read the same family
//! to enforce the published quotas; counters and metrics are labelled by the name.

use std::fmt;

use crate::limits::Family;

/// An AWS operation: its name as AWS spells it, and the client-side bucket it draws from.
/// `family` is `None` for operations whose quota belongs to another account (inside each
/// member account): they are retried and counted, not limited here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Api {
    pub name: &'static str,
    pub family: Option<Family>,
}

impl Api {
    const fn new(name: &'static str, family: Family) -> Api {
        Api {
            name,
            family: Some(family),
        }
    }

    /// An operation outside this list (the emulator's seeding), on the `Other` bucket.
    pub(crate) const fn other(name: &'static str) -> Api {
        Api::new(name, Family::Other)
    }

    /// An operation on a quota of another account (a member account).
    const fn elsewhere(name: &'static str) -> Api {
        Api { name, family: None }
    }
}

impl AsRef<str> for Api {
    fn as_ref(&self) -> &str {
        self.name
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

// Organizations (management account, us-east-1).
pub const LIST_ROOTS: Api = Api::new("ListRoots", Family::OrgListRoots);
pub const DESCRIBE_ORGANIZATIONAL_UNIT: Api =
    Api::new("DescribeOrganizationalUnit", Family::OrgDescribe);
pub const LIST_ORGANIZATIONAL_UNITS_FOR_PARENT: Api =
    Api::new("ListOrganizationalUnitsForParent", Family::OrgListParents);
pub const LIST_ACCOUNTS_FOR_PARENT: Api = Api::new("ListAccountsForParent", Family::OrgListParents);
pub const LIST_TAGS_FOR_RESOURCE: Api = Api::new("ListTagsForResource", Family::OrgListTags);
pub const DESCRIBE_ACCOUNT: Api = Api::new("DescribeAccount", Family::OrgDescribe);
pub const LIST_PARENTS: Api = Api::new("ListParents", Family::OrgListParents);
pub const TAG_RESOURCE: Api = Api::new("TagResource", Family::OrgTag);
pub const UNTAG_RESOURCE: Api = Api::new("UntagResource", Family::OrgTag);
// Service control policies (Organizations, management account). Reads share the published
// ListPolicies/ListTargetsForPolicy bucket; writes have no published rate of their own and
// draw from the bucket of the other Organizations operations.
pub const LIST_POLICIES: Api = Api::new("ListPolicies", Family::OrgListPolicies);
pub const LIST_TARGETS_FOR_POLICY: Api = Api::new("ListTargetsForPolicy", Family::OrgListPolicies);
pub const DESCRIBE_POLICY: Api = Api::new("DescribePolicy", Family::OrgDescribe);
pub const LIST_POLICY_TAGS: Api = Api::new("ListTagsForResource", Family::OrgListTags);
pub const CREATE_POLICY: Api = Api::new("CreatePolicy", Family::OrgOther);
pub const UPDATE_POLICY: Api = Api::new("UpdatePolicy", Family::OrgOther);
pub const DELETE_POLICY: Api = Api::new("DeletePolicy", Family::OrgOther);
pub const ATTACH_POLICY: Api = Api::new("AttachPolicy", Family::OrgOther);
pub const DETACH_POLICY: Api = Api::new("DetachPolicy", Family::OrgOther);

// SSM Parameter Store (automation account).
pub const GET_PARAMETERS_BY_PATH: Api = Api::new("GetParametersByPath", Family::SsmRead);
pub const DESCRIBE_PARAMETERS: Api = Api::new("DescribeParameters", Family::SsmRead);
pub const PUT_PARAMETER: Api = Api::new("PutParameter", Family::SsmWrite);
pub const DELETE_PARAMETERS: Api = Api::new("DeleteParameters", Family::SsmWrite);

// Inside member accounts: CodeBuild and IAM, on the member's own quotas.
pub const CREATE_PROJECT: Api = Api::elsewhere("CreateProject");
pub const UPDATE_PROJECT: Api = Api::elsewhere("UpdateProject");
pub const DELETE_PROJECT: Api = Api::elsewhere("DeleteProject");
pub const START_BUILD: Api = Api::elsewhere("StartBuild");
pub const BATCH_GET_BUILDS: Api = Api::elsewhere("BatchGetBuilds");
pub const BATCH_GET_PROJECTS: Api = Api::elsewhere("BatchGetProjects");
pub const LIST_BUILDS_FOR_PROJECT: Api = Api::elsewhere("ListBuildsForProject");
pub const CREATE_ROLE: Api = Api::elsewhere("CreateRole");
pub const GET_ROLE: Api = Api::elsewhere("GetRole");
pub const UPDATE_ASSUME_ROLE_POLICY: Api = Api::elsewhere("UpdateAssumeRolePolicy");
pub const LIST_ATTACHED_ROLE_POLICIES: Api = Api::elsewhere("ListAttachedRolePolicies");
pub const ATTACH_ROLE_POLICY: Api = Api::elsewhere("AttachRolePolicy");
pub const DETACH_ROLE_POLICY: Api = Api::elsewhere("DetachRolePolicy");
pub const GET_ROLE_POLICY: Api = Api::elsewhere("GetRolePolicy");
pub const PUT_ROLE_POLICY: Api = Api::elsewhere("PutRolePolicy");
// EventBridge and SNS inside member accounts: the forwarding rules and the alert topic.
pub const DESCRIBE_RULE: Api = Api::elsewhere("DescribeRule");
pub const PUT_RULE: Api = Api::elsewhere("PutRule");
pub const LIST_TARGETS_BY_RULE: Api = Api::elsewhere("ListTargetsByRule");
pub const PUT_TARGETS: Api = Api::elsewhere("PutTargets");
pub const CREATE_TOPIC: Api = Api::elsewhere("CreateTopic");
pub const GET_TOPIC_ATTRIBUTES: Api = Api::elsewhere("GetTopicAttributes");
pub const SET_TOPIC_ATTRIBUTES: Api = Api::elsewhere("SetTopicAttributes");
pub const MEMBER_LIST_SUBSCRIPTIONS_BY_TOPIC: Api = Api::elsewhere("ListSubscriptionsByTopic");
pub const MEMBER_SUBSCRIBE: Api = Api::elsewhere("Subscribe");
/// The role chain into a member account (STS of the calling account).
pub const ASSUME_ROLE: Api = Api::new("AssumeRole", Family::Sts);

// EventBridge, SQS and DynamoDB of the automation account.
pub const PUT_EVENTS: Api = Api::new("PutEvents", Family::Events);
pub const RECEIVE_MESSAGE: Api = Api::new("ReceiveMessage", Family::Sqs);
pub const GET_QUEUE_ATTRIBUTES: Api = Api::new("GetQueueAttributes", Family::Sqs);
pub const DELETE_MESSAGE: Api = Api::new("DeleteMessage", Family::Sqs);
pub const PUT_ITEM: Api = Api::new("PutItem", Family::DynamoDbWrite);
pub const DELETE_ITEM: Api = Api::new("DeleteItem", Family::DynamoDbWrite);
pub const QUERY: Api = Api::new("Query", Family::DynamoDbRead);
pub const SCAN: Api = Api::new("Scan", Family::DynamoDbRead);

// S3 of the automation account: the reports bucket.
pub const PUT_OBJECT: Api = Api::new("PutObject", Family::S3);
pub const HEAD_OBJECT: Api = Api::new("HeadObject", Family::S3);

// CloudWatch of the automation account: fleet metrics and the dashboard.
pub const PUT_METRIC_DATA: Api = Api::new("PutMetricData", Family::CloudWatch);
pub const GET_DASHBOARD: Api = Api::new("GetDashboard", Family::CloudWatch);
pub const PUT_DASHBOARD: Api = Api::new("PutDashboard", Family::CloudWatch);
pub const CREATE_TABLE: Api = Api::new("CreateTable", Family::Other);

// Cost Explorer (management account, us-east-1): billed per request.
pub const GET_COST_AND_USAGE: Api = Api::new("GetCostAndUsage", Family::CostExplorer);

// SES v2 of the automation account: the monthly cost e-mail.
pub const SEND_EMAIL: Api = Api::new("SendEmail", Family::Ses);

// SNS of the automation account: the exceptions topic, and confirming the subscriptions of
// member accounts' alert topics to the alerts queue.
pub const PUBLISH: Api = Api::new("Publish", Family::Sns);
pub const CONFIRM_SUBSCRIPTION: Api = Api::new("ConfirmSubscription", Family::Sns);
pub const LIST_SUBSCRIPTIONS_BY_TOPIC: Api = Api::new("ListSubscriptionsByTopic", Family::Sns);
pub const SUBSCRIBE: Api = Api::new("Subscribe", Family::Sns);
pub const UNSUBSCRIBE: Api = Api::new("Unsubscribe", Family::Sns);
// Incident Manager publishes no rate quota: the shared `Other` bucket (10/s) is far above
// what one incident per exception and account an hour needs.
pub const START_INCIDENT: Api = Api::new("StartIncident", Family::Other);
pub const TAG_INCIDENT: Api = Api::new("TagResource", Family::Other);

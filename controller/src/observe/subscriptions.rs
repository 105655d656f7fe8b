//! The e-mail subscriptions of the exceptions topic `<env>Exceptions`, which settings own
//! when `features.with_email_subscriptions_on_alerts` lists addresses. The topic is the
//! automation stack's, in the automation account and region of the settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use spa_schema::Settings;

use crate::aws::{Aws, AwsError, ErrorKind};

/// The exceptions topic of settings: `arn:aws:sns:<automation.region>:<automation.account_id>:<env>Exceptions`;
/// `None` without `automation.account_id`.
pub fn exceptions_topic_arn(settings: &Settings) -> Option<String> {
    let account = settings.automation.account_id.as_ref()?;
    Some(format!(
        "arn:aws:sns:{}:{}:{}Exceptions",
        crate::monitoring::dashboard::region(settings),
        account.value,
        settings.environment_identifier.value
    ))
}

/// The topic as SNS has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedTopic {
    pub arn: String,
    /// False when the topic does not exist (the automation stack is not deployed).
    pub exists: bool,
    /// E-mail subscriptions: address → subscription ARN (`PendingConfirmation` until the
    /// address confirms). Other protocols are never read as spa's.
    pub emails: BTreeMap<String, String>,
}

/// Reads the e-mail subscriptions of `topic`.
pub async fn observe_topic(aws: &Aws, topic: &str) -> Result<ObservedTopic, AwsError> {
    match aws.subscriptions(topic).await {
        Ok(subscriptions) => Ok(ObservedTopic {
            arn: topic.to_string(),
            exists: true,
            emails: subscriptions
                .into_iter()
                .filter(|s| s.protocol == "email")
                .map(|s| (s.endpoint.to_lowercase(), s.arn))
                .collect(),
        }),
        Err(error) if error.kind == ErrorKind::NotFound => Ok(ObservedTopic {
            arn: topic.to_string(),
            exists: false,
            emails: BTreeMap::new(),
        }),
        Err(error) => Err(error),
    }
}

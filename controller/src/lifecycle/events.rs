//! spa's events on the automation account's bus (docs/lifecycle.md): what consumers of the
//! predecessor's bus count on.

use super::engine::Config;
use super::machine::Event;
use crate::aws::EventEntry;

/// The source of spa's events on the bus.
pub const EVENT_SOURCE: &str = "SustainablePersonalAccounts";

/// An account event: `{"Account", "Environment", "Message"}`, in that order.
pub fn account_event(config: &Config, event: Event, account: &str) -> EventEntry {
    let message = match event {
        Event::CreatedAccount => "the account has been enrolled",
        Event::AssignedAccount => "the account has been assigned",
        Event::PreparedAccount => "the account has been prepared",
        Event::ReleasedAccount => "the account has been released to its holder",
        Event::ExpiredAccount => "the account has expired",
        Event::PurgedAccount => "the account has been purged",
        Event::FailedCodebuildException
        | Event::GenericException
        | Event::BudgetAlertException
        | Event::ConsoleLoginWithIamUserException
        | Event::ConsoleLoginWithRootException
        | Event::FailedOnBoardingException
        | Event::FailedMaintenanceException => "exception",
    };
    EventEntry {
        source: EVENT_SOURCE.to_string(),
        detail_type: format!("{event:?}"),
        detail: serde_json::json!({
            "Account": account,
            "Environment": config.environment(),
            "Message": message,
        }),
    }
}

/// An exception about an account: `{"account", "title", "message", "impact"}` in that order,
/// `impact` (1, the most severe, to 5, as Incident Manager counts) only when known.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Exception {
    pub account: String,
    pub title: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<u8>,
}

/// The payload event of an exception.
pub fn exception(config: &Config, event: Event, exception: &Exception) -> EventEntry {
    payload_event(config, &format!("{event:?}"), exception)
}

/// `{"ContentType": "application/json", "Environment", "Payload"}`, in that order.
pub fn payload_event(config: &Config, label: &str, payload: &impl serde::Serialize) -> EventEntry {
    payload_event_for(config.environment(), label, payload)
}

/// [`payload_event`] of an environment.
pub fn payload_event_for(
    environment: &str,
    label: &str,
    payload: &impl serde::Serialize,
) -> EventEntry {
    EventEntry {
        source: EVENT_SOURCE.to_string(),
        detail_type: label.to_string(),
        detail: serde_json::json!({
            "ContentType": "application/json",
            "Environment": environment,
            "Payload": payload,
        }),
    }
}

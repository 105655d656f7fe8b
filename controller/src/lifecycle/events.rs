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
        Event::FailedCodebuildException | Event::GenericException => "exception",
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

/// An exception about an account.
pub fn exception(
    config: &Config,
    event: Event,
    account: &str,
    reason: &str,
    state: Option<&str>,
) -> EventEntry {
    EventEntry {
        source: EVENT_SOURCE.to_string(),
        detail_type: format!("{event:?}"),
        detail: serde_json::json!({
            "ContentType": "application/json",
            "Environment": config.environment(),
            "Payload": {"Account": account, "State": state, "Reason": reason},
        }),
    }
}

//! The part of the plan about the dashboard: created when missing, updated when its body
//! differs as JSON (changed by hand, or by new settings). Never destructive.

use serde::{Deserialize, Serialize};

use super::Action;
use crate::desired::Desired;
use crate::observe::{DASHBOARD_TARGET, Observation};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardChange {
    pub name: String,
    pub action: Action,
    /// The body in CloudWatch (update).
    pub before: Option<String>,
    pub after: String,
}

fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The dashboard's change, if any, and what could not be planned.
pub(super) fn plan_dashboard(
    desired: &Desired,
    observed: &Observation,
) -> (Option<DashboardChange>, Option<String>) {
    if let Some(error) = observed
        .errors
        .iter()
        .find(|e| e.target == DASHBOARD_TARGET)
    {
        return (None, Some(format!("dashboard: {}", error.message)));
    }
    let (Some((name, body)), Some(have)) = (&desired.dashboard, &observed.dashboard) else {
        return (None, None);
    };
    if have.name != *name {
        return (None, None);
    }
    let change = match &have.body {
        None => Some(DashboardChange {
            name: name.clone(),
            action: Action::Create,
            before: None,
            after: body.clone(),
        }),
        Some(current) if !same_json(current, body) => Some(DashboardChange {
            name: name.clone(),
            action: Action::Update,
            before: Some(current.clone()),
            after: body.clone(),
        }),
        Some(_) => None,
    };
    (change, None)
}

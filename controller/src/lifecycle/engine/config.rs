//! The settings-derived part of the engine; replaced on every new valid commit.

use std::sync::Arc;

use spa_schema::Settings;
use spa_schema::schedule::Schedule;

pub struct Config {
    pub settings: Arc<Settings>,
    /// Built once per settings: a reconcile resolves one account by lookups.
    pub(super) index: spa_schema::resolve::Index,
    pub maintenance: Option<Schedule>,
    pub region: String,
}

impl Config {
    pub fn new(settings: Arc<Settings>) -> Config {
        let maintenance = settings
            .automation
            .maintenance_window_expression
            .as_ref()
            .and_then(|e| Schedule::parse(&e.value).ok());
        let region = settings
            .automation
            .region
            .as_ref()
            .map_or_else(|| "eu-west-1".to_string(), |r| r.value.clone());
        Config {
            index: spa_schema::resolve::Index::new(&settings),
            settings,
            maintenance,
            region,
        }
    }

    pub fn state_tag(&self) -> String {
        self.settings.state_tag()
    }

    pub fn since_tag(&self) -> String {
        let [_, _, since, _] = self.settings.lifecycle_tags();
        since
    }

    pub fn parked_tag(&self) -> String {
        let [_, _, _, parked] = self.settings.lifecycle_tags();
        parked
    }

    pub fn environment(&self) -> &str {
        &self.settings.environment_identifier.value
    }

    /// Tags of what spa creates in member accounts: `managed-by` and `spa-environment`,
    /// and `automation.tags`.
    pub fn resource_tags(&self) -> Vec<crate::aws::Tag> {
        let mut tags = vec![
            crate::aws::Tag {
                key: "managed-by".to_string(),
                value: "spa".to_string(),
            },
            crate::aws::Tag {
                key: "spa-environment".to_string(),
                value: self.environment().to_string(),
            },
        ];
        tags.extend(
            self.settings
                .automation
                .tags
                .iter()
                .filter(|(key, _)| *key != "managed-by" && *key != "spa-environment")
                .map(|(key, value)| crate::aws::Tag {
                    key: key.to_string(),
                    value: value.value.clone(),
                }),
        );
        tags
    }

    pub fn automation_account(&self) -> &str {
        self.settings
            .automation
            .account_id
            .as_ref()
            .map_or("000000000000", |a| a.value.as_str())
    }
}

//! `spa lifecycle check`: what is wrong with the managed accounts as read — a missing or
//! unknown state, a missing holder, a park, an account stuck in a state, tags that differ
//! from settings. Pure: the accounts, the settings and the time are given.

use std::collections::BTreeMap;
use std::time::Duration;

use spa_schema::{Resolver, Settings};

use super::engine::Known;
use super::machine::State;

/// One anomaly of one account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Anomaly {
    pub account: String,
    pub name: String,
    pub anomaly: String,
}

/// `26h 5m`, `12m`.
pub fn hours(seconds: i64) -> String {
    let minutes = seconds / 60;
    if minutes >= 60 {
        format!("{}h {}m", minutes / 60, minutes % 60)
    } else {
        format!("{minutes}m")
    }
}

/// Every anomaly of `accounts` (with their `names`) at `now_ms`; an account not released
/// for longer than `stuck_after` is stuck.
pub fn anomalies(
    settings: &Settings,
    accounts: &BTreeMap<String, Known>,
    names: &BTreeMap<String, String>,
    now_ms: i64,
    stuck_after: Duration,
) -> Vec<Anomaly> {
    let [state_tag, holder_tag, since_tag, parked_tag] = settings.lifecycle_tags();
    let resolver = Resolver::new(settings);
    let mut found = Vec::new();
    for (id, account) in accounts {
        let mut add = |anomaly: String| {
            found.push(Anomaly {
                account: id.clone(),
                name: names.get(id).cloned().unwrap_or_default(),
                anomaly,
            })
        };
        let Some(tags) = &account.tags else {
            add("tags could not be read".to_string());
            continue;
        };
        match tags.get(&state_tag) {
            None => add(format!("no `{state_tag}` tag")),
            Some(state) if State::parse(state).is_none() => add(format!(
                "`{state_tag}` is `{state}`, not vanilla, assigned, released or expired"
            )),
            Some(state) => {
                let since = tags.get(&since_tag).and_then(|s| s.parse::<i64>().ok());
                if state != State::Released.as_str()
                    && let Some(since) = since
                    && now_ms - since > i64::try_from(stuck_after.as_millis()).unwrap_or(i64::MAX)
                {
                    add(format!(
                        "stuck in {state} for {}",
                        hours((now_ms - since) / 1000)
                    ));
                }
            }
        }
        if !tags.contains_key(&holder_tag) {
            add(format!("no `{holder_tag}` tag"));
        }
        if let Some(reason) = tags.get(&parked_tag) {
            add(format!(
                "parked: {reason} (spa lifecycle set-state {id} STATE lifts it)"
            ));
        }
        let effective = resolver.account(id, account.parent.as_deref());
        for (key, value) in &effective.account_tags {
            match tags.get(*key) {
                None => add(format!("tag `{key}` missing (settings: `{}`)", value.value)),
                Some(actual) if actual != value.value => add(format!(
                    "tag `{key}` is `{actual}`, settings say `{}`",
                    value.value
                )),
                Some(_) => {}
            }
        }
        if let Some(unset) = &effective.unset_tags {
            for key in unset.value.iter().filter(|k| tags.contains_key(*k)) {
                add(format!("tag `{key}` should be removed (unset_tags)"));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use spa_schema::MemoryFiles;

    const HOUR_MS: i64 = 3_600_000;

    fn settings() -> Settings {
        let yaml = "environment_identifier: Check
defaults:
  account_tags:
    team: data
  unset_tags: [obsolete]
accounts:
  - identifier: '111111111111'
  - identifier: '222222222222'
  - identifier: '333333333333'
";
        let loaded = spa_schema::load(
            &MemoryFiles::new().with("settings.yaml", yaml),
            "settings.yaml",
        );
        loaded.valid().cloned().expect("valid settings")
    }

    fn known(tags: &[(&str, &str)]) -> Known {
        Known {
            tags: Some(
                tags.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Known::default()
        }
    }

    fn found(accounts: &[(&str, Known)], now_ms: i64) -> Vec<(String, String)> {
        let accounts = accounts
            .iter()
            .map(|(id, k)| (id.to_string(), k.clone()))
            .collect();
        anomalies(
            &settings(),
            &accounts,
            &BTreeMap::new(),
            now_ms,
            Duration::from_secs(24 * 3600),
        )
        .into_iter()
        .map(|a| (a.account, a.anomaly))
        .collect()
    }

    #[test]
    fn a_healthy_account_has_none() {
        let [state, holder, since, _] = settings().lifecycle_tags();
        let healthy = known(&[
            (&state, "assigned"),
            (&holder, "alice@example.com"),
            (&since, "0"),
            ("team", "data"),
        ]);
        assert_eq!(found(&[("111111111111", healthy)], HOUR_MS), vec![]);
    }

    #[test]
    fn each_kind_of_anomaly_is_named() {
        let [state, holder, since, parked] = settings().lifecycle_tags();
        let stuck = known(&[
            (&state, "vanilla"),
            (&holder, "bob@example.com"),
            (&since, "0"),
            ("team", "finance"),
            ("obsolete", "yes"),
        ]);
        let unknown = known(&[(&state, "retired"), (&parked, "purge failed 3 times")]);
        let unread = Known::default();
        let got = found(
            &[
                ("111111111111", stuck),
                ("222222222222", unknown),
                ("333333333333", unread),
            ],
            26 * HOUR_MS + 5 * 60_000,
        );
        let expected: Vec<(String, String)> = [
            ("111111111111", "stuck in vanilla for 26h 5m".to_string()),
            ("111111111111", "tag `team` is `finance`, settings say `data`".to_string()),
            ("111111111111", "tag `obsolete` should be removed (unset_tags)".to_string()),
            ("222222222222", format!("`{state}` is `retired`, not vanilla, assigned, released or expired")),
            ("222222222222", format!("no `{holder}` tag")),
            ("222222222222", "parked: purge failed 3 times (spa lifecycle set-state 222222222222 STATE lifts it)".to_string()),
            ("222222222222", "tag `team` missing (settings: `data`)".to_string()),
            ("333333333333", "tags could not be read".to_string()),
        ]
        .into_iter()
        .map(|(a, m)| (a.to_string(), m))
        .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn a_released_account_is_never_stuck() {
        let [state, holder, since, _] = settings().lifecycle_tags();
        let released = known(&[
            (&state, "released"),
            (&holder, "x"),
            (&since, "0"),
            ("team", "data"),
        ]);
        assert_eq!(found(&[("111111111111", released)], 1000 * HOUR_MS), vec![]);
    }
}

//! Counts of AWS calls per API and outcome (ok or error kind): asserted by tests, shown by
//! `--format json` outputs, and exported as metrics by the controller.

use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct CallCounter {
    counts: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl CallCounter {
    pub fn record(&self, api: &'static str, outcome: &'static str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry((api, outcome)).or_default() += 1;
    }

    /// Every (api, outcome) with its count.
    pub fn snapshot(&self) -> BTreeMap<(&'static str, &'static str), u64> {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Calls of one API, whatever their outcome.
    pub fn calls(&self, api: impl AsRef<str>) -> u64 {
        let api = api.as_ref();
        self.snapshot()
            .iter()
            .filter(|((a, _), _)| *a == api)
            .map(|(_, n)| n)
            .sum()
    }

    /// Calls of one API with one outcome.
    pub fn count(&self, api: impl AsRef<str>, outcome: &str) -> u64 {
        let api = api.as_ref();
        self.snapshot()
            .iter()
            .filter(|((a, o), _)| *a == api && *o == outcome)
            .map(|(_, n)| n)
            .sum()
    }

    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// As JSON: `{"ListTagsForResource": {"ok": 12, "throttled": 1}, …}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for ((api, outcome), count) in self.snapshot() {
            let entry = out
                .entry(api.to_string())
                .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
            if let serde_json::Value::Object(map) = entry {
                map.insert(outcome.to_string(), count.into());
            }
        }
        serde_json::Value::Object(out)
    }
}

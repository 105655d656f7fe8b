//! Effective settings: the cascade defaults → parent OU → account → CSV rows, each level
//! winning key by key, every value remembering the level and place it came from.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::diag::Span;
use crate::model::{Feature, FeatureSettings, Item, Level, Located, Scalar, Settings};

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// `None` for a built-in default.
    pub level: Option<Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
}

impl Origin {
    fn of<T>(level: &Level, located: &Located<T>) -> Origin {
        Origin {
            level: Some(level.clone()),
            span: located.span.clone(),
        }
    }

    pub fn built_in() -> Origin {
        Origin {
            level: None,
            span: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveFeature {
    pub feature: Sourced<Feature>,
    pub variables: BTreeMap<String, Sourced<Scalar>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Account,
    OrganizationalUnit,
}

/// The effective settings of one account or organizational unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effective {
    pub identifier: String,
    pub kind: Kind,
    /// The levels that applied, in cascade order.
    pub levels: Vec<Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<Sourced<String>>,
    pub account_tags: BTreeMap<String, Sourced<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unset_tags: Option<Sourced<Vec<String>>>,
    pub preparation: EffectiveFeature,
    pub purge: EffectiveFeature,
}

impl Effective {
    /// The JSON published to SSM under `/<env>/Accounts/<id>` or
    /// `/<env>/OrganizationalUnits/<id>`: the effective values, without provenance.
    pub fn to_published_json(&self) -> serde_json::Value {
        let feature = |f: &EffectiveFeature| {
            serde_json::json!({
                "feature": f.feature.value.as_str(),
                "variables": f.variables.iter().map(|(k, v)| (k.clone(), v.value.to_json())).collect::<serde_json::Map<_, _>>(),
            })
        };
        let mut object = serde_json::Map::new();
        object.insert(
            "account_tags".into(),
            self.account_tags
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.value.clone())))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        );
        object.insert("identifier".into(), self.identifier.clone().into());
        if let Some(note) = &self.note {
            object.insert("note".into(), note.value.clone().into());
        }
        object.insert("preparation".into(), feature(&self.preparation));
        object.insert("purge".into(), feature(&self.purge));
        if let Some(unset) = &self.unset_tags {
            object.insert("unset_tags".into(), unset.value.clone().into());
        }
        serde_json::Value::Object(object)
    }
}

/// Resolves many accounts quickly: CSV rows are indexed once.
pub struct Resolver<'s> {
    settings: &'s Settings,
    csv_rows: HashMap<&'s str, Vec<&'s Item>>,
    accounts: HashMap<&'s str, &'s Item>,
    organizational_units: HashMap<&'s str, &'s Item>,
}

impl<'s> Resolver<'s> {
    pub fn new(settings: &'s Settings) -> Resolver<'s> {
        let mut csv_rows: HashMap<&str, Vec<&Item>> = HashMap::new();
        for row in &settings.csv_rows {
            csv_rows
                .entry(row.identifier.value.as_str())
                .or_default()
                .push(row);
        }
        Resolver {
            settings,
            csv_rows,
            accounts: settings
                .accounts
                .iter()
                .map(|i| (i.identifier.value.as_str(), i))
                .collect(),
            organizational_units: settings
                .organizational_units
                .iter()
                .map(|i| (i.identifier.value.as_str(), i))
                .collect(),
        }
    }

    pub fn is_listed_account(&self, account: &str) -> bool {
        self.accounts.contains_key(account) || self.csv_rows.contains_key(account)
    }

    pub fn is_listed_organizational_unit(&self, ou: &str) -> bool {
        self.organizational_units.contains_key(ou)
    }

    /// An account, given the OU it sits in (if known).
    pub fn account(&self, account: &str, parent: Option<&str>) -> Effective {
        let mut layers: Vec<&Item> = vec![&self.settings.defaults];
        if let Some(ou) = parent.and_then(|p| self.organizational_units.get(p)) {
            layers.push(ou);
        }
        if let Some(item) = self.accounts.get(account) {
            layers.push(item);
        }
        if let Some(rows) = self.csv_rows.get(account) {
            layers.extend(rows.iter().copied());
        }
        fold(account, Kind::Account, &layers)
    }

    pub fn organizational_unit(&self, ou: &str) -> Effective {
        let mut layers: Vec<&Item> = vec![&self.settings.defaults];
        if let Some(item) = self.organizational_units.get(ou) {
            layers.push(item);
        }
        fold(ou, Kind::OrganizationalUnit, &layers)
    }
}

fn fold_feature(layers: &[&Item], pick: fn(&Item) -> &FeatureSettings) -> EffectiveFeature {
    let mut feature = Sourced {
        value: Feature::Disabled,
        origin: Origin::built_in(),
    };
    let mut variables = BTreeMap::new();
    for layer in layers {
        let settings = pick(layer);
        if let Some(value) = &settings.feature {
            feature = Sourced {
                value: value.value,
                origin: Origin::of(&layer.level, value),
            };
        }
        for (name, value) in &settings.variables {
            variables.insert(
                name.clone(),
                Sourced {
                    value: value.value.clone(),
                    origin: Origin::of(&layer.level, value),
                },
            );
        }
    }
    EffectiveFeature { feature, variables }
}

fn fold(identifier: &str, kind: Kind, layers: &[&Item]) -> Effective {
    let mut note = None;
    let mut account_tags = BTreeMap::new();
    let mut unset_tags = None;
    for layer in layers {
        if let Some(value) = &layer.note {
            note = Some(Sourced {
                value: value.value.clone(),
                origin: Origin::of(&layer.level, value),
            });
        }
        for (key, value) in &layer.account_tags {
            account_tags.insert(
                key.clone(),
                Sourced {
                    value: value.value.clone(),
                    origin: Origin::of(&layer.level, value),
                },
            );
        }
        if let Some(value) = &layer.unset_tags {
            unset_tags = Some(Sourced {
                value: value.value.clone(),
                origin: Origin::of(&layer.level, value),
            });
        }
    }
    Effective {
        identifier: identifier.to_string(),
        kind,
        levels: layers.iter().map(|l| l.level.clone()).collect(),
        note,
        account_tags,
        unset_tags,
        preparation: fold_feature(layers, |i| &i.preparation),
        purge: fold_feature(layers, |i| &i.purge),
    }
}

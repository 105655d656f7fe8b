//! Effective settings: the cascade defaults → parent OU → account → CSV rows, each level
//! winning key by key, every value remembering the level and place it came from.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::diag::Span;
use crate::model::{Feature, FeatureSettings, Item, Level, Located, Scalar, Settings};

/// Where an effective value came from. Borrows from the [`Settings`]: resolving 10,000
/// accounts must not copy every string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Origin<'s> {
    /// `None` for a built-in default.
    pub level: Option<&'s Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<&'s Span>,
}

impl<'s> Origin<'s> {
    fn of<T>(level: &'s Level, located: &'s Located<T>) -> Origin<'s> {
        Origin {
            level: Some(level),
            span: located.span.as_ref(),
        }
    }

    pub fn built_in() -> Origin<'s> {
        Origin {
            level: None,
            span: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sourced<'s, T: ?Sized> {
    pub value: &'s T,
    pub origin: Origin<'s>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveFeature<'s> {
    pub feature: Sourced<'s, Feature>,
    pub variables: BTreeMap<&'s str, Sourced<'s, Scalar>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Account,
    OrganizationalUnit,
}

/// The effective settings of one account or organizational unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effective<'s> {
    pub identifier: String,
    pub kind: Kind,
    /// The levels that applied, in cascade order.
    pub levels: Vec<&'s Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<Sourced<'s, String>>,
    pub account_tags: BTreeMap<&'s str, Sourced<'s, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unset_tags: Option<Sourced<'s, Vec<String>>>,
    pub preparation: EffectiveFeature<'s>,
    pub purge: EffectiveFeature<'s>,
}

impl Effective<'_> {
    /// The JSON published to SSM under `/<env>/Accounts/<id>` or
    /// `/<env>/OrganizationalUnits/<id>`: the effective values, without provenance.
    pub fn to_published_json(&self) -> serde_json::Value {
        let feature = |f: &EffectiveFeature| {
            serde_json::json!({
                "feature": f.feature.value.as_str(),
                "variables": f.variables.iter().map(|(k, v)| (k.to_string(), v.value.to_json())).collect::<serde_json::Map<_, _>>(),
            })
        };
        let mut object = serde_json::Map::new();
        object.insert(
            "account_tags".into(),
            self.account_tags
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.value.clone())))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        );
        object.insert("identifier".into(), self.identifier.clone().into());
        if let Some(note) = &self.note {
            object.insert("note".into(), note.value.as_str().into());
        }
        object.insert("preparation".into(), feature(&self.preparation));
        object.insert("purge".into(), feature(&self.purge));
        if let Some(unset) = &self.unset_tags {
            object.insert("unset_tags".into(), unset.value.as_slice().into());
        }
        serde_json::Value::Object(object)
    }
}

/// Where each identifier stands in settings: built once per settings, so that resolving
/// one account costs lookups, not a pass over every CSV row. Owned, so that a long-lived
/// holder of `Arc<Settings>` (the life cycle) can keep it beside them.
#[derive(Debug, Clone, Default)]
pub struct Index {
    csv_rows: HashMap<String, Vec<usize>>,
    accounts: HashMap<String, usize>,
    organizational_units: HashMap<String, usize>,
}

impl Index {
    pub fn new(settings: &Settings) -> Index {
        let mut csv_rows: HashMap<String, Vec<usize>> = HashMap::new();
        for (at, row) in settings.csv_rows.iter().enumerate() {
            csv_rows
                .entry(row.identifier.value.clone())
                .or_default()
                .push(at);
        }
        let position = |items: &[Item]| {
            items
                .iter()
                .enumerate()
                .map(|(at, i)| (i.identifier.value.clone(), at))
                .collect()
        };
        Index {
            csv_rows,
            accounts: position(&settings.accounts),
            organizational_units: position(&settings.organizational_units),
        }
    }
}

/// Resolves many accounts quickly: identifiers are indexed once.
pub struct Resolver<'s> {
    settings: &'s Settings,
    index: std::borrow::Cow<'s, Index>,
}

impl<'s> Resolver<'s> {
    pub fn new(settings: &'s Settings) -> Resolver<'s> {
        Resolver {
            settings,
            index: std::borrow::Cow::Owned(Index::new(settings)),
        }
    }

    /// With an index built before from the same `settings`.
    pub fn with_index(settings: &'s Settings, index: &'s Index) -> Resolver<'s> {
        Resolver {
            settings,
            index: std::borrow::Cow::Borrowed(index),
        }
    }

    fn account_item(&self, account: &str) -> Option<&'s Item> {
        let settings: &'s Settings = self.settings;
        self.index
            .accounts
            .get(account)
            .map(|&at| &settings.accounts[at])
    }

    fn unit_item(&self, ou: &str) -> Option<&'s Item> {
        let settings: &'s Settings = self.settings;
        self.index
            .organizational_units
            .get(ou)
            .map(|&at| &settings.organizational_units[at])
    }

    pub fn is_listed_account(&self, account: &str) -> bool {
        self.index.accounts.contains_key(account) || self.index.csv_rows.contains_key(account)
    }

    pub fn is_listed_organizational_unit(&self, ou: &str) -> bool {
        self.index.organizational_units.contains_key(ou)
    }

    /// An account, given the OU it sits in (if known).
    pub fn account(&self, account: &str, parent: Option<&str>) -> Effective<'s> {
        fold(
            account,
            Kind::Account,
            &self.account_layers(account, parent),
        )
    }

    /// The levels of the cascade that apply to an account, in order.
    pub fn account_layers(&self, account: &str, parent: Option<&str>) -> Vec<&'s Item> {
        let mut layers: Vec<&'s Item> = vec![&self.settings.defaults];
        if let Some(ou) = parent.and_then(|p| self.unit_item(p)) {
            layers.push(ou);
        }
        if let Some(item) = self.account_item(account) {
            layers.push(item);
        }
        if let Some(rows) = self.index.csv_rows.get(account) {
            let settings: &'s Settings = self.settings;
            layers.extend(rows.iter().map(|&at| &settings.csv_rows[at]));
        }
        layers
    }

    pub fn organizational_unit(&self, ou: &str) -> Effective<'s> {
        let mut layers: Vec<&'s Item> = vec![&self.settings.defaults];
        if let Some(item) = self.unit_item(ou) {
            layers.push(item);
        }
        fold(ou, Kind::OrganizationalUnit, &layers)
    }
}

static DISABLED: Feature = Feature::Disabled;

fn fold_feature<'s>(
    layers: &[&'s Item],
    pick: fn(&Item) -> &FeatureSettings,
) -> EffectiveFeature<'s> {
    let mut feature = Sourced {
        value: &DISABLED,
        origin: Origin::built_in(),
    };
    let mut variables = BTreeMap::new();
    for layer in layers {
        let settings = pick(layer);
        if let Some(value) = &settings.feature {
            feature = Sourced {
                value: &value.value,
                origin: Origin::of(&layer.level, value),
            };
        }
        for (name, value) in &settings.variables {
            variables.insert(
                name.as_str(),
                Sourced {
                    value: &value.value,
                    origin: Origin::of(&layer.level, value),
                },
            );
        }
    }
    EffectiveFeature { feature, variables }
}

fn fold<'s>(identifier: &str, kind: Kind, layers: &[&'s Item]) -> Effective<'s> {
    let mut note = None;
    let mut account_tags = BTreeMap::new();
    let mut unset_tags = None;
    for layer in layers {
        if let Some(value) = &layer.note {
            note = Some(Sourced {
                value: &value.value,
                origin: Origin::of(&layer.level, value),
            });
        }
        for (key, value) in &layer.account_tags {
            account_tags.insert(
                key.as_str(),
                Sourced {
                    value: &value.value,
                    origin: Origin::of(&layer.level, value),
                },
            );
        }
        if let Some(value) = &layer.unset_tags {
            unset_tags = Some(Sourced {
                value: &value.value,
                origin: Origin::of(&layer.level, value),
            });
        }
    }
    Effective {
        identifier: identifier.to_string(),
        kind,
        levels: layers.iter().map(|l| &l.level).collect(),
        note,
        account_tags,
        unset_tags,
        preparation: fold_feature(layers, |i| &i.preparation),
        purge: fold_feature(layers, |i| &i.purge),
    }
}

//! Who each account of the bill is: its name, its organizational unit and its cost center
//! (the value of `features.with_cost_management_tag`, `NoCostTag` without it). Every
//! account of the organization is attributed, managed or not. The records' shadows answer
//! for managed accounts at no cost; Organizations for the others — one walk of the OU tree
//! for names and units (a few hundred calls at 10,000 accounts) and one ListTagsForResource
//! per account the shadows do not know (no API returns tags in bulk).

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use crate::aws::{Aws, AwsError, ErrorKind};
use crate::records::Shadow;

/// The cost center of an account without the cost tag.
pub use crate::records::NO_COST_TAG;
/// The unit of an account directly under the root.
pub const ROOT_UNIT: &str = "Root";
/// At most this many OUs are walked: AWS allows 1,000 by default (5 levels deep).
const MAX_UNITS: usize = 20_000;

/// What the reports say of an account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Who {
    pub name: String,
    /// The name of its organizational unit (empty when the account left the organization).
    pub unit: String,
    pub cost_center: String,
}

/// Accounts by id, and what it took to know them.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub accounts: BTreeMap<String, Who>,
    /// Organizations calls made.
    pub calls: usize,
}

impl Directory {
    /// An account the directory does not know: no name, no unit, no cost tag.
    pub fn who(&self, account: &str) -> Who {
        self.accounts.get(account).cloned().unwrap_or_else(|| Who {
            cost_center: NO_COST_TAG.to_string(),
            ..Who::default()
        })
    }
}

fn cost_center(tags: impl IntoIterator<Item = (String, String)>, key: &str) -> String {
    let value = tags.into_iter().find(|(k, _)| k == key).map(|(_, v)| v);
    crate::records::cost_center(value.as_deref())
}

/// Every account under the root with the name of its unit, walking the OU tree.
async fn walk(aws: &Aws) -> Result<(BTreeMap<String, (String, String)>, usize), AwsError> {
    let mut calls = 1;
    let mut accounts = BTreeMap::new();
    let mut parents: Vec<(String, String)> = aws
        .roots()
        .await?
        .into_iter()
        .map(|r| (r.id, ROOT_UNIT.to_string()))
        .collect();
    let mut seen = 0;
    while let Some((parent, unit)) = parents.pop() {
        seen += 1;
        if seen > MAX_UNITS {
            return Err(AwsError::named(
                "ListOrganizationalUnitsForParent",
                ErrorKind::Terminal,
                "TooManyUnits",
                format!("more than {MAX_UNITS} organizational units: stopped walking"),
            ));
        }
        let (units, members) = tokio::try_join!(
            aws.organizational_units_for_parent(&parent),
            aws.accounts_for_parent(&parent)
        )?;
        calls += 2;
        parents.extend(units.into_iter().map(|u| (u.id, u.name)));
        for account in members {
            accounts.insert(account.id, (account.name, unit.clone()));
        }
    }
    Ok((accounts, calls))
}

/// Who the `accounts` of a bill are, keyed by `tag` for the cost center. `names`: also
/// their names and units (the monthly report), or the cost center alone (the daily metric).
pub async fn read(
    aws: &Aws,
    tag: &str,
    shadows: &[Shadow],
    accounts: &BTreeSet<String>,
    names: bool,
) -> Result<Directory, AwsError> {
    let mut directory = Directory::default();
    for shadow in shadows.iter().filter(|s| accounts.contains(&s.account)) {
        directory.accounts.insert(
            shadow.account.clone(),
            Who {
                name: shadow.name.clone(),
                unit: shadow.organizational_unit_name.clone().unwrap_or_default(),
                cost_center: cost_center(shadow.tags.clone(), tag),
            },
        );
    }
    let unknown: Vec<String> = accounts
        .iter()
        .filter(|a| !directory.accounts.contains_key(*a))
        .cloned()
        .collect();
    if unknown.is_empty() {
        return Ok(directory);
    }
    let tree = if names {
        let (tree, calls) = walk(aws).await?;
        directory.calls += calls;
        tree
    } else {
        BTreeMap::new()
    };
    let reads: Vec<_> = unknown
        .into_iter()
        .map(|account| {
            let aws = aws.clone();
            async move {
                let tags = aws.tags(&account).await;
                (account, tags)
            }
        })
        .collect();
    let mut reads = futures::stream::iter(reads).buffer_unordered(aws.tag_read_concurrency());
    while let Some((account, tags)) = reads.next().await {
        directory.calls += 1;
        let tags = match tags {
            Ok(tags) => tags,
            // Gone from the organization since it spent: it keeps its costs, unattributed.
            Err(error) if error.kind == ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(error),
        };
        let (name, unit) = tree.get(&account).cloned().unwrap_or_default();
        directory.accounts.insert(
            account,
            Who {
                name,
                unit,
                cost_center: cost_center(tags.into_iter().map(|t| (t.key, t.value)), tag),
            },
        );
    }
    Ok(directory)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::fake::Fakes;

    #[tokio::test(start_paused = true)]
    async fn shadows_answer_first_and_organizations_for_the_rest() {
        let fakes = Fakes::default();
        let root = fakes.organizations.root_id();
        fakes
            .organizations
            .add_unit("ou-aaaa-11111111", "Sandboxes", &root);
        fakes.organizations.add_account(
            "111111111111",
            "alice",
            "ou-aaaa-11111111",
            &[("cost-center", "CC-1")],
        );
        fakes
            .organizations
            .add_account("222222222222", "bob", &root, &[("team", "x")]);
        let shadow = Shadow {
            account: "111111111111".into(),
            name: "alice".into(),
            organizational_unit_name: Some("Sandboxes".into()),
            tags: [("cost-center".to_string(), "CC-from-shadow".to_string())].into(),
            ..Shadow::default()
        };
        let accounts: BTreeSet<String> = ["111111111111", "222222222222", "333333333333"]
            .map(String::from)
            .into();
        let aws = fakes.aws();
        let directory = read(&aws, "cost-center", &[shadow], &accounts, true)
            .await
            .unwrap();
        assert_eq!(directory.who("111111111111").cost_center, "CC-from-shadow");
        assert_eq!(
            directory.who("222222222222"),
            Who {
                name: "bob".into(),
                unit: ROOT_UNIT.into(),
                cost_center: NO_COST_TAG.into()
            }
        );
        // Left the organization: unattributed, not an error.
        assert_eq!(directory.who("333333333333").cost_center, NO_COST_TAG);
        let served = &fakes.organizations.behaviour.served;
        assert_eq!(served.calls("ListTagsForResource"), 2, "not for alice");

        // The daily metric needs no names: no walk.
        let before = served.calls("ListAccountsForParent");
        read(&aws, "cost-center", &[], &accounts, false)
            .await
            .unwrap();
        assert_eq!(served.calls("ListAccountsForParent"), before);
    }
}

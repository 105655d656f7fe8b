//! An organization in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Behaviour, PAGE, not_found, paginate};
use crate::{Account, AwsError, OrganizationalUnit, Organizations, Page, Parent, Root, Tag, api};

#[derive(Debug, Clone)]
struct FakeUnit {
    name: String,
    parent: String,
}

#[derive(Debug, Clone)]
struct FakeAccount {
    account: Account,
    parent: String,
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
pub(super) struct OrgState {
    pub(super) root: String,
    units: BTreeMap<String, FakeUnit>,
    accounts: BTreeMap<String, FakeAccount>,
    /// Service control policies by id (fake/policies.rs).
    pub(super) policies: BTreeMap<String, super::policies::FakePolicy>,
    pub(super) next_policy: u64,
}

impl OrgState {
    /// Whether `id` is the root, an OU or an account of the organization.
    pub(super) fn has_target(&self, id: &str) -> bool {
        id == self.root || self.units.contains_key(id) || self.accounts.contains_key(id)
    }
}

/// An organization in memory.
#[derive(Debug)]
pub struct FakeOrganizations {
    state: Mutex<OrgState>,
    pub behaviour: Behaviour,
}

impl FakeOrganizations {
    pub fn new(behaviour: Behaviour) -> FakeOrganizations {
        let mut state = OrgState {
            root: "r-fake".to_string(),
            ..OrgState::default()
        };
        super::policies::add_full_aws_access(&mut state);
        FakeOrganizations {
            state: Mutex::new(state),
            behaviour,
        }
    }

    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, OrgState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn root_id(&self) -> String {
        self.state().root.clone()
    }

    pub fn add_unit(&self, id: &str, name: &str, parent: &str) {
        let mut state = self.state();
        super::policies::attach_full_aws_access(&mut state, id);
        state.units.insert(
            id.to_string(),
            FakeUnit {
                name: name.to_string(),
                parent: parent.to_string(),
            },
        );
    }

    pub fn add_account(&self, id: &str, name: &str, parent: &str, tags: &[(&str, &str)]) {
        let mut state = self.state();
        super::policies::attach_full_aws_access(&mut state, id);
        state.accounts.insert(
            id.to_string(),
            FakeAccount {
                account: Account {
                    id: id.to_string(),
                    name: name.to_string(),
                    email: format!("{name}@example.com"),
                    status: "ACTIVE".to_string(),
                },
                parent: parent.to_string(),
                tags: tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
        );
    }

    /// The tags of an account as the fake holds them.
    pub fn tags_of(&self, id: &str) -> BTreeMap<String, String> {
        self.state()
            .accounts
            .get(id)
            .map(|a| a.tags.clone())
            .unwrap_or_default()
    }
}

#[async_trait]
impl Organizations for FakeOrganizations {
    async fn list_roots(&self, next_token: Option<String>) -> Result<Page<Root>, AwsError> {
        self.behaviour.enter(api::LIST_ROOTS, "").await?;
        let roots = vec![Root { id: self.root_id() }];
        Ok(paginate(&roots, next_token, PAGE))
    }

    async fn describe_organizational_unit(&self, id: &str) -> Result<OrganizationalUnit, AwsError> {
        self.behaviour
            .enter(api::DESCRIBE_ORGANIZATIONAL_UNIT, id)
            .await?;
        let state = self.state();
        state
            .units
            .get(id)
            .map(|u| OrganizationalUnit {
                id: id.to_string(),
                name: u.name.clone(),
            })
            .ok_or_else(|| {
                not_found(
                    api::DESCRIBE_ORGANIZATIONAL_UNIT,
                    "OrganizationalUnitNotFoundException",
                    id,
                )
            })
    }

    async fn list_organizational_units_for_parent(
        &self,
        parent: &str,
        next_token: Option<String>,
    ) -> Result<Page<OrganizationalUnit>, AwsError> {
        self.behaviour
            .enter(api::LIST_ORGANIZATIONAL_UNITS_FOR_PARENT, parent)
            .await?;
        let state = self.state();
        let units: Vec<OrganizationalUnit> = state
            .units
            .iter()
            .filter(|(_, u)| u.parent == parent)
            .map(|(id, u)| OrganizationalUnit {
                id: id.clone(),
                name: u.name.clone(),
            })
            .collect();
        Ok(paginate(&units, next_token, PAGE))
    }

    async fn list_accounts_for_parent(
        &self,
        parent: &str,
        next_token: Option<String>,
    ) -> Result<Page<Account>, AwsError> {
        self.behaviour
            .enter(api::LIST_ACCOUNTS_FOR_PARENT, parent)
            .await?;
        let state = self.state();
        if parent != state.root && !state.units.contains_key(parent) {
            return Err(not_found(
                api::LIST_ACCOUNTS_FOR_PARENT,
                "ParentNotFoundException",
                parent,
            ));
        }
        let accounts: Vec<Account> = state
            .accounts
            .values()
            .filter(|a| a.parent == parent)
            .map(|a| a.account.clone())
            .collect();
        Ok(paginate(&accounts, next_token, PAGE))
    }

    async fn list_tags_for_resource(
        &self,
        id: &str,
        next_token: Option<String>,
    ) -> Result<Page<Tag>, AwsError> {
        self.behaviour
            .enter(api::LIST_TAGS_FOR_RESOURCE, id)
            .await?;
        let state = self.state();
        let account = state
            .accounts
            .get(id)
            .ok_or_else(|| not_found(api::LIST_TAGS_FOR_RESOURCE, "TargetNotFoundException", id))?;
        let tags: Vec<Tag> = account
            .tags
            .iter()
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        Ok(paginate(&tags, next_token, PAGE))
    }

    async fn describe_account(&self, id: &str) -> Result<Account, AwsError> {
        self.behaviour.enter(api::DESCRIBE_ACCOUNT, id).await?;
        self.state()
            .accounts
            .get(id)
            .map(|a| a.account.clone())
            .ok_or_else(|| not_found(api::DESCRIBE_ACCOUNT, "AccountNotFoundException", id))
    }

    async fn list_parents(
        &self,
        child: &str,
        next_token: Option<String>,
    ) -> Result<Page<Parent>, AwsError> {
        self.behaviour.enter(api::LIST_PARENTS, child).await?;
        let state = self.state();
        let parent = state
            .accounts
            .get(child)
            .map(|a| a.parent.clone())
            .or_else(|| state.units.get(child).map(|u| u.parent.clone()))
            .ok_or_else(|| not_found(api::LIST_PARENTS, "ChildNotFoundException", child))?;
        let kind = if parent == state.root {
            "ROOT"
        } else {
            "ORGANIZATIONAL_UNIT"
        };
        Ok(paginate(
            &[Parent {
                id: parent,
                kind: kind.to_string(),
            }],
            next_token,
            PAGE,
        ))
    }

    async fn tag_resource(&self, id: &str, tags: &[Tag]) -> Result<(), AwsError> {
        self.behaviour.enter(api::TAG_RESOURCE, id).await?;
        let mut state = self.state();
        let account = state
            .accounts
            .get_mut(id)
            .ok_or_else(|| not_found(api::TAG_RESOURCE, "TargetNotFoundException", id))?;
        for tag in tags {
            account.tags.insert(tag.key.clone(), tag.value.clone());
        }
        Ok(())
    }

    async fn untag_resource(&self, id: &str, keys: &[String]) -> Result<(), AwsError> {
        self.behaviour.enter(api::UNTAG_RESOURCE, id).await?;
        let mut state = self.state();
        let account = state
            .accounts
            .get_mut(id)
            .ok_or_else(|| not_found(api::UNTAG_RESOURCE, "TargetNotFoundException", id))?;
        for key in keys {
            account.tags.remove(key);
        }
        Ok(())
    }
}

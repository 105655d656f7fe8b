//! AWS Organizations (management account, us-east-1): the organization's structure and the
//! tags of accounts. spa never creates, moves or closes accounts.

use async_trait::async_trait;

use crate::{Account, Aws, AwsError, OrganizationalUnit, Page, Parent, Root, Tag, api};

/// The backend of Organizations.
#[async_trait]
pub trait Organizations: Send + Sync {
    async fn list_roots(&self, next_token: Option<String>) -> Result<Page<Root>, AwsError>;
    async fn describe_organizational_unit(&self, id: &str) -> Result<OrganizationalUnit, AwsError>;
    async fn list_organizational_units_for_parent(
        &self,
        parent: &str,
        next_token: Option<String>,
    ) -> Result<Page<OrganizationalUnit>, AwsError>;
    async fn list_accounts_for_parent(
        &self,
        parent: &str,
        next_token: Option<String>,
    ) -> Result<Page<Account>, AwsError>;
    async fn list_tags_for_resource(
        &self,
        id: &str,
        next_token: Option<String>,
    ) -> Result<Page<Tag>, AwsError>;
    async fn describe_account(&self, id: &str) -> Result<Account, AwsError>;
    async fn list_parents(
        &self,
        child: &str,
        next_token: Option<String>,
    ) -> Result<Page<Parent>, AwsError>;
    async fn tag_resource(&self, id: &str, tags: &[Tag]) -> Result<(), AwsError>;
    async fn untag_resource(&self, id: &str, keys: &[String]) -> Result<(), AwsError>;
}

impl Aws {
    pub async fn roots(&self) -> Result<Vec<Root>, AwsError> {
        let orgs = &self.backends.organizations;
        self.all_pages(api::LIST_ROOTS, |t| orgs.list_roots(t))
            .await
    }

    pub async fn organizational_unit(&self, id: &str) -> Result<OrganizationalUnit, AwsError> {
        let orgs = &self.backends.organizations;
        self.call(api::DESCRIBE_ORGANIZATIONAL_UNIT, || {
            orgs.describe_organizational_unit(id)
        })
        .await
    }

    pub async fn organizational_units_for_parent(
        &self,
        parent: &str,
    ) -> Result<Vec<OrganizationalUnit>, AwsError> {
        let orgs = &self.backends.organizations;
        self.all_pages(api::LIST_ORGANIZATIONAL_UNITS_FOR_PARENT, |t| {
            orgs.list_organizational_units_for_parent(parent, t)
        })
        .await
    }

    pub async fn accounts_for_parent(&self, parent: &str) -> Result<Vec<Account>, AwsError> {
        let orgs = &self.backends.organizations;
        self.all_pages(api::LIST_ACCOUNTS_FOR_PARENT, |t| {
            orgs.list_accounts_for_parent(parent, t)
        })
        .await
    }

    pub async fn tags(&self, id: &str) -> Result<Vec<Tag>, AwsError> {
        let orgs = &self.backends.organizations;
        self.all_pages(api::LIST_TAGS_FOR_RESOURCE, |t| {
            orgs.list_tags_for_resource(id, t)
        })
        .await
    }

    pub async fn account(&self, id: &str) -> Result<Account, AwsError> {
        let orgs = &self.backends.organizations;
        self.call(api::DESCRIBE_ACCOUNT, || orgs.describe_account(id))
            .await
    }

    pub async fn parents(&self, child: &str) -> Result<Vec<Parent>, AwsError> {
        let orgs = &self.backends.organizations;
        self.all_pages(api::LIST_PARENTS, |t| orgs.list_parents(child, t))
            .await
    }

    /// Sets tags on an account, all in one call.
    pub async fn tag_resource(&self, id: &str, tags: &[Tag]) -> Result<(), AwsError> {
        let orgs = &self.backends.organizations;
        self.call(api::TAG_RESOURCE, || orgs.tag_resource(id, tags))
            .await
    }

    /// Removes tags from an account, all in one call.
    pub async fn untag_resource(&self, id: &str, keys: &[String]) -> Result<(), AwsError> {
        let orgs = &self.backends.organizations;
        self.call(api::UNTAG_RESOURCE, || orgs.untag_resource(id, keys))
            .await
    }
}

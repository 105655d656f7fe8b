//! Organizations on the SDK, always in us-east-1 (its only endpoint).

use async_trait::async_trait;

use super::{classify, next, text};
use crate::{
    Account, AwsError, ErrorKind, OrganizationalUnit, Organizations, Page, Parent, Root, Tag, api,
};

fn account(account: &aws_sdk_organizations::types::Account) -> Account {
    Account {
        id: text(account.id()),
        name: text(account.name()),
        email: text(account.email()),
        #[allow(deprecated)] // `state` replaces `status`, but the emulator only fills `status`
        status: account
            .state()
            .map(|s| s.as_str().to_string())
            .or_else(|| account.status().map(|s| s.as_str().to_string()))
            .unwrap_or_default(),
    }
}

pub(crate) struct SdkOrganizations {
    pub(crate) client: aws_sdk_organizations::Client,
}

#[async_trait]
impl Organizations for SdkOrganizations {
    async fn list_roots(&self, next_token: Option<String>) -> Result<Page<Root>, AwsError> {
        let output = self
            .client
            .list_roots()
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::LIST_ROOTS, e))?;
        Ok(Page {
            items: output
                .roots()
                .iter()
                .map(|r| Root { id: text(r.id()) })
                .collect(),
            next_token: next(output.next_token()),
        })
    }

    async fn describe_organizational_unit(&self, id: &str) -> Result<OrganizationalUnit, AwsError> {
        let output = self
            .client
            .describe_organizational_unit()
            .organizational_unit_id(id)
            .send()
            .await
            .map_err(|e| classify(api::DESCRIBE_ORGANIZATIONAL_UNIT, e))?;
        let unit = output.organizational_unit();
        Ok(OrganizationalUnit {
            id: text(unit.and_then(|u| u.id())),
            name: text(unit.and_then(|u| u.name())),
        })
    }

    async fn list_organizational_units_for_parent(
        &self,
        parent: &str,
        next_token: Option<String>,
    ) -> Result<Page<OrganizationalUnit>, AwsError> {
        let output = self
            .client
            .list_organizational_units_for_parent()
            .parent_id(parent)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::LIST_ORGANIZATIONAL_UNITS_FOR_PARENT, e))?;
        Ok(Page {
            items: output
                .organizational_units()
                .iter()
                .map(|u| OrganizationalUnit {
                    id: text(u.id()),
                    name: text(u.name()),
                })
                .collect(),
            next_token: next(output.next_token()),
        })
    }

    async fn list_accounts_for_parent(
        &self,
        parent: &str,
        next_token: Option<String>,
    ) -> Result<Page<Account>, AwsError> {
        let output = self
            .client
            .list_accounts_for_parent()
            .parent_id(parent)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::LIST_ACCOUNTS_FOR_PARENT, e))?;
        Ok(Page {
            items: output.accounts().iter().map(account).collect(),
            next_token: next(output.next_token()),
        })
    }

    async fn list_tags_for_resource(
        &self,
        id: &str,
        next_token: Option<String>,
    ) -> Result<Page<Tag>, AwsError> {
        let output = self
            .client
            .list_tags_for_resource()
            .resource_id(id)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::LIST_TAGS_FOR_RESOURCE, e))?;
        Ok(Page {
            items: output
                .tags()
                .iter()
                .map(|t| Tag {
                    key: t.key().to_string(),
                    value: t.value().to_string(),
                })
                .collect(),
            next_token: next(output.next_token()),
        })
    }

    async fn describe_account(&self, id: &str) -> Result<Account, AwsError> {
        let output = self
            .client
            .describe_account()
            .account_id(id)
            .send()
            .await
            .map_err(|e| classify(api::DESCRIBE_ACCOUNT, e))?;
        output.account().map(account).ok_or_else(|| {
            AwsError::new(
                api::DESCRIBE_ACCOUNT,
                ErrorKind::NotFound,
                "",
                format!("no account {id}"),
            )
        })
    }

    async fn list_parents(
        &self,
        child: &str,
        next_token: Option<String>,
    ) -> Result<Page<Parent>, AwsError> {
        let output = self
            .client
            .list_parents()
            .child_id(child)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::LIST_PARENTS, e))?;
        Ok(Page {
            items: output
                .parents()
                .iter()
                .map(|p| Parent {
                    id: text(p.id()),
                    kind: p
                        .r#type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                })
                .collect(),
            next_token: next(output.next_token()),
        })
    }
    async fn tag_resource(&self, id: &str, tags: &[Tag]) -> Result<(), AwsError> {
        let mut request = self.client.tag_resource().resource_id(id);
        for tag in tags {
            let tag = aws_sdk_organizations::types::Tag::builder()
                .key(&tag.key)
                .value(&tag.value)
                .build()
                .map_err(|e| {
                    AwsError::new(api::TAG_RESOURCE, ErrorKind::Terminal, "", e.to_string())
                })?;
            request = request.tags(tag);
        }
        request
            .send()
            .await
            .map_err(|e| classify(api::TAG_RESOURCE, e))?;
        Ok(())
    }

    async fn untag_resource(&self, id: &str, keys: &[String]) -> Result<(), AwsError> {
        self.client
            .untag_resource()
            .resource_id(id)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| classify(api::UNTAG_RESOURCE, e))?;
        Ok(())
    }
}

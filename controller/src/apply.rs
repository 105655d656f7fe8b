//! Apply: carries out a plan, exactly: all tag changes of one account in one TagResource and
//! one UntagResource, one PutParameter per created or updated parameter, DeleteParameters
//! in batches of ten. Every call goes through the rate limiters and the retry policy; a
//! failing item does not stop the others; each item reports its own result. `apply` never
//! decides: it does what the plan says, and refuses a plan it must not carry out — whatever
//! the plan says, it writes nothing outside the [`Scope`] spa owns.

use std::collections::BTreeSet;

use futures::StreamExt;
use serde::Serialize;

use crate::aws::{Aws, AwsError, Tag, api};
use crate::observe::Observation;
use crate::plan::{Action, Destructive, Plan};

/// What spa owns and may write: parameters under `/<env>/` and the managed accounts of an
/// observation. Built from the settings' environment and what was observed, never from a
/// plan, so that a plan cannot widen it.
#[derive(Debug, Clone)]
pub struct Scope {
    prefix: String,
    accounts: BTreeSet<String>,
}

impl Scope {
    pub fn new(environment: &str, observation: &Observation) -> Scope {
        Scope {
            prefix: Observation::parameter_prefix(environment),
            accounts: observation.accounts.keys().cloned().collect(),
        }
    }

    fn owns(&self, write: &Write) -> bool {
        let parameter =
            |name: &str| name.starts_with(&self.prefix) && name.len() > self.prefix.len();
        match write {
            Write::Tag { account, .. } | Write::Untag { account, .. } => {
                self.accounts.contains(account)
            }
            Write::Put { name, .. } => parameter(name),
            Write::Delete { names } => names.iter().all(|n| parameter(n)),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    pub allow_destructive: bool,
    /// Items in flight at once; the rate limiters pace the calls.
    pub concurrency: usize,
}

/// The result of one write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemResult {
    /// An account id or a parameter name.
    pub target: String,
    pub operation: &'static str,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    pub results: Vec<ItemResult>,
    pub succeeded: usize,
    pub failed: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "the plan was computed from an incomplete observation; plan again when every read succeeds"
    )]
    Incomplete,
    #[error("the plan has {} destructive change(s); review them and confirm with --allow-destructive", .0.len())]
    Destructive(Vec<Destructive>),
    #[error("the plan writes what spa does not own (only parameters under {prefix} and managed accounts): {}; nothing was written", .targets.join(", "))]
    NotOwned {
        prefix: String,
        targets: Vec<String>,
    },
}

enum Write {
    Tag {
        account: String,
        tags: Vec<Tag>,
    },
    Untag {
        account: String,
        keys: Vec<String>,
    },
    Put {
        name: String,
        value: String,
        tier: crate::aws::Tier,
    },
    Delete {
        names: Vec<String>,
    },
}

impl Write {
    fn target(&self) -> String {
        match self {
            Write::Tag { account, .. } | Write::Untag { account, .. } => account.clone(),
            Write::Put { name, .. } => name.clone(),
            Write::Delete { names } => names.join(", "),
        }
    }

    fn operation(&self) -> &'static str {
        match self {
            Write::Tag { .. } => api::TAG_RESOURCE.name,
            Write::Untag { .. } => api::UNTAG_RESOURCE.name,
            Write::Put { .. } => api::PUT_PARAMETER.name,
            Write::Delete { .. } => api::DELETE_PARAMETERS.name,
        }
    }

    async fn run(&self, aws: &Aws) -> Result<(), AwsError> {
        match self {
            Write::Tag { account, tags } => aws.tag_resource(account, tags).await,
            Write::Untag { account, keys } => aws.untag_resource(account, keys).await,
            Write::Put { name, value, tier } => aws.put_parameter(name, value, *tier).await,
            Write::Delete { names } => aws.delete_parameters(names).await,
        }
    }
}

/// The writes a plan needs, in a stable order: parameters, then accounts.
fn writes(plan: &Plan) -> Vec<Write> {
    let mut writes = Vec::new();
    for change in &plan.parameters {
        if let (Action::Create | Action::Update, Some(value)) = (change.action, &change.after) {
            writes.push(Write::Put {
                name: change.name.clone(),
                value: value.clone(),
                tier: change.tier,
            });
        }
    }
    let deletions: Vec<String> = plan
        .parameters
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(|c| c.name.clone())
        .collect();
    for names in deletions.chunks(10) {
        writes.push(Write::Delete {
            names: names.to_vec(),
        });
    }
    for account in &plan.accounts {
        let set = account.to_set();
        if !set.is_empty() {
            writes.push(Write::Tag {
                account: account.account.clone(),
                tags: set
                    .into_iter()
                    .map(|(k, v)| Tag {
                        key: k.to_string(),
                        value: v.to_string(),
                    })
                    .collect(),
            });
        }
        let remove = account.to_remove();
        if !remove.is_empty() {
            writes.push(Write::Untag {
                account: account.account.clone(),
                keys: remove.into_iter().map(str::to_string).collect(),
            });
        }
    }
    writes
}

/// How many writes the plan needs (for progress and for tests).
pub fn write_count(plan: &Plan) -> usize {
    writes(plan).len()
}

/// Applies `plan`, refusing it whole if any write falls outside `scope`.
/// `progress(done, total)` is called after each write.
pub async fn apply(
    aws: &Aws,
    plan: &Plan,
    scope: &Scope,
    options: ApplyOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ApplyReport, Refusal> {
    if !plan.complete {
        return Err(Refusal::Incomplete);
    }
    if !plan.destructive.is_empty() && !options.allow_destructive {
        return Err(Refusal::Destructive(plan.destructive.clone()));
    }
    let writes = writes(plan);
    let foreign: Vec<String> = writes
        .iter()
        .filter(|w| !scope.owns(w))
        .map(Write::target)
        .take(20)
        .collect();
    if !foreign.is_empty() {
        return Err(Refusal::NotOwned {
            prefix: scope.prefix.clone(),
            targets: foreign,
        });
    }
    let total = writes.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, ItemResult)> = futures::stream::iter(writes.iter().enumerate())
        .map(|(index, write)| {
            let done = &done;
            async move {
                let outcome = write.run(aws).await;
                if let Err(error) = &outcome {
                    tracing::warn!(
                        target = write.target(),
                        operation = write.operation(),
                        "{error}"
                    );
                }
                let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(finished, total);
                (
                    index,
                    ItemResult {
                        target: write.target(),
                        operation: write.operation(),
                        error: outcome.err().map(|e| e.to_string()),
                    },
                )
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    results.sort_by_key(|(index, _)| *index);
    let results: Vec<ItemResult> = results.into_iter().map(|(_, r)| r).collect();
    let failed = results.iter().filter(|r| r.error.is_some()).count();
    Ok(ApplyReport {
        succeeded: results.len() - failed,
        failed,
        results,
    })
}

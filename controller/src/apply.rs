//! Apply: carries out a plan, exactly: all tag changes of one account in one TagResource and
//! one UntagResource, one PutParameter per created or updated parameter, DeleteParameters
//! in batches of ten, one CreatePolicy, UpdatePolicy or DeletePolicy per policy and one
//! AttachPolicy or DetachPolicy per attachment. Writes run in three phases: documents
//! (parameters, tags, policies created and updated), then attachments (a new policy's id
//! comes from its creation), then policy deletions (a policy is detached first). Every call goes through the rate limiters and the retry policy; a
//! failing item does not stop the others; each item reports its own result. `apply` never
//! decides: it does what the plan says, and refuses a plan it must not carry out — whatever
//! the plan says, it writes nothing outside the [`Scope`] spa owns.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use futures::StreamExt;
use serde::Serialize;

use crate::aws::{Aws, AwsError, ErrorKind, Tag, api};
use crate::observe::{Observation, name_prefix, ownership_tags};
use crate::plan::{Action, AttachAction, Destructive, Plan};

/// What spa owns and may write: parameters under `/<env>/`, the managed accounts of an
/// observation, the policies it made (and new ones named `<env>-…`), attached only to the
/// listed OUs and managed accounts. Built from the settings' environment and what was
/// observed, never from a plan, so that a plan cannot widen it.
#[derive(Debug, Clone)]
pub struct Scope {
    environment: String,
    prefix: String,
    accounts: BTreeSet<String>,
    units: BTreeSet<String>,
    policy_prefix: String,
    /// Ids of the policies spa made, as observed.
    policies: BTreeSet<String>,
    /// Names of policies spa did not make: never created over, never touched.
    foreign: BTreeSet<String>,
    /// The exceptions topic whose e-mail subscriptions settings own, if they do.
    topic: Option<String>,
}

impl Scope {
    pub fn new(environment: &str, observation: &Observation) -> Scope {
        Scope {
            environment: environment.to_string(),
            prefix: Observation::parameter_prefix(environment),
            accounts: observation.accounts.keys().cloned().collect(),
            units: observation.organizational_units.keys().cloned().collect(),
            policy_prefix: name_prefix(environment),
            policies: observation
                .policies
                .owned
                .values()
                .map(|p| p.id.clone())
                .collect(),
            foreign: observation.policies.foreign.iter().cloned().collect(),
            topic: observation.exceptions_topic.as_ref().map(|t| t.arn.clone()),
        }
    }

    fn owns(&self, write: &Write) -> bool {
        let parameter =
            |name: &str| name.starts_with(&self.prefix) && name.len() > self.prefix.len();
        let new_policy = |name: &str| {
            name.starts_with(&self.policy_prefix)
                && name.len() > self.policy_prefix.len()
                && !self.foreign.contains(name)
        };
        let policy = |id: &Option<String>, name: &str| match id {
            Some(id) => self.policies.contains(id),
            None => new_policy(name),
        };
        match write {
            Write::Tag { account, .. } | Write::Untag { account, .. } => {
                self.accounts.contains(account)
            }
            Write::Put { name, .. } => parameter(name),
            Write::Delete { names } => names.iter().all(|n| parameter(n)),
            Write::CreatePolicy { name, .. } => new_policy(name),
            Write::UpdatePolicy { id, .. } | Write::DeletePolicy { id, .. } => {
                self.policies.contains(id)
            }
            Write::Attach {
                id, name, target, ..
            } => {
                policy(id, name) && (self.accounts.contains(target) || self.units.contains(target))
            }
            // Detaching one of spa's policies undoes what spa did, wherever it was.
            Write::Detach { id, .. } => self.policies.contains(id),
            Write::PutDashboard { name, .. } => name
                .strip_prefix(&format!("{}Cockpit-", self.environment))
                .is_some_and(|region| !region.is_empty()),
            // Only the exceptions topic of the environment, and only its subscriptions.
            Write::Subscribe { topic, .. } => self.topic.as_ref() == Some(topic),
            Write::Unsubscribe { topic, arn } => {
                self.topic.as_ref() == Some(topic) && arn.starts_with(&format!("{topic}:"))
            }
        }
    }
}

/// The life cycle, which also writes per-state attachments: it attaches and detaches an
/// account's per-state policies when it moves the account. A per-state attachment of a plan
/// is written only while the account is held (it does not move meanwhile) and still in the
/// state the plan decided on; otherwise it is skipped, and the next plan decides again.
pub trait Moves: Sync {
    /// Holds `account` if nobody else does and it is in `state`; released when dropped.
    fn hold(&self, account: &str, state: &str) -> Option<Box<dyn Send + '_>>;
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
    /// Not written, and why (a per-state attachment of an account the life cycle moved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    pub results: Vec<ItemResult>,
    pub succeeded: usize,
    pub failed: usize,
    /// Left to the next plan (see [`Moves`]).
    pub skipped: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "the plan was computed from an incomplete observation; plan again when every read succeeds"
    )]
    Incomplete,
    #[error("the plan cannot be applied: {}; nothing was written", .0.join("; "))]
    Blocked(Vec<String>),
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
    CreatePolicy {
        name: String,
        description: String,
        content: String,
    },
    UpdatePolicy {
        id: String,
        name: String,
        description: String,
        content: String,
    },
    DeletePolicy {
        id: String,
        name: String,
    },
    /// `id` is `None` for a policy the same apply creates. `state`: for a per-state
    /// attachment, the state of the account it was decided on.
    Attach {
        id: Option<String>,
        name: String,
        target: String,
        state: Option<String>,
    },
    Detach {
        id: String,
        name: String,
        target: String,
        state: Option<String>,
    },
    PutDashboard {
        name: String,
        body: String,
    },
    Subscribe {
        topic: String,
        email: String,
    },
    Unsubscribe {
        topic: String,
        arn: String,
    },
}

/// Ids of the policies created during this apply, by name, for their attachments.
type Created = Mutex<BTreeMap<String, String>>;

impl Write {
    fn target(&self) -> String {
        match self {
            Write::Tag { account, .. } | Write::Untag { account, .. } => account.clone(),
            Write::Put { name, .. } => name.clone(),
            Write::Delete { names } => names.join(", "),
            Write::CreatePolicy { name, .. }
            | Write::UpdatePolicy { name, .. }
            | Write::DeletePolicy { name, .. } => name.clone(),
            Write::Attach { name, target, .. } | Write::Detach { name, target, .. } => {
                format!("{name} {target}")
            }
            Write::PutDashboard { name, .. } => name.clone(),
            Write::Subscribe { email, .. } => email.clone(),
            Write::Unsubscribe { arn, .. } => arn.clone(),
        }
    }

    fn operation(&self) -> &'static str {
        match self {
            Write::Tag { .. } => api::TAG_RESOURCE.name,
            Write::Untag { .. } => api::UNTAG_RESOURCE.name,
            Write::Put { .. } => api::PUT_PARAMETER.name,
            Write::Delete { .. } => api::DELETE_PARAMETERS.name,
            Write::CreatePolicy { .. } => api::CREATE_POLICY.name,
            Write::UpdatePolicy { .. } => api::UPDATE_POLICY.name,
            Write::DeletePolicy { .. } => api::DELETE_POLICY.name,
            Write::Attach { .. } => api::ATTACH_POLICY.name,
            Write::Detach { .. } => api::DETACH_POLICY.name,
            Write::PutDashboard { .. } => api::PUT_DASHBOARD.name,
            Write::Subscribe { .. } => api::SUBSCRIBE.name,
            Write::Unsubscribe { .. } => api::UNSUBSCRIBE.name,
        }
    }

    /// The per-state attachment's account and state, when the write is one.
    fn moving_with_state(&self) -> Option<(&str, &str)> {
        match self {
            Write::Attach {
                target,
                state: Some(state),
                ..
            }
            | Write::Detach {
                target,
                state: Some(state),
                ..
            } => Some((target, state)),
            _ => None,
        }
    }

    /// Which phase the write belongs to: documents, attachments, deletions of policies.
    fn phase(&self) -> usize {
        match self {
            Write::Attach { .. } | Write::Detach { .. } => 1,
            Write::DeletePolicy { .. } => 2,
            _ => 0,
        }
    }

    async fn run(&self, aws: &Aws, environment: &str, created: &Created) -> Result<(), AwsError> {
        match self {
            Write::Tag { account, tags } => aws.tag_resource(account, tags).await,
            Write::Untag { account, keys } => aws.untag_resource(account, keys).await,
            Write::Put { name, value, tier } => aws.put_parameter(name, value, *tier).await,
            Write::Delete { names } => aws.delete_parameters(names).await,
            Write::CreatePolicy {
                name,
                description,
                content,
            } => {
                let policy = aws
                    .create_policy(name, description, content, &ownership_tags(environment))
                    .await?;
                created
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(name.clone(), policy.id);
                Ok(())
            }
            Write::UpdatePolicy {
                id,
                description,
                content,
                ..
            } => aws.update_policy(id, description, content).await,
            Write::DeletePolicy { id, .. } => aws.delete_policy(id).await,
            Write::Attach {
                id, name, target, ..
            } => {
                let id = match id {
                    Some(id) => id.clone(),
                    None => created
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(name)
                        .cloned()
                        .ok_or_else(|| {
                            AwsError::new(
                                api::ATTACH_POLICY,
                                ErrorKind::Terminal,
                                "",
                                format!(
                                    "the policy {name} was not created, so it cannot be attached"
                                ),
                            )
                        })?,
                };
                aws.attach_policy(&id, target).await.map(|_| ())
            }
            Write::Detach { id, target, .. } => aws.detach_policy(id, target).await.map(|_| ()),
            Write::PutDashboard { name, body } => aws.put_dashboard(name, body).await,
            Write::Subscribe { topic, email } => {
                aws.subscribe_email(topic, email).await.map(|_| ())
            }
            Write::Unsubscribe { arn, .. } => aws.unsubscribe(arn).await,
        }
    }
}

/// The writes a plan needs, in a stable order: parameters, accounts, policies, attachments,
/// policy deletions.
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
    for change in &plan.policies {
        match (change.action, &change.id, &change.after) {
            (Action::Create, _, Some(content)) => writes.push(Write::CreatePolicy {
                name: change.name.clone(),
                description: change.description.clone(),
                content: content.clone(),
            }),
            (Action::Update, Some(id), Some(content)) => writes.push(Write::UpdatePolicy {
                id: id.clone(),
                name: change.name.clone(),
                description: change.description.clone(),
                content: content.clone(),
            }),
            _ => {}
        }
    }
    for change in &plan.attachments {
        // A destructive detachment is decided on settings, not on the account's state.
        let state = change
            .state
            .clone()
            .filter(|_| change.destructive.is_none());
        match (change.action, &change.policy_id) {
            (AttachAction::Attach, id) => writes.push(Write::Attach {
                id: id.clone(),
                name: change.policy.clone(),
                target: change.target.clone(),
                state,
            }),
            (AttachAction::Detach, Some(id)) => writes.push(Write::Detach {
                id: id.clone(),
                name: change.policy.clone(),
                target: change.target.clone(),
                state,
            }),
            (AttachAction::Detach, None) => {}
        }
    }
    for change in &plan.subscriptions {
        match (change.action, &change.arn) {
            (crate::plan::SubscriptionAction::Subscribe, _) => writes.push(Write::Subscribe {
                topic: change.topic.clone(),
                email: change.email.clone(),
            }),
            (crate::plan::SubscriptionAction::Unsubscribe, Some(arn)) => {
                writes.push(Write::Unsubscribe {
                    topic: change.topic.clone(),
                    arn: arn.clone(),
                })
            }
            (crate::plan::SubscriptionAction::Unsubscribe, None) => {}
        }
    }
    if let Some(dashboard) = &plan.dashboard {
        writes.push(Write::PutDashboard {
            name: dashboard.name.clone(),
            body: dashboard.after.clone(),
        });
    }
    for change in &plan.policies {
        if let (Action::Delete, Some(id)) = (change.action, &change.id) {
            writes.push(Write::DeletePolicy {
                id: id.clone(),
                name: change.name.clone(),
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
    apply_beside(aws, plan, scope, options, None, progress).await
}

/// [`apply`] beside a life cycle that moves accounts at the same time (see [`Moves`]).
pub async fn apply_beside(
    aws: &Aws,
    plan: &Plan,
    scope: &Scope,
    options: ApplyOptions,
    moves: Option<&dyn Moves>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ApplyReport, Refusal> {
    if !plan.complete {
        return Err(Refusal::Incomplete);
    }
    if !plan.blockers.is_empty() {
        return Err(Refusal::Blocked(plan.blockers.clone()));
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
    let run = Run {
        aws,
        environment: &scope.environment,
        created: Created::default(),
        done: std::sync::atomic::AtomicUsize::new(0),
        total: writes.len(),
        progress,
        moves,
        lanes: Mutex::default(),
    };
    let mut results: Vec<(usize, ItemResult)> = Vec::with_capacity(writes.len());
    for phase in 0..3 {
        let batch: Vec<(usize, &Write)> = writes
            .iter()
            .enumerate()
            .filter(|(_, w)| w.phase() == phase)
            .collect();
        results.extend(run.phase(batch, options.concurrency).await);
    }
    results.sort_by_key(|(index, _)| *index);
    let results: Vec<ItemResult> = results.into_iter().map(|(_, r)| r).collect();
    let failed = results.iter().filter(|r| r.error.is_some()).count();
    let skipped = results.iter().filter(|r| r.skipped.is_some()).count();
    Ok(ApplyReport {
        succeeded: results.len() - failed - skipped,
        failed,
        skipped,
        results,
    })
}

/// What the writes of one apply share.
struct Run<'a> {
    aws: &'a Aws,
    environment: &'a str,
    created: Created,
    done: std::sync::atomic::AtomicUsize,
    total: usize,
    progress: &'a (dyn Fn(usize, usize) + Sync),
    moves: Option<&'a dyn Moves>,
    /// One lane per account with per-state writes: two of them (two policies on one
    /// account) run one after the other, so that the apply never finds its own hold.
    lanes: Mutex<BTreeMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
}

impl Run<'_> {
    fn lane(&self, account: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        self.lanes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(account.to_string())
            .or_default()
            .clone()
    }

    /// Runs one phase's writes, `concurrency` at a time.
    async fn phase(
        &self,
        batch: Vec<(usize, &Write)>,
        concurrency: usize,
    ) -> Vec<(usize, ItemResult)> {
        futures::stream::iter(batch)
            .map(|(index, write)| async move {
                let lane = match (self.moves, write.moving_with_state()) {
                    (Some(_), Some((account, _))) => Some(self.lane(account).lock_owned().await),
                    _ => None,
                };
                let hold = match (self.moves, write.moving_with_state()) {
                    (Some(moves), Some((account, state))) => match moves.hold(account, state) {
                        Some(hold) => Some(hold),
                        None => {
                            tracing::info!(
                                target = write.target(),
                                state,
                                "skipped: the life cycle is moving the account, or has moved it"
                            );
                            let finished =
                                self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                            (self.progress)(finished, self.total);
                            return (
                                index,
                                ItemResult {
                                    target: write.target(),
                                    operation: write.operation(),
                                    error: None,
                                    skipped: Some(format!(
                                        "the account is no longer {state}, or is moving"
                                    )),
                                },
                            );
                        }
                    },
                    _ => None,
                };
                let outcome = write.run(self.aws, self.environment, &self.created).await;
                drop(hold);
                drop(lane);
                if let Err(error) = &outcome {
                    tracing::warn!(
                        target = write.target(),
                        operation = write.operation(),
                        "{error}"
                    );
                }
                let finished = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                (self.progress)(finished, self.total);
                (
                    index,
                    ItemResult {
                        target: write.target(),
                        operation: write.operation(),
                        error: outcome.err().map(|e| e.to_string()),
                        skipped: None,
                    },
                )
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await
    }
}

//! One reconcile of one account, as far as it goes without waiting: read the facts (the
//! state tags, the builds of the cycle, the maintenance window), ask the machine, act.
//! Transitions that need no build between them are chained and written in one call.

use std::collections::BTreeMap;
use std::time::Duration;

use spa_schema::{Feature, Resolver};

use super::error::StepError;
use super::{Engine, Known, Next, Step, lock};
use crate::aws::{AwsError, BuildStatus, EventEntry, MemberAccount};
use crate::lifecycle::events::account_event;
use crate::lifecycle::machine::{self, Action, Build, Event, Facts, Job, State};
use crate::time::backoff;

/// What one reconcile has decided and not yet written.
#[derive(Default)]
struct Writes {
    /// The listed OU the account is in (per-state policies follow its OU).
    parent: Option<String>,
    /// The tags as last read or written.
    tags: BTreeMap<String, String>,
    set: BTreeMap<String, String>,
    unset: Vec<String>,
    transitions: Vec<(Option<String>, State)>,
    events: Vec<EventEntry>,
}

impl Writes {
    /// A tag as it will be once written.
    fn current(&self, key: &str) -> Option<String> {
        self.set.get(key).or_else(|| self.tags.get(key)).cloned()
    }
}

/// Chained transitions per reconcile at most (a full cycle is four).
const MAX_CHAINED: usize = 8;

impl Engine {
    pub(super) async fn step(&self, account: &str, known: Known) -> Result<Next, StepError> {
        let config = self.config();
        let state_tag = config.state_tag();
        let since_tag = config.since_tag();
        let tags = match known.tags {
            Some(tags) => tags,
            None => self.read_tags(account).await.map_err(StepError::ReadTags)?,
        };
        let resolver = Resolver::with_index(&config.settings, &config.index);
        let effective = resolver.account(account, known.parent.as_deref());
        let preparation = *effective.preparation.feature.value == Feature::Enabled;
        let purge = *effective.purge.feature.value == Feature::Enabled;
        let mut writes = Writes {
            parent: known.parent.clone(),
            tags,
            ..Writes::default()
        };
        // After a transition of ours in this step the cycle is new: no build to read.
        let mut fresh = false;
        let mut next = Next::Idle;
        for _ in 0..MAX_CHAINED {
            let state = writes.current(&state_tag);
            let parked = writes
                .current(&config.parked_tag())
                .is_some_and(|r| !r.is_empty());
            let since = writes
                .current(&since_tag)
                .and_then(|s| s.parse::<i64>().ok());
            let job = match state.as_deref().and_then(State::parse) {
                Some(State::Assigned) if preparation => Some(Job::Preparation),
                Some(State::Expired) if purge => Some(Job::Purge),
                _ => None,
            };
            let mut facts = Facts {
                state: state.clone(),
                preparation,
                purge,
                build: Build::None,
                attempts: 0,
                maintenance_due: false,
                parked,
            };
            let mut member = None;
            if let (Some(job), false, false) = (job, parked, fresh) {
                let client = self
                    .aws
                    .member(account)
                    .await
                    .map_err(StepError::AssumeRole)?;
                let since = since.unwrap_or(self.started_ms);
                let cycle = self
                    .cycle_builds(&client, job, since)
                    .await
                    .map_err(StepError::ReadBuilds)?;
                facts.attempts = u32::try_from(cycle.len()).unwrap_or(u32::MAX);
                if let Some(newest) = cycle.last() {
                    facts.build = match newest.status {
                        BuildStatus::InProgress => Build::InProgress,
                        BuildStatus::Succeeded => Build::Succeeded,
                        BuildStatus::Failed => Build::Failed,
                        BuildStatus::Stopped => Build::Stopped,
                    };
                    self.report_build_end(account, job, &newest.id, &newest.status);
                }
                member = Some(client);
            }
            if state.as_deref() == Some(State::Released.as_str()) {
                facts.maintenance_due = self.maintenance_due(account, &config, since);
            }
            let mut moved = false;
            let mut stop = false;
            for action in machine::next(&facts) {
                match action {
                    Action::SetState(to) => {
                        if state.as_deref() == Some(State::Vanilla.as_str())
                            && to == State::Assigned
                        {
                            // Enrolment: the account gets its tags from settings.
                            for (key, value) in &effective.account_tags {
                                if writes.tags.get(*key) != Some(value.value) {
                                    writes.set.insert(key.to_string(), value.value.clone());
                                }
                            }
                            if let Some(keys) = &effective.unset_tags {
                                let present =
                                    keys.value.iter().filter(|k| writes.tags.contains_key(*k));
                                writes.unset.extend(present.cloned().collect::<Vec<_>>());
                            }
                        }
                        if to == State::Expired {
                            lock(&self.expired_now).insert(account.to_string());
                        }
                        writes
                            .set
                            .insert(state_tag.clone(), to.as_str().to_string());
                        writes
                            .set
                            .insert(since_tag.clone(), self.now_ms().to_string());
                        writes.transitions.push((state.clone(), to));
                        moved = true;
                        fresh = true;
                    }
                    Action::Emit(event) => {
                        writes.events.push(account_event(&config, event, account))
                    }
                    Action::Park(reason) => {
                        self.flush(account, &mut writes).await?;
                        let event = if facts.build == Build::None {
                            Event::GenericException
                        } else {
                            Event::FailedCodebuildException
                        };
                        self.park(account, &reason, event)
                            .await
                            .map_err(StepError::Park)?;
                        return Ok(Next::Idle);
                    }
                    Action::StartBuild(job) => {
                        // Builds only happen after a transition is written: flush first.
                        self.flush(account, &mut writes).await?;
                        let since = writes
                            .tags
                            .get(&since_tag)
                            .and_then(|s| s.parse::<i64>().ok())
                            .unwrap_or(self.started_ms);
                        if facts.attempts > 0
                            && let Some(wait) = self.backoff_left(account, since, facts.attempts)
                        {
                            return Ok(Next::Retry(wait));
                        }
                        let client = match member.take() {
                            Some(client) => client,
                            None => self
                                .aws
                                .member(account)
                                .await
                                .map_err(StepError::AssumeRole)?,
                        };
                        self.start(
                            &client,
                            &config,
                            &effective,
                            &known.email,
                            job,
                            since,
                            facts.attempts,
                        )
                        .await?;
                        next = Next::Poll(self.options.poll);
                        stop = true;
                    }
                    Action::Wait(_) => {
                        next = Next::Poll(self.options.poll);
                        stop = true;
                    }
                }
            }
            if stop || !moved {
                break;
            }
        }
        self.flush(account, &mut writes).await?;
        Ok(next)
    }

    /// Reports the end of the newest build once.
    fn report_build_end(&self, account: &str, job: Job, build: &str, status: &BuildStatus) {
        let changed = {
            let mut memory = lock(&self.memory);
            let memory = memory.entry(account.to_string()).or_default();
            let seen = Some((build.to_string(), status.clone()));
            let changed = memory.last_status != seen;
            memory.last_status = seen;
            changed
        };
        if changed && *status != BuildStatus::InProgress {
            self.report(Step::BuildEnded {
                account: account.to_string(),
                job,
                build: build.to_string(),
                status: format!("{status:?}").to_lowercase(),
            });
        }
    }

    /// The maintenance window came since the account was released (`since`), or
    /// `expire-now` runs: a window that fired when the engine started, for the accounts
    /// released before it, once each.
    fn maintenance_due(&self, account: &str, config: &super::Config, since: Option<i64>) -> bool {
        let reference = since.unwrap_or(self.started_ms) / 1000;
        (self.options.expire_now
            && since.is_none_or(|s| s <= self.started_ms)
            && !lock(&self.expired_now).contains(account))
            || config
                .maintenance
                .as_ref()
                .and_then(|s| s.next_after(reference))
                .is_some_and(|at| at.saturating_mul(1000) <= self.now_ms())
    }

    /// A retry after a failed or stopped build waits its back-off once; how long is left.
    fn backoff_left(&self, account: &str, since: i64, attempts: u32) -> Option<Duration> {
        let mut memory = lock(&self.memory);
        let memory = memory.entry(account.to_string()).or_default();
        let key = (since, attempts);
        if memory.backoff_done_for == Some(key) {
            return None;
        }
        let wait =
            i64::try_from(backoff(self.options.backoff, attempts).as_millis()).unwrap_or(i64::MAX);
        let at = *memory
            .retry_at
            .get_or_insert(self.now_ms().saturating_add(wait));
        let left = at - self.now_ms();
        if left > 0 {
            Some(Duration::from_millis(left.unsigned_abs()))
        } else {
            memory.retry_at = None;
            memory.backoff_done_for = Some(key);
            None
        }
    }

    /// Starts a build and remembers it.
    #[allow(clippy::too_many_arguments)]
    async fn start(
        &self,
        member: &MemberAccount,
        config: &super::Config,
        effective: &spa_schema::Effective<'_>,
        email: &str,
        job: Job,
        since: i64,
        attempts: u32,
    ) -> Result<(), StepError> {
        let account = member.account().to_string();
        let build = self
            .start_build(member, config, effective, email, job, since, attempts)
            .await?;
        self.counters.builds_started.inc();
        lock(&self.memory)
            .entry(account.clone())
            .or_default()
            .builds
            .push((since, build.clone()));
        self.report(Step::BuildStarted {
            account,
            job,
            build,
            attempt: attempts + 1,
        });
        Ok(())
    }

    /// Brings the per-state policies to the new state, writes the chained transitions in one
    /// TagResource, then emits their events.
    async fn flush(&self, account: &str, writes: &mut Writes) -> Result<(), StepError> {
        // Until the new state is known, no plan writes the account's per-state attachments.
        let held = match writes.transitions.is_empty() {
            true => None,
            false => Some(self.holds.hold(account).await),
        };
        if let (Some((from, _)), Some((_, to))) =
            (writes.transitions.first(), writes.transitions.last())
        {
            self.follow_policies(account, writes.parent.as_deref(), from.as_deref(), *to)
                .await?;
        }
        if !writes.set.is_empty() {
            let set = std::mem::take(&mut writes.set);
            self.write_tags(account, &set)
                .await
                .map_err(StepError::WriteState)?;
            writes.tags.extend(set);
        }
        if !writes.unset.is_empty() {
            let keys = std::mem::take(&mut writes.unset);
            self.untag(account, &keys)
                .await
                .map_err(StepError::WriteState)?;
            for key in &keys {
                writes.tags.remove(key);
            }
        }
        self.remember_tags(account, Some(writes.tags.clone()));
        drop(held);
        for (from, to) in writes.transitions.drain(..) {
            self.counters.transitions.inc();
            self.report(Step::Transition {
                account: account.to_string(),
                from,
                to,
            });
        }
        if !writes.events.is_empty() {
            let entries = std::mem::take(&mut writes.events);
            // The state is written: a lost event is reported, never retried into a second write.
            if let Err(error) = self.emit(&entries).await {
                tracing::warn!(account, "cannot emit events: {error}");
            }
        }
        Ok(())
    }

    pub(super) async fn emit(&self, entries: &[EventEntry]) -> Result<(), AwsError> {
        self.aws
            .put_events(&self.options.event_bus, entries)
            .await?;
        self.counters.events.inc_by(entries.len() as u64);
        self.record(crate::records::Fact::Emitted {
            entries: entries.to_vec(),
            at_ms: self.now_ms(),
        });
        Ok(())
    }
}

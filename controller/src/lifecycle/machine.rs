//! The account life cycle as a pure transition function: the state in the account's tag and
//! a few facts in, the next actions out. No I/O, no clock: table-tested over every state and
//! fact. The reconcile that executes the actions is level-triggered: it reads the facts
//! again every time, so a lost, duplicated or reordered event changes nothing.
//!
//! ```text
//! (no state) ─enrol─► vanilla ─► assigned ─(preparation build, if enabled)─► released
//!                                    ▲                                          │ maintenance window
//!                                    └────────(purge build, if enabled)── expired ◄┘
//! ```

use serde::{Deserialize, Serialize};

/// The values of `<prefix>state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Vanilla,
    Assigned,
    Released,
    Expired,
}

impl State {
    pub const ALL: [State; 4] = [
        State::Vanilla,
        State::Assigned,
        State::Released,
        State::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Vanilla => "vanilla",
            State::Assigned => "assigned",
            State::Released => "released",
            State::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Which CodeBuild project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Job {
    Preparation,
    Purge,
}

impl Job {
    pub fn project(self) -> &'static str {
        match self {
            Job::Preparation => "SpaProjectForAccountPreparation",
            Job::Purge => "SpaProjectForAccountPurge",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Job::Preparation => "preparation",
            Job::Purge => "purge",
        }
    }

    /// The state this job runs in.
    pub fn state(self) -> State {
        match self {
            Job::Preparation => State::Assigned,
            Job::Purge => State::Expired,
        }
    }
}

/// What is known of the build of the current cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Build {
    /// No build of this job for the current cycle.
    None,
    InProgress,
    Succeeded,
    /// Failed, faulted or timed out.
    Failed,
    Stopped,
}

/// The facts a transition depends on, all read again at every reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The raw value of the state tag; `None` when absent.
    pub state: Option<String>,
    pub preparation: bool,
    pub purge: bool,
    /// The build of the job of the current state (preparation in `assigned`, purge in
    /// `expired`), and how many attempts this cycle has had.
    pub build: Build,
    pub attempts: u32,
    /// The maintenance window came since the account was released.
    pub maintenance_due: bool,
    /// The account is parked (a visible reason is on it): nothing moves until an operator
    /// clears it.
    pub parked: bool,
}

/// The SPA events of lifecycle.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Event {
    CreatedAccount,
    AssignedAccount,
    PreparedAccount,
    ReleasedAccount,
    ExpiredAccount,
    PurgedAccount,
    FailedCodebuildException,
    GenericException,
    BudgetAlertException,
    ConsoleLoginWithIamUserException,
    ConsoleLoginWithRootException,
    /// An on-boarding still open after `metering.transactions_ttl_in_seconds`.
    FailedOnBoardingException,
    /// A maintenance still open after `metering.transactions_ttl_in_seconds`.
    FailedMaintenanceException,
}

impl State {
    /// The event every entry into this state emits, whatever the features (lifecycle.md):
    /// consumers of the bus open and close their transactions on these.
    pub fn entered(self) -> Option<Event> {
        match self {
            State::Vanilla => None,
            State::Assigned => Some(Event::AssignedAccount),
            State::Released => Some(Event::ReleasedAccount),
            State::Expired => Some(Event::ExpiredAccount),
        }
    }
}

/// Moves the account to `state` after the events of what just happened (`before`), then
/// emits the event of entering it.
fn enter(state: State, before: &[Event]) -> Vec<Action> {
    let mut actions = vec![Action::SetState(state)];
    actions.extend(before.iter().map(|e| Action::Emit(*e)));
    actions.extend(state.entered().map(Action::Emit));
    actions
}

/// One step for the executor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    SetState(State),
    StartBuild(Job),
    /// A build runs: nothing to do until its outcome is known.
    Wait(Job),
    Emit(Event),
    /// Stop moving the account, with a reason shown to operators.
    Park(String),
}

/// How many builds a cycle may try before the account is parked.
pub const MAX_ATTEMPTS: u32 = 3;

fn build_step(job: Job, enabled: bool, facts: &Facts, done: State, success: Event) -> Vec<Action> {
    if !enabled {
        return enter(done, &[]);
    }
    match facts.build {
        Build::None => vec![Action::StartBuild(job)],
        Build::InProgress => vec![Action::Wait(job)],
        Build::Succeeded => enter(done, &[success]),
        Build::Failed | Build::Stopped if facts.attempts < MAX_ATTEMPTS => {
            vec![Action::StartBuild(job)]
        }
        Build::Failed | Build::Stopped => {
            let outcome = if facts.build == Build::Stopped {
                "stopped"
            } else {
                "failed"
            };
            vec![
                Action::Park(format!(
                    "the {} build {outcome} {} times",
                    job.label(),
                    facts.attempts
                )),
                Action::Emit(Event::FailedCodebuildException),
            ]
        }
    }
}

/// The next actions for an account. A failed or stopped purge never reaches `assigned`.
pub fn next(facts: &Facts) -> Vec<Action> {
    if facts.parked {
        return Vec::new();
    }
    let Some(raw) = &facts.state else {
        return vec![Action::SetState(State::Vanilla)];
    };
    let Some(state) = State::parse(raw) else {
        return vec![
            Action::Park(format!(
                "the state tag holds `{raw}`, not one of vanilla, assigned, released, expired"
            )),
            Action::Emit(Event::GenericException),
        ];
    };
    match state {
        State::Vanilla => enter(State::Assigned, &[Event::CreatedAccount]),
        State::Assigned => build_step(
            Job::Preparation,
            facts.preparation,
            facts,
            State::Released,
            Event::PreparedAccount,
        ),
        State::Released if facts.maintenance_due => enter(State::Expired, &[]),
        State::Released => Vec::new(),
        State::Expired => build_step(
            Job::Purge,
            facts.purge,
            facts,
            State::Assigned,
            Event::PurgedAccount,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(state: Option<&str>) -> Facts {
        Facts {
            state: state.map(str::to_string),
            preparation: false,
            purge: false,
            build: Build::None,
            attempts: 0,
            maintenance_due: false,
            parked: false,
        }
    }

    /// Every state × every fact that matters, with the expected actions.
    #[test]
    fn transition_table() {
        use Action::*;
        use Build as B;
        let cases: Vec<(Facts, Vec<Action>)> = vec![
            (facts(None), vec![SetState(State::Vanilla)]),
            (facts(Some("vanilla")), vec![SetState(State::Assigned), Emit(Event::CreatedAccount), Emit(Event::AssignedAccount)]),
            (facts(Some("assigned")), vec![SetState(State::Released), Emit(Event::ReleasedAccount)]),
            (Facts { preparation: true, ..facts(Some("assigned")) }, vec![StartBuild(Job::Preparation)]),
            (Facts { preparation: true, build: B::InProgress, attempts: 1, ..facts(Some("assigned")) }, vec![Wait(Job::Preparation)]),
            (
                Facts { preparation: true, build: B::Succeeded, attempts: 1, ..facts(Some("assigned")) },
                vec![SetState(State::Released), Emit(Event::PreparedAccount), Emit(Event::ReleasedAccount)],
            ),
            (Facts { preparation: true, build: B::Failed, attempts: 1, ..facts(Some("assigned")) }, vec![StartBuild(Job::Preparation)]),
            (Facts { preparation: true, build: B::Stopped, attempts: 2, ..facts(Some("assigned")) }, vec![StartBuild(Job::Preparation)]),
            (
                Facts { preparation: true, build: B::Failed, attempts: 3, ..facts(Some("assigned")) },
                vec![Park("the preparation build failed 3 times".into()), Emit(Event::FailedCodebuildException)],
            ),
            (facts(Some("released")), vec![]),
            (Facts { maintenance_due: true, ..facts(Some("released")) }, vec![SetState(State::Expired), Emit(Event::ExpiredAccount)]),
            (facts(Some("expired")), vec![SetState(State::Assigned), Emit(Event::AssignedAccount)]),
            (Facts { purge: true, ..facts(Some("expired")) }, vec![StartBuild(Job::Purge)]),
            (Facts { purge: true, build: B::InProgress, attempts: 1, ..facts(Some("expired")) }, vec![Wait(Job::Purge)]),
            (
                Facts { purge: true, build: B::Succeeded, attempts: 1, ..facts(Some("expired")) },
                vec![SetState(State::Assigned), Emit(Event::PurgedAccount), Emit(Event::AssignedAccount)],
            ),
            (Facts { purge: true, build: B::Failed, attempts: 1, ..facts(Some("expired")) }, vec![StartBuild(Job::Purge)]),
            (
                Facts { purge: true, build: B::Stopped, attempts: 3, ..facts(Some("expired")) },
                vec![Park("the purge build stopped 3 times".into()), Emit(Event::FailedCodebuildException)],
            ),
            (
                facts(Some("nuked")),
                vec![
                    Park("the state tag holds `nuked`, not one of vanilla, assigned, released, expired".into()),
                    Emit(Event::GenericException),
                ],
            ),
            (Facts { parked: true, ..facts(Some("assigned")) }, vec![]),
        ];
        for (facts, expected) in cases {
            assert_eq!(next(&facts), expected, "{facts:?}");
        }
    }

    /// The events of one maintenance cycle, released → released, as lifecycle.md lists
    /// them: consumers count on Expired and Assigned whatever the features.
    #[test]
    fn a_cycle_emits_the_contract_events_in_order() {
        use Event::*;
        fn cycle(features: bool) -> Vec<Event> {
            let mut f = Facts {
                preparation: features,
                purge: features,
                maintenance_due: true,
                ..facts(Some("released"))
            };
            let mut emitted = Vec::new();
            for _ in 0..10 {
                for action in next(&f) {
                    match action {
                        Action::SetState(s) => {
                            f.state = Some(s.as_str().to_string());
                            f.build = Build::None;
                            f.maintenance_due = false;
                        }
                        Action::StartBuild(_) => f.build = Build::Succeeded,
                        Action::Emit(e) => emitted.push(e),
                        other => panic!("unexpected {other:?}"),
                    }
                }
                if emitted.last() == Some(&ReleasedAccount) {
                    break;
                }
            }
            emitted
        }
        assert_eq!(
            cycle(false),
            [ExpiredAccount, AssignedAccount, ReleasedAccount]
        );
        assert_eq!(
            cycle(true),
            [
                ExpiredAccount,
                PurgedAccount,
                AssignedAccount,
                PreparedAccount,
                ReleasedAccount
            ]
        );
    }

    /// Whatever the facts, a failed or stopped purge never moves an account to assigned.
    #[test]
    fn a_failed_purge_never_reaches_assigned() {
        for build in [
            Build::Failed,
            Build::Stopped,
            Build::InProgress,
            Build::None,
        ] {
            for attempts in 0..=MAX_ATTEMPTS + 1 {
                for maintenance_due in [false, true] {
                    let facts = Facts {
                        purge: true,
                        build,
                        attempts,
                        maintenance_due,
                        ..facts(Some("expired"))
                    };
                    assert!(
                        !next(&facts).contains(&Action::SetState(State::Assigned)),
                        "{facts:?}"
                    );
                }
            }
        }
    }
}

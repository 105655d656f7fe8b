//! The controller's integration tests, in one binary: the AWS SDK is linked once, not once
//! per file. On fakes (`*_fakes`: quotas, throttling, faults, paused time), on the local
//! emulator (`*_emulator`: the real SDK against moto), and data-driven plans
//! (`plan_fixtures`).

mod apply_fakes;
mod aws_emulator;
mod common;
mod controller_emulator;
mod costs_emulator;
mod costs_fakes;
mod iam_emulator;
mod lifecycle_emulator;
mod lifecycle_fakes;
mod observe_emulator;
mod observe_fakes;
mod parameters_fakes;
mod plan_apply_emulator;
mod plan_fixtures;
mod policies_emulator;
mod policies_fakes;
mod reports_emulator;
mod reports_fakes;
mod subscriptions_fakes;
mod workbooks;

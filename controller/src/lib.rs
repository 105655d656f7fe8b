//! spa-controller: the `spa` binary and the engine behind it.
//!
//! Modules follow the data: `source` (Git) → schema (validate, resolve) → `observe` (AWS,
//! through `aws`) → …; `cli` holds one file per subcommand. See ARCHITECTURE.md.

pub mod aws;
pub mod cli;
pub mod observe;
pub mod source;

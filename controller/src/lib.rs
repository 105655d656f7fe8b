//! spa-controller: the `spa` binary and the engine behind it.
//!
//! Modules follow the data: `source` (Git) → schema (validate, resolve) → … ; `cli` holds
//! one file per subcommand. See ARCHITECTURE.md.

pub mod cli;
pub mod source;

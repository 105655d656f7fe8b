//! What the commands have in common, so that a command file only parses its flags, calls
//! these and builds its [`Output`](super::Output): command files never import each other.
//!
//! - [`settings`]: open the source, load the settings (valid ones, or every diagnostic);
//! - [`connect`]: the async runtime, AWS connected as the settings say, an observation;
//! - [`plan`]: a plan computed from settings and AWS; a saved plan read and compared;
//! - [`apply`]: a plan carried out, with progress;
//! - [`confirm`]: a preview, then a question on the terminal;
//! - [`lifecycle`]: the life-cycle engine wired for one command;
//! - [`admin`]: the running controller's admin endpoint, over HTTP.

pub mod admin;
pub mod apply;
pub mod confirm;
pub mod connect;
pub mod lifecycle;
pub mod plan;
pub mod settings;

use clap::{Args, Subcommand};

use super::ops::settings::open_valid;
use super::{Failure, Output, SourceArgs, Term};
use crate::deploy::{Inputs, Stack, parameters, render};

/// The installation into an AWS organization (docs/install.md).
#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    Parameters(ParametersArgs),
}

/// Print the parameter file of a stack of `deploy/`, derived from the settings.
///
/// The environment, the accounts, the region, the role and table names come from
/// settings.yaml; only what settings cannot know is given here (for the automation stack:
/// the organization, the image, the repository, the network). Give the file to
/// `aws cloudformation deploy --parameter-overrides file://FILE` or to
/// `create-stack --parameters file://FILE`.
#[derive(Debug, Args)]
pub struct ParametersArgs {
    /// The stack: management, automation or member-role.
    #[arg(value_enum, value_name = "STACK")]
    pub stack: Stack,

    #[command(flatten)]
    pub source: SourceArgs,

    /// Automation stack: the organization id (aws organizations describe-organization).
    #[arg(long, value_name = "o-…", value_parser = super::args::organization_id)]
    pub organization_id: Option<String>,

    /// Automation stack: the controller's image, e.g. ghcr.io/spa-project/spa:0.1.0.
    #[arg(long, value_name = "URI", value_parser = super::args::token)]
    pub image_uri: Option<String>,

    /// Automation stack: the settings repository the controller follows.
    #[arg(long, value_name = "URL", value_parser = super::args::token)]
    pub settings_repository_url: Option<String>,

    /// Automation stack: its branch.
    #[arg(long, default_value = "main", value_name = "BRANCH", value_parser = super::args::token)]
    pub settings_branch: String,

    /// Automation stack: the VPC the tasks run in.
    #[arg(long, value_name = "vpc-…", value_parser = super::args::vpc_id)]
    pub vpc_id: Option<String>,

    /// Automation stack: its subnets, comma-separated.
    #[arg(long, value_name = "subnet-…,subnet-…", value_parser = super::args::subnet_ids)]
    pub subnet_ids: Option<String>,
}

pub fn run(command: &DeployCommand, term: &Term) -> Result<Output, Failure> {
    match command {
        DeployCommand::Parameters(args) => {
            let (_, settings) = open_valid(
                &args.source,
                "no parameters were printed",
                term.diagnostics_style(),
            )?;
            let inputs = Inputs {
                organization_id: args.organization_id.clone(),
                image_uri: args.image_uri.clone(),
                settings_repository_url: args.settings_repository_url.clone(),
                settings_branch: args.settings_branch.clone(),
                vpc_id: args.vpc_id.clone(),
                subnet_ids: args.subnet_ids.clone(),
            };
            let parameters = parameters(&settings, args.stack, &inputs)
                .map_err(|missing| Failure::Usage(missing.to_string()))?;
            Ok(Output::data(render(&parameters)))
        }
    }
}

use clap::{Args, Subcommand};

use super::ops::connect::{connect, runtime};
use super::{AwsArgs, Failure, Output};

/// Development helpers for the local emulator.
#[derive(Debug, Subcommand)]
pub enum DevCommand {
    Seed(SeedArgs),
    CreateLeaseTable(LeaseTableArgs),
}

/// Create the DynamoDB table of the controller's lease (partition key `lease`, a string;
/// on-demand capacity). Does nothing when it exists.
#[derive(Debug, Args)]
pub struct LeaseTableArgs {
    #[arg(long, value_name = "TABLE", default_value = "spa-leases")]
    pub name: String,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Create an example organization in the local emulator, through the AWS SDK: OUs (one
/// nested), accounts spread over managed and unmanaged OUs, tags and lifecycle states, and
/// the member role in every account. Resets the emulator first.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The organization to create.
    #[arg(
        long = "org",
        value_name = "FILE",
        default_value = "example-config-repo/organization.yaml"
    )]
    pub organization: std::path::PathBuf,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Print what was created as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: &DevCommand) -> Result<Output, Failure> {
    match command {
        DevCommand::Seed(args) => seed(args),
        DevCommand::CreateLeaseTable(args) => {
            let runtime = runtime()?;
            runtime
                .block_on(async {
                    connect(&args.aws, None)
                        .await
                        .create_lease_table(&args.name)
                        .await
                })
                .map_err(|e| Failure::Runtime(anyhow::Error::new(e)))?;
            Ok(Output {
                stdout: format!("lease table {} ready\n", args.name),
                ..Output::default()
            })
        }
    }
}

fn seed(args: &SeedArgs) -> Result<Output, Failure> {
    let name = args.organization.display().to_string();
    let text = std::fs::read_to_string(&args.organization).map_err(|e| {
        Failure::Runtime(anyhow::Error::new(e).context(format!("cannot read {name}")))
    })?;
    let spec = crate::aws::seed::parse_spec(&name, &text)
        .map_err(|e| Failure::Runtime(anyhow::anyhow!(e)))?;
    let options = args.aws.options(None);
    let seeded = runtime()?
        .block_on(crate::aws::seed::seed(&options, spec))
        .map_err(|e| Failure::Runtime(anyhow::Error::new(e)))?;
    if !seeded.mismatches.is_empty() {
        return Err(Failure::Runtime(anyhow::anyhow!(
            "the emulator generated other ids than {name} expects (another emulator version?):\n  {}",
            seeded.mismatches.join("\n  ")
        )));
    }
    let stdout = if args.json {
        format!("{:#}\n", serde_json::to_value(&seeded).unwrap_or_default())
    } else {
        format!(
            "seeded organization {}: {} organizational units, {} accounts\n",
            seeded.root_id,
            seeded.organizational_units.len(),
            seeded.accounts.len()
        )
    };
    Ok(Output {
        stdout,
        ..Output::default()
    })
}

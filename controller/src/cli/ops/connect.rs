//! AWS, reached as the flags and the settings say, and what it holds of what the settings
//! manage.

use spa_schema::Settings;

use crate::aws::Aws;
use crate::cli::Failure;
use crate::cli::args::AwsArgs;
use crate::observe::Observation;

/// A runtime for the commands that call AWS or the controller.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::Runtime(anyhow::Error::new(e).context("cannot start the async runtime"))
        })
}

/// The door to AWS, configured from the flags and (region, roles) the settings.
pub async fn connect(args: &AwsArgs, settings: Option<&Settings>) -> Aws {
    crate::aws::sdk::connect(&args.options(settings), args.limiters()).await
}

/// Connects and observes what the settings manage; fails when even the organization
/// cannot be read (a partial observation is returned: callers say what it misses).
pub fn connect_and_observe(
    runtime: &tokio::runtime::Runtime,
    args: &AwsArgs,
    settings: &Settings,
) -> Result<(Aws, Observation), Failure> {
    let (aws, observation) = runtime.block_on(async {
        let aws = connect(args, Some(settings)).await;
        let observation = crate::observe::observe(&aws, settings).await;
        (aws, observation)
    });
    if observation.root_id.is_none() && !observation.complete {
        let first = observation
            .errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        return Err(Failure::Runtime(anyhow::anyhow!(
            "cannot read the organization: {first}"
        )));
    }
    Ok((aws, observation))
}

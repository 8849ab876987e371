//! The `pakn` command line. `pakn` alone serves, so `cargo run` does.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::startup::{Application, load_demo_directory};
use crate::store::Store;
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(
    name = "pakn",
    version,
    about = "Tiếp nhận, xử lý phản ánh, kiến nghị (Nghị định 20/2008/NĐ-CP)"
)]
pub struct Cli {
    /// Configuration file layered over the built-in defaults
    /// (default: config/default.toml; also PAKN_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database and serve HTTP (the default).
    Serve,
    /// Apply, roll back or list database migrations.
    Migrate {
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Load the demo directory (TP Đà Nẵng); safe to run again.
    DemoData,
}

#[derive(Debug, Subcommand)]
enum MigrateAction {
    /// Apply every pending migration (the default).
    Up,
    /// Roll back migrations: the last one, or --steps N, or --all.
    Down {
        #[arg(long, conflicts_with = "all")]
        steps: Option<u32>,
        #[arg(long)]
        all: bool,
    },
    /// List migrations and whether each is applied.
    Status,
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pakn: {e}");
            return ExitCode::from(78); // EX_CONFIG
        }
    };
    if let Err(e) = telemetry::init(&settings.log.level, settings.log.format, std::io::stderr) {
        eprintln!("pakn: cannot start logging: {e}");
        return ExitCode::from(70);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::from(70);
        }
    };
    match runtime.block_on(execute(cli.command.unwrap_or(Command::Serve), settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "pakn stopped with an error");
            eprintln!("pakn: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command, settings: Settings) -> anyhow::Result<()> {
    tracing::info!(config = %settings.redacted(), "effective configuration");
    match command {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate { action } => {
            let store = Store::connect(&settings.database).await?;
            match action.unwrap_or(MigrateAction::Up) {
                MigrateAction::Up => store.migrate_up().await?,
                MigrateAction::Down { steps, all } => {
                    store
                        .migrate_down(if all { None } else { Some(steps.unwrap_or(1)) })
                        .await?
                }
                MigrateAction::Status => {
                    for (name, applied) in store.migration_status().await? {
                        println!("{} {name}", if applied { "applied" } else { "pending" });
                    }
                }
            }
            store.close().await;
        }
        Command::DemoData => {
            let store = Store::connect(&settings.database).await?;
            store.migrate_up().await?;
            let n = load_demo_directory(&store).await?;
            println!("demo directory loaded: {n} agencies");
            store.close().await;
        }
    }
    Ok(())
}

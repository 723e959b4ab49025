use clap::{Parser, Subcommand};
use gifchat::config::Settings;
use gifchat::startup::Application;

#[derive(Parser)]
#[command(name = "gifchat", version, about = "Real-time GIF chat rooms")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the WebSocket and the web app (the default).
    Serve(Box<Settings>),
    /// Print the OpenAPI document as YAML (what `openapi.yaml` holds).
    Openapi,
}

fn main() -> anyhow::Result<()> {
    // A `.env` file fills in settings the environment does not set.
    dotenvy::dotenv().ok();
    let cli = Cli::parse();
    let settings = match cli.command {
        Some(Command::Openapi) => {
            print!("{}", gifchat::openapi::yaml()?);
            return Ok(());
        }
        Some(Command::Serve(settings)) => *settings,
        None => Settings::from_env().unwrap_or_else(|e| e.exit()),
    };
    gifchat::logging::init();
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).await?;
        log::info!("gifchat listening on port {}", app.port());
        app.run_until_stopped().await?;
        log::info!("gifchat stopped");
        Ok(())
    })
}

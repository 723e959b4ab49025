//! Builds the application and binds it. Returns the bound port, so tests can
//! ask for port 0.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_http::{HttpService, KeepAlive};
use actix_request_identifier::RequestIdentifier;
use actix_service::{map_config, IntoServiceFactory};
use actix_web::dev::{AppConfig, Server};
use actix_web::middleware::{from_fn, Condition, DefaultHeaders, Logger};
use actix_web::web::{self, Data};
use actix_web::App;
use anyhow::Context;
use utoipa_actix_web::{scope, AppExt};
use utoipa_swagger_ui::SwaggerUi;

use crate::cluster::Cluster;
use crate::config::Settings;
use crate::db::Db;
use crate::error::AppError;
use crate::extract::JSON_LIMIT;
use crate::identity;
use crate::net::client_label;
use crate::openapi;
use crate::rate_limit::RateLimits;
use crate::realtime::append::Appender;
use crate::realtime::delivery::hub::Hub;
use crate::realtime::transport;
use crate::realtime::Realtime;
use crate::routes::{self, fallback};
use crate::state::AppState;
use crate::storage::gifs::{GifLimits, GifStore};
use crate::storage::pipeline::{self, MediaQueue};
use crate::{logging, metrics};

const ACCESS_LOG: &str = r#"%{client_ip}xi "%r" %s %b %Dms "%{User-Agent}i" req=%{x-request-id}o"#;

pub struct Application {
    port: u16,
    server: Server,
    state: Data<AppState>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let key = identity::load_key(settings.session_key.as_deref(), &settings.data_dir)?;
        let db = Db::connect(&settings.database(), settings.db_pool_size)?;
        let upload_dir = settings.upload_dir();
        let gifs = GifStore::open(
            &upload_dir,
            GifLimits {
                max_bytes: settings.gif_max_bytes,
                max_dimension: settings.gif_max_dimension,
                max_frames: settings.gif_max_frames,
                max_pixels: settings.gif_max_pixels,
            },
        )
        .with_context(|| format!("opening the upload folder {}", upload_dir.display()))?;
        let listener = TcpListener::bind((settings.bind_addr, settings.port))
            .with_context(|| format!("binding {}:{}", settings.bind_addr, settings.port))?;
        let port = listener.local_addr()?.port();
        let cluster = match &settings.redis_url {
            None => None,
            Some(url) => {
                if db.kind() != crate::db::DbKind::Postgres {
                    anyhow::bail!(
                        "REDIS_URL needs DATABASE_URL on PostgreSQL: instances share one database"
                    );
                }
                if settings.session_key.is_none() {
                    anyhow::bail!("REDIS_URL needs SESSION_KEY: every instance must read the same session cookies");
                }
                let cluster = Cluster::connect(url, &settings)
                    .await
                    .context("connecting to Redis (REDIS_URL)")?;
                log::info!("instance {} joining the cluster", cluster.instance);
                Some(Arc::new(cluster))
            }
        };
        let realtime = Arc::new(Realtime::new(
            Hub::new(settings.ws_queue).with_queue_bytes(settings.ws_queue_bytes),
            cluster.clone(),
            db.clone(),
        ));
        let (media, media_rx) = MediaQueue::new(settings.media_workers);
        let media_workers = settings.media_workers;
        let state = Data::new(AppState {
            media,
            limits: RateLimits::new(&settings),
            appender: Appender::start(
                db.clone(),
                realtime.clone(),
                gifs.clone(),
                settings.chat_edit_secs,
            )?,
            realtime,
            sockets: Default::default(),
            streams: Default::default(),
            settings,
            db,
            gifs,
        });
        if let Some(rx) = media_rx {
            pipeline::start(
                rx,
                Arc::downgrade(&state.clone().into_inner()),
                media_workers,
            )
            .context("starting the media workers")?;
        }
        if let Some(cluster) = &cluster {
            // Seats a single instance held before the switch to a cluster
            // mean nothing now: shared presence is in Redis.
            crate::realtime::service::forget_seats(&state)
                .await
                .context("clearing the seats held at the last stop")?;
            let host: Arc<dyn crate::cluster::Host> = state.clone().into_inner();
            cluster.start(Arc::downgrade(&host)).await?;
        } else {
            let held = crate::realtime::service::restore_seats(&state)
                .await
                .context("reading the seats held at the last stop")?;
            if held > 0 {
                log::info!(
                    "holding {held} seats from the last stop for {}s",
                    state.settings.restart_grace_secs
                );
            }
        }

        let spec = openapi::spec();
        let known = Data::new(fallback::KnownPaths::from_spec(&spec));
        let body_read_timeout = crate::extract::BodyReadTimeout(std::time::Duration::from_secs(
            state.settings.body_read_timeout_secs,
        ));
        let app_state = state.clone();
        let access_log =
            log::log_enabled!(target: "actix_web::middleware::logger", log::Level::Info);
        let metrics_on = state.settings.metrics;
        let make_app = move || {
            let trusted = app_state.settings.trusted_proxies.clone();
            let (app, _) = App::new()
                .into_utoipa_app()
                .app_data(app_state.clone())
                .app_data(known.clone())
                .app_data(body_read_timeout)
                .app_data(web::PayloadConfig::new(JSON_LIMIT))
                .app_data(web::QueryConfig::default().error_handler(|e, _| {
                    AppError::BadRequest(format!("bad query string: {e}")).into()
                }))
                // A path segment that is no seq names no chat.
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|_, _| AppError::NotFound("chat").into()),
                )
                // Registered before the `/api` scope, which would otherwise take these paths.
                .map(|app| {
                    app.service(
                        SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", spec.clone()),
                    )
                    .service(web::redirect("/api/docs", "/api/docs/"))
                })
                .service(scope::scope("/api").configure(routes::api))
                .configure(routes::root)
                .split_for_parts();
            // Vite names built assets by content hash, so they never change.
            // Without a built web app the service is the API alone.
            let assets_dir = app_state.settings.static_dir.join("assets");
            app.configure(|cfg| {
                if assets_dir.is_dir() {
                    cfg.service(
                        web::scope("/assets")
                            .wrap(
                                DefaultHeaders::new()
                                    .add(("Cache-Control", "public, max-age=31536000, immutable")),
                            )
                            .service(actix_files::Files::new("", assets_dir)),
                    );
                }
            })
            .default_service(web::to(fallback::not_found))
            .wrap(from_fn(fallback::docs_policy))
            .wrap(from_fn(identity::ensure_identity))
            .wrap(identity::session_middleware(
                key.clone(),
                app_state.settings.cookie_secure,
            ))
            .wrap(from_fn(crate::extract::hold_unread_bodies))
            .wrap(
                DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("Referrer-Policy", "same-origin"))
                    .add(("X-Frame-Options", "DENY")),
            )
            .wrap(from_fn(logging::scope_request_id))
            .wrap(RequestIdentifier::with_uuid())
            .wrap(Condition::new(metrics_on, metrics::http().clone()))
            // Only when its lines would be written (`RUST_LOG` at `info` for
            // it): formatting a line is a fair share of a small request.
            .wrap(Condition::new(
                access_log,
                Logger::new(ACCESS_LOG).custom_request_replace("client_ip", move |req| {
                    client_label(req.request(), &trusted)
                }),
            ))
        };

        // actix-web's `HttpServer` does not take an upgrade service, so the
        // server is put together here as it does, with one.
        let addr = listener.local_addr()?;
        let builder = Server::build();
        let shutdown = builder.graceful_shutdown_signal();
        let mut builder = builder
            // Signals are handled in `run_until_stopped`, which closes sockets first.
            .disable_signals()
            // Blocking work is almost all database work, which cannot run wider
            // than the pool; more threads would only wait, each holding a stack.
            .worker_max_blocking_threads(state.settings.db_pool_size as usize + 4)
            .shutdown_timeout(state.settings.shutdown_timeout_secs);
        if let Some(workers) = state.settings.workers {
            builder = builder.workers(workers);
        }
        let server = builder
            .listen("gifchat", listener, move || {
                let shutdown = shutdown.clone();
                let http = HttpService::build()
                    .keep_alive(KeepAlive::default())
                    .client_request_timeout(Duration::from_secs(5))
                    .client_disconnect_timeout(Duration::from_secs(1))
                    // Chat frames are small and each is wanted now: without this, a
                    // frame written while the one before is unacknowledged waits for
                    // the peer's delayed ACK (up to 40 ms on Linux).
                    .tcp_nodelay(true)
                    .local_addr(addr)
                    .graceful_shutdown_signal(move || {
                        let shutdown = shutdown.clone();
                        async move { shutdown.notified().await }
                    });
                // The application twice per worker: once to serve requests,
                // once to answer upgrade requests.
                let http =
                    transport::upgrades(http, make_app().into_factory(), transport::SOCKET_PATH)
                        .finish(map_config(make_app().into_factory(), |_| {
                            AppConfig::default()
                        }))
                        .tcp();
                fallback::long_request_lines(http)
            })?
            .run();

        let housekeeping = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                housekeeping.limits.shrink();
            }
        });
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> Data<AppState> {
        self.state.clone()
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM or SIGINT, then stops as [`stop`] says.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let state = self.state.clone();
        tokio::spawn(async move {
            wait_for_shutdown_signal().await;
            stop(&state, &handle).await;
        });
        self.server.await
    }
}

/// A clean stop (SIGTERM or SIGINT). Sockets are closed with 1001 at once,
/// so clients reconnect (to another instance, or to this one when it is
/// back) without waiting; a single instance then writes down who is in
/// which room, so a restart is neither a leave nor a join for them; HTTP
/// requests may finish for up to `SHUTDOWN_TIMEOUT_SECS`.
pub async fn stop(state: &Data<AppState>, handle: &actix_web::dev::ServerHandle) {
    log::info!("shutting down: closing sockets, finishing requests");
    state.sockets.refuse_new();
    // From here nobody is announced as gone for a connection that ends, and
    // membership stands as it is when the sockets go.
    state.realtime.stop_announcing();
    state.realtime.close_all();
    if state.realtime.cluster().is_none() {
        match crate::realtime::service::hold_seats(state).await {
            Ok(held) => log::info!("holding {held} seats until the next start"),
            Err(e) => log::warn!("could not hold the seats for a restart: {e}"),
        }
    }
    // Upgraded connections are no longer the server's to wait for: their
    // close frames go out before it stops.
    let limit = Duration::from_secs(state.settings.shutdown_timeout_secs);
    if !state.sockets.all_closed(limit).await {
        log::warn!("{} sockets still open at shutdown", state.sockets.count());
    }
    if let Some(cluster) = state.realtime.cluster() {
        // Members here start their leave grace now, so they can reconnect
        // to another instance without being announced gone.
        if let Err(e) = cluster.release().await {
            log::warn!("could not release this instance's presence: {e}");
        }
    }
    handle.stop(true).await;
}

async fn wait_for_shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                log::warn!("cannot listen for SIGTERM ({e}); only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

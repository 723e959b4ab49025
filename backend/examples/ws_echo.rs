//! A test-only echo server for `make conformance`: gifchat's socket
//! transport, exactly as `/api/ws` uses it (the upgrade service that hands
//! the connection over, [`gifchat::realtime::transport::inbound`] reading the client's frames, the
//! [`gifchat::realtime::transport::writer`] and its flusher writing), with an echo where the chat would
//! be. Not part of the service.
//!
//! `PORT` (default 9001) and `WS_MAX_FRAME_BYTES` (default 16 MiB, enough
//! for every message of Autobahn's cases 1–7 and 10).

use actix_http::ws;
use actix_http::HttpService;
use actix_service::{map_config, IntoServiceFactory};
use actix_web::body::BoxBody;
use actix_web::dev::{AppConfig, Server};
use actix_web::error::{ErrorBadRequest, ErrorInternalServerError};
use actix_web::web::{self, Data, Payload};
use actix_web::{App, HttpRequest, HttpResponse};
use gifchat::realtime::transport::inbound::{answer_to_close, Inbound, Message};
use gifchat::realtime::transport::writer::{self, Closed, Writer};
use gifchat::realtime::transport::{self, OpenSockets, SocketTakeover};

struct Echo {
    sockets: OpenSockets,
    max_message: usize,
}

async fn socket(
    req: HttpRequest,
    body: Payload,
    echo: Data<Echo>,
) -> actix_web::Result<HttpResponse> {
    let handshake = ws::handshake(req.head())
        .map_err(ErrorBadRequest)?
        .message_body(BoxBody::new(()))
        .map_err(ErrorInternalServerError)?;
    let (writer, flusher, mut res) = writer::attach(handshake.into(), echo.sockets.open());
    res.extensions_mut().insert(SocketTakeover(flusher));
    let inbound = Inbound::new(body.into_inner(), echo.max_message);
    actix_web::rt::spawn(serve(inbound, writer));
    Ok(res)
}

/// Echoes every message until the client closes or breaks the protocol,
/// then closes as `/api/ws` does.
async fn serve(mut inbound: Inbound, writer: Writer) {
    let reason = loop {
        let sent = match inbound.recv().await {
            Some(Ok(Message::Text(text))) => writer.text(text.as_bytes(), true, true).await,
            Some(Ok(Message::Binary(bytes))) => writer.binary(&bytes).await,
            Some(Ok(Message::Ping(bytes))) => writer.pong(&bytes),
            Some(Ok(Message::Pong(_))) => Ok(()),
            Some(Ok(Message::Close(theirs))) => break answer_to_close(theirs),
            Some(Err(broken)) => break Some(broken),
            None => break None,
        };
        if sent == Err(Closed) {
            return;
        }
    };
    let _ = writer.close(reason);
}

fn main() -> std::io::Result<()> {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let port = env("PORT", 9001) as u16;
    let echo = Data::new(Echo {
        sockets: OpenSockets::default(),
        max_message: env("WS_MAX_FRAME_BYTES", 16 << 20),
    });
    actix_web::rt::System::new().block_on(async move {
        let app = move || {
            App::new()
                .app_data(echo.clone())
                .route("/", web::get().to(socket))
        };
        let server = Server::build()
            .workers(1)
            .bind("ws-echo", ("127.0.0.1", port), move || {
                let http = HttpService::build().tcp_nodelay(true);
                transport::upgrades(http, app().into_factory(), "/")
                    .finish(map_config(app().into_factory(), |_| AppConfig::default()))
                    .tcp()
            })?
            .run();
        println!("ws_echo listening on port {port}");
        server.await
    })
}

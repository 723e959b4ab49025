//! The benchmark ceiling: what gifchat's transport reaches on this machine
//! with no application logic. `GET /ws?room=R` joins a room;
//! `POST /rooms/R/chat` sends its body, as is, to everyone in R.
//!
//! The transport is gifchat's: actix-web, its upgrade service handing the
//! connection over to the socket, actix-http's handshake, gifchat's reader
//! for the client's frames and its writer for the frames sent.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_http::HttpService;
use actix_service::{map_config, IntoServiceFactory};
use actix_web::body::BoxBody;
use actix_web::dev::{AppConfig, Server};
use actix_web::web::{self, Bytes, Data, Path, Payload};
use actix_web::{App, HttpRequest, HttpResponse};
use bytestring::ByteString;
use gifchat::realtime::transport::inbound::{Inbound, Message};
use gifchat::realtime::transport::writer;
use gifchat::realtime::transport::{self, OpenSockets, SocketTakeover};
use tokio::sync::mpsc;

#[derive(Default)]
struct Rooms {
    next: Mutex<u64>,
    rooms: Mutex<HashMap<String, HashMap<u64, mpsc::Sender<ByteString>>>>,
    sockets: OpenSockets,
}

async fn ws(
    req: HttpRequest,
    body: Payload,
    rooms: Data<Rooms>,
) -> actix_web::Result<HttpResponse> {
    let room = req
        .query_string()
        .split('&')
        .find_map(|kv| kv.strip_prefix("room="))
        .unwrap_or("")
        .to_owned();
    let handshake = actix_http::ws::handshake(req.head())
        .map_err(actix_web::error::ErrorBadRequest)?
        .message_body(BoxBody::new(()))?;
    let mut stream = Inbound::new(body.into_inner(), 64 * 1024);
    let (writer, flusher, mut res) = writer::attach(handshake.into(), rooms.sockets.open());
    res.extensions_mut().insert(SocketTakeover(flusher));
    let (tx, mut rx) = mpsc::channel::<ByteString>(1024);
    let id = {
        let mut next = rooms.next.lock().unwrap();
        *next += 1;
        *next
    };
    rooms
        .rooms
        .lock()
        .unwrap()
        .entry(room.clone())
        .or_default()
        .insert(id, tx);
    actix_web::rt::spawn(async move {
        loop {
            tokio::select! {
                out = rx.recv() => match out {
                    Some(frame) => if writer.text(frame.as_bytes(), true, true).await.is_err() { break },
                    None => break,
                },
                msg = stream.recv() => match msg {
                    Some(Ok(Message::Ping(b))) => { let _ = writer.pong(&b); }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    _ => {}
                },
            }
        }
        if let Some(members) = rooms.rooms.lock().unwrap().get_mut(&room) {
            members.remove(&id);
        }
    });
    Ok(res)
}

async fn chat(room: Path<String>, body: Bytes, rooms: Data<Rooms>) -> HttpResponse {
    let Ok(frame) = ByteString::try_from(body) else {
        return HttpResponse::BadRequest().finish();
    };
    if let Some(members) = rooms.rooms.lock().unwrap().get(room.as_str()) {
        for tx in members.values() {
            let _ = tx.try_send(frame.clone());
        }
    }
    HttpResponse::Ok().body("ok")
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8020);
    let rooms = Data::new(Rooms::default());
    actix_web::rt::System::new().block_on(async move {
        let app = move || {
            App::new()
                .app_data(rooms.clone())
                .route("/ws", web::get().to(ws))
                .route("/rooms/{room}/chat", web::post().to(chat))
        };
        let server = Server::build()
            .workers(1)
            .bind("ceiling", ("127.0.0.1", port), move || {
                let http = HttpService::build().tcp_nodelay(true);
                transport::upgrades(http, app().into_factory(), "/ws")
                    .finish(map_config(app().into_factory(), |_| AppConfig::default()))
                    .tcp()
            })?
            .run();
        println!("ceiling listening on port {port}");
        server.await
    })
}

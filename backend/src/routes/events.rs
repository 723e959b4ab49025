use std::collections::VecDeque;
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::{Bytes, Data, Path};
use actix_web::{get, HttpRequest, HttpResponse};
use futures_util::stream;

use crate::access::find_readable_room;
use crate::api::{ChatResponse, UserResponse};
use crate::db::chats;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::identity::Identity;
use crate::realtime::delivery::frame::{Arrival, Outbound};
use crate::realtime::service;
use crate::realtime::transport::wakes;
use crate::state::AppState;

const KEEPALIVE: Duration = Duration::from_secs(15);

/// Unsubscribes the watcher when the response stream is dropped.
struct Watch {
    _open: crate::metrics::OpenGuard,
    state: Data<AppState>,
    id: u64,
    viewer: String,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.state.realtime.unwatch(self.id);
    }
}

fn sse(out: &Outbound) -> Bytes {
    match out.chat() {
        Some((_, seq)) => Bytes::from(format!("id: {seq}\ndata: {}\n\n", out.text)),
        None => Bytes::from(format!("data: {}\n\n", out.text)),
    }
}

/// Server-Sent Events: the room's envelopes as they happen, each `data:`
/// line one envelope; chats carry `id:` = seq. With `Last-Event-ID`, chats
/// after that seq are replayed first. Watching does not make you a member.
#[utoipa::path(
    tag = "realtime",
    operation_id = "watch_room",
    params(
        ("id" = String, Path, description = "Room id"),
        ("Last-Event-ID" = Option<i64>, Header, description = "Replay the chats after this seq"),
    ),
    responses(
        (status = 200, description = "An endless event stream of `ServerEnvelope`s", content_type = "text/event-stream", body = String),
        (status = 400, description = "`bad_request`: Last-Event-ID is not a seq", body = ErrorBody),
        (status = 403, description = "`forbidden` (secret room) or `banned`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ),
)]
#[get("/rooms/{id}/events")]
pub async fn watch_room(
    req: HttpRequest,
    state: Data<AppState>,
    me: Identity,
    id: Path<String>,
) -> AppResult<HttpResponse> {
    let since: Option<i64> = match req.headers().get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .filter(|n: &i64| *n >= 0)
                .ok_or_else(|| AppError::BadRequest("Last-Event-ID must be a chat seq".into()))?,
        ),
    };
    let (room_id, user_id) = (id.into_inner(), me.user_id.clone());
    let check = (room_id.clone(), user_id.clone());
    state
        .db
        .run(move |conn| find_readable_room(conn, &check.0, &check.1))
        .await?;

    let registration = state.realtime.watch(
        std::sync::Arc::new(UserResponse::new(&user_id, None)),
        &room_id,
    );
    let watch = Watch {
        _open: crate::metrics::OpenGuard::new(&crate::metrics::metrics().open_streams),
        state: state.clone(),
        id: registration.id,
        viewer: user_id.clone(),
    };
    let cap = state.settings.replay_max as i64;
    let replay: Vec<ChatResponse> = match since {
        Some(after) => {
            let (r, u) = (room_id.clone(), user_id.clone());
            state
                .db
                .run(move |conn| {
                    let (rows, truncated) = chats::latest_after(conn, &r, &u, after, cap)?;
                    crate::metrics::count_resume(truncated);
                    Ok(chats::load_responses(conn, &rows)?)
                })
                .await?
        }
        None => Vec::new(),
    };
    // The last chat seq sent: known after a replay, else from the first live chat.
    let mut last = since;
    let mut queued: VecDeque<Bytes> = VecDeque::new();
    queued.push_back(Bytes::from_static(b"retry: 2000\n\n"));
    for chat in replay {
        last = last.max(Some(chat.seq));
        queued.push_back(sse(&Outbound::chat(chat)));
    }
    let rx = registration.rx;
    let body = stream::unfold(
        (queued, rx, watch, last, false),
        move |(mut queued, mut rx, watch, mut last, done)| async move {
            if let Some(next) = queued.pop_front() {
                return Some((
                    Ok::<_, actix_web::Error>(next),
                    (queued, rx, watch, last, done),
                ));
            }
            if done {
                return None;
            }
            loop {
                let out = match tokio::time::timeout(KEEPALIVE, rx.recv()).await {
                    Err(_) => {
                        return Some((
                            Ok(Bytes::from_static(b": keepalive\n\n")),
                            (queued, rx, watch, last, done),
                        ))
                    }
                    Ok(None) => return None,
                    Ok(Some(out)) => out,
                };
                if let Some((room, seq)) = out.chat() {
                    match Arrival::of(last, seq) {
                        Arrival::Duplicate => continue,
                        Arrival::After(l) => {
                            // Chats that never arrived live (see `service::missed`).
                            let state = &watch.state;
                            match service::missed(state, room, &watch.viewer, l, seq).await {
                                Ok(chats) => queued
                                    .extend(chats.into_iter().map(|c| sse(&Outbound::chat(c)))),
                                Err(e) => log::warn!("could not fill a gap in room {room}: {e}"),
                            }
                        }
                        Arrival::InOrder => {}
                    }
                    last = Some(seq);
                }
                if out.is_marker() {
                    if let Some(next) = queued.pop_front() {
                        return Some((Ok(next), (queued, rx, watch, last, done)));
                    }
                    continue;
                }
                let ends = out.ends_watch();
                queued.push_back(sse(&out));
                let next = queued.pop_front().unwrap_or_default();
                return Some((Ok(next), (queued, rx, watch, last, ends)));
            }
        },
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        // Batched wake-ups: the chat writer's wake-ups for it come through its worker
        // (`wakes`).
        .streaming(wakes::batched(body)))
}

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
use crate::rate_limit::AddressSlot;
use crate::realtime::delivery::frame::{Arrival, Outbound};
use crate::realtime::service;
use crate::realtime::transport::wakes;
use crate::state::AppState;

const KEEPALIVE: Duration = Duration::from_secs(15);

/// Unsubscribes the watcher when the response stream is dropped.
struct Watch {
    _open: crate::metrics::OpenGuard,
    _address: Option<AddressSlot>,
    state: Data<AppState>,
    id: u64,
    viewer: String,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.state.realtime.unwatch(self.id);
    }
}

/// Where a stream is: the last chat seq it sent and the highest rev (of a
/// chat or a change). Its events' `id:` is both, `{seq}.{rev}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    seq: Option<i64>,
    rev: i64,
}

impl Cursor {
    /// `{seq}` or `{seq}.{rev}`, both not negative.
    fn parse(id: &str) -> Option<Self> {
        let (seq, rev) = match id.trim().split_once('.') {
            Some((seq, rev)) => (seq, Some(rev)),
            None => (id.trim(), None),
        };
        let number = |s: &str| s.parse::<i64>().ok().filter(|n| *n >= 0);
        Some(Self {
            seq: Some(number(seq)?),
            rev: match rev {
                Some(rev) => number(rev)?,
                None => 0,
            },
        })
    }
}

/// An event as SSE; a chat or a change moves the cursor and names it.
fn sse(out: &Outbound, cursor: &mut Cursor) -> Bytes {
    let Some(rev) = out.rev() else {
        return Bytes::from(format!("data: {}\n\n", out.text));
    };
    if let Some((_, seq)) = out.chat() {
        cursor.seq = cursor.seq.max(Some(seq));
    }
    cursor.rev = cursor.rev.max(rev);
    Bytes::from(format!(
        "id: {}.{}\ndata: {}\n\n",
        cursor.seq.unwrap_or(0),
        cursor.rev,
        out.text
    ))
}

/// Server-Sent Events: the room's envelopes as they happen, each `data:`
/// line one envelope. Chats and changes (`chat_updated`) carry
/// `id: {seq}.{rev}`, the stream's two cursors after that event. With
/// `Last-Event-ID: {seq}.{rev}`, the chats after that seq are replayed
/// first, then a `chat_updated` for each older chat changed after that rev;
/// a bare `{seq}` replays the chats only. Watching does not make you a
/// member.
#[utoipa::path(
    tag = "realtime",
    operation_id = "watch_room",
    params(
        ("id" = String, Path, description = "Room id"),
        ("Last-Event-ID" = Option<String>, Header, description = "`{seq}.{rev}` (or `{seq}`): replay what came after"),
    ),
    responses(
        (status = 200, description = "An endless event stream of `ServerEnvelope`s", content_type = "text/event-stream", body = String),
        (status = 400, description = "`bad_request`: Last-Event-ID is not `{seq}` or `{seq}.{rev}`", body = ErrorBody),
        (status = 403, description = "`forbidden` (secret room) or `banned`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: this client address has `SSE_MAX_PER_IP` streams open", body = ErrorBody),
    ),
)]
#[get("/rooms/{id}/events")]
pub async fn watch_room(
    req: HttpRequest,
    state: Data<AppState>,
    me: Identity,
    id: Path<String>,
) -> AppResult<HttpResponse> {
    let since: Option<Cursor> = match req.headers().get("last-event-id") {
        None => None,
        Some(v) => Some(v.to_str().ok().and_then(Cursor::parse).ok_or_else(|| {
            AppError::BadRequest("Last-Event-ID must be `{seq}.{rev}` or `{seq}`".into())
        })?),
    };
    // Counted from here on, as sockets are, so that one address cannot hold
    // every connection the server has.
    let settings = &state.settings;
    let address = match crate::net::request_ip(&req, &settings.trusted_proxies) {
        Some(ip) if settings.rate_limits && settings.sse_max_per_ip > 0 => Some(
            state
                .streams
                .take(ip, settings.sse_max_per_ip)
                .map_err(|refused| refused.refusal("sse_per_address"))?,
        ),
        _ => None,
    };
    let (room_id, user_id) = (id.into_inner(), me.user_id.clone());
    let check = (room_id.clone(), user_id.clone());
    // Read before watching: a chat committed in between arrives after a
    // gap, which is filled.
    let (room, _) = state
        .db
        .run(move |conn| find_readable_room(conn, &check.0, &check.1))
        .await?;
    // A cursor past the room's latest names nothing it has sent: resuming
    // from there would hold back every chat up to it.
    let since = since.map(|c| Cursor {
        seq: c.seq.map(|seq| seq.min(room.last_seq)),
        rev: c.rev.min(room.last_rev),
    });

    let registration = state.realtime.watch(
        std::sync::Arc::new(UserResponse::new(&user_id, None)),
        &room_id,
    );
    let watch = Watch {
        _open: crate::metrics::OpenGuard::new(&crate::metrics::metrics().open_streams),
        _address: address,
        state: state.clone(),
        id: registration.id,
        viewer: user_id.clone(),
    };
    let cap = state.settings.replay_max as i64;
    let (replay, updates): (Vec<ChatResponse>, Vec<ChatResponse>) = match since {
        Some(Cursor {
            seq: Some(after),
            rev,
        }) => {
            let (r, u) = (room_id.clone(), user_id.clone());
            let with_changes = rev > 0;
            state
                .db
                .run(move |conn| {
                    let (rows, truncated) = chats::latest_after(conn, &r, &u, after, cap)?;
                    crate::metrics::count_resume(truncated);
                    let changed = if with_changes {
                        chats::changed_after(conn, &r, &u, rev, Some(after), cap)?.0
                    } else {
                        Vec::new()
                    };
                    Ok((
                        chats::load_responses(conn, &rows)?,
                        chats::load_responses(conn, &changed)?,
                    ))
                })
                .await?
        }
        _ => (Vec::new(), Vec::new()),
    };
    let mut cursor = since.unwrap_or(Cursor {
        seq: Some(room.last_seq),
        rev: room.last_rev,
    });
    let mut queued: VecDeque<Bytes> = VecDeque::new();
    queued.push_back(Bytes::from_static(b"retry: 2000\n\n"));
    for chat in replay {
        queued.push_back(sse(&Outbound::chat(chat), &mut cursor));
    }
    for chat in updates {
        queued.push_back(sse(&Outbound::chat_updated(&chat), &mut cursor));
    }
    let rx = registration.rx;
    let body = stream::unfold(
        (queued, rx, watch, cursor, false),
        move |(mut queued, mut rx, watch, mut cursor, done)| async move {
            if let Some(next) = queued.pop_front() {
                return Some((
                    Ok::<_, actix_web::Error>(next),
                    (queued, rx, watch, cursor, done),
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
                            (queued, rx, watch, cursor, done),
                        ))
                    }
                    Ok(None) => return None,
                    Ok(Some(out)) => out,
                };
                if let Some((room, seq)) = out.chat() {
                    match Arrival::of(cursor.seq, seq) {
                        Arrival::Duplicate => continue,
                        Arrival::After(l) => {
                            // Chats that never arrived live (see `service::missed`).
                            let state = &watch.state;
                            match service::missed(state, room, &watch.viewer, l, seq).await {
                                Ok(chats) => {
                                    for chat in chats {
                                        queued.push_back(sse(&Outbound::chat(chat), &mut cursor));
                                    }
                                }
                                // The stream ends before this chat, so the
                                // client resumes from the last one it has.
                                Err(e) => {
                                    log::warn!("could not fill a gap in room {room}, ending the stream: {e}");
                                    return None;
                                }
                            }
                        }
                        Arrival::InOrder => {}
                    }
                    cursor.seq = Some(seq);
                }
                if out.is_marker() {
                    if let Some(next) = queued.pop_front() {
                        return Some((Ok(next), (queued, rx, watch, cursor, done)));
                    }
                    continue;
                }
                let ends = out.ends_watch();
                queued.push_back(sse(&out, &mut cursor));
                let next = queued.pop_front().unwrap_or_default();
                return Some((Ok(next), (queued, rx, watch, cursor, ends)));
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

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn last_event_ids_are_a_seq_or_a_seq_and_a_rev() {
        let at = |seq, rev| {
            Some(Cursor {
                seq: Some(seq),
                rev,
            })
        };
        assert_eq!(Cursor::parse("12"), at(12, 0));
        assert_eq!(Cursor::parse(" 12.40 "), at(12, 40));
        for bad in ["", "a", "-1", "1.", ".2", "1.2.3", "1.-2"] {
            assert_eq!(Cursor::parse(bad), None, "{bad:?}");
        }
    }
}

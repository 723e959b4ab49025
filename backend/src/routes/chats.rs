use actix_web::http::StatusCode;
use actix_web::web::{Data, Path, Query};
use actix_web::{get, post, HttpRequest, HttpResponse};

use crate::access::find_readable_room;
use crate::api::{ChatEnvelope, ChatsPage, ChatsQuery, PageMeta, PostChatRequest};
use crate::db::chats::{self, PageQuery};
use crate::domain::ids;
use crate::domain::validation::{ChatText, ClientId, PageSize};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::ApiJson;
use crate::identity::Identity;
use crate::realtime::append::{Post, Posted, TextPost};
use crate::realtime::delivery::recent::Hit;
use crate::realtime::transport::wakes;
use crate::state::AppState;

fn page_query(q: &ChatsQuery) -> AppResult<PageQuery> {
    let limit = PageSize::parse(q.limit)?;
    for (name, value) in [("before_seq", q.before_seq), ("after_seq", q.after_seq)] {
        if value.is_some_and(|v| v < 0) {
            return Err(AppError::field(name, "must not be negative"));
        }
    }
    Ok(PageQuery {
        before_seq: q.before_seq,
        after_seq: q.after_seq,
        limit,
    })
}

/// A page of history, from the database or from the latest chats in memory.
enum Page {
    Loaded(ChatsPage),
    Cached(Hit),
}

/// A room's history, in ascending `seq`. Without a cursor: the latest `limit`
/// chats. Whispers appear only to their two parties.
#[utoipa::path(
    tag = "chats",
    operation_id = "list_chats",
    params(("id" = String, Path, description = "Room id"), ChatsQuery),
    responses(
        (status = 200, body = ChatsPage),
        (status = 400, description = "`bad_request`: unparsable query", body = ErrorBody),
        (status = 403, description = "`forbidden` (secret room) or `banned`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: bad `limit` or cursor", body = ErrorBody),
    ),
)]
#[get("/rooms/{id}/chats")]
pub async fn list_chats(
    state: Data<AppState>,
    me: Identity,
    id: Path<String>,
    query: Query<ChatsQuery>,
) -> AppResult<HttpResponse> {
    let q = page_query(&query)?;
    let latest = q.before_seq.is_none() && q.after_seq.is_none();
    let realtime = state.realtime.clone();
    let page = state
        .db
        .run(move |conn| {
            let (room, _) = find_readable_room(conn, &id, &me.user_id)?;
            if latest {
                let hit =
                    realtime
                        .recent()
                        .latest(&id, &me.user_id, room.last_seq, q.limit as usize);
                if let Some(hit) = hit {
                    return Ok(Page::Cached(hit));
                }
            }
            let (rows, has_more) = chats::page(conn, &id, &me.user_id, q, None)?;
            let chats = chats::load_responses(conn, &rows)?;
            Ok(Page::Loaded(ChatsPage {
                chats,
                meta: PageMeta { has_more },
            }))
        })
        .await?;
    Ok(match page {
        Page::Loaded(page) => HttpResponse::Ok().json(page),
        Page::Cached(cached) => HttpResponse::Ok()
            .content_type(mime::APPLICATION_JSON)
            .body(cached.body()),
    })
}

/// Post a text chat; with `to`, a whisper. With a `client_id` it is posted
/// at most once: a post whose `client_id` you already used in this room
/// (by text or GIF) creates nothing and answers `200` with the chat the
/// first one made, whatever its body says now.
#[utoipa::path(
    tag = "chats",
    operation_id = "post_chat",
    params(("id" = String, Path, description = "Room id")),
    request_body = PostChatRequest,
    responses(
        (status = 201, description = "Posted", body = ChatEnvelope),
        (status = 200, description = "Posted before: its `client_id` was used in this room by you; the chat the first post made", body = ChatEnvelope),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "`forbidden` (secret room) or `banned`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "`validation_failed`: bad text, recipient or `client_id`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
)]
#[post("/rooms/{id}/chats")]
pub async fn post_chat(
    req: HttpRequest,
    state: Data<AppState>,
    me: Identity,
    id: Path<String>,
    body: ApiJson<PostChatRequest>,
) -> AppResult<HttpResponse> {
    let body = body.0;
    let text = ChatText::parse(&body.text)?;
    let client_id = ClientId::parse_optional(body.client_id.as_deref())?;
    let address = crate::net::request_ip(&req, &state.settings.trusted_proxies);
    state.limits.check_post(&me.user_id, address)?;
    let id = id.into_inner();
    if !ids::is_well_formed(&id) {
        return Err(AppError::NotFound("room"));
    }
    let post = TextPost {
        room_id: id,
        user_id: me.user_id,
        text: text.into_inner(),
        to: body.to,
        client_id: client_id.map(ClientId::into_inner),
    };
    // On this worker: the writer's answer comes with its batch's wake-up.
    let posted = wakes::batched(state.appender.post(Post::Text(post))).await?;
    Ok(answer(posted))
}

/// `201` with a new chat, `200` with the one a repeated `client_id` made.
pub(crate) fn answer(posted: Posted) -> HttpResponse {
    let status = if posted.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    HttpResponse::build(status).json(ChatEnvelope { chat: posted.chat })
}

use actix_web::http::StatusCode;
use actix_web::web::{Data, Path, Query};
use actix_web::{delete, get, patch, post, put, HttpRequest, HttpResponse};

use crate::access::find_readable_room;
use crate::api::{ChatEnvelope, ChatsPage, ChatsQuery, EditChatRequest, PageMeta, PostChatRequest};
use crate::db::chats::{self, PageQuery};
use crate::domain::ids;
use crate::domain::validation::{
    reply_seq, ChatText, ClientId, Emoji, GifAlt, PageSize, FIRST_SEQ,
};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::ApiJson;
use crate::identity::Identity;
use crate::realtime::append::{Change, ChangePost, GifPost, GifSource, Post, Posted, TextPost};
use crate::realtime::delivery::recent::Hit;
use crate::realtime::transport::wakes;
use crate::state::AppState;

fn page_query(q: &ChatsQuery) -> AppResult<PageQuery> {
    let limit = PageSize::parse(q.limit)?;
    for (name, value) in [
        ("before_seq", q.before_seq),
        ("after_seq", q.after_seq),
        ("after_rev", q.after_rev),
    ] {
        if value.is_some_and(|v| v < 0) {
            return Err(AppError::field(name, "must not be negative"));
        }
    }
    if q.after_rev.is_some() && (q.before_seq.is_some() || q.after_seq.is_some()) {
        return Err(AppError::field(
            "after_rev",
            "cannot be combined with before_seq or after_seq",
        ));
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
/// chats. With `after_rev`: the chats changed (or created) after that rev,
/// in ascending `rev`. Whispers appear only to their two parties.
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
    let after_rev = query.after_rev;
    let latest = q.before_seq.is_none() && q.after_seq.is_none() && after_rev.is_none();
    let realtime = state.realtime.clone();
    let page = state
        .db
        .run(move |conn| {
            let (room, _) = find_readable_room(conn, &id, &me.user_id)?;
            if latest {
                let hit = realtime.recent().latest(
                    &id,
                    &me.user_id,
                    (room.last_seq, room.last_rev),
                    q.limit as usize,
                );
                if let Some(hit) = hit {
                    return Ok(Page::Cached(hit));
                }
            }
            let (rows, has_more) = match after_rev {
                Some(after) => chats::changed_after(conn, &id, &me.user_id, after, None, q.limit)?,
                None => chats::page(conn, &id, &me.user_id, q, None)?,
            };
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

/// Post a text chat (with `to`, a whisper), or post again a stored GIF by
/// its file name. With `reply_to`, it answers an earlier chat. With a
/// `client_id` it is posted at most once: a post whose `client_id` you
/// already used in this room (by text or GIF) creates nothing and answers
/// `200` with the chat the first one made, whatever its body says now.
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
        (status = 404, description = "`not_found`: the room, or a `gif` you cannot see anywhere", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "`validation_failed`: bad text, recipient, `reply_to` or `client_id`, or both or neither of `text` and `gif`", body = ErrorBody),
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
    enum Content {
        Text(ChatText),
        Gif(String),
    }
    let content = match (&body.text, body.gif) {
        (Some(text), None) => {
            if body.alt.is_some() {
                return Err(AppError::field("alt", "only a GIF has a description"));
            }
            Content::Text(ChatText::parse(text)?)
        }
        (None, Some(gif)) => {
            if body.to.is_some() {
                return Err(AppError::field(
                    "to",
                    "a GIF posted again cannot be a whisper",
                ));
            }
            Content::Gif(gif)
        }
        (Some(_), Some(_)) => {
            return Err(AppError::field(
                "gif",
                "send either `text` or `gif`, not both",
            ))
        }
        (None, None) => return Err(AppError::field("text", "send `text` (or `gif`)")),
    };
    body.reply_to.map(reply_seq).transpose()?;
    let client_id = ClientId::parse_optional(body.client_id.as_deref())?;
    let address = crate::net::request_ip(&req, &state.settings.trusted_proxies);
    state.limits.check_post(&me.user_id, address)?;
    let id = id.into_inner();
    if !ids::is_well_formed(&id) {
        return Err(AppError::NotFound("room"));
    }
    let client_id = client_id.map(ClientId::into_inner);
    let post = match content {
        Content::Text(text) => Post::Text(TextPost {
            room_id: id,
            user_id: me.user_id,
            text: text.into_inner(),
            to: body.to,
            client_id,
            reply_to: body.reply_to,
        }),
        Content::Gif(file) => Post::Gif(GifPost {
            room_id: id,
            user_id: me.user_id,
            source: GifSource::Stored(file),
            client_id,
            reply_to: body.reply_to,
            alt: body.alt.as_deref().map(GifAlt::parse).transpose()?,
        }),
    };
    // On this worker: the writer's answer comes with its batch's wake-up.
    let posted = wakes::batched(state.appender.post(post)).await?;
    Ok(answer(posted))
}

/// Makes a change to the chat at `seq`: checked, rate limited, then
/// written and announced by the chat writer.
async fn change(
    req: &HttpRequest,
    state: &AppState,
    me: Identity,
    (room_id, seq): (String, i64),
    change: Change,
) -> AppResult<Posted> {
    let address = crate::net::request_ip(req, &state.settings.trusted_proxies);
    state.limits.check_change(&me.user_id, address)?;
    if !ids::is_well_formed(&room_id) {
        return Err(AppError::NotFound("room"));
    }
    if seq < FIRST_SEQ {
        return Err(AppError::NotFound("chat"));
    }
    let post = Post::Change(ChangePost {
        room_id,
        user_id: me.user_id,
        seq,
        change,
    });
    wakes::batched(state.appender.post(post)).await
}

/// Edit your chat, within `CHAT_EDIT_SECS` (default 900; 0 = always) of
/// posting it: the text of a text chat (`text`), the description of a GIF
/// chat (`alt`). Everyone who can see it gets `chat_updated`.
#[utoipa::path(
    tag = "chats",
    operation_id = "edit_chat",
    params(("id" = String, Path, description = "Room id"), ("seq" = i64, Path, description = "The chat's seq")),
    request_body = EditChatRequest,
    responses(
        (status = 200, description = "The chat as it now is", body = ChatEnvelope),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "`forbidden`: not your chat, or too late to edit it; or the room is secret; `banned`", body = ErrorBody),
        (status = 404, description = "`not_found`: the room, or no chat at that seq you can see (or it was deleted)", body = ErrorBody),
        (status = 422, description = "`validation_failed`: bad text or alt, `text` for a GIF chat or `alt` for a text chat, both or neither", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
)]
#[patch("/rooms/{id}/chats/{seq}")]
pub async fn edit_chat(
    req: HttpRequest,
    state: Data<AppState>,
    me: Identity,
    path: Path<(String, i64)>,
    body: ApiJson<EditChatRequest>,
) -> AppResult<HttpResponse> {
    let edit = match (&body.0.text, &body.0.alt) {
        (Some(text), None) => Change::Edit(ChatText::parse(text)?.into_inner()),
        (None, Some(alt)) => Change::EditAlt(GifAlt::parse(alt)?),
        (Some(_), Some(_)) => {
            return Err(AppError::field(
                "alt",
                "send either `text` or `alt`, not both",
            ))
        }
        (None, None) => return Err(AppError::field("text", "send `text` (or `alt`)")),
    };
    let posted = change(&req, &state, me, path.into_inner(), edit).await?;
    Ok(HttpResponse::Ok().json(ChatEnvelope { chat: posted.chat }))
}

/// Delete a chat: its author, or the room's owner. It stays as a tombstone
/// (seq, author and time; no text, GIF or reply); a GIF no chat uses any
/// more leaves the disk. System chats cannot be deleted.
#[utoipa::path(
    tag = "chats",
    operation_id = "delete_chat",
    params(("id" = String, Path, description = "Room id"), ("seq" = i64, Path, description = "The chat's seq")),
    responses(
        (status = 204, description = "Deleted (or it already was)"),
        (status = 403, description = "`forbidden`: neither its author nor the owner, or a system chat; `banned`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
)]
#[delete("/rooms/{id}/chats/{seq}")]
pub async fn delete_chat(
    req: HttpRequest,
    state: Data<AppState>,
    me: Identity,
    path: Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    change(&req, &state, me, path.into_inner(), Change::Delete).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Add your reaction: one emoji per Unicode's emoji data, URL-encoded; at
/// most 20 different ones per chat. Adding it again changes nothing.
#[utoipa::path(
    tag = "chats",
    operation_id = "add_reaction",
    params(
        ("id" = String, Path, description = "Room id"),
        ("seq" = i64, Path, description = "The chat's seq"),
        ("emoji" = String, Path, description = "One emoji, URL-encoded"),
    ),
    responses(
        (status = 200, description = "The chat as it now is", body = ChatEnvelope),
        (status = 403, description = "`forbidden` (secret room) or `banned`", body = ErrorBody),
        (status = 404, description = "`not_found`: the room, or no chat at that seq you can see (or it was deleted)", body = ErrorBody),
        (status = 422, description = "`validation_failed`: not one emoji, or the chat has 20 different ones", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
)]
#[put("/rooms/{id}/chats/{seq}/reactions/{emoji}")]
pub async fn add_reaction(
    req: HttpRequest,
    state: Data<AppState>,
    me: Identity,
    path: Path<(String, i64, String)>,
) -> AppResult<HttpResponse> {
    react(&req, &state, me, path.into_inner(), Change::React).await
}

/// Remove your reaction. Removing one that is not there changes nothing.
#[utoipa::path(
    tag = "chats",
    operation_id = "remove_reaction",
    params(
        ("id" = String, Path, description = "Room id"),
        ("seq" = i64, Path, description = "The chat's seq"),
        ("emoji" = String, Path, description = "One emoji, URL-encoded"),
    ),
    responses(
        (status = 200, description = "The chat as it now is", body = ChatEnvelope),
        (status = 403, description = "`forbidden` (secret room) or `banned`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: not one emoji", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
)]
#[delete("/rooms/{id}/chats/{seq}/reactions/{emoji}")]
pub async fn remove_reaction(
    req: HttpRequest,
    state: Data<AppState>,
    me: Identity,
    path: Path<(String, i64, String)>,
) -> AppResult<HttpResponse> {
    react(&req, &state, me, path.into_inner(), Change::Unreact).await
}

/// Adds or removes the caller's reaction and answers the chat as it now is.
async fn react(
    req: &HttpRequest,
    state: &AppState,
    me: Identity,
    (room, seq, emoji): (String, i64, String),
    to_change: fn(String) -> Change,
) -> AppResult<HttpResponse> {
    let emoji = Emoji::parse(&emoji)?;
    let change_to = to_change(emoji.as_str().to_owned());
    let posted = change(req, state, me, (room, seq), change_to).await?;
    Ok(HttpResponse::Ok().json(ChatEnvelope { chat: posted.chat }))
}

/// `201` with a new chat, `200` with the one a repeated `client_id` made.
pub(crate) fn answer(posted: Posted) -> HttpResponse {
    let status = if posted.created() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    HttpResponse::build(status).json(ChatEnvelope { chat: posted.chat })
}

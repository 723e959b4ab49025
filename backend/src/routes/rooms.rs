use actix_web::http::header;
use actix_web::web::{Data, Json, Path};
use actix_web::{delete, get, patch, post, put, HttpRequest, HttpResponse};

use crate::access::{self, find_readable_room, find_room};
use crate::api::{
    CreateRoomRequest, JoinRoomRequest, MembersEnvelope, RoomEnvelope, RoomResponse, RoomsEnvelope,
    UpdateRoomRequest, UserIdRequest,
};
use crate::db::models::Room;
use crate::db::now_millis;
use crate::db::rooms::{self, RoomChanges, RoomWithOwner};
use crate::domain::validation::{MaxMembers, RoomPassword, RoomTitle};
use crate::domain::{ids, password};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{ApiJson, OptionalJson};
use crate::identity::Identity;
use crate::state::AppState;

async fn respond(state: &AppState, (room, owner): &RoomWithOwner) -> RoomResponse {
    RoomResponse::new(room, owner, state.realtime.member_count(&room.id).await)
}

/// All rooms, oldest first.
#[utoipa::path(
    tag = "rooms",
    operation_id = "list_rooms",
    responses((status = 200, description = "Every room, oldest first", body = RoomsEnvelope)),
)]
#[get("/rooms")]
pub async fn list_rooms(state: Data<AppState>) -> AppResult<Json<RoomsEnvelope>> {
    let rows = state.db.run(|conn| Ok(rooms::list(conn)?)).await?;
    let ids: Vec<&str> = rows.iter().map(|(room, _)| room.id.as_str()).collect();
    let counts = state.realtime.member_counts(&ids).await;
    Ok(Json(RoomsEnvelope {
        rooms: rows
            .iter()
            .zip(counts)
            .map(|((room, owner), count)| RoomResponse::new(room, owner, count))
            .collect(),
    }))
}

/// Create a room. Its creator owns it and has access to it.
#[utoipa::path(
    tag = "rooms",
    operation_id = "create_room",
    request_body = CreateRoomRequest,
    responses(
        (status = 201, description = "Created", body = RoomEnvelope,
            headers(("Location" = String, description = "The new room's URL"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
)]
#[post("/rooms")]
pub async fn create_room(
    req: HttpRequest,
    state: Data<AppState>,
    me: Identity,
    body: ApiJson<CreateRoomRequest>,
) -> AppResult<HttpResponse> {
    let body = body.0;
    let title = RoomTitle::parse(&body.title);
    let max_members = MaxMembers::parse(body.max_members, state.settings.room_max_members);
    let secret = RoomPassword::parse(body.password.as_deref());
    let (title, max_members, secret) = match (title, max_members, secret) {
        (Ok(t), Ok(m), Ok(p)) => (t, m, p),
        (t, m, p) => return Err(merge_field_errors([t.err(), m.err(), p.err()])),
    };
    state.limits.rooms.check(&client_key(&req, &state))?;
    let password_hash = match secret {
        Some(p) => Some(actix_web::web::block(move || password::hash(&p)).await??),
        None => None,
    };
    let room = Room {
        id: ids::new_id(),
        title: title.into_inner(),
        max_members,
        password_hash,
        owner_id: me.user_id,
        last_seq: 0,
        created_at: now_millis(),
        keep: body.keep,
        last_rev: 0,
    };
    let created = state
        .db
        .write(move |conn| Ok(rooms::create(conn, &room)?))
        .await?;
    let room = respond(&state, &created).await;
    state.realtime.announce_room_created(&room);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/rooms/{}", room.id)))
        .json(RoomEnvelope { room }))
}

/// Several validation failures reported together, one entry per field.
fn merge_field_errors<const N: usize>(errors: [Option<AppError>; N]) -> AppError {
    let mut fields = std::collections::BTreeMap::new();
    for e in errors.into_iter().flatten() {
        match e {
            AppError::Validation(f) => fields.extend(f),
            other => return other,
        }
    }
    AppError::Validation(fields)
}

/// The key rate limits use for anonymous actions: the client's address.
pub(crate) fn client_key(req: &HttpRequest, state: &AppState) -> String {
    crate::net::client_label(req, &state.settings.trusted_proxies)
}

/// One room.
#[utoipa::path(
    tag = "rooms",
    operation_id = "get_room",
    params(("id" = String, Path, description = "Room id")),
    responses(
        (status = 200, body = RoomEnvelope),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ),
)]
#[get("/rooms/{id}")]
pub async fn get_room(state: Data<AppState>, id: Path<String>) -> AppResult<Json<RoomEnvelope>> {
    let found = state.db.run(move |conn| find_room(conn, &id)).await?;
    Ok(Json(RoomEnvelope {
        room: respond(&state, &found).await,
    }))
}

/// Change a room (owner only): rename it, resize it (never below the people
/// in it now), set or clear its password (`""` makes it public; people who
/// have access keep it), keep it or let it go when empty. Members and the
/// lobby get `room_updated`.
#[utoipa::path(
    tag = "rooms",
    operation_id = "update_room",
    params(("id" = String, Path, description = "Room id")),
    request_body = UpdateRoomRequest,
    responses(
        (status = 200, description = "The room as it is now", body = RoomEnvelope),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the owner", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`room_full`: more people are in the room than `max_members`", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
    ),
)]
#[patch("/rooms/{id}")]
pub async fn update_room(
    state: Data<AppState>,
    me: Identity,
    id: Path<String>,
    body: ApiJson<UpdateRoomRequest>,
) -> AppResult<Json<RoomEnvelope>> {
    let body = body.0;
    let title = body.title.as_deref().map(RoomTitle::parse).transpose();
    let max_members = body
        .max_members
        .map(|n| MaxMembers::parse(Some(n), state.settings.room_max_members))
        .transpose();
    let secret = body
        .password
        .as_deref()
        .map(|p| RoomPassword::parse(Some(p)))
        .transpose();
    let (title, max_members, secret) = match (title, max_members, secret) {
        (Ok(t), Ok(m), Ok(p)) => (t, m, p),
        (t, m, p) => return Err(merge_field_errors([t.err(), m.err(), p.err()])),
    };
    let password_hash = match secret {
        Some(Some(p)) => Some(Some(
            actix_web::web::block(move || password::hash(&p)).await??,
        )),
        Some(None) => Some(None),
        None => None,
    };
    let changes = RoomChanges {
        title: title.map(RoomTitle::into_inner),
        max_members,
        password_hash,
        keep: body.keep,
    };
    let room_id = id.into_inner();
    let room =
        crate::realtime::service::update_room(&state, &me.user_id, &room_id, changes).await?;
    Ok(Json(RoomEnvelope { room }))
}

/// Delete a room (owner only): its chats go, and every GIF no other chat uses.
#[utoipa::path(
    tag = "rooms",
    operation_id = "delete_room",
    params(("id" = String, Path, description = "Room id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`forbidden`: not the owner", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ),
)]
#[delete("/rooms/{id}")]
pub async fn delete_room(
    state: Data<AppState>,
    me: Identity,
    id: Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let store = state.gifs.clone();
    let room_id = id.clone();
    state
        .db
        .write(move |conn| {
            access::find_owned_room(conn, &room_id, &me.user_id)?;
            store.delete_room(conn, &room_id)
        })
        .await?;
    state.realtime.announce_room_deleted(&id);
    Ok(HttpResponse::NoContent().finish())
}

/// Join a room: checks the password of a secret room, bans and capacity, and
/// grants access. Live membership starts when a socket joins.
#[utoipa::path(
    tag = "rooms",
    operation_id = "join_room",
    params(("id" = String, Path, description = "Room id")),
    request_body(content = Option<JoinRoomRequest>, description = "Only secret rooms need a body"),
    responses(
        (status = 200, description = "Access granted", body = RoomEnvelope),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "`wrong_password` or `banned`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`room_full`", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `password` is not a string", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many attempts", body = ErrorBody),
    ),
)]
#[post("/rooms/{id}/join")]
pub async fn join_room(
    req: HttpRequest,
    state: Data<AppState>,
    me: Identity,
    id: Path<String>,
    body: OptionalJson<JoinRoomRequest>,
) -> AppResult<Json<RoomEnvelope>> {
    let id = id.into_inner();
    let user_id = me.user_id.clone();
    let (found, has_access) = state
        .db
        .run(move |conn| {
            let found = find_room(conn, &id)?;
            access::ensure_not_banned(conn, &found.0, &user_id)?;
            let has_access = access::has_access(conn, &found.0, &user_id)?;
            Ok((found, has_access))
        })
        .await?;
    let (room, _) = &found;
    if !has_access {
        state.limits.joins.check(&client_key(&req, &state))?;
        let stored = room.password_hash.clone().unwrap_or_default();
        let given = body.0.password.unwrap_or_default();
        let ok = !given.is_empty()
            && actix_web::web::block(move || password::verify(&given, &stored)).await?;
        if !ok {
            return Err(AppError::WrongPassword);
        }
    }
    if !state
        .realtime
        .has_seat_for(&room.id, &me.user_id, room.max_members as usize)
        .await?
    {
        return Err(AppError::RoomFull);
    }
    if !has_access {
        let (room_id, user_id) = (room.id.clone(), me.user_id.clone());
        state
            .db
            .write(move |conn| Ok(rooms::grant_access(conn, &room_id, &user_id)?))
            .await?;
    }
    Ok(Json(RoomEnvelope {
        room: respond(&state, &found).await,
    }))
}

/// Who is in the room now, longest-present first.
#[utoipa::path(
    tag = "rooms",
    operation_id = "list_members",
    params(("id" = String, Path, description = "Room id")),
    responses(
        (status = 200, body = MembersEnvelope),
        (status = 403, description = "`forbidden` (secret room) or `banned`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ),
)]
#[get("/rooms/{id}/members")]
pub async fn list_members(
    state: Data<AppState>,
    me: Identity,
    id: Path<String>,
) -> AppResult<Json<MembersEnvelope>> {
    let room_id = id.into_inner();
    let check = room_id.clone();
    state
        .db
        .run(move |conn| find_readable_room(conn, &check, &me.user_id))
        .await?;
    Ok(Json(MembersEnvelope {
        members: state.realtime.members(&room_id).await?,
    }))
}

/// Remove a user from the room and ban them from it (owner only). All their
/// connections get `kicked`.
#[utoipa::path(
    tag = "rooms",
    operation_id = "kick_member",
    params(("id" = String, Path, description = "Room id")),
    request_body = UserIdRequest,
    responses(
        (status = 204, description = "Kicked and banned"),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the owner", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "`validation_failed`: yourself or no such user", body = ErrorBody),
    ),
)]
#[post("/rooms/{id}/kick")]
pub async fn kick_member(
    state: Data<AppState>,
    me: Identity,
    id: Path<String>,
    body: ApiJson<UserIdRequest>,
) -> AppResult<HttpResponse> {
    crate::realtime::service::kick(&state, &me.user_id, &id, &body.0.user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Hand the room to another member (owner only).
#[utoipa::path(
    tag = "rooms",
    operation_id = "transfer_owner",
    params(("id" = String, Path, description = "Room id")),
    request_body = UserIdRequest,
    responses(
        (status = 200, description = "The room with its new owner", body = RoomEnvelope),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the owner", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "`validation_failed`: not a member now", body = ErrorBody),
    ),
)]
#[put("/rooms/{id}/owner")]
pub async fn transfer_owner(
    state: Data<AppState>,
    me: Identity,
    id: Path<String>,
    body: ApiJson<UserIdRequest>,
) -> AppResult<Json<RoomEnvelope>> {
    let room_id = id.into_inner();
    crate::realtime::service::transfer_owner(&state, &me.user_id, &room_id, &body.0.user_id)
        .await?;
    let found = state.db.run(move |conn| find_room(conn, &room_id)).await?;
    Ok(Json(RoomEnvelope {
        room: respond(&state, &found).await,
    }))
}

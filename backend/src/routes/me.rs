use actix_web::web::{Data, Json};
use actix_web::{get, patch};

use crate::api::{UpdateMeRequest, UserEnvelope, UserResponse};
use crate::db::users;
use crate::domain::validation::Nickname;
use crate::error::{AppResult, ErrorBody};
use crate::extract::ApiJson;
use crate::identity::Identity;
use crate::state::AppState;

/// Who am I: the anonymous user behind this session.
#[utoipa::path(
    tag = "me",
    operation_id = "get_me",
    responses((status = 200, description = "The current user", body = UserEnvelope)),
)]
#[get("/me")]
pub async fn get_me(state: Data<AppState>, me: Identity) -> AppResult<Json<UserEnvelope>> {
    Ok(Json(UserEnvelope {
        user: current_user(&state, &me).await?,
    }))
}

/// The user behind the session, with their nickname if they set one. A user
/// who has not stored anything yet has no row and is known by colour alone.
pub async fn current_user(state: &AppState, me: &Identity) -> AppResult<UserResponse> {
    let id = me.user_id.clone();
    let row = state
        .db
        .run(move |conn| Ok(users::find(conn, &id)?))
        .await?;
    Ok(row.as_ref().map_or_else(
        || UserResponse::new(&me.user_id, None),
        UserResponse::from_row,
    ))
}

/// Set my nickname. When it changes, `user_updated` goes to the lobby, to
/// the rooms you are a member of and to your own sockets; setting the same
/// nickname again changes nothing and sends nothing.
#[utoipa::path(
    tag = "me",
    operation_id = "update_me",
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "The updated user", body = UserEnvelope),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "`validation_failed`: bad nickname", body = ErrorBody),
    ),
)]
#[patch("/me")]
pub async fn update_me(
    state: Data<AppState>,
    me: Identity,
    body: ApiJson<UpdateMeRequest>,
) -> AppResult<Json<UserEnvelope>> {
    let nickname = Nickname::parse(&body.0.nickname)?;
    let (row, changed) = state
        .db
        .write(move |conn| Ok(users::set_nickname(conn, &me.user_id, nickname.as_str())?))
        .await?;
    let user = UserResponse::from_row(&row);
    if changed {
        state.realtime.user_updated(&user).await;
    }
    Ok(Json(UserEnvelope { user }))
}

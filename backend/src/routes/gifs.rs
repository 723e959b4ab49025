use actix_files::NamedFile;
use actix_multipart::Multipart;
use actix_web::http::header::{self, ContentDisposition, DispositionType};
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use crate::api::{ChatEnvelope, GifUpload};
use crate::db::chats;
use crate::db::models::NewChat;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::identity::Identity;
use crate::routes::rooms::find_readable_room;
use crate::state::AppState;

/// Room for multipart boundaries and part headers around the file itself.
const MULTIPART_OVERHEAD: u64 = 16 * 1024;

/// Upload a GIF into a room (multipart field `gif`). The file is decoded to
/// make sure it is a GIF, whatever its name or declared type.
#[utoipa::path(
    tag = "chats",
    operation_id = "upload_gif",
    params(("id" = String, Path, description = "Room id")),
    request_body(content = GifUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Posted as a `gif` chat", body = ChatEnvelope),
        (status = 400, description = "`bad_request`: broken multipart body", body = ErrorBody),
        (status = 403, description = "`forbidden` (secret room) or `banned`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over `GIF_MAX_BYTES`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not multipart, or not a GIF", body = ErrorBody),
        (status = 422, description = "`validation_failed`: no `gif` field, too many pixels or frames", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ),
)]
#[post("/rooms/{id}/gifs")]
pub async fn upload_gif(
    req: HttpRequest,
    payload: actix_web::web::Payload,
    state: Data<AppState>,
    me: Identity,
    id: Path<String>,
) -> AppResult<HttpResponse> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.type_() == mime::MULTIPART && m.subtype() == mime::FORM_DATA);
    if !is_multipart {
        return Err(AppError::UnsupportedMediaType(
            "the body must be multipart/form-data with a `gif` field".into(),
        ));
    }
    let limits = state.gifs.limits();
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limits.max_bytes + MULTIPART_OVERHEAD) {
        return Err(AppError::PayloadTooLarge(format!(
            "a GIF may be at most {} bytes",
            limits.max_bytes
        )));
    }
    // Check the room before reading a byte of the file.
    let (room_id, user_id) = (id.into_inner(), me.user_id.clone());
    state
        .db
        .run(move |conn| find_readable_room(conn, &room_id, &user_id))
        .await?;
    state.limits.chats.check(&me.user_id)?;

    let mut multipart = Multipart::new(req.headers(), payload);
    let mut received = None;
    while let Some(field) = multipart.next().await {
        let mut field =
            field.map_err(|e| AppError::BadRequest(format!("broken multipart body: {e}")))?;
        if received.is_none() && field.name() == Some("gif") {
            received = Some(state.gifs.receive(&mut field).await?);
        } else {
            // Other parts are read and dropped, with a bound on what we accept.
            let mut skipped = 0usize;
            while let Some(chunk) = field.next().await {
                skipped += chunk
                    .map_err(|e| AppError::BadRequest(format!("broken multipart body: {e}")))?
                    .len();
                if skipped as u64 > MULTIPART_OVERHEAD {
                    return Err(AppError::PayloadTooLarge(
                        "only the `gif` field may be large".into(),
                    ));
                }
            }
        }
    }
    let received = received.ok_or_else(|| AppError::field("gif", "is required"))?;

    let store = state.gifs.clone();
    let st = state.clone();
    let room_id = req.match_info().get("id").unwrap_or_default().to_owned();
    // Decoding is CPU work: keep it off the database connection.
    let checker = store.clone();
    let checked = actix_web::web::block(move || checker.check(received)).await??;
    let chat = state
        .db
        .write(move |conn| {
            // Access is checked again: the room may have gone while the file arrived.
            let (room, _) = find_readable_room(conn, &room_id, &me.user_id)?;
            let author = me.user_id;
            st.append_chat(conn, &room.id, |conn| {
                store.store(conn, checked, |conn, gif| {
                    let new = NewChat {
                        room_id: room.id.clone(),
                        kind: "gif",
                        user_id: Some(author.clone()),
                        gif_file: Some(gif.file.clone()),
                        ..NewChat::default()
                    };
                    Ok(chats::append_in_tx(conn, &new)?)
                })
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(ChatEnvelope { chat }))
}

/// A stored GIF. Names are content hashes, so the bytes never change.
#[utoipa::path(
    tag = "chats",
    operation_id = "get_gif",
    params(("file" = String, Path, description = "`{sha256}.gif`, as in a chat's `gif.url`")),
    responses(
        (status = 200, description = "The GIF", content_type = "image/gif", body = Vec<u8>),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ),
)]
#[get("/gif/{file}")]
pub async fn get_gif(
    req: HttpRequest,
    state: Data<AppState>,
    file: Path<String>,
) -> AppResult<HttpResponse> {
    let path = state.gifs.path_of(&file).ok_or(AppError::NotFound("GIF"))?;
    let named = NamedFile::open_async(&path)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => AppError::NotFound("GIF"),
            _ => AppError::from(e),
        })?;
    let mut res = named
        .set_content_type(mime::IMAGE_GIF)
        .set_content_disposition(ContentDisposition {
            disposition: DispositionType::Inline,
            parameters: vec![],
        })
        .into_response(&req);
    let headers = res.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}

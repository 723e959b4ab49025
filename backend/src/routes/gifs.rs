use actix_files::NamedFile;
use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::http::header::{self, ContentDisposition, DispositionType};
use actix_web::web::{Data, Path};
use actix_web::{get, post, route, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use crate::access::find_readable_room;
use crate::api::{ChatEnvelope, ChatResponse, GifResponse, GifUpload, GifsPage, GifsQuery};
use crate::db::chats::{self, PostKey};
use crate::db::DbConnection;
use crate::domain::validation::{reply_seq, ClientId, GifAlt, GifName, GifSearch};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{body_timeout, payload_error, BodyStream};
use crate::identity::Identity;
use crate::realtime::append::{Effect, GifPost, GifSource, Post, Posted};
use crate::realtime::transport::wakes;
use crate::routes::chats::answer;
use crate::state::AppState;

/// Room for multipart boundaries, part headers and the small parts around
/// the file itself. The whole body, every part of it, may be at most
/// `GIF_MAX_BYTES` and this much.
const MULTIPART_OVERHEAD: u64 = 16 * 1024;

/// The error for a multipart body that went wrong: the body's own limits
/// (413, 408) or a malformed body (400).
fn broken(e: MultipartError, limit: u64) -> AppError {
    match e {
        MultipartError::Payload(e) => payload_error(&e, limit),
        e => AppError::BadRequest(format!("broken multipart body: {e}")),
    }
}

/// Reads a small part whole, refusing more than `MULTIPART_OVERHEAD`.
async fn read_small(field: &mut Field, limit: u64) -> AppResult<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| broken(e, limit))?;
        if (bytes.len() + chunk.len()) as u64 > MULTIPART_OVERHEAD {
            return Err(AppError::PayloadTooLarge(
                "only the `gif` field may be large".into(),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The chat already posted under `key`, as a response.
fn earlier_post(conn: &mut DbConnection, key: PostKey<'_>) -> AppResult<Option<ChatResponse>> {
    match chats::find_one_posted(conn, key)? {
        Some(chat) => Ok(Some(chats::load_response(conn, chat)?)),
        None => Ok(None),
    }
}

/// Upload a GIF into a room (multipart field `gif`). The file is decoded to
/// make sure it is a GIF, whatever its name or declared type. With a
/// `client_id` it is posted at most once: an upload whose `client_id` you
/// already used in this room stores nothing and answers `200` with the chat
/// the first one made.
#[utoipa::path(
    tag = "chats",
    operation_id = "upload_gif",
    params(("id" = String, Path, description = "Room id")),
    request_body(content = GifUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Posted as a `gif` chat", body = ChatEnvelope),
        (status = 200, description = "Posted before: its `client_id` was used in this room by you; the chat the first post made", body = ChatEnvelope),
        (status = 400, description = "`bad_request`: broken multipart body", body = ErrorBody),
        (status = 403, description = "`forbidden` (secret room) or `banned`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 408, description = "`request_timeout`: the body did not arrive within `BODY_READ_TIMEOUT_SECS`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the file over `GIF_MAX_BYTES`, or the whole body (every part counts) over it and 16 KiB; answered before the body is read when `Content-Length` says so", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not multipart, or not a GIF", body = ErrorBody),
        (status = 422, description = "`validation_failed`: no `gif` field, too wide or high, too many frames, more decoded pixels than `GIF_MAX_PIXELS`, a bad `client_id`, `reply_to` or `alt`, a part sent twice, or a `to` (an upload is never a whisper)", body = ErrorBody),
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
    let result = receive_upload(req, payload, state, me, id).await;
    let outcome = match &result {
        Ok(res) if res.status() == actix_web::http::StatusCode::CREATED => "created",
        Ok(_) => "repeat",
        Err(e) if actix_web::ResponseError::status_code(e).is_client_error() => "refused",
        Err(_) => "failed",
    };
    crate::metrics::metrics()
        .gif_uploads
        .with_label_values(&[outcome])
        .inc();
    result
}

async fn receive_upload(
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
    let body_limit = limits.max_bytes + MULTIPART_OVERHEAD;
    if declared.is_some_and(|len| len > body_limit) {
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
    let address = crate::net::request_ip(&req, &state.settings.trusted_proxies);
    state.limits.check_post(&me.user_id, address)?;

    // Counted and timed as it arrives, whatever its framing and parts.
    let body = BodyStream::new(payload, body_limit, body_timeout(&req));
    let mut multipart = Multipart::new(req.headers(), body);
    let mut received = None;
    let mut client_id = None;
    let mut reply_to = None;
    let mut alt = None;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| broken(e, body_limit))?;
        let name = field.name().map(str::to_owned);
        let twice = match name.as_deref() {
            Some("gif") => received.is_some(),
            Some("client_id") => client_id.is_some(),
            Some("reply_to") => reply_to.is_some(),
            Some("alt") => alt.is_some(),
            Some("to") => {
                return Err(AppError::field("to", "an uploaded GIF cannot be a whisper"));
            }
            _ => false,
        };
        if twice {
            let name = name.unwrap_or_default();
            return Err(AppError::field(&name, format!("`{name}` was sent twice")));
        }
        if name.as_deref() == Some("gif") {
            received = Some(state.gifs.receive(&mut field, body_limit).await?);
        } else if name.as_deref() == Some("client_id") {
            client_id = Some(read_small(&mut field, body_limit).await?);
        } else if name.as_deref() == Some("reply_to") {
            reply_to = Some(read_small(&mut field, body_limit).await?);
        } else if name.as_deref() == Some("alt") {
            alt = Some(read_small(&mut field, body_limit).await?);
        } else {
            // Other parts are read and dropped; they count toward the body's limit.
            read_small(&mut field, body_limit).await?;
        }
    }
    let received = received.ok_or_else(|| AppError::field("gif", "is required"))?;
    // Bytes that are not UTF-8 become U+FFFD, which `ClientId` refuses.
    let client_id = client_id
        .map(|bytes| ClientId::parse(&String::from_utf8_lossy(&bytes)))
        .transpose()?
        .map(ClientId::into_inner);
    let reply_to = reply_to
        .map(|bytes| {
            // Text that is no number is refused as no seq is.
            let seq = String::from_utf8_lossy(&bytes).trim().parse::<i64>();
            reply_seq(seq.unwrap_or(i64::MIN))
        })
        .transpose()?;

    let alt = match alt {
        Some(bytes) => match String::from_utf8(bytes) {
            Ok(text) => GifAlt::parse(&text)?,
            Err(_) => return Err(AppError::field("alt", "must be UTF-8 text")),
        },
        None => None,
    };

    let room_id = req.match_info().get("id").unwrap_or_default().to_owned();
    // A repeat is answered before the file is decoded; the upload is
    // dropped, and its temporary file with it.
    if let Some(client_id) = client_id.clone() {
        let (room, user) = (room_id.clone(), me.user_id.clone());
        let earlier = state
            .db
            .run(move |conn| {
                let key = PostKey {
                    room_id: &room,
                    user_id: &user,
                    client_id: &client_id,
                };
                earlier_post(conn, key)
            })
            .await?;
        if let Some(chat) = earlier {
            return Ok(answer(Posted {
                chat,
                effect: Effect::Repeated,
            }));
        }
    }

    // Decoding is CPU work: on the decoding pool, off the database connection.
    let checked = state.gifs.check(received).await?;
    let post = GifPost {
        room_id,
        user_id: me.user_id,
        source: GifSource::Upload(checked),
        client_id,
        reply_to,
        alt: Some(alt),
    };
    let posted = wakes::batched(state.appender.post(Post::Gif(post))).await?;
    if let Some(gif) = &posted.chat.gif {
        if gif.variants.is_empty() {
            state.media.enqueue(gif.url.trim_start_matches("/gif/"));
        }
    }
    Ok(answer(posted))
}

/// A stored GIF, its poster (`.png`) or a rendition (`.webp`). Names are
/// content hashes, so the bytes never change.
#[utoipa::path(
    tag = "chats",
    operation_id = "get_gif",
    params(("file" = String, Path, description = "`{sha256}.gif`, `.png` or `.webp`, as in a chat's `gif.url`, `gif.poster` or a variant's `url`")),
    responses(
        (status = 200, description = "The file", content(
            (Vec<u8> = "image/gif"),
            (Vec<u8> = "image/png"),
            (Vec<u8> = "image/webp"),
        )),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ),
)]
#[route("/gif/{file}", method = "GET", method = "HEAD")]
pub async fn get_gif(
    req: HttpRequest,
    state: Data<AppState>,
    file: Path<String>,
) -> AppResult<HttpResponse> {
    let kind: mime::Mime = GifName::media_type(&file)
        .and_then(|t| t.parse().ok())
        .ok_or(AppError::NotFound("GIF"))?;
    let path = state.gifs.dir().join(file.as_str());
    let named = NamedFile::open_async(&path)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => AppError::NotFound("GIF"),
            _ => AppError::from(e),
        })?;
    let mut res = named
        .set_content_type(kind)
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

/// The GIF library, for a picker: the GIFs you can see (in public rooms
/// and secret rooms you have access to), newest first, each once, with the
/// description of its newest chat you can see. With `q`, only GIFs whose
/// description has words starting with each word of `q`.
#[utoipa::path(
    tag = "chats",
    operation_id = "list_gifs",
    params(GifsQuery),
    responses(
        (status = 200, body = GifsPage),
        (status = 400, description = "`bad_request`: unparsable query", body = ErrorBody),
        (status = 422, description = "`validation_failed`: bad `limit`, or `q` over 200 characters", body = ErrorBody),
    ),
)]
#[get("/gifs")]
pub async fn list_gifs(
    state: Data<AppState>,
    me: Identity,
    query: actix_web::web::Query<GifsQuery>,
) -> AppResult<HttpResponse> {
    let (q, limit) = GifSearch::parse(query.q.as_deref(), query.limit)?;
    let gifs = state
        .db
        .run(move |conn| {
            let words = crate::db::gifs::full_text_query(conn, &q);
            if words.is_none() && !q.trim().is_empty() {
                // Only punctuation: no word to match.
                return Ok(Vec::new());
            }
            let found = crate::db::gifs::library(conn, &me.user_id, words.as_deref(), limit)?;
            let files: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
            let stored = crate::db::gifs::find_many(conn, &files)?;
            Ok(found
                .iter()
                .filter_map(|(file, alt)| {
                    stored
                        .get(file)
                        .map(|g| GifResponse::from_row(g, alt.as_deref()))
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(GifsPage { gifs }))
}

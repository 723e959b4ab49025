use actix_http::ws;
use actix_web::body::BoxBody;
use actix_web::http::header;
use actix_web::web::{Data, Payload};
use actix_web::{get, HttpMessage, HttpRequest, HttpResponse};

use crate::error::{AppError, AppResult, ErrorBody};
use crate::identity::Identity;
use crate::net::request_ip;
use crate::rate_limit::address_key;
use crate::realtime::socket;
use crate::realtime::transport::inbound::Inbound;
use crate::realtime::transport::{wakes, writer};
use crate::realtime::transport::{CanTakeOver, SocketTakeover};
use crate::state::AppState;

/// Whether a browser page at `Origin` may open the socket: the service's own
/// origin (same host and port as the request) or one of `ALLOWED_ORIGINS`.
/// Clients that send no Origin are not browsers and cannot be tricked into
/// using someone's cookie.
fn origin_allowed(req: &HttpRequest, allowed: &[String]) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    matches!((host, origin_host), (Some(h), Some(o)) if h.eq_ignore_ascii_case(o))
}

/// The one multiplexed WebSocket. Every frame is a JSON envelope
/// `{"type", "data", "ref"?}`: the client sends `ClientEnvelope`s, the
/// server `ServerEnvelope`s (both in the schemas), starting with `hello`.
#[utoipa::path(
    tag = "realtime",
    operation_id = "open_socket",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; frames are `ServerEnvelope` / `ClientEnvelope`"),
        (status = 400, description = "`bad_request`: not a WebSocket upgrade", body = ErrorBody),
        (status = 403, description = "`forbidden`: the page's Origin is not allowed", body = ErrorBody),
        (status = 429, description = "`rate_limited`: this client address has `WS_MAX_PER_IP` sockets open already", body = ErrorBody),
        (status = 503, description = "`unavailable`: the server is shutting down", body = ErrorBody),
    ),
)]
// Under `/api`: `realtime::transport::SOCKET_PATH`.
#[get("/ws")]
pub async fn open_socket(
    req: HttpRequest,
    body: Payload,
    state: Data<AppState>,
    me: Identity,
) -> AppResult<HttpResponse> {
    if !origin_allowed(&req, &state.settings.allowed_origins) {
        return Err(AppError::Forbidden(
            "this origin may not open the socket".into(),
        ));
    }
    // actix-http sends a WebSocket upgrade to the upgrade service unless it
    // is malformed (a chunked body); only then is there a connection to take.
    if req.extensions().get::<CanTakeOver>().is_none() {
        return Err(AppError::BadRequest("not a WebSocket upgrade".into()));
    }
    if state.sockets.refusing() {
        return Err(AppError::Unavailable(anyhow::anyhow!(
            "the server is shutting down"
        )));
    }
    // Counted from here on, so upgrades racing from one address cannot
    // pass the cap together; refused before any work is done for it.
    let settings = &state.settings;
    let open = match request_ip(&req, &settings.trusted_proxies) {
        Some(ip) if settings.rate_limits && settings.ws_max_per_ip > 0 => state
            .sockets
            .open_from(address_key(ip), settings.ws_max_per_ip)
            .map_err(|refused| refused.refusal("ws_per_address"))?,
        _ => state.sockets.open(),
    };
    let user = crate::routes::me::current_user(&state, &me).await?;
    let handshake = ws::handshake(req.head())
        .map_err(|e| AppError::BadRequest(format!("not a WebSocket upgrade: {e}")))?
        .message_body(BoxBody::new(()))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("the handshake response: {e}")))?;
    let stream = Inbound::new(body.into_inner(), settings.ws_max_frame_bytes);
    let (writer, flusher, mut response) = writer::attach(handshake.into(), open);
    // The upgrade service writes the response and hands the connection to
    // the flusher (`realtime::transport`).
    response.extensions_mut().insert(SocketTakeover(flusher));
    // Batched wake-ups: the chat writer's wake-ups for it come through its worker (`wakes`).
    actix_web::rt::spawn(wakes::batched(socket::run(
        state.into_inner().into(),
        user,
        writer,
        stream,
    )));
    Ok(response)
}

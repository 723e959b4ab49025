//! The OpenAPI document, collected from the handlers themselves.

use actix_web::App;
use utoipa::OpenApi;
use utoipa_actix_web::{scope, AppExt};

use crate::error::ErrorBody;
use crate::realtime::envelope::{ClientEnvelope, ServerEnvelope};
use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gifchat",
        description = "Real-time GIF chat rooms. Identity is an anonymous session cookie \
            (`gifchat_session`) that every response sets when the request had none. Every error is \
            `{\"error\": {\"code\", \"message\", \"fields\"?}}` with the status its code implies.",
        license(name = "MIT", identifier = "MIT"),
    ),
    tags(
        (name = "me", description = "The anonymous user behind the session"),
        (name = "rooms", description = "Rooms: create, list, join, delete"),
        (name = "chats", description = "History, text chats, whispers and GIFs"),
        (name = "realtime", description = "The WebSocket and Server-Sent Events"),
        (name = "operations", description = "Health probes"),
    ),
    components(schemas(ErrorBody, ServerEnvelope, ClientEnvelope)),
)]
struct ApiDoc;

/// The whole document: the paths registered in `routes`, plus the info above.
pub fn spec() -> utoipa::openapi::OpenApi {
    let (_, spec) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(scope::scope("/api").configure(routes::api))
        .configure(routes::root)
        .split_for_parts();
    spec
}

/// The document as `openapi.yaml` holds it.
pub fn yaml() -> anyhow::Result<String> {
    Ok(spec().to_yaml()?)
}

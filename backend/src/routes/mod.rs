//! Every route of the service, wired in one place.

pub mod chats;
pub mod events;
pub mod fallback;
pub mod gifs;
pub mod health;
pub mod me;
pub mod rooms;
pub mod ws;

use utoipa_actix_web::service_config::ServiceConfig;

/// The JSON API, mounted under `/api`.
///
/// The router tries routes in the order given here, and every route with an
/// `{id}` costs a regular-expression match, so the busiest come first:
/// posting and reading chats, then the room list.
pub fn api(cfg: &mut ServiceConfig) {
    cfg.service(chats::post_chat)
        .service(chats::list_chats)
        .service(rooms::list_rooms)
        .service(ws::open_socket)
        .service(me::get_me)
        .service(me::update_me)
        .service(rooms::create_room)
        .service(rooms::get_room)
        .service(rooms::delete_room)
        .service(rooms::update_room)
        .service(rooms::join_room)
        .service(rooms::list_members)
        .service(rooms::kick_member)
        .service(rooms::transfer_owner)
        .service(events::watch_room)
        .service(gifs::upload_gif)
        .service(gifs::list_gifs)
        .service(chats::edit_chat)
        .service(chats::delete_chat)
        .service(chats::add_reaction)
        .service(chats::remove_reaction);
}

/// Routes outside `/api`: stored GIFs and health probes.
pub fn root(cfg: &mut ServiceConfig) {
    cfg.service(gifs::get_gif)
        .service(health::healthz)
        .service(health::readyz);
}

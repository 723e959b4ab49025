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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{json, Value};

    use crate::domain::validation::{
        ChatText, ClientId, GifAlt, GifName, GifSearch, MaxMembers, Nickname, PageSize,
        RoomPassword, RoomTitle, FIRST_SEQ, ONE_LINE_PATTERN,
    };
    use crate::domain::{ids, user};

    /// Where in the document, which keyword, what value (as JSON text).
    type Bound = (String, &'static str, String);

    /// The keywords that bound a value. `minimum: 0` is left out: utoipa
    /// adds it to every unsigned integer, and "not negative" is no limit of
    /// the domain's.
    const KEYWORDS: [&str; 5] = ["minLength", "maxLength", "pattern", "minimum", "maximum"];

    fn document() -> Value {
        serde_json::to_value(super::spec()).expect("the document as JSON")
    }

    /// Every bound in the document.
    fn bounds_in(root: &Value) -> BTreeSet<Bound> {
        fn walk(root: &Value, value: &Value, path: &mut Vec<String>, found: &mut BTreeSet<Bound>) {
            let children: Vec<(String, &Value)> = match value {
                Value::Object(map) => {
                    for keyword in KEYWORDS {
                        match map.get(keyword) {
                            Some(v) if keyword == "minimum" && v == &json!(0) => {}
                            Some(v) => {
                                found.insert((label(root, path), keyword, v.to_string()));
                            }
                            None => {}
                        }
                    }
                    map.iter().map(|(k, v)| (k.clone(), v)).collect()
                }
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i.to_string(), v))
                    .collect(),
                _ => Vec::new(),
            };
            for (key, child) in children {
                path.push(key);
                walk(root, child, path, found);
                path.pop();
            }
        }
        let mut found = BTreeSet::new();
        walk(root, root, &mut Vec::new(), &mut found);
        found
    }

    /// A component schema's property as `Schema.field`, an operation's
    /// parameter as `operation_id?name`, anything else as its path.
    fn label(root: &Value, path: &[String]) -> String {
        match path {
            [c, s, schema, p, field]
                if c == "components" && s == "schemas" && p == "properties" =>
            {
                format!("{schema}.{field}")
            }
            [paths, url, method, params, i, s]
                if paths == "paths" && params == "parameters" && s == "schema" =>
            {
                let operation = &root["paths"][url][method];
                let name = &operation["parameters"][i.parse::<usize>().unwrap()]["name"];
                format!(
                    "{}?{}",
                    operation["operationId"].as_str().unwrap_or("?"),
                    name.as_str().unwrap_or("?")
                )
            }
            _ => format!("/{}", path.join("/")),
        }
    }

    /// What the document's bounds must be: the domain's constants.
    fn the_domains() -> BTreeSet<Bound> {
        let mut bounds = BTreeSet::new();
        let mut add = |label: &str, keyword: &'static str, value: Value| {
            bounds.insert((label.to_owned(), keyword, value.to_string()));
        };
        for (label, min, max, pattern) in [
            (
                "UpdateMeRequest.nickname",
                Nickname::MIN,
                Nickname::MAX,
                ONE_LINE_PATTERN,
            ),
            (
                "CreateRoomRequest.title",
                RoomTitle::MIN,
                RoomTitle::MAX,
                ONE_LINE_PATTERN,
            ),
            (
                "UpdateRoomRequest.title",
                RoomTitle::MIN,
                RoomTitle::MAX,
                ONE_LINE_PATTERN,
            ),
            (
                "PostChatRequest.text",
                ChatText::MIN,
                ChatText::MAX,
                ChatText::PATTERN,
            ),
            (
                "PostChatRequest.client_id",
                ClientId::MIN,
                ClientId::MAX,
                ClientId::PATTERN,
            ),
            (
                "GifUpload.client_id",
                ClientId::MIN,
                ClientId::MAX,
                ClientId::PATTERN,
            ),
            (
                "EditChatRequest.text",
                ChatText::MIN,
                ChatText::MAX,
                ChatText::PATTERN,
            ),
        ] {
            add(label, "minLength", json!(min));
            add(label, "maxLength", json!(max));
            add(label, "pattern", json!(pattern));
        }
        for schema in ["CreateRoomRequest", "UpdateRoomRequest"] {
            add(
                &format!("{schema}.password"),
                "maxLength",
                json!(RoomPassword::MAX),
            );
            add(
                &format!("{schema}.max_members"),
                "minimum",
                json!(MaxMembers::MIN),
            );
            add(
                &format!("{schema}.max_members"),
                "maximum",
                json!(MaxMembers::DEFAULT_CEILING),
            );
        }
        for label in ["PostChatRequest.to", "UserIdRequest.user_id"] {
            add(label, "pattern", json!(ids::PATTERN));
        }
        add("UserResponse.color", "pattern", json!(user::COLOR_PATTERN));
        add("PostChatRequest.gif", "pattern", json!(GifName::PATTERN));
        add("PostChatRequest.reply_to", "minimum", json!(FIRST_SEQ));
        add("GifUpload.reply_to", "minimum", json!(FIRST_SEQ));
        for label in [
            "PostChatRequest.alt",
            "GifUpload.alt",
            "EditChatRequest.alt",
        ] {
            add(label, "maxLength", json!(GifAlt::MAX));
        }
        add("list_gifs?q", "maxLength", json!(GifSearch::QUERY_MAX));
        add("list_gifs?limit", "minimum", json!(GifSearch::LIMIT_MIN));
        add("list_gifs?limit", "maximum", json!(GifSearch::LIMIT_MAX));
        add("list_chats?limit", "minimum", json!(PageSize::MIN));
        add("list_chats?limit", "maximum", json!(PageSize::MAX));
        bounds
    }

    /// utoipa takes the bounds only as literals, so they are written again
    /// in `api.rs`'s attributes: here every bound in the document must be
    /// the domain's, and every one of the domain's must be in the document.
    #[test]
    fn the_documents_limits_are_the_domains() {
        let found = bounds_in(&document());
        let expected = the_domains();
        let stray: Vec<_> = found.difference(&expected).collect();
        let missing: Vec<_> = expected.difference(&found).collect();
        assert!(
            stray.is_empty() && missing.is_empty(),
            "schema attributes that are not the domain's constants (write the constant's \
             value, and add it to `the_domains`): {stray:?}; the domain's, missing or \
             different in the document: {missing:?}"
        );
    }

    /// The descriptions that state a limit state the domain's.
    #[test]
    fn the_descriptions_state_the_domains_limits() {
        let doc = document();
        let says = |schema: &str, field: &str, what: String| {
            let description = doc["components"]["schemas"][schema]["properties"][field]
                ["description"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase();
            assert!(
                description.contains(&what.to_lowercase()),
                "{schema}.{field}: {description:?} does not say {what:?}"
            );
        };
        says(
            "UpdateMeRequest",
            "nickname",
            format!("{} to {} characters", Nickname::MIN, Nickname::MAX),
        );
        for schema in ["CreateRoomRequest", "UpdateRoomRequest"] {
            says(
                schema,
                "title",
                format!("{} to {} characters", RoomTitle::MIN, RoomTitle::MAX),
            );
            says(
                schema,
                "password",
                format!("at most {} characters", RoomPassword::MAX),
            );
            says(
                schema,
                "max_members",
                format!("{} to `ROOM_MAX_MEMBERS`", MaxMembers::MIN),
            );
        }
        says(
            "CreateRoomRequest",
            "max_members",
            format!(
                "(default {}); {} when omitted",
                MaxMembers::DEFAULT_CEILING,
                MaxMembers::DEFAULT
            ),
        );
        says(
            "PostChatRequest",
            "text",
            format!("{} to {} characters", ChatText::MIN, ChatText::MAX),
        );
        let limit = doc["paths"]["/api/rooms/{id}/chats"]["get"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "limit"))
            .expect("list_chats has a limit");
        let stated = format!(
            "{} to {}, default {}",
            PageSize::MIN,
            PageSize::MAX,
            PageSize::DEFAULT
        );
        assert!(
            limit["description"]
                .as_str()
                .unwrap_or_default()
                .contains(&stated),
            "{limit} does not say {stated:?}"
        );
    }
}

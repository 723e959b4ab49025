use crate::helpers::{Backend, TestApp};

#[test]
fn openapi_yaml_is_current() {
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
            .expect("openapi.yaml exists at the repository root");
    let generated = gifchat::openapi::yaml().unwrap();
    assert!(
        checked_in == generated,
        "openapi.yaml is stale: run `make openapi` (cargo run -- openapi > openapi.yaml) and commit it"
    );
}

#[test]
fn every_operation_is_documented() {
    let spec = gifchat::openapi::spec();
    let mut ids = Vec::new();
    for (path, item) in &spec.paths.paths {
        for op in [&item.get, &item.post, &item.put, &item.patch, &item.delete]
            .into_iter()
            .flatten()
        {
            let id = op.operation_id.clone().unwrap_or_default();
            assert!(!id.is_empty(), "{path} has an operation without an id");
            assert!(
                op.tags.as_ref().is_some_and(|t| !t.is_empty()),
                "{id} has no tag"
            );
            ids.push(id);
        }
    }
    for expected in [
        "list_rooms",
        "create_room",
        "get_room",
        "delete_room",
        "join_room",
        "list_chats",
        "post_chat",
        "upload_gif",
        "get_me",
        "update_me",
        "get_gif",
    ] {
        assert!(
            ids.iter().any(|i| i == expected),
            "{expected} missing from {ids:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_and_offline_docs_are_served() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let spec = reqwest::get(app.url("/api/openapi.json")).await.unwrap();
    assert_eq!(spec.status(), 200);
    let spec: serde_json::Value = spec.json().await.unwrap();
    assert_eq!(spec["info"]["title"], "gifchat");
    let docs = reqwest::get(app.url("/api/docs")).await.unwrap();
    assert_eq!(docs.status(), 200, "redirected to the UI");
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("https://"),
        "the docs page loads nothing from the internet"
    );
}

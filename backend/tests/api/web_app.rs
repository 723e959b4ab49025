use crate::helpers::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_is_served_with_a_fallback_immutable_assets_and_a_csp() {
    let web = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(web.path().join("assets")).unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><div id=app></div>",
    )
    .unwrap();
    std::fs::write(web.path().join("assets/index-3f9a1c.js"), "console.log(1)").unwrap();
    let dir = web.path().to_owned();
    let app = TestApp::spawn_with(Backend::Sqlite, move |s| s.static_dir = dir)
        .await
        .unwrap();

    for page in ["/", "/rooms/0123456789abcdef0123456789abcdef"] {
        let res = reqwest::get(app.url(page)).await.unwrap();
        assert_eq!(res.status(), 200, "{page}");
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(res.headers()["cache-control"], "no-cache");
        assert!(
            res.text().await.unwrap().contains("id=app"),
            "{page} serves index.html"
        );
    }
    let asset = reqwest::get(app.url("/assets/index-3f9a1c.js"))
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );

    let anyone = app.user();
    assert_eq!(anyone.get("/assets/missing.js").await.code(), "not_found");
    assert_eq!(
        anyone.get("/api/missing").await.code(),
        "not_found",
        "the API never falls back to the page"
    );
    let post = anyone.send(anyone.http.post(app.url("/"))).await;
    assert_eq!(post.status, 404, "only page loads fall back");
}

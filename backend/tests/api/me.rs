use serde_json::json;

use crate::on_both_databases;

on_both_databases! {
    async fn a_new_visitor_gets_a_stable_coloured_identity(app) {
        let alice = app.user();
        let first = alice.get("/api/me").await;
        assert_eq!(first.status, 200);
        let cookie = first.headers.get("set-cookie").expect("a session cookie").to_str().unwrap().to_owned();
        assert!(cookie.starts_with("gifchat_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
        let user = &first.body["user"];
        let color = user["color"].as_str().unwrap();
        assert!(color.len() == 7 && color.starts_with('#'));
        assert_eq!(user["name"], user["color"], "the name defaults to the colour");
        assert_eq!(alice.me().await, *user, "same session, same user");
        assert_ne!(app.user().me().await["id"], user["id"], "another jar is another user");
    }

    async fn a_nickname_can_be_set_and_is_validated(app) {
        let alice = app.user();
        let res = alice.patch("/api/me", json!({"nickname": "  앨리스  "})).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.body["user"]["name"], "앨리스");
        assert_eq!(alice.me().await["name"], "앨리스");
        for bad in [json!({"nickname": "   "}), json!({"nickname": "x".repeat(33)}), json!({"nickname": 5}), json!({})] {
            let res = alice.patch("/api/me", bad.clone()).await;
            assert_eq!((res.status, res.code()), (422, "validation_failed"), "{bad}: {}", res.body);
            assert!(res.body["error"]["fields"]["nickname"].is_string(), "{}", res.body);
        }
    }

    async fn a_restart_keeps_sessions_and_room_access(app) {
        let owner = app.user();
        let guest = app.user();
        let room = owner.create_room(json!({"title": "secret", "password": "pw"})).await;
        let id = room["id"].as_str().unwrap().to_owned();
        assert_eq!(guest.post(&format!("/api/rooms/{id}/join"), json!({"password": "pw"})).await.status, 200);
        let guest_id = guest.me().await["id"].clone();

        let app = app.restart().await;
        let guest = crate::helpers::Client { base: app.base.clone(), ..guest };
        assert_eq!(guest.me().await["id"], guest_id, "the generated session key was kept");
        assert_eq!(guest.history(&id, "").await.status, 200, "access outlives the process");
    }
}

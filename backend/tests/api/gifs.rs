use serde_json::json;

use crate::helpers::{gif_bomb, make_gif, noisy_gif, temp_files};
use crate::on_both_databases;

on_both_databases! {
    async fn an_uploaded_gif_is_measured_stored_and_served(app) {
        let alice = app.user();
        let id = alice.public_room().await;
        let bytes = make_gif(40, 30, 3, 1);
        let res = alice.upload(&id, bytes.clone(), "party.png", "application/octet-stream").await;
        assert_eq!(res.status, 201, "{}", res.body);
        let chat = &res.body["chat"];
        assert_eq!(chat["kind"], "gif");
        assert_eq!(chat["seq"], 1);
        let gif = &chat["gif"];
        assert_eq!((gif["width"].as_i64(), gif["height"].as_i64()), (Some(40), Some(30)));
        assert_eq!(gif["bytes"].as_u64(), Some(bytes.len() as u64));
        let url = gif["url"].as_str().unwrap();
        assert!(url.starts_with("/gif/") && url.ends_with(".gif") && !url.contains("party"), "{url}");

        let served = reqwest::get(app.url(url)).await.unwrap();
        assert_eq!(served.status(), 200);
        assert_eq!(served.headers()["content-type"], "image/gif");
        assert_eq!(served.headers()["x-content-type-options"], "nosniff");
        let cache = served.headers()["cache-control"].to_str().unwrap().to_owned();
        assert!(cache.contains("immutable") && cache.contains("max-age=31536000"), "{cache}");
        assert_eq!(served.bytes().await.unwrap().to_vec(), bytes);
        let listed = &alice.history(&id, "").await.body["chats"][0]["gif"];
        for field in ["url", "width", "height", "bytes", "alt", "poster"] {
            assert_eq!(listed[field], gif[field], "{field}");
        }
    }

    async fn the_same_gif_twice_is_stored_once(app) {
        let alice = app.user();
        let id = alice.public_room().await;
        let bytes = make_gif(8, 8, 1, 7);
        let a = alice.upload(&id, bytes.clone(), "a.gif", "image/gif").await;
        let b = app.user().upload(&id, bytes, "b.gif", "image/gif").await;
        assert_eq!(a.body["chat"]["gif"]["url"], b.body["chat"]["gif"]["url"]);
        assert_eq!(b.body["chat"]["seq"], 2);
        assert_eq!(app.stored_gifs().len(), 1, "{:?}", app.stored_gifs());
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs").await, 1);
    }

    async fn an_oversized_upload_is_refused_and_leaves_nothing(app) {
        let alice = app.user();
        let id = alice.public_room().await;
        let mut big = make_gif(8, 8, 1, 3);
        big.resize(6 * 1024 * 1024, 0);
        let res = alice.upload(&id, big, "big.gif", "image/gif").await;
        assert_eq!((res.status, res.code()), (413, "payload_too_large"));
        assert_eq!(app.stored_files(), Vec::<String>::new());
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 0);
    }

    async fn an_upload_declared_too_large_is_refused_before_its_body_is_sent(app) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let id = app.user().public_room().await;
        let addr = app.base.trim_start_matches("http://").to_owned();
        let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /api/rooms/{id}/gifs HTTP/1.1\r\nHost: {addr}\r\n\
             Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n",
            app.settings.gif_max_bytes + 64 * 1024
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        // Not a byte of the body is sent: the answer must come anyway.
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&answer).contains("payload_too_large") {
            let read = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf))
                .await
                .expect("answered without waiting for the body")
                .unwrap();
            assert!(read > 0, "closed without an answer: {}", String::from_utf8_lossy(&answer));
            answer.extend_from_slice(&buf[..read]);
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    }

    async fn a_streamed_upload_past_the_limit_is_cut_off(app) {
        // No Content-Length: the server must count as it reads.
        let alice = app.user();
        let id = alice.public_room().await;
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..96).map(|_| Ok(vec![0x47u8; 64 * 1024])).collect();
        let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
        let part = reqwest::multipart::Part::stream(body).file_name("s.gif").mime_str("image/gif").unwrap();
        let form = reqwest::multipart::Form::new().part("gif", part);
        let res = alice.send(alice.http.post(app.url(&format!("/api/rooms/{id}/gifs"))).multipart(form)).await;
        assert_eq!((res.status, res.code()), (413, "payload_too_large"));
        assert_eq!(app.stored_files(), Vec::<String>::new());
    }

    async fn a_png_named_gif_is_refused_and_leaves_nothing(app) {
        let alice = app.user();
        let id = alice.public_room().await;
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82".to_vec();
        let res = alice.upload(&id, png, "cat.gif", "image/gif").await;
        assert_eq!((res.status, res.code()), (415, "unsupported_media_type"));
        let mut truncated = make_gif(50, 50, 2, 9);
        truncated.truncate(truncated.len() / 2);
        let res = alice.upload(&id, truncated, "half.gif", "image/gif").await;
        assert_eq!((res.status, res.code()), (415, "unsupported_media_type"));
        assert_eq!(app.stored_files(), Vec::<String>::new());
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 0);
    }

    async fn malformed_uploads_get_clear_errors(app) {
        let alice = app.user();
        let id = alice.public_room().await;
        let res = alice.post(&format!("/api/rooms/{id}/gifs"), json!({"gif": "x"})).await;
        assert_eq!((res.status, res.code()), (415, "unsupported_media_type"));
        let form = reqwest::multipart::Form::new().text("other", "hello");
        let res = alice.send(alice.http.post(app.url(&format!("/api/rooms/{id}/gifs"))).multipart(form)).await;
        assert_eq!((res.status, res.code()), (422, "validation_failed"));
        let res = alice.upload(&id, Vec::new(), "empty.gif", "image/gif").await;
        assert_eq!(res.status, 422);
        let res = alice
            .send(alice.http.post(app.url(&format!("/api/rooms/{id}/gifs"))).header("content-type", "multipart/form-data; boundary=x").body("garbage"))
            .await;
        assert_eq!((res.status, res.code()), (400, "bad_request"), "{}", res.body);
        let res = alice.upload("0123456789abcdef0123456789abcdef", make_gif(4, 4, 1, 1), "a.gif", "image/gif").await;
        assert_eq!(res.code(), "not_found");
        assert_eq!(app.stored_files(), Vec::<String>::new());
    }

    async fn gif_bombs_are_refused(app) {
        let alice = app.user();
        let id = alice.public_room().await;
        let res = alice.upload(&id, make_gif(4097, 1, 1, 1), "wide.gif", "image/gif").await;
        assert_eq!((res.status, res.code()), (422, "validation_failed"), "{}", res.body);
        assert_eq!(app.stored_files(), Vec::<String>::new());
    }

    async fn deleting_a_room_removes_gifs_nothing_else_uses(app) {
        let alice = app.user();
        let doomed = alice.public_room().await;
        let other = alice.public_room().await;
        let only_here = make_gif(10, 10, 1, 11);
        let shared = make_gif(10, 10, 1, 22);
        let kept_url = alice.upload(&other, shared.clone(), "s.gif", "image/gif").await.body["chat"]["gif"]["url"].clone();
        let gone_url = alice.upload(&doomed, only_here, "o.gif", "image/gif").await.body["chat"]["gif"]["url"].clone();
        alice.upload(&doomed, shared, "s.gif", "image/gif").await;
        assert_eq!(app.stored_gifs().len(), 2);

        assert_eq!(alice.delete(&format!("/api/rooms/{doomed}")).await.status, 204);
        assert_eq!(app.stored_gifs().len(), 1);
        assert_eq!(reqwest::get(app.url(gone_url.as_str().unwrap())).await.unwrap().status(), 404);
        assert_eq!(reqwest::get(app.url(kept_url.as_str().unwrap())).await.unwrap().status(), 200);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs").await, 1);
    }

    async fn unknown_gif_names_are_not_found(app) {
        for name in ["nope.gif", "../secret", &format!("{}.gif", "a".repeat(64))] {
            let res = app.user().get(&format!("/gif/{name}")).await;
            assert_eq!((res.status, res.code()), (404, "not_found"), "{name}");
        }
    }
    async fn a_decompression_bomb_is_refused_before_it_is_decoded_and_leaves_nothing(app) {
        // Like the bomb (590 frames of 4096×4096): 400 of them, 6.7 G pixels in 4.6 MB.
        let mut bomb = gif_bomb(4096, 400);
        assert!((bomb.len() as u64) < app.settings.gif_max_bytes, "{} bytes", bomb.len());
        // Cut off in its last frames: a checker that decoded them all would
        // call it broken (415) instead.
        bomb.truncate(bomb.len() * 9 / 10);
        let alice = app.user();
        let id = alice.public_room().await;
        let started = std::time::Instant::now();
        let res = alice.upload(&id, bomb, "bomb.gif", "image/gif").await;
        let took = started.elapsed();
        assert_eq!((res.status, res.code()), (422, "validation_failed"), "{}", res.body);
        let why = res.body["error"]["fields"]["gif"].as_str().unwrap();
        assert!(why.contains("200000000 pixels"), "{why}");
        // The cap is passed at the 12th frame: tens of milliseconds, where
        // decoding all 400 takes about a second.
        assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
        assert_eq!(app.stored_files(), Vec::<String>::new());
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 0);
    }

    async fn a_gif_just_under_the_pixel_cap_is_accepted(app)
    where |s: &mut gifchat::config::Settings| s.gif_max_pixels = 64 * 64 * 3; {
        let alice = app.user();
        let id = alice.public_room().await;
        let res = alice.upload(&id, gif_bomb(64, 3), "ok.gif", "image/gif").await;
        assert_eq!(res.status, 201, "{}", res.body);
        let res = alice.upload(&id, gif_bomb(64, 4), "over.gif", "image/gif").await;
        assert_eq!((res.status, res.code()), (422, "validation_failed"), "{}", res.body);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs").await, 1);
    }

    async fn the_api_answers_while_heavy_uploads_are_decoded(app)
    where |s: &mut gifchat::config::Settings| s.db_pool_size = 2; {
        // Noise LZW can barely shrink: the most decoding a file under
        // GIF_MAX_BYTES can ask for. More uploads than there are blocking
        // threads for the database.
        let heavy = noisy_gif(4096, 1);
        assert!((heavy.len() as u64) < app.settings.gif_max_bytes, "{} bytes", heavy.len());
        let room = app.user().public_room().await;
        let uploads: Vec<_> = (0..16u8)
            .map(|i| {
                let (client, room) = (app.user(), room.clone());
                let mut bytes = heavy.clone();
                // A comment before the trailer: a different file each, so none is stored already.
                let at = bytes.len() - 1;
                bytes.splice(at..at, [0x21, 0xfe, 1, i, 0]);
                tokio::spawn(async move {
                    let res = client.upload(&room, bytes, "heavy.gif", "image/gif").await;
                    (res, std::time::Instant::now())
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let bob = app.user();
        let mut slowest = std::time::Duration::ZERO;
        for _ in 0..5 {
            let started = std::time::Instant::now();
            bob.create_room(json!({"title": "while decoding"})).await;
            assert_eq!(bob.get("/readyz").await.status, 200);
            slowest = slowest.max(started.elapsed());
        }
        let asked = std::time::Instant::now();
        let mut last = None;
        for upload in uploads {
            let (res, done) = upload.await.unwrap();
            assert_eq!(res.status, 201, "{}", res.body);
            last = last.max(Some(done));
        }
        assert!(last.unwrap() > asked, "the uploads were over before the API was asked");
        assert!(slowest < std::time::Duration::from_millis(600), "the API took {slowest:?} while uploads were decoded");
    }
}

/// Starts an upload by hand and leaves it half-sent: its temporary file exists.
async fn half_an_upload(
    server: &crate::process::Server,
    uploads: &std::path::Path,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let before = temp_files(uploads).len();
    let room = server.user().public_room().await;
    let mut gif =
        b"--b\r\nContent-Disposition: form-data; name=\"gif\"; filename=\"a.gif\"\r\n\r\n".to_vec();
    gif.extend_from_slice(&make_gif(64, 64, 2, 8)[..300]);
    let mut conn = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let head = format!(
        "POST /api/rooms/{room}/gifs HTTP/1.1\r\nHost: {}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n",
        server.addr()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&gif).await.unwrap();
    for _ in 0..100 {
        if temp_files(uploads).len() > before {
            return conn;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the upload never reached the disk");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_off_by_sigkill_is_swept_at_the_next_start_and_live_ones_are_not() {
    use crate::process::{data_dir, Server};
    let (_shared, uploads) = data_dir();
    let uploads_env = uploads.to_string_lossy().into_owned();
    let env = [("UPLOAD_DIR", uploads_env.as_str())];
    let (_a, a_dir) = data_dir();
    let (_b, b_dir) = data_dir();

    let mut doomed = Server::start(&a_dir, &env);
    let _cut = half_an_upload(&doomed, &uploads).await;
    doomed.kill();
    assert_eq!(
        temp_files(&uploads).len(),
        1,
        "SIGKILL leaves the temporary file"
    );

    // Another instance on the same upload folder, mid-upload, when the
    // killed one starts again: only the dead upload goes.
    let live = Server::start(&b_dir, &env);
    assert_eq!(
        temp_files(&uploads),
        Vec::<String>::new(),
        "swept when another instance starts"
    );
    let _live_upload = half_an_upload(&live, &uploads).await;
    let in_flight = temp_files(&uploads);
    assert_eq!(in_flight.len(), 1);
    let _again = Server::start(&a_dir, &env);
    assert_eq!(
        temp_files(&uploads),
        in_flight,
        "a live instance's upload is left alone"
    );
}

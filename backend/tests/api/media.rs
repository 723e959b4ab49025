//! GIFs done right: posters, renditions, descriptions and the library.

use std::time::Duration;

use diesel::RunQueryDsl;
use image::AnimationDecoder;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::helpers::{make_gif, Client, Res, TestApp};
use crate::on_both_databases;

/// A GIF that GIF compresses badly and WebP well: smooth colour fields
/// that drift, in 256 colours, with delays of 0 (shown as 100 ms) and 40 ms.
fn gradient_gif(width: u16, height: u16, frames: usize, seed: u8) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let palette: Vec<u8> = (0..=255u8)
            .flat_map(|i| [i, i.wrapping_mul(3) / 2 + seed, 255 - i])
            .collect();
        let mut enc = gif::Encoder::new(&mut out, width, height, &palette).unwrap();
        enc.set_repeat(gif::Repeat::Infinite).unwrap();
        for f in 0..frames {
            let pixels: Vec<u8> = (0..usize::from(height))
                .flat_map(|y| {
                    (0..usize::from(width)).map(move |x| {
                        let wave = ((x as f32 / 9.0 + f as f32 / 3.0).sin()
                            + (y as f32 / 7.0 - f as f32 / 5.0).cos())
                            * 60.0;
                        (x + y * 2 + f * 5 + wave as usize) as u8
                    })
                })
                .collect();
            let mut frame = gif::Frame::from_indexed_pixels(width, height, pixels, None);
            frame.delay = if f % 2 == 0 { 0 } else { 4 };
            enc.write_frame(&frame).unwrap();
        }
    }
    out
}

async fn upload_with_alt(user: &Client, room: &str, bytes: Vec<u8>, alt: &str) -> Res {
    let part = Part::bytes(bytes)
        .file_name("a.gif")
        .mime_str("image/gif")
        .unwrap();
    let form = Form::new().text("alt", alt.to_owned()).part("gif", part);
    user.send(
        user.http
            .post(format!("{}/api/rooms/{room}/gifs", user.base))
            .multipart(form),
    )
    .await
}

async fn fetch(app: &TestApp, url: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let res = reqwest::get(app.url(url)).await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    let headers = res.headers().clone();
    (headers, res.bytes().await.unwrap().to_vec())
}

fn assert_served_as(headers: &reqwest::header::HeaderMap, kind: &str) {
    assert_eq!(headers["content-type"], kind);
    assert!(
        !headers.contains_key("set-cookie"),
        "a cached file carries no session"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let cache = headers["cache-control"].to_str().unwrap();
    assert!(
        cache.contains("immutable") && cache.contains("max-age=31536000"),
        "{cache}"
    );
}

/// Frame count and shown duration of GIF bytes, as a browser plays them.
fn gif_timing(bytes: &[u8]) -> (u32, u64) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, bytes).unwrap();
    gifchat::storage::media::gif_timing(file.path()).unwrap()
}

fn library(res: &Res) -> Vec<String> {
    res.body["gifs"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", res.body))
        .iter()
        .map(|g| g["url"].as_str().unwrap().to_owned())
        .collect()
}

fn seq(res: &Res) -> i64 {
    res.body["chat"]["seq"]
        .as_i64()
        .unwrap_or_else(|| panic!("{}", res.body))
}

on_both_databases! {
    async fn a_poster_is_the_first_frame_at_the_gifs_size(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        let bytes = gradient_gif(64, 40, 5, 3);
        let res = alice.upload(&room, bytes.clone(), "a.gif", "image/gif").await;
        assert_eq!(res.status, 201, "{}", res.body);
        let gif = &res.body["chat"]["gif"];
        let poster = gif["poster"].as_str().expect("a poster at upload");
        assert_eq!(poster, gif["url"].as_str().unwrap().replace(".gif", ".png"));
        let (headers, png) = fetch(&app, poster).await;
        assert_served_as(&headers, "image/png");
        let head = alice.http.head(app.url(poster)).send().await.unwrap();
        assert_eq!((head.status().as_u16(), head.headers()["content-length"].to_str().unwrap()), (200, png.len().to_string().as_str()));
        let still = image::load_from_memory_with_format(&png, image::ImageFormat::Png).unwrap().into_rgba8();
        assert_eq!(still.dimensions(), (64, 40));
        let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)).unwrap();
        let first = decoder.into_frames().next().unwrap().unwrap().into_buffer();
        assert_eq!(still.as_raw(), first.as_raw(), "the poster's pixels are frame one's");
    }

    async fn renditions_are_smaller_decode_keep_the_timing_and_are_announced(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        let mut ws = alice.ws().await;
        ws.join(&room).await;
        let bytes = gradient_gif(160, 120, 24, 9);
        let res = alice.upload(&room, bytes.clone(), "a.gif", "image/gif").await;
        assert_eq!(res.status, 201, "{}", res.body);
        let posted_rev = res.body["chat"]["rev"].as_i64().unwrap();
        let update = ws.recv_type("chat_updated").await;
        let chat = &update["data"]["chat"];
        assert_eq!(chat["seq"], seq(&res));
        assert!(chat["rev"].as_i64().unwrap() > posted_rev, "{chat}");
        let variants = chat["gif"]["variants"].as_array().unwrap().clone();
        assert!(!variants.is_empty(), "{chat}");
        assert_eq!(app.with_renditions(&alice, &room, seq(&res)).await["gif"], chat["gif"]);
        let (frames, duration) = gif_timing(&bytes);
        assert_eq!((frames, duration), (24, 12 * 100 + 12 * 40));
        let mut last = 0;
        for variant in &variants {
            assert_eq!(variant["type"], "image/webp");
            let size = variant["bytes"].as_i64().unwrap();
            assert!(size < bytes.len() as i64 && size >= last, "{variant} against {}", bytes.len());
            last = size;
            let (headers, webp) = fetch(&app, variant["url"].as_str().unwrap()).await;
            assert_served_as(&headers, "image/webp");
            assert_eq!(webp.len() as i64, size);
            let decoder = webp_animation::Decoder::new(&webp).expect("a WebP that decodes");
            assert_eq!(decoder.dimensions(), (160, 120));
            assert_eq!((variant["width"].as_i64(), variant["height"].as_i64()), (Some(160), Some(120)));
            let decoded: Vec<_> = decoder.into_iter().collect();
            assert!(!decoded.is_empty() && decoded.len() <= 24);
            // A frame's timestamp is when it ends: the last one's is the whole animation's.
            assert_eq!(decoded.last().unwrap().timestamp() as u64, duration);
        }
    }

    async fn deleting_the_last_use_removes_the_gif_its_poster_and_renditions_and_nothing_else(app) {
        let alice = app.user();
        let (doomed, kept) = (alice.public_room().await, alice.public_room().await);
        let gone = alice.upload(&doomed, gradient_gif(96, 64, 8, 1), "a.gif", "image/gif").await;
        let stays = alice.upload(&kept, gradient_gif(96, 64, 8, 2), "b.gif", "image/gif").await;
        let again = alice.post(&format!("/api/rooms/{kept}/chats"), json!({"gif": gone.gif_file()})).await;
        assert_eq!(again.status, 201, "{}", again.body);
        app.with_renditions(&alice, &doomed, seq(&gone)).await;
        app.with_renditions(&alice, &kept, seq(&stays)).await;
        let hash = |res: &Res| res.gif_file().trim_end_matches(".gif").to_owned();
        let all = |h: &str| vec![format!("{h}.gif"), format!("{h}.png"), format!("{h}.webp")];
        let mut both = [all(&hash(&gone)), all(&hash(&stays))].concat();
        both.sort();
        assert_eq!(app.stored_files(), both);

        // Still shown in the other room: everything stays.
        assert_eq!(alice.delete(&format!("/api/rooms/{doomed}")).await.status, 204);
        assert_eq!(app.stored_files(), both);
        // Its last chat goes: the GIF, its poster and its rendition go, rows too.
        assert_eq!(alice.delete(&format!("/api/rooms/{kept}/chats/{}", seq(&again))).await.status, 204);
        assert_eq!(app.stored_files(), all(&hash(&stays)));
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gif_variants").await, 1);
        for name in all(&hash(&gone)) {
            assert_eq!(reqwest::get(app.url(&format!("/gif/{name}"))).await.unwrap().status(), 404, "{name}");
        }
        for name in all(&hash(&stays)) {
            assert_eq!(reqwest::get(app.url(&format!("/gif/{name}"))).await.unwrap().status(), 200, "{name}");
        }
    }

    async fn the_library_finds_gifs_by_words_of_their_description_newest_first(app) {
        let (alice, bob) = (app.user(), app.user());
        let room = alice.public_room().await;
        let cat = upload_with_alt(&alice, &room, make_gif(8, 8, 2, 1), "A cat falling off the sofa").await;
        let dog = upload_with_alt(&alice, &room, make_gif(8, 8, 2, 2), "a dog catching a frisbee").await;
        let plain = alice.upload(&room, make_gif(8, 8, 2, 3), "c.gif", "image/gif").await;
        assert_eq!(cat.body["chat"]["gif"]["alt"], "A cat falling off the sofa");
        assert_eq!(plain.body["chat"]["gif"]["alt"], Value::Null);
        let url = |r: &Res| r.body["chat"]["gif"]["url"].as_str().unwrap().to_owned();

        assert_eq!(library(&bob.get("/api/gifs").await), [url(&plain), url(&dog), url(&cat)]);
        assert_eq!(library(&bob.get("/api/gifs?q=sofa").await), [url(&cat)]);
        // Each word is a prefix, every word must match, case does not matter.
        assert_eq!(library(&bob.get("/api/gifs?q=CAT").await), [url(&dog), url(&cat)]);
        assert_eq!(library(&bob.get("/api/gifs?q=cat%20fall").await), [url(&cat)]);
        assert_eq!(library(&bob.get("/api/gifs?q=frisbee%20sofa").await), Vec::<String>::new());
        assert_eq!(library(&bob.get("/api/gifs?q=%22%29%28*%3A").await), Vec::<String>::new(), "no query syntax gets through");
        assert_eq!(library(&bob.get("/api/gifs?limit=1").await), [url(&plain)]);
        let found = bob.get("/api/gifs?q=sofa").await;
        assert_eq!(found.body["gifs"][0]["alt"], "A cat falling off the sofa");
        assert_eq!(found.body["gifs"][0]["poster"], cat.body["chat"]["gif"]["poster"]);
        for bad in ["limit=0", "limit=101", &format!("q={}", "a".repeat(201))] {
            let res = bob.get(&format!("/api/gifs?{bad}")).await;
            assert_eq!((res.status, res.code()), (422, "validation_failed"), "{bad}");
        }

        // Posting one again from the library: no upload, no copy, and the
        // description comes along unless the poster gives another.
        let before = app.stored_files();
        let again = bob.post(&format!("/api/rooms/{room}/chats"), json!({"gif": cat.gif_file()})).await;
        assert_eq!(again.status, 201, "{}", again.body);
        assert_eq!(again.body["chat"]["gif"]["alt"], "A cat falling off the sofa");
        let renamed = bob.post(&format!("/api/rooms/{room}/chats"), json!({"gif": cat.gif_file(), "alt": "kitty"})).await;
        assert_eq!(renamed.body["chat"]["gif"]["alt"], "kitty");
        assert_eq!(app.stored_files(), before, "nothing is copied");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs").await, 3);
        assert_eq!(library(&bob.get("/api/gifs?q=kitty").await), [url(&cat)], "listed once");
        assert_eq!(library(&bob.get("/api/gifs").await)[0], url(&cat), "newest use first");

        // However often one GIF is posted, the others stay in the library.
        for _ in 0..40 {
            assert_eq!(bob.post(&format!("/api/rooms/{room}/chats"), json!({"gif": dog.gif_file(), "alt": ""})).await.status, 201);
        }
        assert_eq!(library(&bob.get("/api/gifs?limit=2").await), [url(&dog), url(&cat)]);
        let listed = bob.get("/api/gifs?limit=2").await;
        assert_eq!(listed.body["gifs"][0]["alt"], "a dog catching a frisbee", "the newest described use, whatever the limit");
        // Compatibility forms and decomposed accents are what they show.
        assert_eq!(library(&bob.get("/api/gifs?q=%EF%BD%93%EF%BD%8F%EF%BD%86%EF%BD%81").await), [url(&cat)], "ｓｏｆａ");
        // A deleted chat no longer describes its GIF.
        assert_eq!(bob.delete(&format!("/api/rooms/{room}/chats/{}", seq(&renamed))).await.status, 204);
        assert_eq!(library(&bob.get("/api/gifs?q=kitty").await), Vec::<String>::new());
    }

    async fn a_secret_rooms_gif_is_never_listed_to_nor_postable_by_an_outsider(app) {
        let (alice, bob, eve) = (app.user(), app.user(), app.user());
        let secret = alice.create_room(json!({"title": "s", "password": "hunter22"})).await["id"].as_str().unwrap().to_owned();
        let public = eve.public_room().await;
        let hidden = upload_with_alt(&alice, &secret, make_gif(8, 8, 2, 5), "our secret handshake").await;
        assert_eq!(hidden.status, 201, "{}", hidden.body);
        let whisper_room = alice.public_room().await;
        assert_eq!(library(&alice.get("/api/gifs?q=handshake").await).len(), 1);
        for outsider in [&eve, &bob] {
            assert_eq!(library(&outsider.get("/api/gifs?q=handshake").await), Vec::<String>::new());
            assert_eq!(library(&outsider.get("/api/gifs").await), Vec::<String>::new());
            let res = outsider.post(&format!("/api/rooms/{public}/chats"), json!({"gif": hidden.gif_file()})).await;
            assert_eq!((res.status, res.code()), (404, "not_found"));
        }
        // With the password, bob sees it and may post it elsewhere; its
        // description stays in the secret room unless he writes one.
        assert_eq!(bob.post(&format!("/api/rooms/{secret}/join"), json!({"password": "hunter22"})).await.status, 200);
        assert_eq!(library(&bob.get("/api/gifs?q=handshake").await).len(), 1);
        let bare = bob.post(&format!("/api/rooms/{whisper_room}/chats"), json!({"gif": hidden.gif_file()})).await;
        assert_eq!(bare.status, 201, "{}", bare.body);
        assert_eq!(bare.body["chat"]["gif"]["alt"], Value::Null, "a secret room's description never leaves it");
        assert_eq!(eve.get("/api/gifs").await.body["gifs"][0]["alt"], Value::Null);
        let again = alice.post(&format!("/api/rooms/{secret}/chats"), json!({"gif": hidden.gif_file()})).await;
        assert_eq!(again.body["chat"]["gif"]["alt"], "our secret handshake", "in its own room it comes along");
        let shared = bob.post(&format!("/api/rooms/{whisper_room}/chats"), json!({"gif": hidden.gif_file(), "alt": "a handshake"})).await;
        assert_eq!(shared.status, 201, "{}", shared.body);
        // Now it is in a public room, eve sees that chat's description only.
        let seen = eve.get("/api/gifs?q=handshake").await;
        assert_eq!(seen.body["gifs"].as_array().unwrap().len(), 1);
        assert_eq!(seen.body["gifs"][0]["alt"], "a handshake");
        assert_eq!(library(&eve.get("/api/gifs?q=secret").await), Vec::<String>::new(), "the secret room's description stays there");
    }

    async fn an_overlong_description_is_refused_and_leaves_nothing(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        let res = upload_with_alt(&alice, &room, gradient_gif(32, 32, 3, 1), &"é".repeat(301)).await;
        assert_eq!((res.status, res.code()), (422, "validation_failed"), "{}", res.body);
        assert!(res.body["error"]["fields"]["alt"].as_str().unwrap().contains("300"), "{}", res.body);
        for bad in ["\u{200b}\u{200b}", "a\u{0007}b", "evil \u{202e}gpj.exe", &format!("a{}", "\u{301}".repeat(5))] {
            let res = upload_with_alt(&alice, &room, gradient_gif(32, 32, 3, 1), bad).await;
            assert_eq!((res.status, res.code()), (422, "validation_failed"), "{bad:?}");
        }
        // An upload is never a whisper, and a part is sent once.
        for form in [
            Form::new().text("to", "0123456789abcdef0123456789abcdef"),
            Form::new().text("alt", "one").text("alt", "two"),
        ] {
            let form = form.part("gif", Part::bytes(gradient_gif(32, 32, 3, 1)).file_name("a.gif").mime_str("image/gif").unwrap());
            let res = alice.send(alice.http.post(format!("{}/api/rooms/{room}/gifs", alice.base)).multipart(form)).await;
            assert_eq!((res.status, res.code()), (422, "validation_failed"), "{}", res.body);
        }
        assert_eq!(app.stored_files(), Vec::<String>::new());
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 0);
        let ok = upload_with_alt(&alice, &room, gradient_gif(32, 32, 3, 1), &"é".repeat(300)).await;
        assert_eq!(ok.status, 201, "{}", ok.body);
        let blank = upload_with_alt(&alice, &room, gradient_gif(32, 32, 3, 2), "   ").await;
        assert_eq!(blank.body["chat"]["gif"]["alt"], Value::Null, "blank is no description");
        let long = alice.post(&format!("/api/rooms/{room}/chats"), json!({"gif": ok.gif_file(), "alt": "x".repeat(301)})).await;
        assert_eq!((long.status, long.code()), (422, "validation_failed"));
        let text_alt = alice.post(&format!("/api/rooms/{room}/chats"), json!({"text": "hi", "alt": "x"})).await;
        assert_eq!((text_alt.status, text_alt.code()), (422, "validation_failed"));
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 2);
    }

    async fn the_author_edits_a_description_within_the_edit_window(app) {
        let (alice, bob) = (app.user(), app.user());
        let room = alice.public_room().await;
        let mut ws = bob.ws().await;
        ws.join(&room).await;
        let gif = upload_with_alt(&alice, &room, make_gif(8, 8, 2, 8), "a red ball").await;
        let text = alice.post(&format!("/api/rooms/{room}/chats"), json!({"text": "look"})).await;
        let path = format!("/api/rooms/{room}/chats/{}", seq(&gif));
        let edited = alice.patch(&path, json!({"alt": "a blue ball"})).await;
        assert_eq!(edited.status, 200, "{}", edited.body);
        assert_eq!(edited.body["chat"]["gif"]["alt"], "a blue ball");
        assert!(edited.body["chat"]["edited_at"].is_string());
        loop {
            let update = ws.recv_type("chat_updated").await;
            if update["data"]["chat"]["gif"]["alt"] == "a blue ball" {
                break;
            }
        }
        assert_eq!(library(&bob.get("/api/gifs?q=blue").await).len(), 1);
        assert_eq!(library(&bob.get("/api/gifs?q=red").await).len(), 0, "the old words are gone");
        let theirs = bob.patch(&path, json!({"alt": "mine now"})).await;
        assert_eq!((theirs.status, theirs.code()), (403, "forbidden"));
        let on_text = alice.patch(&format!("/api/rooms/{room}/chats/{}", seq(&text)), json!({"alt": "x"})).await;
        assert_eq!((on_text.status, on_text.code()), (422, "validation_failed"));
        let text_on_gif = alice.patch(&path, json!({"text": "x"})).await;
        assert_eq!((text_on_gif.status, text_on_gif.code()), (422, "validation_failed"));
        let both = alice.patch(&path, json!({"text": "x", "alt": "y"})).await;
        assert_eq!((both.status, both.code()), (422, "validation_failed"));
        let cleared = alice.patch(&path, json!({"alt": ""})).await;
        assert_eq!(cleared.body["chat"]["gif"]["alt"], Value::Null);
        for seq in ["abc", "99999999999999999999"] {
            let res = alice.patch(&format!("/api/rooms/{room}/chats/{seq}"), json!({"alt": "x"})).await;
            assert_eq!((res.status, res.code()), (404, "not_found"), "{seq}: {}", res.body);
        }
    }

    async fn a_description_cannot_be_edited_after_the_window(app) where |s: &mut gifchat::config::Settings| s.chat_edit_secs = 1; {
        let alice = app.user();
        let room = alice.public_room().await;
        let gif = upload_with_alt(&alice, &room, make_gif(8, 8, 2, 8), "a red ball").await;
        tokio::time::sleep(Duration::from_millis(1300)).await;
        let late = alice.patch(&format!("/api/rooms/{room}/chats/{}", seq(&gif)), json!({"alt": "too late"})).await;
        assert_eq!((late.status, late.code()), (403, "forbidden"));
    }

    async fn gifs_stored_before_get_posters_and_renditions_at_start(app) where |s: &mut gifchat::config::Settings| s.media_workers = 0; {
        let alice = app.user();
        let room = alice.public_room().await;
        let old = alice.upload(&room, gradient_gif(120, 80, 10, 4), "a.gif", "image/gif").await;
        // As a GIF stored before posters and renditions existed.
        let hash = old.gif_file().trim_end_matches(".gif").to_owned();
        std::fs::remove_file(app.settings.upload_dir().join(format!("{hash}.png"))).unwrap();
        app.state.db.run(|conn| Ok(diesel::sql_query("UPDATE gifs SET poster = NULL").execute(conn)?)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Read from the database, not from the latest chats kept in memory.
        let chat = &alice.history(&room, "?after_seq=0").await.body["chats"][0];
        assert_eq!((chat["gif"]["poster"].clone(), chat["gif"]["variants"].clone()), (Value::Null, json!([])));

        let mut app = app;
        app.settings.media_workers = 1;
        let app = app.restart().await;
        let chat = app.with_renditions(&app.user(), &room, seq(&old)).await;
        let poster = chat["gif"]["poster"].as_str().expect("the pass made a poster");
        assert_eq!(poster, format!("/gif/{hash}.png"));
        fetch(&app, poster).await;
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs WHERE NOT processed").await, 0);
    }

    async fn a_gif_the_decoders_refuse_is_marked_done_and_holds_nothing_up(app) where |s: &mut gifchat::config::Settings| s.media_workers = 0; {
        let alice = app.user();
        let room = alice.public_room().await;
        // Its first frame is 0×0: the upload check takes it, the encoders may not.
        let odd = include_bytes!("fixtures/zeroframe.gif").to_vec();
        let res = alice.upload(&room, odd, "z.gif", "image/gif").await;
        assert_eq!(res.status, 201, "{}", res.body);
        let good = alice.upload(&room, gradient_gif(96, 64, 6, 7), "g.gif", "image/gif").await;
        let mut app = app;
        app.settings.media_workers = 1;
        let app = app.restart().await;
        app.with_renditions(&app.user(), &room, seq(&good)).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while app.count("SELECT COUNT(*) AS n FROM gifs WHERE NOT processed").await > 0 {
            assert!(std::time::Instant::now() < deadline, "a GIF is left unprocessed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn a_poster_covers_every_index_its_pixels_use(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        // Two colours, transparent index 200, a first frame smaller than the screen.
        let res = alice.upload(&room, include_bytes!("fixtures/transoob.gif").to_vec(), "t.gif", "image/gif").await;
        assert_eq!(res.status, 201, "{}", res.body);
        let (_, png) = fetch(&app, res.body["chat"]["gif"]["poster"].as_str().unwrap()).await;
        let still = image::load_from_memory(&png).expect("a valid PNG").into_rgba8();
        assert_eq!(still.dimensions(), (20, 10));
        assert_eq!(still.get_pixel(0, 0).0[3], 0, "outside the first frame: transparent");
    }
}

use super::*;
use crate::api::ChatResponse;
use crate::realtime::delivery::frame::{chat_json, chat_json_of_frame, FrameKind};
use crate::realtime::envelope::ServerEnvelope;
use bytestring::ByteString;

fn user(id: &str) -> Arc<UserResponse> {
    Arc::new(UserResponse::new(id, None))
}

fn out(s: &str) -> Outbound {
    Outbound::new(ByteString::from(s.to_owned()), FrameKind::Other)
}

#[test]
fn a_room_set_holds_each_room_once() {
    let mut rooms = RoomSet::default();
    rooms.insert("r1");
    rooms.insert("r2");
    rooms.insert("r1");
    assert_eq!(rooms.iter().collect::<Vec<_>>(), ["r1", "r2"]);
    assert!(rooms.remove("r1"));
    assert!(!rooms.remove("r1"));
    assert!(!rooms.contains("r1") && rooms.contains("r2"));
    assert!(rooms.remove("r2"));
    assert_eq!(rooms.iter().count(), 0);
}

#[test]
fn a_full_queue_evicts_only_the_slow_connection() {
    let hub = Hub::new(2);
    let mut slow = hub.connect(user("a"));
    let mut fast = hub.connect(user("b"));
    hub.join(slow.id, "r", 10).unwrap();
    hub.join(fast.id, "r", 10).unwrap();
    for i in 0..3 {
        hub.to_room("r", &out(&i.to_string()), None);
        assert_eq!(&*fast.rx.try_recv().unwrap().text, i.to_string());
    }
    assert_eq!(slow.evicted.try_recv(), Ok(Eviction::TooSlow));
    assert!(fast.evicted.try_recv().is_err());
}

#[test]
fn a_queue_over_its_bytes_evicts_the_connection() {
    let hub = Hub::new(100).with_queue_bytes(10);
    let mut reg = hub.connect(user("a"));
    hub.join(reg.id, "r", 10).unwrap();
    hub.to_room("r", &out("123456"), None);
    assert!(reg.evicted.try_recv().is_err());
    hub.to_room("r", &out("789ab"), None);
    assert_eq!(reg.evicted.try_recv(), Ok(Eviction::TooSlow));
}

#[test]
fn a_connection_joins_at_most_its_rooms() {
    let hub = Hub::new(8);
    let reg = hub.connect(user("a"));
    hub.join(reg.id, "r1", 10).unwrap();
    hub.join(reg.id, "r2", 10).unwrap();
    assert!(!hub.may_join(reg.id, "r3", 2));
    assert!(hub.may_join(reg.id, "r2", 2), "a room it is in already");
    hub.leave(reg.id, "r1");
    assert!(hub.may_join(reg.id, "r3", 2));
}

#[test]
fn whispers_reach_only_both_parties_on_every_connection() {
    let hub = Hub::new(8);
    let mut regs: Vec<_> = ["a", "a", "b", "c"]
        .iter()
        .map(|u| hub.connect(user(u)))
        .collect();
    for r in &regs {
        hub.join(r.id, "r", 10).unwrap();
    }
    hub.to_room("r", &out("psst"), Some(["a", "b"]));
    let got: Vec<bool> = regs.iter_mut().map(|r| r.rx.try_recv().is_some()).collect();
    assert_eq!(got, [true, true, true, false]);
}

#[test]
fn a_chat_frame_is_the_envelope_serde_would_write() {
    let chat = ChatResponse {
        id: 9,
        room_id: "r".into(),
        seq: 3,
        kind: crate::api::ChatKind::Text,
        user: Some(UserResponse::clone(&user("a"))),
        text: Some("hi \"there\"\n".into()),
        gif: None,
        to: None,
        event: None,
        subject: None,
        created_at: 1_764_000_000_123,
        client_id: Some("c-1".into()),
        reply_to: None,
        edited_at: None,
        deleted: false,
        reactions: Vec::new(),
        rev: 3,
    };
    let built = Outbound::chat(chat.clone());
    assert_eq!(
        built.text,
        ServerEnvelope::Chat { chat: chat.clone() }.frame()
    );
    assert_eq!(
        chat_json_of_frame(&built.text).unwrap().as_bytes(),
        &chat_json(&chat)[..]
    );
}

#[test]
fn others_learn_only_the_seq_of_a_whisper() {
    let hub = Hub::new(8);
    let mut a = hub.connect(user("a"));
    let mut c = hub.connect(user("c"));
    hub.join(a.id, "r", 10).unwrap();
    hub.join(c.id, "r", 10).unwrap();
    let whisper = Outbound::new(
        ByteString::from_static("psst"),
        FrameKind::Chat {
            room: std::sync::Arc::from("r"),
            seq: 7,
            rev: 7,
        },
    );
    hub.to_room("r", &whisper, Some(["a", "b"]));
    assert_eq!(&*a.rx.try_recv().unwrap().text, "psst");
    let marker = c.rx.try_recv().unwrap();
    assert!(marker.is_marker(), "no text for a non-party");
    assert_eq!(marker.chat().map(|c| c.1), Some(7));
}

#[test]
fn a_rename_reaches_each_connection_once_and_later_frames_show_it() {
    let hub = Hub::new(8);
    let mut a = hub.connect(user("a"));
    let mut lobby_and_room = hub.connect(user("b"));
    let mut elsewhere = hub.connect(user("c"));
    let mut own_idle_tab = hub.connect(user("a"));
    hub.join(a.id, "r", 10).unwrap();
    hub.join(lobby_and_room.id, "r", 10).unwrap();
    hub.set_lobby(lobby_and_room.id, true);
    hub.join(elsewhere.id, "other", 10).unwrap();

    let renamed = UserResponse::new("a", Some("alice"));
    hub.user_updated(&renamed, &hub.rooms_of("a"), &out("renamed"));
    for reg in [&mut a, &mut lobby_and_room, &mut own_idle_tab] {
        assert_eq!(&*reg.rx.try_recv().unwrap().text, "renamed");
        assert!(reg.rx.try_recv().is_none(), "once per connection");
    }
    assert!(elsewhere.rx.try_recv().is_none());
    assert_eq!(hub.members("r")[0].name, "alice");
    assert_eq!(hub.user(a.id).unwrap().name, "alice");
    hub.disconnect(a.id);
    hub.disconnect(own_idle_tab.id);
    assert_eq!(hub.expire("r", "a").unwrap().user.name, "alice");
}

#[test]
fn last_connection_leaving_starts_the_grace() {
    let hub = Hub::new(8);
    let a1 = hub.connect(user("a"));
    let a2 = hub.connect(user("a"));
    assert!(hub.join(a1.id, "r", 1).unwrap().new_member);
    assert!(!hub.join(a2.id, "r", 1).unwrap().new_member);
    assert_eq!(hub.member_count("r"), 1);
    assert!(hub.leave(a1.id, "r").is_none());
    assert_eq!(hub.disconnect(a2.id).len(), 1);
    assert_eq!(hub.member_count("r"), 1, "seat kept during the grace");
    let gone = hub.expire("r", "a").unwrap();
    assert_eq!(gone.member_count, 0);
    let epoch = gone.empty_epoch.unwrap();
    assert!(hub.still_empty("r", epoch));
    let b = hub.connect(user("b"));
    hub.join(b.id, "r", 1).unwrap();
    assert!(!hub.still_empty("r", epoch));
}

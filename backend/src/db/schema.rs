//! One portable schema for both backends (see `migrations/`).

diesel::table! {
    users (id) {
        id -> Text,
        nickname -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    rooms (id) {
        id -> Text,
        title -> Text,
        max_members -> Integer,
        password_hash -> Nullable<Text>,
        owner_id -> Text,
        last_seq -> BigInt,
        created_at -> BigInt,
        keep -> Bool,
        last_rev -> BigInt,
    }
}

diesel::table! {
    gifs (file) {
        file -> Text,
        width -> Integer,
        height -> Integer,
        bytes -> BigInt,
        created_at -> BigInt,
        poster -> Nullable<Text>,
        processed -> Bool,
    }
}

diesel::table! {
    gif_variants (file) {
        file -> Text,
        gif_file -> Text,
        #[sql_name = "type"]
        kind -> Text,
        width -> Integer,
        height -> Integer,
        bytes -> BigInt,
    }
}

diesel::table! {
    chats (id) {
        id -> BigInt,
        room_id -> Text,
        seq -> BigInt,
        kind -> Text,
        user_id -> Nullable<Text>,
        body -> Nullable<Text>,
        gif_file -> Nullable<Text>,
        to_user_id -> Nullable<Text>,
        event -> Nullable<Text>,
        subject_id -> Nullable<Text>,
        created_at -> BigInt,
        client_id -> Nullable<Text>,
        rev -> BigInt,
        reply_to_seq -> Nullable<BigInt>,
        edited_at -> Nullable<BigInt>,
        deleted -> Bool,
        changed -> Bool,
        gif_alt -> Nullable<Text>,
    }
}

diesel::table! {
    reactions (id) {
        id -> BigInt,
        chat_id -> BigInt,
        emoji -> Text,
        user_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    room_access (room_id, user_id) {
        room_id -> Text,
        user_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    room_bans (room_id, user_id) {
        room_id -> Text,
        user_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    held_seats (room_id, user_id) {
        room_id -> Text,
        user_id -> Text,
        position -> Integer,
    }
}

diesel::joinable!(rooms -> users (owner_id));
diesel::joinable!(chats -> rooms (room_id));
diesel::joinable!(chats -> gifs (gif_file));
diesel::joinable!(gif_variants -> gifs (gif_file));
diesel::joinable!(reactions -> chats (chat_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    rooms,
    gifs,
    gif_variants,
    chats,
    reactions,
    room_access,
    room_bans,
    held_seats
);

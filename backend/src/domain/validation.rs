//! Input that has been checked once, at the edge, and is trusted afterwards.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

use crate::error::AppError;

fn trimmed_len_between(
    field: &'static str,
    raw: &str,
    min: usize,
    max: usize,
) -> Result<String, AppError> {
    let value = raw.trim();
    let len = value.chars().count();
    if len < min || len > max {
        return Err(AppError::field(
            field,
            format!("must be {min} to {max} characters after trimming (got {len})"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(AppError::field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// Characters that change the direction of the text around them. In a name
/// they can make it read as something else ("Trojan Source").
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Letters that draw nothing (Hangul fillers, the blank Braille pattern)
/// though Unicode does not class them as spaces or format characters.
fn is_blank_letter(c: char) -> bool {
    matches!(
        c,
        '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}' | '\u{180E}'
    )
}

/// Whether the character draws something on its own: not a space, a
/// control, a format character (zero-width space and joiners, bidi marks),
/// a combining mark or a blank letter.
fn is_visible(c: char) -> bool {
    !is_blank_letter(c)
        && !matches!(
            c.general_category_group(),
            GeneralCategoryGroup::Separator
                | GeneralCategoryGroup::Other
                | GeneralCategoryGroup::Mark
        )
}

/// What names and titles must be besides their length: something visible,
/// no bidi controls, and no more combining marks and format characters
/// (joiners, zero-width spaces) than characters to carry them: no "Zalgo"
/// text spilling over its neighbours, and no name padded with what cannot
/// be seen. Emoji sequences pass: a joiner or a variation selector joins
/// at most as many as it has visible characters around it.
fn check_name_like(field: &'static str, value: &str) -> Result<(), AppError> {
    if value.chars().any(is_bidi_control) {
        return Err(AppError::field(
            field,
            "must not contain characters that change the text's direction (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C)",
        ));
    }
    let (mut bases, mut marks) = (0usize, 0usize);
    for c in value.chars() {
        if c.general_category_group() == GeneralCategoryGroup::Mark
            || c.general_category() == unicode_properties::GeneralCategory::Format
        {
            marks += 1;
        } else if is_visible(c) {
            bases += 1;
        }
    }
    if bases == 0 {
        return Err(AppError::field(
            field,
            "must contain something visible, not only spaces or invisible characters",
        ));
    }
    if marks > bases {
        return Err(AppError::field(
            field,
            format!("has more combining marks and invisible characters ({marks}) than characters to carry them ({bases})"),
        ));
    }
    Ok(())
}

/// A name or a title: `min` to `max` characters after trimming, on one
/// line, and [`check_name_like`].
fn one_line_name(
    field: &'static str,
    raw: &str,
    min: usize,
    max: usize,
) -> Result<String, AppError> {
    let value = trimmed_len_between(field, raw, min, max)?;
    // U+2028 and U+2029 break lines as `\n` does.
    if value.contains(['\n', '\t', '\u{2028}', '\u{2029}']) {
        return Err(AppError::field(field, "must be a single line"));
    }
    check_name_like(field, &value)?;
    Ok(value)
}

/// `#rgb`, `#rrggbb` and the like, however written (fullwidth `＃`, invisible
/// characters between): what people who have not chosen a name are called.
fn looks_like_a_colour(name: &str) -> bool {
    let plain: String = name
        .nfkc()
        .filter(|c| is_visible(*c))
        .flat_map(char::to_lowercase)
        .collect();
    plain.strip_prefix('#').is_some_and(|hex| {
        matches!(hex.len(), 3 | 4 | 6 | 8) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// For the API document: one line, no control characters, and something
/// that is not a space (names and titles; the parsers also ask for
/// something visible, which a pattern cannot say).
pub const ONE_LINE_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$";

/// A room title: 1 to 100 characters after trimming, on one line.
#[derive(Debug, Clone)]
pub struct RoomTitle(String);

impl RoomTitle {
    pub const MIN: usize = 1;
    pub const MAX: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        one_line_name("title", raw, Self::MIN, Self::MAX).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Chat text: 1 to 2000 characters after trimming; newlines allowed.
#[derive(Debug, Clone)]
pub struct ChatText(String);

impl ChatText {
    pub const MIN: usize = 1;
    pub const MAX: usize = 2000;
    /// For the API document: as [`ONE_LINE_PATTERN`], with newlines and
    /// tabs allowed.
    pub const PATTERN: &str = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$";

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let text = trimmed_len_between("text", raw, Self::MIN, Self::MAX)?;
        if !text.chars().any(is_visible) {
            return Err(AppError::field("text", "must contain something visible"));
        }
        Ok(Self(text))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// One emoji, as Unicode's emoji data names them (skin tones included).
#[derive(Debug, Clone)]
pub struct Emoji(String);

impl Emoji {
    /// Distinct emojis one chat may carry.
    pub const MAX_PER_CHAT: usize = 20;

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        match emojis::get(raw) {
            Some(emoji) => Ok(Self(emoji.as_str().to_owned())),
            None => Err(AppError::field("emoji", "must be one emoji")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name of a stored GIF, as the server makes them: the SHA-256 of its
/// bytes in hex, then `.gif`.
pub struct GifName;

impl GifName {
    /// For the API document: what [`GifName::is_valid`] accepts.
    pub const PATTERN: &str = r"^[0-9a-f]{64}\.gif$";

    pub fn is_valid(name: &str) -> bool {
        name.strip_suffix(".gif").is_some_and(is_sha256)
    }

    /// The media type of a stored file with this name, if the server could
    /// have made it: a GIF, its poster (`.png`) or a rendition (`.webp`),
    /// each named by the GIF's SHA-256.
    pub fn media_type(name: &str) -> Option<&'static str> {
        let (hash, ext) = name.split_once('.')?;
        if !is_sha256(hash) {
            return None;
        }
        match ext {
            "gif" => Some("image/gif"),
            "png" => Some("image/png"),
            "webp" => Some("image/webp"),
            _ => None,
        }
    }
}

fn is_sha256(hash: &str) -> bool {
    hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A search of the GIF library: words up to 200 characters, 1 to 100
/// results (30 unless asked).
pub struct GifSearch;

impl GifSearch {
    pub const QUERY_MAX: usize = 200;
    pub const LIMIT_MIN: i64 = 1;
    pub const LIMIT_MAX: i64 = 100;
    pub const LIMIT_DEFAULT: usize = 30;

    /// The query and how many results, checked.
    pub fn parse(q: Option<&str>, limit: Option<i64>) -> Result<(String, usize), AppError> {
        let limit = match limit {
            None => Self::LIMIT_DEFAULT,
            Some(n) if (Self::LIMIT_MIN..=Self::LIMIT_MAX).contains(&n) => n as usize,
            Some(_) => {
                return Err(AppError::field(
                    "limit",
                    format!("must be {} to {}", Self::LIMIT_MIN, Self::LIMIT_MAX),
                ))
            }
        };
        let q = q.unwrap_or_default();
        if q.chars().count() > Self::QUERY_MAX {
            return Err(AppError::field(
                "q",
                format!("must be at most {} characters", Self::QUERY_MAX),
            ));
        }
        Ok((q.to_owned(), limit))
    }
}

/// A GIF's description: 0 to 300 characters after trimming, as a chat's
/// text is checked and with a name's rules ([`check_name_like`]); empty
/// means none.
pub struct GifAlt;

impl GifAlt {
    pub const MAX: usize = 300;

    pub fn parse(raw: &str) -> Result<Option<String>, AppError> {
        let alt = trimmed_len_between("alt", raw, 0, Self::MAX)?;
        if alt.is_empty() {
            return Ok(None);
        }
        // Others read it as a label: as a name, it may not turn text around
        // or pile up combining marks.
        check_name_like("alt", &alt)?;
        Ok(Some(alt))
    }
}

/// The first seq of every room.
pub const FIRST_SEQ: i64 = 1;

/// A `reply_to`: a seq a chat could have. Whether that chat exists and the
/// poster may see it is `access::check_reply`'s to say.
pub fn reply_seq(seq: i64) -> Result<i64, AppError> {
    if seq < FIRST_SEQ {
        return Err(AppError::field("reply_to", "must be a chat's seq"));
    }
    Ok(seq)
}

/// A nickname: 1 to 32 characters after trimming, on one line.
#[derive(Debug, Clone)]
pub struct Nickname(String);

impl Nickname {
    pub const MIN: usize = 1;
    pub const MAX: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let name = one_line_name("nickname", raw, Self::MIN, Self::MAX)?;
        if looks_like_a_colour(&name) {
            return Err(AppError::field(
                "nickname",
                "must not look like a colour code such as #2b40b1 (those name people who have not chosen a name)",
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a client calls a post, so that posting it again is recognised: 1 to
/// 64 ASCII letters, digits, `_` or `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub const MIN: usize = 1;
    pub const MAX: usize = 64;
    /// For the API document: what [`ClientId::parse`] accepts.
    pub const PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let ok = (Self::MIN..=Self::MAX).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return Err(AppError::field(
                "client_id",
                format!(
                    "must be {} to {} characters, each a letter (A-Z, a-z), a digit, `_` or `-`",
                    Self::MIN,
                    Self::MAX
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// An optional one: absent (or JSON `null`) is none.
    pub fn parse_optional(raw: Option<&str>) -> Result<Option<Self>, AppError> {
        raw.map(Self::parse).transpose()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A room's capacity: 2 to the configured ceiling, 10 when not given.
pub struct MaxMembers;

impl MaxMembers {
    pub const MIN: i32 = 2;
    pub const DEFAULT: i32 = 10;
    /// The ceiling when `ROOM_MAX_MEMBERS` does not set one.
    pub const DEFAULT_CEILING: i32 = 1000;

    pub fn parse(raw: Option<i64>, ceiling: i32) -> Result<i32, AppError> {
        match raw {
            None => Ok(Self::DEFAULT.min(ceiling)),
            Some(n) if (Self::MIN as i64..=ceiling as i64).contains(&n) => Ok(n as i32),
            Some(_) => Err(AppError::field(
                "max_members",
                format!("must be between {} and {ceiling}", Self::MIN),
            )),
        }
    }
}

/// A room password: absent or empty means a public room.
pub struct RoomPassword;

impl RoomPassword {
    pub const MAX: usize = 128;

    pub fn parse(raw: Option<&str>) -> Result<Option<String>, AppError> {
        match raw {
            None | Some("") => Ok(None),
            Some(p) if p.chars().count() > Self::MAX => Err(AppError::field(
                "password",
                format!("must be at most {} characters", Self::MAX),
            )),
            Some(p) => Ok(Some(p.to_owned())),
        }
    }
}

/// How many chats a page of history holds: 1 to 200, 50 when not given.
pub struct PageSize;

impl PageSize {
    pub const MIN: i64 = 1;
    pub const DEFAULT: i64 = 50;
    pub const MAX: i64 = 200;

    pub fn parse(raw: Option<i64>) -> Result<i64, AppError> {
        let limit = raw.unwrap_or(Self::DEFAULT);
        if !(Self::MIN..=Self::MAX).contains(&limit) {
            return Err(AppError::field(
                "limit",
                format!("must be between {} and {}", Self::MIN, Self::MAX),
            ));
        }
        Ok(limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(RoomTitle::parse("  hi  ").unwrap().into_inner(), "hi");
        assert!(RoomTitle::parse("   ").is_err());
        assert!(RoomTitle::parse(&"x".repeat(101)).is_err());
        assert!(RoomTitle::parse(&"가".repeat(100)).is_ok());
        assert!(RoomTitle::parse("a\nb").is_err());
    }

    #[test]
    fn chat_text_allows_newlines_but_not_other_controls() {
        assert!(ChatText::parse("a\nb").is_ok());
        assert!(ChatText::parse("a\u{7}b").is_err());
        assert!(ChatText::parse(&"x".repeat(2001)).is_err());
    }

    #[test]
    fn names_must_show_something_and_keep_their_direction() {
        for bad in [
            "\u{200B}",
            "\u{200B}\u{200D}\u{2060}",
            "\u{3164}\u{3164}",
            "abc\u{202E}def",
            "\u{2067}x",
            "a\tb",
            "a\u{2028}b",
            "a\u{2029}b",
            "ab\u{200D}\u{200D}\u{200D}",
        ] {
            assert!(Nickname::parse(bad).is_err(), "nickname {bad:?}");
            assert!(RoomTitle::parse(bad).is_err(), "title {bad:?}");
        }
        let zalgo = format!("zz{}", "\u{0301}".repeat(10));
        assert!(RoomTitle::parse(&zalgo).is_err());
        for good in [
            "Zoë",
            "e\u{0301}te\u{0301}",
            "👨\u{200D}👩\u{200D}👧",
            "🏳\u{FE0F}\u{200D}🌈",
            "❤\u{FE0F}\u{200D}🔥",
            "🧑🏽\u{200D}🚀",
            "김민지",
            "हिन्दी",
            "שלום",
        ] {
            assert!(Nickname::parse(good).is_ok(), "{good:?}");
        }
        assert!(ChatText::parse("\u{200B}\u{200B}").is_err());
        assert!(ChatText::parse("hi\u{200B}").is_ok());
    }

    #[test]
    fn a_nickname_is_not_a_colour_code() {
        for bad in [
            "#2b40b1",
            "#2B40B1",
            "#abc",
            "＃２ｂ４０ｂ１",
            "#2b4\u{200B}0b1",
            "#2b40b1ff",
        ] {
            assert!(Nickname::parse(bad).is_err(), "{bad:?}");
        }
        for good in ["#1 fan", "2b40b1", "facade", "#general", "#2b40b"] {
            assert!(Nickname::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn capacity_defaults_and_bounds() {
        assert_eq!(MaxMembers::parse(None, 1000).unwrap(), 10);
        assert!(MaxMembers::parse(Some(1), 1000).is_err());
        assert!(MaxMembers::parse(Some(1001), 1000).is_err());
        assert_eq!(MaxMembers::parse(Some(2), 1000).unwrap(), 2);
    }

    #[test]
    fn client_ids_are_short_and_plain() {
        for good in [
            "a",
            "0-_Z",
            &"x".repeat(64),
            "0a1b2c3d-4e5f-6789-abcd-ef0123456789",
        ] {
            assert_eq!(ClientId::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", &"x".repeat(65), "a b", "a.b", "é", "a\n", "a/b"] {
            assert!(ClientId::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(ClientId::parse_optional(None).unwrap(), None);
        let pattern = format!("^[A-Za-z0-9_-]{{{},{}}}$", ClientId::MIN, ClientId::MAX);
        assert_eq!(ClientId::PATTERN, pattern, "the pattern states the bounds");
    }

    #[test]
    fn page_sizes_default_and_bounds() {
        assert_eq!(PageSize::parse(None).unwrap(), 50);
        assert_eq!(PageSize::parse(Some(200)).unwrap(), 200);
        assert!(PageSize::parse(Some(0)).is_err());
        assert!(PageSize::parse(Some(201)).is_err());
    }

    #[test]
    fn empty_password_means_public() {
        assert_eq!(RoomPassword::parse(Some("")).unwrap(), None);
        assert_eq!(
            RoomPassword::parse(Some("pw")).unwrap().as_deref(),
            Some("pw")
        );
    }
}

//! Input that has been checked once, at the edge, and is trusted afterwards.

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

/// A room title: 1 to 100 characters after trimming, on one line.
#[derive(Debug, Clone)]
pub struct RoomTitle(String);

impl RoomTitle {
    pub const MAX: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let title = trimmed_len_between("title", raw, 1, Self::MAX)?;
        if title.contains('\n') {
            return Err(AppError::field("title", "must be a single line"));
        }
        Ok(Self(title))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Chat text: 1 to 2000 characters after trimming; newlines allowed.
#[derive(Debug, Clone)]
pub struct ChatText(String);

impl ChatText {
    pub const MAX: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        trimmed_len_between("text", raw, 1, Self::MAX).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A nickname: 1 to 32 characters after trimming, on one line.
#[derive(Debug, Clone)]
pub struct Nickname(String);

impl Nickname {
    pub const MAX: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let name = trimmed_len_between("nickname", raw, 1, Self::MAX)?;
        if name.contains(['\n', '\t']) {
            return Err(AppError::field("nickname", "must be a single line"));
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
    pub const MAX: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let ok = (1..=Self::MAX).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return Err(AppError::field(
                "client_id",
                format!(
                    "must be 1 to {} characters, each a letter (A-Z, a-z), a digit, `_` or `-`",
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
    pub const DEFAULT: i32 = 10;

    pub fn parse(raw: Option<i64>, ceiling: i32) -> Result<i32, AppError> {
        match raw {
            None => Ok(Self::DEFAULT.min(ceiling)),
            Some(n) if (2..=ceiling as i64).contains(&n) => Ok(n as i32),
            Some(_) => Err(AppError::field(
                "max_members",
                format!("must be between 2 and {ceiling}"),
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

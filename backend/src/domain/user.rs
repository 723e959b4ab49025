//! Anonymous users are known by a colour derived from their id. The hue
//! comes from a hash of the id; saturation and lightness are fixed so every
//! name stays readable on light and dark backgrounds alike.

use sha2::{Digest, Sha256};

/// For the API document: the shape of [`color_for`]'s colours.
pub const COLOR_PATTERN: &str = "^#[0-9a-f]{6}$";

/// The user's stable `#rrggbb` colour.
pub fn color_for(user_id: &str) -> String {
    let digest = Sha256::digest(user_id.as_bytes());
    let hue = u16::from_be_bytes([digest[0], digest[1]]) as f64 / 65536.0 * 360.0;
    let saturation = 0.55 + (digest[2] as f64 / 255.0) * 0.2;
    let lightness = 0.42 + (digest[3] as f64 / 255.0) * 0.1;
    let (r, g, b) = hsl_to_rgb(hue, saturation, lightness);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The name shown for a user: their nickname, else their colour (`color_for`).
pub fn display_name(nickname: Option<&str>, color: &str) -> String {
    nickname.unwrap_or(color).to_owned()
}

fn hsl_to_rgb(h: f64, s: f64, l: f64) -> (u8, u8, u8) {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let hp = h / 60.0;
    let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
    let (r, g, b) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let to_byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    (to_byte(r), to_byte(g), to_byte(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_is_stable_and_well_formed() {
        let a = color_for("0123456789abcdef0123456789abcdef");
        assert_eq!(a, color_for("0123456789abcdef0123456789abcdef"));
        assert_eq!(a.len(), 7);
        assert!(a.starts_with('#') && a[1..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, a.to_lowercase(), "as {COLOR_PATTERN} says");
    }

    #[test]
    fn different_users_usually_differ() {
        let colours: std::collections::HashSet<_> =
            (0..200).map(|i| color_for(&format!("{i:032x}"))).collect();
        assert!(
            colours.len() > 190,
            "only {} distinct colours",
            colours.len()
        );
    }

    #[test]
    fn default_name_is_the_colour() {
        assert_eq!(display_name(None, &color_for("x")), color_for("x"));
        assert_eq!(display_name(Some("kim"), &color_for("x")), "kim");
    }
}

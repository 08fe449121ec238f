//! FILE_CHECK: the number in a tracked file gives a weight or a fault
//! (keepalived's track_file.c); the file is watched with inotify.

use std::path::Path;

/// Read the file as keepalived does: `strtol(buf, NULL, 0)` of the first
/// 127 bytes; a missing or empty file reads 0.
pub fn read_value(path: &Path) -> i64 {
    use std::io::Read;
    let mut buf = [0u8; 127];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    strtol(std::str::from_utf8(&buf[..n]).unwrap_or(""))
}

/// C's strtol with base 0, stopping at the first character that is not
/// part of the number.
pub fn strtol(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(r) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, r)
    } else if s.starts_with('0') {
        (8, s)
    } else {
        (10, s)
    };
    let mut v: i64 = 0;
    for c in digits.chars() {
        match c.to_digit(radix) {
            Some(d) => v = v.saturating_mul(radix as i64).saturating_add(d as i64),
            None => break,
        }
    }
    if neg {
        -v
    } else {
        v
    }
}

/// The checker's weight delta for a file value, or `None` for a fault
/// (server down). With weight 0 any non-zero value is a fault (zero with
/// `reverse`); otherwise value × weight, a fault at or below i32::MIN.
pub fn status(value: i64, weight: i32, reverse: bool) -> Option<i64> {
    if weight == 0 {
        return ((value != 0) == reverse).then_some(0);
    }
    let mult = if reverse { -1 } else { 1 };
    let s = (value as i128 * weight as i128 * mult).clamp(i32::MIN as i128, i32::MAX as i128);
    (s != i32::MIN as i128).then_some(s as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(strtol(" 12abc"), 12);
        assert_eq!(strtol("-0x10"), -16);
        assert_eq!(strtol("010"), 8);
        assert_eq!(strtol("x"), 0);
        assert_eq!(status(0, 0, false), Some(0));
        assert_eq!(status(3, 0, false), None);
        assert_eq!(status(0, 0, true), None);
        assert_eq!(status(5, 2, false), Some(10));
        assert_eq!(status(5, 2, true), Some(-10));
        assert_eq!(status(-3_000_000_000, 1, false), None);
    }
}

//! RFC timer formulas, in microseconds as keepalived computes them, so the
//! two implementations agree to the microsecond.

use std::time::Duration;

use crate::packet::Version;

/// Skew_Time. v2 (RFC 3768 6.1): (256 - prio) / 256 s. v3 (RFC 5798 6.1):
/// ((256 - prio) * Master_Adver_Interval) / 256, which scales with the
/// interval: a 10 ms-ish skew for 0.1 s adverts, never truncated to 0.
pub fn skew_time(version: Version, priority: u8, master_adver_int: Duration) -> Duration {
    let p = 256 - u64::from(priority);
    let us = match version {
        Version::V2 => p * 1_000_000 / 256,
        Version::V3 => {
            let cs = master_adver_int.as_millis() as u64 / 10;
            p * cs * 625 / 16
        }
    };
    Duration::from_micros(us)
}

/// Master_Down_Interval = adverts * Master_Adver_Interval + Skew_Time
/// (`adverts` is 3 in the RFCs, keepalived's `down_timer_adverts`).
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_int: Duration,
    adverts: u32,
) -> Duration {
    master_adver_int * adverts + skew_time(version, priority, master_adver_int)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn v2_skew_is_fraction_of_a_second_not_truncated() {
        // A peer doing integer seconds gets 0 here; it must be 609375 us.
        assert_eq!(
            skew_time(Version::V2, 100, S),
            Duration::from_micros(609_375)
        );
        assert_eq!(skew_time(Version::V2, 254, S), Duration::from_micros(7_812));
        assert_eq!(skew_time(Version::V2, 1, S), Duration::from_micros(996_093));
    }

    #[test]
    fn v2_skew_ignores_interval() {
        assert_eq!(
            skew_time(Version::V2, 100, 5 * S),
            Duration::from_micros(609_375)
        );
    }

    #[test]
    fn v3_skew_scales_with_master_adver_interval() {
        assert_eq!(
            skew_time(Version::V3, 100, S),
            Duration::from_micros(609_375)
        );
        // 0.1 s adverts: (156 * 10 cs) / 256 = 60.9375 ms.
        assert_eq!(
            skew_time(Version::V3, 100, S / 10),
            Duration::from_micros(60_937)
        );
        assert_eq!(
            skew_time(Version::V3, 100, 2 * S),
            Duration::from_micros(1_218_750)
        );
    }

    #[test]
    fn master_down_interval_formula() {
        assert_eq!(
            master_down_interval(Version::V2, 100, S, 3),
            Duration::from_micros(3_609_375)
        );
        assert_eq!(
            master_down_interval(Version::V3, 100, S / 10, 3),
            Duration::from_micros(360_937)
        );
        // keepalived's down_timer_adverts replaces the 3.
        assert_eq!(
            master_down_interval(Version::V3, 200, S, 5),
            Duration::from_micros(5_218_750)
        );
    }
}

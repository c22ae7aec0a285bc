//! Calendar dates without a date crate: MLflow writes times as Python's
//! `str(datetime.utcnow())`, and this is the only calendar arithmetic the
//! project needs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A proleptic Gregorian date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilDate {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

/// The date `days` days after 1970-01-01 (negative: before), by Howard
/// Hinnant's `civil_from_days`: eras of 400 years (146,097 days), years
/// counted from March so the leap day falls at the end.
pub fn civil_from_days(days: i64) -> CivilDate {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    CivilDate {
        year: yoe + era * 400 + i64::from(month <= 2),
        month: month as u32,
        day: day as u32,
    }
}

/// `str(datetime.now(timezone.utc).replace(tzinfo=None))` for `time`:
/// `YYYY-MM-DD HH:MM:SS.ffffff`. Python omits `.ffffff` when the
/// microseconds are zero; MLflow's readers accept both, and a fixed width
/// is what ferroflow has always written.
pub fn python_utc_string(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since_epoch.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let CivilDate { year, month, day } = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since_epoch.subsec_micros()
    )
}

/// [`python_utc_string`] of now.
pub fn python_utc_now() -> String {
    python_utc_string(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i64, month: u32, day: u32) -> CivilDate {
        CivilDate { year, month, day }
    }

    #[test]
    fn known_days() {
        assert_eq!(civil_from_days(0), date(1970, 1, 1));
        assert_eq!(civil_from_days(-1), date(1969, 12, 31));
        // 2000 is a leap year (divisible by 400), 1900 is not.
        assert_eq!(civil_from_days(11_016), date(2000, 2, 29));
        assert_eq!(civil_from_days(11_017), date(2000, 3, 1));
        assert_eq!(civil_from_days(-25_508), date(1900, 3, 1));
        assert_eq!(civil_from_days(-25_509), date(1900, 2, 28));
        assert_eq!(civil_from_days(20_794), date(2026, 12, 7));
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        let days_in = |y: i64, m: u32| match m {
            2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let mut prev = civil_from_days(-800_000);
        for d in -799_999..800_000 {
            let cur = civil_from_days(d);
            let expected = if prev.day < days_in(prev.year, prev.month) {
                date(prev.year, prev.month, prev.day + 1)
            } else if prev.month < 12 {
                date(prev.year, prev.month + 1, 1)
            } else {
                date(prev.year + 1, 1, 1)
            };
            assert_eq!(cur, expected, "day {d}");
            prev = cur;
        }
    }

    #[test]
    fn python_shape() {
        let t = UNIX_EPOCH + Duration::from_micros(1_765_065_600_000_000 + 3_723_000_042);
        assert_eq!(python_utc_string(t), "2025-12-07 01:02:03.000042");
        assert_eq!(python_utc_string(UNIX_EPOCH), "1970-01-01 00:00:00.000000");
    }
}

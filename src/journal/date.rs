//! Calendar dates and wall-clock stamps, without a date library.
//!
//! The journal keeps local wall-clock time (what the user sees on the
//! clock), as milliseconds since 1970-01-01 00:00 read *as if* it were UTC:
//! a [`Stamp`]. That makes "which day was it" and "how long ago" plain
//! arithmetic; the time zone is applied once, when the stamp is taken
//! ([`local_now`], which asks SQLite's `localtime`, i.e. the system's zone).

use serde::{Serialize, Serializer};
use std::fmt;
use std::time::Duration;

const MS_PER_DAY: i64 = 86_400_000;

/// A calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i64);

/// Why a date did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date `{input}`: {problem}{}", crate::fix::Line(self))]
pub struct DateError {
    pub input: String,
    pub problem: String,
}

impl crate::fix::Fix for DateError {
    fn fix(&self) -> Option<String> {
        Some("write the date as YYYY-MM-DD, e.g. 2025-03-14".into())
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm: exact for every year).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl Date {
    /// A valid date from 1970 to 9999.
    pub fn from_ymd(y: i64, m: u32, d: u32) -> Option<Date> {
        if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) {
            return None;
        }
        if d == 0 || d > days_in_month(y, m) {
            return None;
        }
        Some(Date(days_from_civil(y, m, d)))
    }

    /// Parse `YYYY-MM-DD` strictly.
    pub fn parse(s: &str) -> Result<Date, DateError> {
        let err = |problem: &str| DateError {
            input: s.to_string(),
            problem: problem.to_string(),
        };
        let t = s.trim();
        let parts: Vec<&str> = t.split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(err("it is not three numbers joined by `-`"));
        };
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(y, 4) || !digits(m, 2) || !digits(d, 2) {
            return Err(err(
                "use four digits for the year and two each for month and day",
            ));
        }
        let (y, m, d): (i64, u32, u32) = match (y.parse(), m.parse(), d.parse()) {
            (Ok(y), Ok(m), Ok(d)) => (y, m, d),
            _ => return Err(err("it is not a number")),
        };
        if !(1970..=9999).contains(&y) {
            return Err(err("the year must be from 1970 to 9999"));
        }
        if !(1..=12).contains(&m) {
            return Err(err(&format!("month {m} is not 1 to 12")));
        }
        if d == 0 || d > days_in_month(y, m) {
            return Err(err(&format!(
                "day {d} does not exist in {y}-{m:02} (it has {} days)",
                days_in_month(y, m)
            )));
        }
        Date::from_ymd(y, m, d).ok_or_else(|| err("no such date"))
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        self.0
    }

    pub fn from_days(days: i64) -> Date {
        Date(days)
    }

    pub fn ymd(self) -> (i64, u32, u32) {
        civil_from_days(self.0)
    }

    pub fn add_days(self, n: i64) -> Date {
        Date(self.0 + n)
    }

    /// Days from `other` to `self` (positive when `self` is later).
    pub fn since(self, other: Date) -> i64 {
        self.0 - other.0
    }

    /// 0 = Monday … 6 = Sunday.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday.
        (self.0 + 3).rem_euclid(7) as u32
    }

    /// The Monday of this date's week.
    pub fn week_start(self) -> Date {
        Date(self.0 - i64::from(self.weekday()))
    }

    /// ISO 8601 week: (week-based year, week 1 to 53).
    pub fn iso_week(self) -> (i64, u32) {
        // The week belongs to the year of its Thursday.
        let thursday = self.week_start().add_days(3);
        let (y, _, _) = thursday.ymd();
        let jan1 = Date(days_from_civil(y, 1, 1));
        let week = thursday.since(jan1) / 7 + 1;
        (y, week as u32)
    }

    /// Midnight at the start of this day.
    pub fn at_midnight(self) -> Stamp {
        Stamp(self.0 * MS_PER_DAY)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A local wall-clock instant: milliseconds since 1970-01-01 00:00 local
/// time, counted as if there were no time zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(pub i64);

impl Stamp {
    pub fn date(self) -> Date {
        Date(self.0.div_euclid(MS_PER_DAY))
    }

    pub fn ms(self) -> i64 {
        self.0
    }

    pub fn plus(self, d: Duration) -> Stamp {
        Stamp(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    pub fn minus(self, d: Duration) -> Stamp {
        Stamp(
            self.0
                .saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// `HH:MM` of the day.
    pub fn hm(self) -> String {
        let ms = self.0.rem_euclid(MS_PER_DAY);
        format!("{:02}:{:02}", ms / 3_600_000, (ms / 60_000) % 60)
    }

    /// `YYYYMMDD-HHMMSS`, for file names.
    pub fn compact(self) -> String {
        let (y, m, d) = self.date().ymd();
        let ms = self.0.rem_euclid(MS_PER_DAY);
        format!(
            "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
            ms / 3_600_000,
            (ms / 60_000) % 60,
            (ms / 1000) % 60
        )
    }
}

impl fmt::Display for Stamp {
    /// `YYYY-MM-DDTHH:MM:SS` (local time, no zone).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.rem_euclid(MS_PER_DAY);
        write!(
            f,
            "{}T{:02}:{:02}:{:02}",
            self.date(),
            ms / 3_600_000,
            (ms / 60_000) % 60,
            (ms / 1000) % 60
        )
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Now, on the local wall clock. SQLite applies the system's time zone
/// (`TZ`, /etc/localtime); should that fail, UTC is the fallback.
pub fn local_now() -> Stamp {
    let from_sqlite = rusqlite::Connection::open_in_memory().and_then(|c| {
        c.query_row(
            "SELECT CAST(ROUND((julianday('now', 'localtime') - 2440587.5) * 86400000.0) AS INTEGER)",
            [],
            |r| r.get::<_, i64>(0),
        )
    });
    match from_sqlite {
        Ok(ms) => Stamp(ms),
        Err(_) => {
            let utc = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            Stamp(utc)
        }
    }
}

/// Today, on the local calendar.
pub fn today() -> Date {
    local_now().date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_know_their_weekday() {
        for days in -1000..40_000 {
            let d = Date(days);
            let (y, m, dd) = d.ymd();
            assert_eq!(days_from_civil(y, m, dd), days);
        }
        let d = Date::parse("2025-03-14").unwrap();
        assert_eq!(d.to_string(), "2025-03-14");
        assert_eq!(d.weekday(), 4, "a Friday");
        assert_eq!(
            Date::parse("2024-02-29").unwrap().add_days(1).to_string(),
            "2024-03-01"
        );
        assert_eq!(Date::parse("2021-01-03").unwrap().iso_week(), (2020, 53));
        assert_eq!(Date::parse("2025-12-29").unwrap().iso_week(), (2026, 1));
    }

    #[test]
    fn bad_dates_say_what_is_wrong() {
        for (s, want) in [
            ("2025-13-01", "month 13"),
            ("2025-02-29", "day 29 does not exist"),
            ("2025-2-3", "four digits"),
            ("yesterday", "three numbers"),
            ("1969-12-31", "1970 to 9999"),
            ("", "three numbers"),
        ] {
            let e = Date::parse(s).unwrap_err().to_string();
            assert!(e.contains(want), "{s}: {e}");
            assert!(e.contains("YYYY-MM-DD"), "{e}");
        }
    }

    #[test]
    fn stamps_show_local_time() {
        let s = Date::parse("2025-03-14")
            .unwrap()
            .at_midnight()
            .plus(Duration::from_secs(9 * 3600 + 5 * 60 + 7));
        assert_eq!(s.to_string(), "2025-03-14T09:05:07");
        assert_eq!(s.hm(), "09:05");
        assert_eq!(s.compact(), "20250314-090507");
        assert_eq!(s.date().to_string(), "2025-03-14");
        let now = local_now();
        assert!(now.date() > Date::parse("2020-01-01").unwrap());
    }
}

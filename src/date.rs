//! Calendar dates and wall-clock stamps (on `jiff`), and reading the system
//! clock ([`read`]: boot id, uptime, whether it is synchronised).
//!
//! The journal keeps local wall-clock time (what the user sees on the
//! clock), as milliseconds since 1970-01-01 00:00 read *as if* it were UTC:
//! a [`Stamp`]. That makes "which day was it" and "how long ago" plain
//! arithmetic; the time zone is applied once, when the stamp is taken
//! ([`local_now`], through jiff's system time zone: `TZ`, else
//! /etc/localtime with /usr/share/zoneinfo, both readable under the
//! service's `ProtectSystem=strict`). The calendar (days between dates,
//! weekdays, ISO weeks, month lengths) is jiff's `civil::Date`.

use jiff::civil;
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use serde::{Serialize, Serializer};
use std::fmt;
use std::time::Duration;

const MS_PER_DAY: i64 = 86_400_000;
const SECS_PER_DAY: i64 = 86_400;
const EPOCH: civil::Date = civil::Date::constant(1970, 1, 1);
/// The years a date may name: the journal starts in 1970 (its stamps count
/// from there) and keeps four-digit years.
const YEARS: std::ops::RangeInclusive<i64> = 1970..=9999;

/// A calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(civil::Date);

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

impl Date {
    /// A valid date from 1970 to 9999.
    pub fn from_ymd(y: i64, m: u32, d: u32) -> Option<Date> {
        if !YEARS.contains(&y) {
            return None;
        }
        let (y, m, d) = (
            i16::try_from(y).ok()?,
            i8::try_from(m).ok()?,
            i8::try_from(d).ok()?,
        );
        civil::Date::new(y, m, d).ok().map(Date)
    }

    /// Parse `YYYY-MM-DD` strictly.
    ///
    /// The shape is checked here, not by jiff's ISO 8601 parser: that one
    /// also takes `20250314` and signed six-digit years, which a config
    /// field or `--date` should not, and its messages do not name the fix.
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
        let (y, m, d): (i16, i8, i8) = match (y.parse(), m.parse(), d.parse()) {
            (Ok(y), Ok(m), Ok(d)) => (y, m, d),
            _ => return Err(err("it is not a number")),
        };
        if !YEARS.contains(&i64::from(y)) {
            return Err(err("the year must be from 1970 to 9999"));
        }
        if !(1..=12).contains(&m) {
            return Err(err(&format!("month {m} is not 1 to 12")));
        }
        let first = civil::Date::new(y, m, 1).map_err(|e| err(&e.to_string()))?;
        let length = first.days_in_month();
        if d == 0 || d > length {
            return Err(err(&format!(
                "day {d} does not exist in {y}-{m:02} (it has {length} days)"
            )));
        }
        civil::Date::new(y, m, d)
            .map(Date)
            .map_err(|e| err(&e.to_string()))
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        self.0.duration_since(EPOCH).as_secs() / SECS_PER_DAY
    }

    /// The day `days` after 1970-01-01; beyond jiff's years (-9999 to
    /// 9999) it stops at their ends.
    pub fn from_days(days: i64) -> Date {
        Date(EPOCH).add_days(days)
    }

    pub fn ymd(self) -> (i64, u32, u32) {
        (
            i64::from(self.0.year()),
            u32::from(self.0.month().unsigned_abs()),
            u32::from(self.0.day().unsigned_abs()),
        )
    }

    /// `n` days later (earlier when negative), stopping at jiff's first and
    /// last days.
    pub fn add_days(self, n: i64) -> Date {
        let by = SignedDuration::from_secs(n.saturating_mul(SECS_PER_DAY));
        Date(self.0.saturating_add(by))
    }

    /// Days from `other` to `self` (positive when `self` is later).
    pub fn since(self, other: Date) -> i64 {
        self.0.duration_since(other.0).as_secs() / SECS_PER_DAY
    }

    /// 0 = Monday … 6 = Sunday.
    pub fn weekday(self) -> u32 {
        u32::from(self.0.weekday().to_monday_zero_offset().unsigned_abs())
    }

    /// The Monday of this date's week.
    pub fn week_start(self) -> Date {
        self.add_days(-i64::from(self.weekday()))
    }

    /// ISO 8601 week: (week-based year, week 1 to 53).
    pub fn iso_week(self) -> (i64, u32) {
        let w = self.0.iso_week_date();
        (i64::from(w.year()), u32::from(w.week().unsigned_abs()))
    }

    /// Midnight at the start of this day.
    pub fn at_midnight(self) -> Stamp {
        Stamp(self.days().saturating_mul(MS_PER_DAY))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // jiff writes `YYYY-MM-DD` for the years 0 to 9999.
        fmt::Display::fmt(&self.0, f)
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
    /// The wall clock in `zone` at the instant `t`.
    pub fn at(t: Timestamp, zone: &TimeZone) -> Stamp {
        let offset_ms = i64::from(zone.to_offset(t).seconds()) * 1000;
        Stamp(t.as_millisecond().saturating_add(offset_ms))
    }

    /// The wall-clock date and time this stamp names; a stamp beyond jiff's
    /// years (-9999 to 9999, only from a damaged journal) shows their ends.
    fn civil(self) -> civil::DateTime {
        let ms = self.0.clamp(
            Timestamp::MIN.as_millisecond(),
            Timestamp::MAX.as_millisecond(),
        );
        let t = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH);
        Offset::UTC.to_datetime(t)
    }

    /// Read a stamp back from [`Stamp::compact`]'s `YYYYMMDD-HHMMSS` (a
    /// file name may go on after it); `None` when it is not one.
    pub fn parse_compact(s: &str) -> Option<Stamp> {
        let head = s.get(..15)?;
        if !head.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'-',
            _ => b.is_ascii_digit(),
        }) {
            return None;
        }
        let dt = civil::DateTime::strptime("%Y%m%d-%H%M%S", head).ok()?;
        Date::from_ymd(
            i64::from(dt.year()),
            u32::from(dt.month().unsigned_abs()),
            u32::from(dt.day().unsigned_abs()),
        )?;
        let t = Offset::UTC.to_timestamp(dt).ok()?;
        Some(Stamp(t.as_millisecond()))
    }

    pub fn date(self) -> Date {
        Date(self.civil().date())
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
        self.civil().strftime("%H:%M").to_string()
    }

    /// `YYYYMMDD-HHMMSS`, for file names.
    pub fn compact(self) -> String {
        self.civil().strftime("%Y%m%d-%H%M%S").to_string()
    }
}

impl fmt::Display for Stamp {
    /// `YYYY-MM-DDTHH:MM:SS` (local time, no zone).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not jiff's own Display: that adds fractions of a second.
        fmt::Display::fmt(&self.civil().strftime("%Y-%m-%dT%H:%M:%S"), f)
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The system's time zone (`TZ`, else /etc/localtime); jiff caches it for
/// five minutes, so a change of zone is seen without a restart. Without
/// one (no tzdata, a `TZ` naming no zone) the clock is read as UTC, with a
/// warning the first time.
pub fn local_zone() -> TimeZone {
    match TimeZone::try_system() {
        Ok(zone) => zone,
        Err(e) => {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                log::warn!(
                    "no local time zone ({e}); the journal's times are UTC\n  \
                     fix: set one with `sudo timedatectl set-timezone Europe/Amsterdam` \
                     (tzdata installed), or set TZ to a zone name"
                );
            });
            TimeZone::UTC
        }
    }
}

/// Now, on the local wall clock (see [`local_zone`]).
pub fn local_now() -> Stamp {
    Stamp::at(Timestamp::now(), &local_zone())
}

/// Today, on the local calendar.
pub fn today() -> Date {
    local_now().date()
}

/// Whether the system clock is synchronised to a time source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sync {
    /// The kernel says so (systemd-timesyncd, chrony or ntpd have set it
    /// from a time server).
    Yes,
    /// Not synchronised, but set at boot from a battery-backed real-time
    /// clock (`/sys/class/rtc/rtc0/hctosys`): it kept time while the Pi was
    /// off.
    Rtc,
    /// The kernel says it is not synchronised, and no real-time clock set
    /// it: across a reboot the time the Pi was off is unknown.
    No,
    /// Unknown (not Linux, or the call failed): why.
    Unknown(String),
}

/// What the shell reads of the clock before a session (the simulator sets
/// it freely).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockReading {
    /// The local wall clock.
    pub wall: Stamp,
    /// This boot's id (`/proc/sys/kernel/random/boot_id`), if known.
    pub boot: Option<String>,
    /// Milliseconds since boot, counting suspend (`/proc/uptime`), if known.
    pub uptime_ms: Option<i64>,
    pub sync: Sync,
}

impl ClockReading {
    /// A reading of `wall` alone (no boot id, no uptime, sync unknown):
    /// the CLI's `--date`, tests.
    pub fn at(wall: Stamp) -> ClockReading {
        ClockReading {
            wall,
            boot: None,
            uptime_ms: None,
            sync: Sync::Unknown("not read".into()),
        }
    }

    /// When this boot began, on the wall clock.
    pub fn boot_wall(&self) -> Option<Stamp> {
        self.uptime_ms
            .map(|u| Stamp(self.wall.ms().saturating_sub(u)))
    }
}

/// The clock now: wall clock, boot id, uptime, kernel sync state.
pub fn read() -> ClockReading {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let uptime_ms = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .and_then(|s| s.parse::<f64>().ok())
        .map(|s| (s * 1000.0) as i64);
    let sync = match kernel_sync() {
        Sync::Yes => Sync::Yes,
        _ if rtc_set_the_clock() => Sync::Rtc,
        other => other,
    };
    ClockReading {
        wall: local_now(),
        boot,
        uptime_ms,
        sync,
    }
}

/// Whether a real-time clock set the system clock at boot (the kernel's
/// `hctosys` flag of the first RTC).
pub fn rtc_set_the_clock() -> bool {
    std::fs::read_to_string("/sys/class/rtc/rtc0/hctosys").is_ok_and(|s| s.trim() == "1")
}

/// The kernel's own flag (what `timedatectl` shows as "System clock
/// synchronized"): `adjtimex` answers TIME_ERROR while the clock is
/// unsynchronised. Works with or without systemd.
#[cfg(target_os = "linux")]
pub fn kernel_sync() -> Sync {
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    // SAFETY: modes = 0 only reads the kernel's state into `tx`, a valid,
    // zeroed timex we own.
    let r = unsafe { libc::adjtimex(&mut tx) };
    if r < 0 {
        Sync::Unknown(format!(
            "adjtimex failed: {}",
            std::io::Error::last_os_error()
        ))
    } else if r == libc::TIME_ERROR {
        Sync::No
    } else {
        Sync::Yes
    }
}

#[cfg(not(target_os = "linux"))]
pub fn kernel_sync() -> Sync {
    Sync::Unknown("not Linux".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn dates_round_trip_and_know_their_weekday() {
        for days in -1000..40_000 {
            let d = Date::from_days(days);
            let (y, m, dd) = d.ymd();
            let back = civil::Date::new(y as i16, m as i8, dd as i8).unwrap();
            assert_eq!(Date(back).days(), days);
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

    /// ISO weeks where the week-based year and the calendar year part.
    #[test]
    fn iso_weeks_at_year_ends() {
        for (day, want, monday) in [
            ("1970-01-01", (1970, 1), "1969-12-29"),
            ("2008-12-29", (2009, 1), "2008-12-29"),
            ("2010-01-03", (2009, 53), "2009-12-28"),
            ("2020-12-31", (2020, 53), "2020-12-28"),
            ("2021-01-03", (2020, 53), "2020-12-28"),
            ("2021-01-04", (2021, 1), "2021-01-04"),
            ("2024-12-30", (2025, 1), "2024-12-30"),
            ("2025-12-28", (2025, 52), "2025-12-22"),
            ("2025-12-29", (2026, 1), "2025-12-29"),
            ("2026-12-31", (2026, 53), "2026-12-28"),
            ("2027-01-03", (2026, 53), "2026-12-28"),
            ("2027-01-04", (2027, 1), "2027-01-04"),
        ] {
            assert_eq!(d(day).iso_week(), want, "{day}");
            assert_eq!(d(day).week_start().to_string(), monday, "{day}");
            assert_eq!(d(day).week_start().weekday(), 0, "{day}");
        }
    }

    /// Leap days: every fourth year, not every hundredth, every 400th.
    #[test]
    fn leap_days_and_days_between() {
        for (from, days, to) in [
            ("2024-02-28", 1, "2024-02-29"),
            ("2024-02-29", 1, "2024-03-01"),
            ("2023-02-28", 1, "2023-03-01"),
            ("2000-02-28", 1, "2000-02-29"),
            ("2100-02-28", 1, "2100-03-01"),
            ("2024-03-01", -2, "2024-02-28"),
            ("2000-01-01", 36_525, "2100-01-01"),
            ("2100-01-01", 36_524, "2200-01-01"),
            ("1970-01-01", 20_161, "2025-03-14"),
            ("2025-12-31", 1, "2026-01-01"),
        ] {
            assert_eq!(d(from).add_days(days), d(to), "{from} + {days}");
            assert_eq!(d(to).since(d(from)), days, "{to} - {from}");
        }
        assert_eq!(d("1970-01-01").days(), 0);
        assert_eq!(d("2025-03-14").days(), 20_161);
        assert_eq!(Date::from_days(20_161), d("2025-03-14"));
        for ok in ["2024-02-29", "2000-02-29", "2400-02-29"] {
            assert_eq!(d(ok).to_string(), ok);
        }
        assert_eq!(Date::from_ymd(2100, 2, 29), None);
        assert_eq!(Date::from_ymd(2024, 2, 29), Some(d("2024-02-29")));
        assert_eq!(Date::from_ymd(1969, 12, 31), None);
        assert_eq!(Date::from_ymd(2025, 13, 1), None);
        // Far past the journal's years, arithmetic stops at jiff's ends
        // instead of overflowing.
        assert_eq!(d("9999-12-31").add_days(i64::MAX).ymd(), (9999, 12, 31));
        assert_eq!(Date::from_days(i64::MIN).ymd(), (-9999, 1, 1));
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
            (
                "2100-02-29",
                "day 29 does not exist in 2100-02 (it has 28 days)",
            ),
            (
                "2025-04-31",
                "day 31 does not exist in 2025-04 (it has 30 days)",
            ),
            ("2025-00-10", "month 0 is not 1 to 12"),
            ("2025-01-00", "day 0 does not exist"),
            ("20250314", "three numbers"),
            ("+02025-03-14", "four digits"),
            ("2025-03-14T09:00", "four digits"),
        ] {
            let e = Date::parse(s).unwrap_err();
            assert_eq!(e.input, s);
            let e = e.to_string();
            assert!(e.contains(want), "{s}: {e}");
            assert!(e.contains("YYYY-MM-DD"), "{e}");
            assert!(e.contains(&format!("invalid date `{s}`")), "{e}");
            assert!(
                e.ends_with("\n  fix: write the date as YYYY-MM-DD, e.g. 2025-03-14"),
                "{e}"
            );
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

    /// Stamps before 1970 and between whole seconds, and the file-name form
    /// read back.
    #[test]
    fn stamps_round_the_clock_and_read_back() {
        for (ms, shown, hm, compact) in [
            (0, "1970-01-01T00:00:00", "00:00", "19700101-000000"),
            (-1, "1969-12-31T23:59:59", "23:59", "19691231-235959"),
            (1_500, "1970-01-01T00:00:01", "00:00", "19700101-000001"),
            (
                d("2024-02-29").at_midnight().ms() + MS_PER_DAY - 1,
                "2024-02-29T23:59:59",
                "23:59",
                "20240229-235959",
            ),
        ] {
            let s = Stamp(ms);
            assert_eq!(s.to_string(), shown, "{ms}");
            assert_eq!(s.hm(), hm, "{ms}");
            assert_eq!(s.compact(), compact, "{ms}");
            assert_eq!(s.date().to_string(), shown[..10], "{ms}");
        }
        // A damaged journal's stamp shows jiff's last moment, not a panic.
        assert_eq!(Stamp(i64::MAX).date().ymd().0, 9999);
        assert_eq!(Stamp(i64::MIN).date().ymd().0, -9999);
        for (name, want) in [
            ("20250314-090507", Some("2025-03-14T09:05:07")),
            ("20250314-090507-nl-stop.wav", Some("2025-03-14T09:05:07")),
            ("20240229-235959", Some("2024-02-29T23:59:59")),
            ("20250229-090507", None),
            ("20250314-240000", None),
            ("20250314-096000", None),
            ("20250314_090507", None),
            ("2025031-0905070", None),
            ("19691231-235959", None),
            ("+0250314-090507", None),
            ("20250314-0905", None),
            ("", None),
        ] {
            let got = Stamp::parse_compact(name).map(|s| s.to_string());
            assert_eq!(got.as_deref(), want, "{name}");
        }
    }

    /// The wall clock in a zone: offsets, half-hour zones, summer time and
    /// its change, and a zone far enough east to be on the next day.
    #[test]
    fn stamps_take_the_zone_offset_at_that_instant() {
        for (zone, utc, local) in [
            ("UTC", "2025-01-15T12:00:00Z", "2025-01-15T12:00:00"),
            (
                "Europe/Amsterdam",
                "2025-01-15T12:00:00Z",
                "2025-01-15T13:00:00",
            ),
            (
                "Europe/Amsterdam",
                "2025-07-15T12:00:00Z",
                "2025-07-15T14:00:00",
            ),
            (
                "Europe/Amsterdam",
                "2025-03-30T00:59:59Z",
                "2025-03-30T01:59:59",
            ),
            (
                "Europe/Amsterdam",
                "2025-03-30T01:00:00Z",
                "2025-03-30T03:00:00",
            ),
            (
                "Europe/Amsterdam",
                "2025-10-26T00:59:59Z",
                "2025-10-26T02:59:59",
            ),
            (
                "Europe/Amsterdam",
                "2025-10-26T01:00:00Z",
                "2025-10-26T02:00:00",
            ),
            (
                "Asia/Kolkata",
                "2025-01-15T12:00:00Z",
                "2025-01-15T17:30:00",
            ),
            (
                "America/St_Johns",
                "2025-01-15T12:00:00Z",
                "2025-01-15T08:30:00",
            ),
            (
                "Pacific/Kiritimati",
                "2025-12-31T12:00:00Z",
                "2026-01-01T02:00:00",
            ),
            ("Etc/GMT+12", "2025-01-01T06:00:00Z", "2024-12-31T18:00:00"),
        ] {
            let zone_db = TimeZone::get(zone)
                .unwrap_or_else(|e| panic!("{zone}: {e} (is tzdata installed?)"));
            let t: Timestamp = utc.parse().unwrap();
            assert_eq!(Stamp::at(t, &zone_db).to_string(), local, "{zone} {utc}");
        }
    }
}

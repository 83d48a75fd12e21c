//! The time zone that decides where a day starts and ends for the daily budget: UTC, an IANA zone, or the
//! machine's local zone.
//!
//! IANA zones are read from the system's time zone database (`/usr/share/zoneinfo`, the `tzdata` package) when
//! the config names one, rather than compiled in: a compiled-in database is a megabyte of pointer tables that the
//! loader relocates on every start, which alone would double the cost of a hook call.

use chrono::{DateTime, Local, NaiveDate, Offset, TimeZone, Utc};
use std::fmt;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum Zone {
    #[default]
    Local,
    Utc,
    /// Loaded once per process and kept for its life (a config names one zone).
    Iana(&'static Iana),
}

#[derive(Debug)]
pub(crate) struct Iana {
    name: String,
    rules: tz::TimeZone,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        match (self, other) {
            (Zone::Local, Zone::Local) | (Zone::Utc, Zone::Utc) => true,
            (Zone::Iana(a), Zone::Iana(b)) => a.name == b.name,
            _ => false,
        }
    }
}

impl Eq for Zone {}

impl Zone {
    /// Parses `local`, `UTC` or an IANA name such as `Europe/Berlin`; `None` if the name is not a zone of the
    /// system's database.
    pub(crate) fn parse(name: &str) -> Option<Zone> {
        match name.trim() {
            n if n.eq_ignore_ascii_case("local") => Some(Zone::Local),
            n if n.eq_ignore_ascii_case("utc") || n == "Etc/UTC" || n == "Z" => Some(Zone::Utc),
            n if is_zone_name(n) => load(n).map(Zone::Iana),
            _ => None,
        }
    }

    /// Seconds east of UTC at `instant`.
    fn offset_at(&self, instant: DateTime<Utc>) -> i64 {
        match self {
            Zone::Utc => 0,
            Zone::Local => i64::from(Local.offset_from_utc_datetime(&instant.naive_utc()).fix().local_minus_utc()),
            Zone::Iana(zone) => {
                zone.rules.find_local_time_type(instant.timestamp()).map(|t| i64::from(t.ut_offset())).unwrap_or(0)
            }
        }
    }

    /// `instant` as the clock on the wall shows it in this zone.
    pub(crate) fn to_local(self, instant: DateTime<Utc>) -> DateTime<chrono::FixedOffset> {
        let offset = chrono::FixedOffset::east_opt(self.offset_at(instant) as i32).unwrap_or(Utc.fix());
        instant.with_timezone(&offset)
    }

    /// The calendar date of `instant` in this zone.
    pub(crate) fn date_of(&self, instant: DateTime<Utc>) -> NaiveDate {
        (instant + chrono::Duration::seconds(self.offset_at(instant))).date_naive()
    }

    /// The first instant of `date` in this zone (later than local midnight where a DST change skips midnight).
    pub(crate) fn start_of(&self, date: NaiveDate) -> DateTime<Utc> {
        let midnight = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default());
        if matches!(self, Zone::Utc) {
            return midnight;
        }
        // Offsets stay within a day of UTC: search that window for the first second of `date`.
        let (mut low, mut high) = (midnight.timestamp() - 93_600, midnight.timestamp() + 93_600);
        while low < high {
            let mid = low + (high - low) / 2;
            let instant = DateTime::from_timestamp(mid, 0).unwrap_or(midnight);
            if self.date_of(instant) >= date {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        DateTime::from_timestamp(low, 0).unwrap_or(midnight)
    }

    /// The name shown to users and stored in the ledger: `UTC`, the IANA name, or the local zone's name.
    pub(crate) fn name(&self) -> String {
        match self {
            Zone::Utc => "UTC".to_owned(),
            Zone::Iana(zone) => zone.name.clone(),
            Zone::Local => local_zone_name(),
        }
    }
}

/// Zones loaded so far, each once per process; kept here so they stay reachable (a process names few zones).
static LOADED: std::sync::Mutex<Vec<&'static Iana>> = std::sync::Mutex::new(Vec::new());

fn load(name: &str) -> Option<&'static Iana> {
    let mut loaded = LOADED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(zone) = loaded.iter().find(|zone| zone.name == name) {
        return Some(zone);
    }
    let rules = tz::TimeZone::from_posix_tz(name).ok()?;
    let zone: &'static Iana = Box::leak(Box::new(Iana { name: name.to_owned(), rules }));
    loaded.push(zone);
    Some(zone)
}

/// A zone name as the database spells it (`Area/City`, `EST5EDT`, `Etc/GMT+5`): no path tricks.
fn is_zone_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.split('/').any(|part| part.is_empty() || part == "." || part == "..")
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'))
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
}

/// `TZ` if set (read by the C library and chrono as well), else the `/etc/localtime` link target's zone name,
/// else the current UTC offset.
fn local_zone_name() -> String {
    if let Some(tz) = std::env::var_os("TZ").filter(|tz| !tz.is_empty()) {
        return tz.to_string_lossy().trim_start_matches(':').to_owned();
    }
    if let Ok(target) = std::fs::read_link("/etc/localtime") {
        let target = target.to_string_lossy();
        if let Some((_, name)) = target.split_once("zoneinfo/") {
            return name.to_owned();
        }
    }
    let offset = Local::now().offset().fix();
    format!("UTC{offset}")
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn dates_follow_the_zone() {
        let t = at("2026-11-24T02:30:00Z");
        assert_eq!(Zone::Utc.date_of(t).to_string(), "2026-11-24");
        let la = Zone::parse("America/Los_Angeles").unwrap();
        assert_eq!(la.date_of(t).to_string(), "2026-11-23");
        let tokyo = Zone::parse("Asia/Tokyo").unwrap();
        assert_eq!(tokyo.date_of(at("2026-11-24T15:30:00Z")).to_string(), "2026-11-25");
        assert_eq!(tokyo.date_of(at("2026-11-24T14:59:59Z")).to_string(), "2026-11-24");
    }

    #[test]
    fn day_starts_at_local_midnight() {
        let tokyo = Zone::parse("Asia/Tokyo").unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert_eq!(tokyo.start_of(date), at("2026-11-24T15:00:00Z"));
        let la = Zone::parse("America/Los_Angeles").unwrap();
        assert_eq!(la.start_of(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()), at("2026-07-01T07:00:00Z"));
        // Santiago skips midnight on its spring-forward day: the day starts at 01:00 local.
        let santiago = Zone::parse("America/Santiago").unwrap();
        let skip = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        assert_eq!(santiago.start_of(skip), at("2026-09-06T04:00:00Z"));
        assert_eq!(Zone::Utc.start_of(date), at("2026-11-25T00:00:00Z"));
    }

    #[test]
    fn parses_names() {
        assert_eq!(Zone::parse("utc"), Some(Zone::Utc));
        assert_eq!(Zone::parse("local"), Some(Zone::Local));
        assert_eq!(Zone::parse("Mars/Olympus"), None);
        assert_eq!(Zone::parse("../../etc/passwd"), None);
        assert_eq!(Zone::parse("/etc/localtime"), None);
        assert_eq!(Zone::parse("Europe/Berlin").unwrap().name(), "Europe/Berlin");
        assert_eq!(Zone::parse("Europe/Berlin"), Zone::parse("Europe/Berlin"));
        assert_ne!(Zone::parse("Europe/Berlin"), Zone::parse("Europe/Paris"));
    }
}

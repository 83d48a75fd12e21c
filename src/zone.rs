//! The time zone that decides where a day starts and ends for the daily budget: UTC, an IANA zone, or the
//! machine's local zone.

use chrono::{DateTime, Local, NaiveDate, Offset, TimeZone, Utc};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zone {
    #[default]
    Local,
    Utc,
    Iana(chrono_tz::Tz),
}

impl Zone {
    /// Parses `local`, `UTC` or an IANA name such as `Europe/Berlin`; `None` if the name is unknown.
    pub fn parse(name: &str) -> Option<Zone> {
        match name.trim() {
            n if n.eq_ignore_ascii_case("local") => Some(Zone::Local),
            n if n.eq_ignore_ascii_case("utc") || n == "Etc/UTC" || n == "Z" => Some(Zone::Utc),
            n => n.parse::<chrono_tz::Tz>().ok().map(Zone::Iana),
        }
    }

    /// The calendar date of `instant` in this zone.
    pub fn date_of(&self, instant: DateTime<Utc>) -> NaiveDate {
        match self {
            Zone::Local => instant.with_timezone(&Local).date_naive(),
            Zone::Utc => instant.date_naive(),
            Zone::Iana(tz) => instant.with_timezone(tz).date_naive(),
        }
    }

    /// The first instant of `date` in this zone (the earliest one, where a DST change skips midnight).
    pub fn start_of(&self, date: NaiveDate) -> DateTime<Utc> {
        let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        let first = |tz: &dyn Fn() -> Option<DateTime<Utc>>| tz().unwrap_or_else(|| Utc.from_utc_datetime(&midnight));
        match self {
            Zone::Utc => Utc.from_utc_datetime(&midnight),
            Zone::Local => first(&|| earliest(&Local, midnight)),
            Zone::Iana(tz) => first(&|| earliest(tz, midnight)),
        }
    }

    /// The name shown to users and stored in the ledger: `UTC`, the IANA name, or the local zone's name.
    pub fn name(&self) -> String {
        match self {
            Zone::Utc => "UTC".to_owned(),
            Zone::Iana(tz) => tz.name().to_owned(),
            Zone::Local => local_zone_name(),
        }
    }
}

fn earliest<Tz: TimeZone>(tz: &Tz, midnight: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
    // Walk forward a quarter hour at a time: some zones start the day at 00:30 or 01:00 on a DST change.
    (0..8).find_map(|step| {
        let local = midnight + chrono::Duration::minutes(15 * step);
        tz.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc))
    })
}

/// `TZ` if set, else the `/etc/localtime` link target's zone name, else the current UTC offset.
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
    }

    #[test]
    fn day_starts_at_local_midnight() {
        let tokyo = Zone::parse("Asia/Tokyo").unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert_eq!(tokyo.start_of(date), at("2026-11-24T15:00:00Z"));
        // Santiago skips midnight on its spring-forward day: the day starts at 01:00 local.
        let santiago = Zone::parse("America/Santiago").unwrap();
        let skip = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        assert_eq!(santiago.start_of(skip), at("2026-09-06T04:00:00Z"));
    }

    #[test]
    fn parses_names() {
        assert_eq!(Zone::parse("utc"), Some(Zone::Utc));
        assert_eq!(Zone::parse("local"), Some(Zone::Local));
        assert_eq!(Zone::parse("Mars/Olympus"), None);
        assert_eq!(Zone::parse("Europe/Berlin").unwrap().name(), "Europe/Berlin");
    }
}

//! Plan usage as Claude Code reports it to its statusline (`rate_limits`: the 5-hour and 7-day windows of a Pro or
//! Max plan, an organisation's spend limit), recorded by `ccbreaker statusline` in `plan-usage.json` in the state
//! directory, for the budgets that use it (plan % budgets) and for `status`.
//!
//! A window's usage only grows until it resets, so the record keeps, per window and reset time, the highest
//! percentage seen (a reading that says less changes nothing: whoever runs `ccbreaker statusline` with a made-up
//! payload can raise a reading, never lower it), each change with the time it was seen (the last 32). It is
//! written only when a reading changes it, atomically, without a lock (two statuslines writing at once: the last
//! one wins, and the next reading restores any maximum lost). Claude Code runs no statusline under `claude -p`: there
//! ccbreaker's mod passes the client's own readings (`$.session.usage().rateLimits`) to `ccbreaker gate`, which
//! records them here the same way.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) const FILE_NAME: &str = "plan-usage.json";
const VERSION: u32 = 1;
/// Changes kept per window.
const HISTORY: usize = 32;

/// One window's reading, as the statusline payload gives it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reading {
    /// `five_hour`, `seven_day`, `spend_limit`, or any other key of `rate_limits` that has a `used_percentage`.
    pub window: String,
    pub used_percentage: f64,
    pub resets_at: Option<DateTime<Utc>>,
    /// `spend_limit` (2.1.284 and later): USD used and the limit.
    pub used_usd: Option<f64>,
    pub limit_usd: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct PlanUsage {
    version: u32,
    pub windows: BTreeMap<String, Window>,
}

/// The current state of one window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Window {
    /// The highest percentage seen for this reset time.
    pub used_percentage: f64,
    pub resets_at: Option<DateTime<Utc>>,
    pub used_usd: Option<f64>,
    pub limit_usd: Option<f64>,
    /// When the current value was first seen.
    pub seen_at: Option<DateTime<Utc>>,
    /// Each change (time, percentage), oldest first.
    pub history: Vec<(DateTime<Utc>, f64)>,
}

impl Window {
    /// Whether the window has reset since its reading (its usage is then unknown until the next one).
    pub(crate) fn is_current(&self, now: DateTime<Utc>) -> bool {
        self.resets_at.is_none_or(|at| at > now)
    }
}

pub(crate) fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// The record (empty when missing or unreadable).
pub(crate) fn read(state_dir: &Path) -> PlanUsage {
    crate::files::read_capped(&path(state_dir), 1 << 20)
        .ok()
        .flatten()
        .and_then(|bytes| serde_json::from_slice::<PlanUsage>(&bytes).ok())
        .filter(|usage| usage.version == VERSION)
        .unwrap_or_default()
}

/// Adds `readings` seen at `now`; writes the record only when one changed it.
pub(crate) fn record(state_dir: &Path, readings: &[Reading], now: DateTime<Utc>) -> std::io::Result<bool> {
    if readings.is_empty() {
        return Ok(false);
    }
    let mut usage = read(state_dir);
    if !merge(&mut usage, readings, now) {
        return Ok(false);
    }
    usage.version = VERSION;
    let bytes = serde_json::to_vec_pretty(&usage).expect("plan usage serialises");
    crate::files::write_atomic(&path(state_dir), &bytes, crate::files::Durability::Cache, None)?;
    Ok(true)
}

/// Merges `readings` into `usage`: a new reset time starts the window afresh; the same one keeps the highest
/// percentage. Whether anything changed.
fn merge(usage: &mut PlanUsage, readings: &[Reading], now: DateTime<Utc>) -> bool {
    let mut changed = false;
    for r in readings {
        if !r.used_percentage.is_finite() || r.used_percentage < 0.0 {
            continue;
        }
        let w = usage.windows.entry(r.window.clone()).or_default();
        let reset = w.resets_at != r.resets_at && (w.resets_at.is_none() || r.resets_at > w.resets_at);
        let higher = r.used_percentage > w.used_percentage;
        let money =
            (r.used_usd, r.limit_usd) != (w.used_usd, w.limit_usd) && (reset || higher || r.used_usd > w.used_usd);
        if !(reset || higher || money || w.seen_at.is_none()) {
            continue;
        }
        if reset {
            w.resets_at = r.resets_at;
            w.used_percentage = r.used_percentage;
        } else {
            w.used_percentage = w.used_percentage.max(r.used_percentage);
        }
        w.used_usd = r.used_usd.or(w.used_usd);
        w.limit_usd = r.limit_usd.or(w.limit_usd);
        w.seen_at = Some(now);
        w.history.push((now, w.used_percentage));
        let excess = w.history.len().saturating_sub(HISTORY);
        w.history.drain(..excess);
        changed = true;
    }
    changed
}

/// The readings in a statusline payload's `rate_limits` (Unix seconds or RFC 3339 for `resets_at`); anything
/// malformed is left out.
pub(crate) fn readings(rate_limits: &serde_json::Value) -> Vec<Reading> {
    let Some(map) = rate_limits.as_object() else { return Vec::new() };
    map.iter()
        .filter_map(|(window, v)| {
            let used_percentage = v.get("used_percentage")?.as_f64()?;
            let resets_at = match v.get("resets_at") {
                Some(serde_json::Value::Number(n)) => n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0)),
                Some(serde_json::Value::String(s)) => {
                    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
                }
                _ => None,
            };
            let usd = |key: &str| v.get(key).and_then(serde_json::Value::as_f64);
            Some(Reading {
                window: window.clone(),
                used_percentage,
                resets_at,
                used_usd: usd("used_usd"),
                limit_usd: usd("limit_usd"),
            })
        })
        .collect()
}

/// The readings in the client's `$.session.usage().rateLimits`, which ccbreaker's mod passes to `ccbreaker gate`
/// (`[{kind, percentUsed, resetsAt}]`, ISO 8601 for `resetsAt`), read as a statusline payload's; anything malformed
/// is left out.
pub(crate) fn client_readings(rate_limits: &serde_json::Value) -> Vec<Reading> {
    let Some(list) = rate_limits.as_array() else { return Vec::new() };
    let windows = list
        .iter()
        .filter_map(|w| {
            let kind = w.get("kind")?.as_str()?.to_owned();
            let reading = serde_json::json!({"used_percentage": w.get("percentUsed")?, "resets_at": w.get("resetsAt")});
            Some((kind, reading))
        })
        .collect();
    readings(&serde_json::Value::Object(windows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_clients_rate_limits_read_as_the_statuslines() {
        let r = client_readings(&json!([
            {"kind": "five_hour", "percentUsed": 96, "resetsAt": "2026-11-24T14:00:00.000Z"},
            {"kind": "seven_day", "percentUsed": 23.5},
            {"kind": "odd", "percentUsed": "x"},
            {"percentUsed": 5},
        ]));
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!((r[0].window.as_str(), r[0].used_percentage), ("five_hour", 96.0));
        assert_eq!(r[0].resets_at, Some(at("2026-11-24T14:00:00Z")));
        assert_eq!((r[1].window.as_str(), r[1].used_percentage, r[1].resets_at), ("seven_day", 23.5, None));
        assert!(client_readings(&json!([])).is_empty());
        assert!(client_readings(&json!({"five_hour": {"used_percentage": 1}})).is_empty(), "only the client's list");
    }

    #[test]
    fn payload_readings_take_both_time_formats() {
        let r = readings(&json!({
            "five_hour": {"used_percentage": 42.5, "resets_at": 1795000000},
            "seven_day": {"used_percentage": 15, "resets_at": "2026-11-30T00:00:00Z"},
            "spend_limit": {"used_percentage": 10, "used_usd": 5.0, "limit_usd": 50.0, "period": "month"},
            "odd": {"used_percentage": "x"},
        }));
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].window, "five_hour");
        assert_eq!(r[0].resets_at, DateTime::from_timestamp(1_795_000_000, 0));
        assert_eq!(r[1].resets_at, Some(at("2026-11-30T00:00:00Z")));
        assert_eq!((r[2].used_usd, r[2].limit_usd), (Some(5.0), Some(50.0)));
    }

    #[test]
    fn a_window_keeps_its_highest_reading_until_it_resets() {
        let dir = crate::test_dir::TestDir::new("plan");
        let reset = Some(at("2026-11-24T15:00:00Z"));
        let reading = |pct: f64, resets_at| Reading {
            window: "five_hour".into(),
            used_percentage: pct,
            resets_at,
            used_usd: None,
            limit_usd: None,
        };
        let now = at("2026-11-24T12:00:00Z");
        assert!(record(dir.path(), &[reading(40.0, reset)], now).unwrap());
        assert!(!record(dir.path(), &[reading(40.0, reset)], now).unwrap(), "the same reading writes nothing");
        assert!(!record(dir.path(), &[reading(10.0, reset)], now).unwrap(), "a lower one changes nothing");
        assert!(record(dir.path(), &[reading(55.0, reset)], now).unwrap());
        let next = Some(at("2026-11-24T20:00:00Z"));
        assert!(record(dir.path(), &[reading(3.0, next)], at("2026-11-24T15:01:00Z")).unwrap());
        let w = &read(dir.path()).windows["five_hour"];
        assert_eq!((w.used_percentage, w.resets_at), (3.0, next));
        assert_eq!(w.history.iter().map(|(_, p)| *p).collect::<Vec<_>>(), [40.0, 55.0, 3.0]);
        assert!(w.is_current(at("2026-11-24T19:59:59Z")) && !w.is_current(at("2026-11-24T20:00:00Z")));
    }
}

//! `[breaker.*]`: trips on the shape of a runaway rather than its total (issue 18). Each breaker is off unless its
//! table is in the config; a table without keys takes the documented defaults.

use super::{ConfigError, Reader};
use std::fmt::Write as _;
use toml::{Table, Value};

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Breakers {
    pub loops: Option<LoopBreaker>,
    pub burn_rate: Option<BurnRate>,
    pub subagents: Option<Subagents>,
    pub api_errors: Option<ApiErrors>,
}

/// Requests the API refused (the client's synthetic error lines: rate limits, overloads, server errors): `count`
/// within `minutes` in one session stops it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ApiErrors {
    pub count: u64,
    pub minutes: u64,
}

impl Default for ApiErrors {
    fn default() -> ApiErrors {
        ApiErrors { count: 10, minutes: 5 }
    }
}

/// Caps on subagents: running at once, started in one session, and nesting depth (a subagent's own are 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Subagents {
    pub max_active: u64,
    pub max_per_session: u64,
    pub max_depth: u64,
}

impl Default for Subagents {
    fn default() -> Subagents {
        Subagents { max_active: 8, max_per_session: 50, max_depth: 2 }
    }
}

/// The same tool call over and over: denied at `repeats`, the session stopped at twice that.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LoopBreaker {
    pub repeats: u64,
    pub window_minutes: u64,
}

impl Default for LoopBreaker {
    fn default() -> LoopBreaker {
        LoopBreaker { repeats: 5, window_minutes: 10 }
    }
}

/// Spend in a trailing window (a session's, and all sessions') reaching `usd`: stop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BurnRate {
    pub usd: f64,
    pub minutes: u64,
}

impl Default for BurnRate {
    fn default() -> BurnRate {
        BurnRate { usd: 5.0, minutes: 10 }
    }
}

/// The longest trailing window a burn rate may have (the ledger keeps that many minutes of spend).
pub(crate) const MAX_BURN_MINUTES: u64 = 120;

impl Reader<'_> {
    pub(super) fn breakers(&mut self, table: Option<&Table>) -> Result<Breakers, ConfigError> {
        let mut b = Breakers::default();
        let Some(table) = table else { return Ok(b) };
        self.warn_unknown(table, "breaker", &["loop", "burn_rate", "subagents", "api_errors"]);
        if let Some(v) = table.get("api_errors") {
            let t = self.breaker_table("breaker.api_errors", v)?;
            self.warn_unknown(t, "breaker.api_errors", &["count", "minutes"]);
            let mut e = ApiErrors::default();
            if let Some(v) = t.get("count") {
                e.count = self.whole("breaker.api_errors.count", v, 1, 100_000, "errors")?;
            }
            if let Some(v) = t.get("minutes") {
                e.minutes = self.whole("breaker.api_errors.minutes", v, 1, 1440, "minutes")?;
            }
            b.api_errors = Some(e);
        }
        if let Some(v) = table.get("subagents") {
            let t = self.breaker_table("breaker.subagents", v)?;
            self.warn_unknown(t, "breaker.subagents", &["max_active", "max_per_session", "max_depth"]);
            let mut c = Subagents::default();
            for (key, slot) in [
                ("max_active", &mut c.max_active),
                ("max_per_session", &mut c.max_per_session),
                ("max_depth", &mut c.max_depth),
            ] {
                if let Some(v) = t.get(key) {
                    *slot = self.whole(&format!("breaker.subagents.{key}"), v, 0, 100_000, "subagents")?;
                }
            }
            b.subagents = Some(c);
        }
        if let Some(v) = table.get("loop") {
            let t = self.breaker_table("breaker.loop", v)?;
            self.warn_unknown(t, "breaker.loop", &["repeats", "window_minutes"]);
            let mut l = LoopBreaker::default();
            if let Some(v) = t.get("repeats") {
                l.repeats = self.whole("breaker.loop.repeats", v, 2, 1000, "calls")?;
            }
            if let Some(v) = t.get("window_minutes") {
                l.window_minutes = self.whole("breaker.loop.window_minutes", v, 1, 1440, "minutes")?;
            }
            b.loops = Some(l);
        }
        if let Some(v) = table.get("burn_rate") {
            let t = self.breaker_table("breaker.burn_rate", v)?;
            self.warn_unknown(t, "breaker.burn_rate", &["usd", "minutes"]);
            let mut r = BurnRate::default();
            if let Some(v) = t.get("usd") {
                r.usd = self.usd("breaker.burn_rate.usd", v)?;
                if r.usd <= 0.0 {
                    return Err(self.invalid("breaker.burn_rate.usd", "must be above 0".to_owned()));
                }
            }
            if let Some(v) = t.get("minutes") {
                r.minutes = self.whole("breaker.burn_rate.minutes", v, 1, MAX_BURN_MINUTES, "minutes")?;
            }
            b.burn_rate = Some(r);
        }
        Ok(b)
    }

    fn breaker_table<'v>(&self, key: &str, value: &'v Value) -> Result<&'v Table, ConfigError> {
        value.as_table().ok_or_else(|| self.invalid(key, format!("must be a table: [{key}]")))
    }
}

/// Locked mode: a user's config may add a breaker the root's lacks, or make one trip sooner (fewer repeats over a
/// longer window; less money over a longer window), never turn one off or loosen it.
pub(super) fn tighten(root: &mut Breakers, user: &Breakers) {
    root.api_errors = match (root.api_errors, user.api_errors) {
        (Some(r), Some(u)) => Some(ApiErrors { count: r.count.min(u.count), minutes: r.minutes.max(u.minutes) }),
        (r, u) => r.or(u),
    };
    root.subagents = match (root.subagents, user.subagents) {
        (Some(r), Some(u)) => Some(Subagents {
            max_active: r.max_active.min(u.max_active),
            max_per_session: r.max_per_session.min(u.max_per_session),
            max_depth: r.max_depth.min(u.max_depth),
        }),
        (r, u) => r.or(u),
    };
    root.loops = match (root.loops, user.loops) {
        (Some(r), Some(u)) => Some(LoopBreaker {
            repeats: r.repeats.min(u.repeats),
            window_minutes: r.window_minutes.max(u.window_minutes),
        }),
        (r, u) => r.or(u),
    };
    root.burn_rate = match (root.burn_rate, user.burn_rate) {
        (Some(r), Some(u)) => Some(BurnRate { usd: r.usd.min(u.usd), minutes: r.minutes.max(u.minutes) }),
        (r, u) => r.or(u),
    };
}

pub(super) fn render(out: &mut String, b: &Breakers) {
    if let Some(l) = &b.loops {
        let _ = writeln!(out, "\n[breaker.loop]\nrepeats = {}\nwindow_minutes = {}", l.repeats, l.window_minutes);
    }
    if let Some(c) = &b.subagents {
        let _ = writeln!(
            out,
            "\n[breaker.subagents]\nmax_active = {}\nmax_per_session = {}\nmax_depth = {}",
            c.max_active, c.max_per_session, c.max_depth
        );
    }
    if let Some(e) = &b.api_errors {
        let _ = writeln!(out, "\n[breaker.api_errors]\ncount = {}\nminutes = {}", e.count, e.minutes);
    }
    if let Some(r) = &b.burn_rate {
        let _ = writeln!(out, "\n[breaker.burn_rate]\nusd = {:?}\nminutes = {}", r.usd, r.minutes);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{parse_err, parse_ok};
    use super::*;

    #[test]
    fn a_table_turns_a_breaker_on_with_its_defaults() {
        let (config, warnings) = parse_ok(
            "[breaker.loop]\n[breaker.burn_rate]\nusd = 2.5\n[breaker.subagents]\nmax_depth = 1\n[breaker.api_errors]\n",
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config.breaker.loops, Some(LoopBreaker { repeats: 5, window_minutes: 10 }));
        assert_eq!(config.breaker.burn_rate, Some(BurnRate { usd: 2.5, minutes: 10 }));
        assert_eq!(config.breaker.api_errors, Some(ApiErrors { count: 10, minutes: 5 }));
        assert_eq!(config.breaker.subagents, Some(Subagents { max_active: 8, max_per_session: 50, max_depth: 1 }));
        assert_eq!(parse_ok(&super::super::render(&config)).0, config);
        assert_eq!(parse_ok("").0.breaker, Breakers::default(), "off unless set");
        let err = parse_err("[breaker.loop]\nrepeats = 1\n");
        assert!(err.contains("`breaker.loop.repeats`") && err.contains("from 2"), "{err}");
        let err = parse_err("[breaker]\nburn_rate = 5\n");
        assert!(err.contains("`breaker.burn_rate`") && err.contains("must be a table"), "{err}");
        let err = parse_err("[breaker.burn_rate]\nminutes = 500\n");
        assert!(err.contains("`breaker.burn_rate.minutes`"), "{err}");
    }

    #[test]
    fn a_user_config_only_makes_a_breaker_trip_sooner() {
        let (root, _) = parse_ok("[breaker.loop]\nrepeats = 4\n");
        let (user, _) = parse_ok("[breaker.loop]\nrepeats = 9\nwindow_minutes = 30\n[breaker.burn_rate]\n");
        let b = super::super::tighten(root, &user).breaker;
        assert_eq!(b.loops, Some(LoopBreaker { repeats: 4, window_minutes: 30 }));
        assert_eq!(b.burn_rate, Some(BurnRate::default()), "a user may add one");
        let (none, _) = parse_ok("");
        let (root, _) = parse_ok("[breaker.burn_rate]\nusd = 3\n");
        assert_eq!(super::super::tighten(root, &none).breaker.burn_rate.map(|r| r.usd), Some(3.0));
    }
}

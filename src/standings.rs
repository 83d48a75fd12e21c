//! Every budget beyond the session's and the day's dollars, as standings (spent against limit): the 5-hour block,
//! the week, the month, tokens, projects and models. Pure: the ledger, the config and the clock in, a list out, so
//! the hook and `status` list the same scopes, and a new source of limits adds its standings to the same list.
//!
//! Every figure comes from what the ledger already keeps (days, hours, models, and each session's totals, days,
//! directory and branch): no budget reads a transcript or a file of its own.

use crate::config::{Config, ProjectBudget};
use crate::ledger::state::{Ledger, SessionSpend};
use crate::policy::{Scope, Span, Standing};
use crate::usage::Pico;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use std::path::Path;

/// Whose standings, and when.
pub(crate) struct View<'a> {
    pub ledger: &'a Ledger,
    pub config: &'a Config,
    /// The session asking (its session-wide scopes, and the project and model scopes that hold it); `None`: the
    /// machine's scopes, every project and model entry included (for `status`).
    pub session: Option<&'a str>,
    /// What `ccbreaker allow` granted the session: added to every dollar limit as it applies to it.
    pub extra: Pico,
    pub now: DateTime<Utc>,
    /// For `~/` in project globs.
    pub home: Option<&'a Path>,
}

/// How many hours a billing block lasts.
const BLOCK_HOURS: i64 = 5;

impl View<'_> {
    fn today(&self) -> NaiveDate {
        self.config.budget.timezone.date_of(self.now)
    }

    fn per_response(&self) -> Option<u64> {
        self.config.budget.incomplete_output_tokens
    }

    fn spend(&self) -> Option<&SessionSpend> {
        self.session.and_then(|s| self.ledger.sessions.get(s))
    }

    /// The first day of `span` that contains today.
    fn start(&self, span: Span) -> NaiveDate {
        period_start(span, self.today())
    }

    fn warn(&self, own: Option<f64>) -> Option<u64> {
        let warn_at = own.unwrap_or(self.config.budget.warn_at);
        (warn_at > 0.0 && warn_at < 1.0).then(|| (warn_at * 1000.0).round() as u64)
    }

    fn dollars(&self, scope: Scope, spent: Pico, usd: f64, warn: Option<f64>, period: i64) -> Option<Standing> {
        (usd > 0.0).then(|| Standing {
            scope,
            spent,
            limit: Pico::from_usd(usd).saturating_add(if self.session.is_some() { self.extra } else { Pico(0) }),
            warn_per_mille: self.warn(warn),
            period,
        })
    }

    /// All sessions' spend from `from` to today, with the estimate for responses whose final usage was never written.
    fn all_since(&self, from: NaiveDate) -> Pico {
        let mut total = Pico(0);
        for (day, spend) in self.ledger.days.range(from..=self.today()) {
            total += spend.cost.saturating_add(self.ledger.day_estimate(*day, self.per_response()));
        }
        total
    }

    /// One session's spend from `from` to today, with its estimate.
    fn session_since(&self, s: &SessionSpend, from: NaiveDate) -> Pico {
        let mut total = Pico(0);
        for (day, spend) in s.days.range(from..=self.today()) {
            total += spend.cost.saturating_add(s.estimate(self.per_response(), Some(*day)));
        }
        total
    }

    /// The spend of the 5-hour billing block in force, and its first hour; `None` when no block is open now. Blocks
    /// are those of `ccbreaker report blocks`: a response opens one at its hour, and a response at or after its end
    /// opens the next.
    fn block(&self) -> Option<(i64, Pico)> {
        let mut open: Option<i64> = None;
        for (&hour, &cost) in &self.ledger.hours {
            if cost > Pico(0) && open.is_none_or(|start| hour >= start + BLOCK_HOURS) {
                open = Some(hour);
            }
        }
        let start = open?;
        let now = self.now.timestamp().div_euclid(3600);
        if now >= start + BLOCK_HOURS {
            return None;
        }
        Some((
            start,
            self.ledger
                .hours
                .range(start..start + BLOCK_HOURS)
                .map(|(_, c)| *c)
                .fold(Pico(0), |a, c| a.saturating_add(c)),
        ))
    }

    /// The entries of `[[budget.project]]` that hold a session: the first match of each group.
    fn projects_of(&self, s: &SessionSpend) -> Vec<usize> {
        let mut held: Vec<usize> = Vec::new();
        let mut groups: Vec<u8> = Vec::new();
        for (i, p) in self.config.budget.scopes.projects.iter().enumerate() {
            if !groups.contains(&p.group) && project_matches(p, s, self.home) {
                groups.push(p.group);
                held.push(i);
            }
        }
        held
    }

    fn project_standings(&self, i: usize, p: &ProjectBudget, out: &mut Vec<Standing>) {
        let entry = i as u16;
        if let Some(s) = self.spend() {
            let spent = s.total.cost.saturating_add(s.estimate(self.per_response(), None));
            out.extend(self.dollars(Scope::Project { entry, span: Span::Session }, spent, p.session_usd, p.warn_at, 0));
        }
        for (span, usd) in [(Span::Day, p.daily_usd), (Span::Week, p.weekly_usd), (Span::Month, p.monthly_usd)] {
            if usd <= 0.0 {
                continue;
            }
            let from = self.start(span);
            let spent = self
                .ledger
                .sessions
                .values()
                .filter(|s| self.projects_of(s).contains(&i))
                .fold(Pico(0), |total, s| total.saturating_add(self.session_since(s, from)));
            out.extend(self.dollars(Scope::Project { entry, span }, spent, usd, p.warn_at, day_number(from)));
        }
    }

    fn model_standings(&self, out: &mut Vec<Standing>) {
        let last = self.spend().map(|s| crate::pricing::normalize(&s.last_model));
        for (i, m) in self.config.budget.scopes.models.iter().enumerate() {
            // A session is held to a model's budget while it is on that model.
            if self.session.is_some() && !last.as_deref().is_some_and(|name| glob(&m.pattern, name)) {
                continue;
            }
            for (span, usd) in [(Span::Day, m.daily_usd), (Span::Week, m.weekly_usd), (Span::Month, m.monthly_usd)] {
                if usd <= 0.0 {
                    continue;
                }
                let from = self.start(span);
                let spent = self
                    .ledger
                    .models
                    .values()
                    .filter(|model| glob(&m.pattern, &model.name))
                    .flat_map(|model| model.days.range(from..=self.today()).map(|(_, c)| *c))
                    .fold(Pico(0), |a, c| a.saturating_add(c));
                let scope = Scope::Model { entry: i as u16, span };
                out.extend(self.dollars(scope, spent, usd, m.warn_at, day_number(from)));
            }
        }
    }
}

/// Every scope beyond the session's and the day's dollars that is in force for `view`, in a fixed order: the
/// session's tokens, the day's tokens, the block, the week, the month, the projects, the models.
pub(crate) fn more(view: &View) -> Vec<Standing> {
    let s = &view.config.budget.scopes;
    let mut out = Vec::new();
    let warn = view.warn(None);
    if s.session_tokens > 0
        && let Some(spend) = view.spend()
    {
        let spent = Pico(s.tokens(&spend.total.usage));
        out.push(Standing {
            scope: Scope::SessionTokens,
            spent,
            limit: Pico(s.session_tokens),
            warn_per_mille: warn,
            period: 0,
        });
    }
    if s.daily_tokens > 0 {
        let today = view.today();
        let spent = Pico(s.tokens(&view.ledger.day(today).usage));
        let period = day_number(today);
        out.push(Standing {
            scope: Scope::DayTokens,
            spent,
            limit: Pico(s.daily_tokens),
            warn_per_mille: warn,
            period,
        });
    }
    if s.block_5h_usd > 0.0 {
        let (start, spent) = view.block().unwrap_or((view.now.timestamp().div_euclid(3600), Pico(0)));
        out.extend(view.dollars(Scope::Block, spent, s.block_5h_usd, None, start));
    }
    for (scope, span, usd) in [(Scope::Week, Span::Week, s.weekly_usd), (Scope::Month, Span::Month, s.monthly_usd)] {
        if usd > 0.0 {
            let from = view.start(span);
            out.extend(view.dollars(scope, view.all_since(from), usd, None, day_number(from)));
        }
    }
    match view.spend() {
        Some(spend) => {
            for i in view.projects_of(spend) {
                view.project_standings(i, &s.projects[i], &mut out);
            }
        }
        None if view.session.is_none() => {
            for (i, p) in s.projects.iter().enumerate() {
                view.project_standings(i, p, &mut out);
            }
        }
        None => {}
    }
    view.model_standings(&mut out);
    for (scope, window, pct) in
        [(Scope::PlanFiveHour, "five_hour", s.five_hour_pct), (Scope::PlanSevenDay, "seven_day", s.seven_day_pct)]
    {
        if pct <= 0.0 {
            continue;
        }
        // The newest reading, unless its window has reset since (its usage is then unknown: 0 until a new one).
        let used = view
            .ledger
            .plan
            .get(window)
            .filter(|r| r.resets_at.is_none_or(|at| at > view.now))
            .map_or(0.0, |r| r.used_percentage);
        let hundredths = |p: f64| Pico((p * 100.0).round().max(0.0) as u64);
        let period = view.ledger.plan.get(window).and_then(|r| r.resets_at).map_or(0, |at| at.timestamp());
        out.push(Standing {
            scope,
            spent: hundredths(used),
            limit: hundredths(pct),
            warn_per_mille: view.warn(None),
            period,
        });
    }
    if let Some(rate) = &view.config.breaker.burn_rate {
        let now = view.now.timestamp().div_euclid(60);
        let window = |minutes: &std::collections::BTreeMap<i64, Pico>| {
            minutes.range(now - rate.minutes as i64 + 1..=now).fold(Pico(0), |a, (_, c)| a.saturating_add(*c))
        };
        let standing = |scope, spent| Standing {
            scope,
            spent,
            limit: Pico::from_usd(rate.usd).saturating_add(if view.session.is_some() { view.extra } else { Pico(0) }),
            warn_per_mille: None,
            period: 0,
        };
        // What the mod reported of finished requests the transcripts do not show yet counts here too, as it does
        // for the session and the day: the hook that follows such a request finds its tool call already known, so
        // it does not wait for the transcript line.
        if let Some(spend) = view.spend() {
            let reported = crate::ledger::overlay::provisional(spend, None, view.now);
            out.push(standing(Scope::BurnSession, window(&spend.minutes).saturating_add(reported)));
        }
        let reported = crate::ledger::overlay::provisional_day(view.ledger, view.today(), view.now);
        out.push(standing(Scope::BurnAll, window(&view.ledger.minutes).saturating_add(reported)));
    }
    out
}

/// What a scope is called in messages, the config key that sets it, and the spend as a sentence.
pub(crate) struct Words {
    /// `weekly budget`, `project "~/work/acme/**" (branch main) daily budget`.
    pub name: String,
    /// The key to raise: `budget.weekly_usd`, `budget.project[0].daily_usd`.
    pub key: String,
    /// `$12.00 spent this week (from 2026-11-30, UTC) across all sessions`.
    pub spent: String,
    /// When the scope starts afresh, if it does.
    pub resets: Option<String>,
}

/// The words for a standing of one of the scopes of [`more`] (the session's and the day's have their own).
pub(crate) fn words(s: &Standing, config: &Config) -> Words {
    let zone = config.budget.timezone;
    let scopes = &config.budget.scopes;
    let span_words = |span: Span, from: i64| {
        let from = day_of(from);
        match span {
            Span::Session => ("session", "this session".to_owned(), None),
            Span::Day => {
                ("daily", format!("today ({from}, {})", zone.name()), Some(format!("at midnight ({})", zone.name())))
            }
            Span::Week => (
                "weekly",
                format!("this week (from Monday {from}, {})", zone.name()),
                Some(format!("on {} ({})", next_start(span, from), zone.name())),
            ),
            Span::Month => (
                "monthly",
                format!("this month (from {from}, {})", zone.name()),
                Some(format!("on {} ({})", next_start(span, from), zone.name())),
            ),
        }
    };
    let classes = if scopes.token_classes.is_empty() {
        "all token classes".to_owned()
    } else {
        scopes.token_classes.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
    };
    match s.scope {
        Scope::SessionTokens => Words {
            name: "session token budget".to_owned(),
            key: "budget.session_tokens".to_owned(),
            spent: format!("this session has used {} tokens ({classes})", s.spent.0),
            resets: None,
        },
        Scope::DayTokens => Words {
            name: "daily token budget".to_owned(),
            key: "budget.daily_tokens".to_owned(),
            spent: format!(
                "{} tokens ({classes}) used today ({}, {}) across all sessions",
                s.spent.0,
                day_of(s.period),
                zone.name()
            ),
            resets: Some(format!("at midnight ({})", zone.name())),
        },
        Scope::Block => {
            let hour = |h: i64| DateTime::from_timestamp(h * 3600, 0).unwrap_or_default().format("%Y-%m-%d %H:%M UTC");
            Words {
                name: "5-hour block budget".to_owned(),
                key: "budget.block_5h_usd".to_owned(),
                spent: format!(
                    "{} spent in the billing block that began at {} across all sessions",
                    s.spent,
                    hour(s.period)
                ),
                resets: Some(format!("at {}, when the block ends", hour(s.period + BLOCK_HOURS))),
            }
        }
        Scope::Week | Scope::Month => {
            let span = if s.scope == Scope::Week { Span::Week } else { Span::Month };
            let (adjective, when, resets) = span_words(span, s.period);
            Words {
                name: format!("{adjective} budget"),
                key: format!("budget.{adjective}_usd"),
                spent: format!("{} spent {when} across all sessions", s.spent),
                resets,
            }
        }
        Scope::Project { entry, span } => {
            let p = scopes.projects.get(entry as usize);
            let pattern = p.map(|p| p.path.as_str()).unwrap_or("?");
            let branch = p.and_then(|p| p.branch.as_deref()).map(|b| format!(" on branch {b}")).unwrap_or_default();
            let (adjective, when, resets) = span_words(span, s.period);
            let whose = if span == Span::Session { String::new() } else { " by the project's sessions".to_owned() };
            Words {
                name: format!("project {pattern:?}{branch} {adjective} budget"),
                key: format!("budget.project[{entry}].{adjective}_usd"),
                spent: format!("{} spent {when}{whose}", s.spent),
                resets,
            }
        }
        Scope::Model { entry, span } => {
            let pattern = scopes.models.get(entry as usize).map(|m| m.pattern.as_str()).unwrap_or("?");
            let (adjective, when, resets) = span_words(span, s.period);
            Words {
                name: format!("model {pattern:?} {adjective} budget"),
                key: format!("budget.model.{pattern:?}.{adjective}_usd"),
                spent: format!("{} spent {when} on models matching {pattern:?}, all sessions", s.spent),
                resets,
            }
        }
        Scope::BurnSession | Scope::BurnAll => {
            let minutes = config.breaker.burn_rate.map(|r| r.minutes).unwrap_or_default();
            let whose = if s.scope == Scope::BurnSession { "by this session" } else { "across all sessions" };
            Words {
                name: "burn-rate breaker".to_owned(),
                key: "breaker.burn_rate.usd".to_owned(),
                spent: format!("{} spent in the last {minutes} minutes {whose}", s.spent),
                resets: Some(format!("once the last {minutes} minutes hold less")),
            }
        }
        Scope::PlanFiveHour | Scope::PlanSevenDay => {
            let (window, key) =
                if s.scope == Scope::PlanFiveHour { ("5-hour", "five_hour_pct") } else { ("7-day", "seven_day_pct") };
            let resets = DateTime::from_timestamp(s.period, 0).filter(|_| s.period > 0);
            Words {
                name: format!("plan {window} window budget"),
                key: format!("budget.{key}"),
                spent: format!("the plan's {window} window is {:.0}% used", s.spent.0 as f64 / 100.0),
                resets: resets.map(|at| format!("when the window resets, at {}", at.format("%Y-%m-%d %H:%M UTC"))),
            }
        }
        Scope::ApiErrors => Words {
            name: "API error breaker".to_owned(),
            key: "breaker.api_errors.count".to_owned(),
            spent: format!("{} requests refused", s.spent.0),
            resets: None,
        },
        Scope::Subagents => Words {
            name: "subagent cap".to_owned(),
            key: "breaker.subagents".to_owned(),
            spent: format!("{} subagents", s.spent.0),
            resets: None,
        },
        Scope::Loop => Words {
            name: "loop breaker".to_owned(),
            key: "breaker.loop.repeats".to_owned(),
            spent: format!("the same tool call was made {} times", s.spent.0),
            resets: None,
        },
        Scope::Session | Scope::Day => Words {
            name: if s.scope == Scope::Session { "session budget" } else { "daily budget" }.to_owned(),
            key: format!("budget.{}_usd", s.scope.key()),
            spent: s.spent.to_string(),
            resets: None,
        },
    }
}

/// A limit as it reads: dollars, or tokens.
pub(crate) fn amount(scope: Scope, value: Pico) -> String {
    match scope {
        Scope::Loop => format!("{} calls", value.0),
        Scope::Subagents => format!("{} subagents", value.0),
        Scope::ApiErrors => format!("{} errors", value.0),
        Scope::PlanFiveHour | Scope::PlanSevenDay => format!("{:.0}%", value.0 as f64 / 100.0),
        s if s.tokens() => format!("{} tokens", value.0),
        _ => value.to_string(),
    }
}

/// The first day of the `span` that contains `day`: weeks start on Monday, months on the 1st.
pub(crate) fn period_start(span: Span, day: NaiveDate) -> NaiveDate {
    match span {
        Span::Session | Span::Day => day,
        Span::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        Span::Month => day.with_day(1).unwrap_or(day),
    }
}

/// When the period that began on `from` ends (the next period's first day), for the words of a breach.
pub(crate) fn next_start(span: Span, from: NaiveDate) -> NaiveDate {
    match span {
        Span::Session | Span::Day => from + Duration::days(1),
        Span::Week => from + Duration::days(7),
        Span::Month => from.checked_add_months(chrono::Months::new(1)).unwrap_or(from),
    }
}

/// A day as a number (the period of a day-long or longer scope).
pub(crate) fn day_number(day: NaiveDate) -> i64 {
    i64::from(day.num_days_from_ce())
}

/// The day a period number names.
pub(crate) fn day_of(number: i64) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(number as i32).unwrap_or_default()
}

/// Whether a session is one of the project's: its directory matches the glob, and its branch the entry's branch.
fn project_matches(p: &ProjectBudget, s: &SessionSpend, home: Option<&Path>) -> bool {
    if s.dir.is_empty() || p.branch.as_ref().is_some_and(|b| *b != s.branch) {
        return false;
    }
    let pattern = match (p.path.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => format!("{}/{rest}", home.display()),
        _ => p.path.clone(),
    };
    path_glob(&pattern, s.dir.trim_end_matches('/'))
}

/// A path glob: `*` and `?` within one directory name, `**` across directories; a pattern ending in `/**` also
/// matches the directory itself.
pub(crate) fn path_glob(pattern: &str, path: &str) -> bool {
    if let Some(dir) = pattern.strip_suffix("/**")
        && path_glob(dir, path)
    {
        return true;
    }
    matches(pattern.as_bytes(), path.as_bytes(), true)
}

/// A name glob (models): `*` matches any run of characters, `?` one; case is ignored.
pub(crate) fn glob(pattern: &str, name: &str) -> bool {
    matches(pattern.to_ascii_lowercase().as_bytes(), name.to_ascii_lowercase().as_bytes(), false)
}

fn matches(p: &[u8], t: &[u8], paths: bool) -> bool {
    match p {
        [] => t.is_empty(),
        [b'*', b'*', rest @ ..] if paths => {
            let rest = rest.strip_prefix(b"/").unwrap_or(rest);
            (0..=t.len()).any(|i| (i == 0 || t[i - 1] == b'/' || rest.is_empty()) && matches(rest, &t[i..], paths))
        }
        [b'*', rest @ ..] => {
            (0..=t.len()).take_while(|&i| !paths || i == 0 || t[i - 1] != b'/').any(|i| matches(rest, &t[i..], paths))
        }
        [b'?', rest @ ..] => t.first().is_some_and(|&c| !(paths && c == b'/')) && matches(rest, &t[1..], paths),
        [c, rest @ ..] => t.first() == Some(c) && matches(rest, &t[1..], paths),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::state::{ModelSpend, Spend};
    use crate::usage::Usage;

    fn usd(x: f64) -> Pico {
        Pico::from_usd(x)
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn config(text: &str) -> Config {
        crate::config::parse(text, Path::new("/c.toml")).unwrap().0
    }

    #[test]
    fn globs() {
        assert!(path_glob("/home/u/work/acme/**", "/home/u/work/acme"));
        assert!(path_glob("/home/u/work/acme/**", "/home/u/work/acme/api/v2"));
        assert!(!path_glob("/home/u/work/acme/**", "/home/u/work/acme-old"));
        assert!(path_glob("/home/*/work", "/home/u/work"));
        assert!(!path_glob("/home/*/work", "/home/u/v/work"));
        assert!(path_glob("/srv/**/repo", "/srv/a/b/repo"));
        assert!(path_glob("/srv/**/repo", "/srv/repo"));
        assert!(glob("claude-opus-*", "claude-opus-4-7"));
        assert!(glob("*sonnet*", "claude-sonnet-4-5-20250929"));
        assert!(!glob("claude-opus-*", "claude-sonnet-4-5"));
        assert!(glob("claude-haiku-4-?", "claude-haiku-4-5"));
    }

    #[test]
    fn the_block_is_the_one_report_blocks_shows() {
        let mut ledger = Ledger::new("UTC");
        let hour = |s: &str| at(s).timestamp().div_euclid(3600);
        // 08:xx opens a block to 13:00; 12:xx is in it; 13:xx opens the next.
        ledger.hours.insert(hour("2026-11-30T08:40:00Z"), usd(1.0));
        ledger.hours.insert(hour("2026-11-30T12:10:00Z"), usd(2.0));
        let config = config("[budget]\nblock_5h_usd = 2.5\n");
        let first = |ledger: &Ledger, now: &str| {
            more(&View { ledger, config: &config, session: None, extra: Pico(0), now: at(now), home: None })[0]
        };
        let standing = first(&ledger, "2026-11-30T12:30:00Z");
        assert_eq!((standing.scope, standing.spent, standing.limit), (Scope::Block, usd(3.0), usd(2.5)));
        assert_eq!(standing.period, hour("2026-11-30T08:00:00Z"));
        assert_eq!(first(&ledger, "2026-11-30T13:05:00Z").spent, Pico(0), "that block has ended");
        ledger.hours.insert(hour("2026-11-30T13:01:00Z"), usd(0.5));
        let standing = first(&ledger, "2026-11-30T13:30:00Z");
        assert_eq!((standing.spent, standing.period), (usd(0.5), hour("2026-11-30T13:00:00Z")));
    }

    #[test]
    fn weeks_months_tokens_projects_and_models() {
        let mut ledger = Ledger::new("UTC");
        // Monday 2026-11-30 is today; the week before and November's earlier days count for the month only.
        for (day, cost) in [("2026-11-29", 4.0), ("2026-11-30", 1.0), ("2026-11-02", 10.0)] {
            ledger.days.insert(date(day), Spend { cost: usd(cost), ..Spend::default() });
        }
        ledger.days.get_mut(&date("2026-11-30")).unwrap().usage =
            Usage { input_tokens: 10, output_tokens: 90, ..Usage::default() };
        let mine = SessionSpend {
            dir: "/home/u/work/acme/api".into(),
            branch: "main".into(),
            last_model: "claude-opus-4-7".into(),
            total: Spend {
                cost: usd(5.0),
                usage: Usage { output_tokens: 700, ..Usage::default() },
                ..Spend::default()
            },
            days: [
                (date("2026-11-29"), Spend { cost: usd(4.0), ..Spend::default() }),
                (date("2026-11-30"), Spend { cost: usd(1.0), ..Spend::default() }),
            ]
            .into(),
            ..SessionSpend::default()
        };
        ledger.sessions.insert("A".into(), mine.clone());
        ledger.sessions.insert("B".into(), SessionSpend { branch: "dev".into(), ..mine });
        let mut opus = ModelSpend { name: "claude-opus-4-7".into(), ..ModelSpend::default() };
        opus.days.insert(date("2026-11-30"), usd(0.75));
        ledger.models.insert(1, opus);
        ledger
            .models
            .insert(2, ModelSpend { name: "claude-sonnet-4-5".into(), days: [(date("2026-11-30"), usd(9.0))].into() });
        let config = config(
            "[budget]\nweekly_usd = 10\nmonthly_usd = 20\nsession_tokens = 1000\ndaily_tokens = 50\n\
             token_classes = [\"output\"]\n\
             [[budget.project]]\npath = \"~/work/acme/**\"\nbranch = \"main\"\nsession_usd = 6\nweekly_usd = 7\n\
             [budget.model.\"claude-opus-*\"]\ndaily_usd = 1\n",
        );
        let home = Path::new("/home/u");
        let view = View {
            ledger: &ledger,
            config: &config,
            session: Some("A"),
            extra: usd(2.0),
            now: at("2026-11-30T12:00:00Z"),
            home: Some(home),
        };
        let got: Vec<(Scope, Pico, Pico)> = more(&view).iter().map(|s| (s.scope, s.spent, s.limit)).collect();
        assert_eq!(
            got,
            [
                (Scope::SessionTokens, Pico(700), Pico(1000)),
                (Scope::DayTokens, Pico(90), Pico(50)),
                (Scope::Week, usd(1.0), usd(12.0)),
                (Scope::Month, usd(15.0), usd(22.0)),
                (Scope::Project { entry: 0, span: Span::Session }, usd(5.0), usd(8.0)),
                // Only session A is on branch main: B's spend is not the project's.
                (Scope::Project { entry: 0, span: Span::Week }, usd(1.0), usd(9.0)),
                (Scope::Model { entry: 0, span: Span::Day }, usd(0.75), usd(3.0)),
            ]
        );
        let b = View { session: Some("B"), ..view };
        assert!(more(&b).iter().all(|s| !matches!(s.scope, Scope::Project { .. })), "B is on another branch");
        let machine = View { session: None, ..view };
        let scopes: Vec<Scope> = more(&machine).iter().map(|s| s.scope).collect();
        assert!(!scopes.contains(&Scope::SessionTokens));
        assert!(scopes.contains(&Scope::Project { entry: 0, span: Span::Week }));
        assert_eq!(more(&machine).iter().find(|s| s.scope == Scope::Week).unwrap().limit, usd(10.0), "no grant");
    }
}

//! The decision, as a pure function of spend and budgets: allow, warn, or breach, and for which scope. No I/O
//! and no clock, so every rule is a unit test.

use crate::usage::Pico;

/// A budget: what it counts and over which span. The session's and the day's dollars come first; the others
/// (issue 18) are built by [`crate::standings`] from the config and the ledger, and a new source of limits adds
/// its scopes there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Scope {
    Session,
    Day,
    /// The 5-hour billing block in force (`budget.block_5h_usd`).
    Block,
    /// The week from Monday and the calendar month (`budget.weekly_usd`, `budget.monthly_usd`).
    Week,
    Month,
    /// Tokens (`budget.session_tokens`, `budget.daily_tokens`): `spent` and `limit` count tokens, not pico-dollars.
    SessionTokens,
    DayTokens,
    /// The `entry`-th `[[budget.project]]` over a span.
    Project {
        entry: u16,
        span: Span,
    },
    /// The `entry`-th `[budget.model."GLOB"]` over a span.
    Model {
        entry: u16,
        span: Span,
    },
    /// `[breaker.burn_rate]`: the spend of the trailing window, the session's and all sessions'.
    BurnSession,
    BurnAll,
    /// `[breaker.loop]`: `spent` counts the calls of the loop, `limit` the count that stops the session.
    Loop,
    /// `[breaker.subagents]`: `spent` and `limit` count subagents (or depth).
    Subagents,
    /// `[breaker.api_errors]`: `spent` and `limit` count refused requests.
    ApiErrors,
    /// `budget.five_hour_pct`, `budget.seven_day_pct`: `spent` and `limit` are hundredths of a percent of the plan's
    /// window.
    PlanFiveHour,
    PlanSevenDay,
}

/// The span a project's or a model's budget counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Span {
    Session,
    Day,
    Week,
    Month,
}

impl Scope {
    /// Whether the scope counts tokens rather than money.
    pub(crate) fn tokens(self) -> bool {
        matches!(self, Scope::SessionTokens | Scope::DayTokens)
    }

    /// Whether `spent` and `limit` count something other than money (tokens, calls).
    pub(crate) fn counts(self) -> bool {
        self.tokens()
            || matches!(
                self,
                Scope::Loop | Scope::Subagents | Scope::ApiErrors | Scope::PlanFiveHour | Scope::PlanSevenDay
            )
    }

    /// A short stable name: `status --json`, alert scopes and the record of warnings shown.
    pub(crate) fn key(self) -> String {
        let span = |s: Span| match s {
            Span::Session => "session",
            Span::Day => "daily",
            Span::Week => "weekly",
            Span::Month => "monthly",
        };
        match self {
            Scope::Session => "session".to_owned(),
            Scope::Day => "daily".to_owned(),
            Scope::Block => "block_5h".to_owned(),
            Scope::Week => "weekly".to_owned(),
            Scope::Month => "monthly".to_owned(),
            Scope::SessionTokens => "session_tokens".to_owned(),
            Scope::DayTokens => "daily_tokens".to_owned(),
            Scope::Project { entry, span: s } => format!("project[{entry}].{}", span(s)),
            Scope::Model { entry, span: s } => format!("model[{entry}].{}", span(s)),
            Scope::BurnSession => "burn_rate.session".to_owned(),
            Scope::BurnAll => "burn_rate.all".to_owned(),
            Scope::Loop => "loop".to_owned(),
            Scope::Subagents => "subagents".to_owned(),
            Scope::ApiErrors => "api_errors".to_owned(),
            Scope::PlanFiveHour => "five_hour_pct".to_owned(),
            Scope::PlanSevenDay => "seven_day_pct".to_owned(),
        }
    }
}

/// The limits that apply to one session right now (config budgets plus any allowance granted to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// `None`: the scope is off.
    pub session: Option<Pico>,
    pub day: Option<Pico>,
    /// Warn at this many thousandths of a limit; `None`: no warnings.
    pub warn_per_mille: Option<u64>,
}

impl Limits {
    /// From config values in USD; 0 turns a scope (or the warning) off. `extra` is added to both limits.
    pub(crate) fn from_usd(session_usd: f64, daily_usd: f64, warn_at: f64, extra: Pico) -> Limits {
        let limit = |usd: f64| (usd > 0.0).then(|| Pico::from_usd(usd).saturating_add(extra));
        let warn = (warn_at > 0.0 && warn_at < 1.0).then(|| (warn_at * 1000.0).round() as u64);
        Limits { session: limit(session_usd), day: limit(daily_usd), warn_per_mille: warn }
    }
}

/// One scope's spend against its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Standing {
    pub scope: Scope,
    pub spent: Pico,
    pub limit: Pico,
    /// Warn at this many thousandths of the limit; `None`: no warning.
    pub warn_per_mille: Option<u64>,
    /// Which period of the scope this is (a day number, a block's first hour, 0 for a session), so a warning is
    /// shown once per period.
    pub period: i64,
}

impl Standing {
    /// How close to its limit, in thousandths (1000: at the limit).
    pub(crate) fn per_mille(&self) -> u64 {
        (self.spent.0 as u128 * 1000 / self.limit.0.max(1) as u128).min(u64::MAX as u128) as u64
    }

    fn warns(&self) -> bool {
        self.warn_per_mille
            .is_some_and(|per_mille| self.spent.0 as u128 * 1000 >= self.limit.0 as u128 * per_mille as u128)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allow,
    /// Over the warning level of these scopes, under every limit.
    Warn(Vec<Standing>),
    /// At or over a limit: the first scope that is (session before day).
    Breach(Standing),
}

/// The session's and the day's standings (the scopes that are on), session first.
pub(crate) fn standings(session_spent: Pico, day_spent: Pico, limits: &Limits) -> Vec<Standing> {
    [(Scope::Session, session_spent, limits.session), (Scope::Day, day_spent, limits.day)]
        .into_iter()
        .filter_map(|(scope, spent, limit)| {
            limit.map(|limit| Standing { scope, spent, limit, warn_per_mille: limits.warn_per_mille, period: 0 })
        })
        .collect()
}

/// The verdict over every standing (a budget is crossed when the spend reaches it): a breach of the first scope at or over its limit (in list order), else a
/// warning for each over its warning level.
pub(crate) fn judge(standings: Vec<Standing>) -> Verdict {
    if let Some(breach) = standings.iter().find(|s| s.spent >= s.limit) {
        return Verdict::Breach(*breach);
    }
    let warned: Vec<Standing> = standings.into_iter().filter(Standing::warns).collect();
    if warned.is_empty() { Verdict::Allow } else { Verdict::Warn(warned) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(x: f64) -> Pico {
        Pico::from_usd(x)
    }

    fn assess(session_spent: Pico, day_spent: Pico, limits: &Limits) -> Verdict {
        judge(standings(session_spent, day_spent, limits))
    }

    fn limits() -> Limits {
        Limits::from_usd(20.0, 50.0, 0.8, Pico(0))
    }

    #[test]
    fn under_the_warning_level_allows() {
        assert_eq!(assess(usd(15.99), usd(39.0), &limits()), Verdict::Allow);
    }

    #[test]
    fn warning_level_warns_per_scope() {
        let Verdict::Warn(w) = assess(usd(16.0), usd(40.0), &limits()) else { panic!() };
        assert_eq!(w.iter().map(|s| s.scope).collect::<Vec<_>>(), [Scope::Session, Scope::Day]);
        let Verdict::Warn(w) = assess(usd(1.0), usd(41.0), &limits()) else { panic!() };
        assert_eq!(
            w,
            [Standing { scope: Scope::Day, spent: usd(41.0), limit: usd(50.0), warn_per_mille: Some(800), period: 0 }]
        );
    }

    #[test]
    fn reaching_a_limit_breaches_session_first() {
        assert_eq!(
            assess(usd(20.0), usd(20.0), &limits()),
            Verdict::Breach(Standing {
                scope: Scope::Session,
                spent: usd(20.0),
                limit: usd(20.0),
                warn_per_mille: Some(800),
                period: 0
            })
        );
        assert_eq!(
            assess(usd(20.0), usd(50.0), &limits()),
            Verdict::Breach(Standing {
                scope: Scope::Session,
                spent: usd(20.0),
                limit: usd(20.0),
                warn_per_mille: Some(800),
                period: 0
            })
        );
        assert!(matches!(assess(usd(1.0), usd(50.01), &limits()), Verdict::Breach(Standing { scope: Scope::Day, .. })));
    }

    #[test]
    fn zero_turns_a_scope_off_and_extra_raises_both() {
        let off = Limits::from_usd(0.0, 0.0, 0.0, Pico(0));
        assert_eq!(assess(usd(1e6), usd(1e6), &off), Verdict::Allow);
        let raised = Limits::from_usd(20.0, 50.0, 0.8, usd(10.0));
        assert_eq!(raised.session, Some(usd(30.0)));
        assert_eq!(raised.day, Some(usd(60.0)));
        assert_eq!(assess(usd(21.0), usd(21.0), &raised), Verdict::Allow);
        assert!(matches!(assess(usd(30.0), usd(30.0), &raised), Verdict::Breach(_)));
    }
}

//! The decision, as a pure function of spend and budgets: allow, warn, or breach, and for which scope. No I/O
//! and no clock, so every rule is a unit test.

use crate::usage::Pico;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Scope {
    Session,
    Day,
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allow,
    /// Over the warning level of these scopes, under every limit.
    Warn(Vec<Standing>),
    /// At or over a limit: the first scope that is (session before day).
    Breach(Standing),
}

/// Compares spend with the limits: a budget is crossed when the spend reaches it.
pub(crate) fn assess(session_spent: Pico, day_spent: Pico, limits: &Limits) -> Verdict {
    let standings: Vec<Standing> =
        [(Scope::Session, session_spent, limits.session), (Scope::Day, day_spent, limits.day)]
            .into_iter()
            .filter_map(|(scope, spent, limit)| limit.map(|limit| Standing { scope, spent, limit }))
            .collect();
    if let Some(breach) = standings.iter().find(|s| s.spent >= s.limit) {
        return Verdict::Breach(*breach);
    }
    let Some(per_mille) = limits.warn_per_mille else { return Verdict::Allow };
    let warned: Vec<Standing> =
        standings.into_iter().filter(|s| s.spent.0 as u128 * 1000 >= s.limit.0 as u128 * per_mille as u128).collect();
    if warned.is_empty() { Verdict::Allow } else { Verdict::Warn(warned) }
}

/// Whether spending `next` more would reach a limit: used to decide when waiting for the response that is still
/// being written is worth its latency.
pub(crate) fn within_reach(session_spent: Pico, day_spent: Pico, next: Pico, limits: &Limits) -> bool {
    let reach = |spent: Pico, limit: Option<Pico>| limit.is_some_and(|l| spent.saturating_add(next) >= l);
    reach(session_spent, limits.session) || reach(day_spent, limits.day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(x: f64) -> Pico {
        Pico::from_usd(x)
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
        assert_eq!(w, [Standing { scope: Scope::Day, spent: usd(41.0), limit: usd(50.0) }]);
    }

    #[test]
    fn reaching_a_limit_breaches_session_first() {
        assert_eq!(
            assess(usd(20.0), usd(20.0), &limits()),
            Verdict::Breach(Standing { scope: Scope::Session, spent: usd(20.0), limit: usd(20.0) })
        );
        assert_eq!(
            assess(usd(20.0), usd(50.0), &limits()),
            Verdict::Breach(Standing { scope: Scope::Session, spent: usd(20.0), limit: usd(20.0) })
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

    #[test]
    fn reach_counts_the_next_response() {
        assert!(within_reach(usd(18.0), usd(0.0), usd(2.0), &limits()));
        assert!(!within_reach(usd(17.0), usd(0.0), usd(2.0), &limits()));
        assert!(within_reach(usd(0.0), usd(49.0), usd(1.0), &limits()));
    }
}

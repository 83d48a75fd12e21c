//! The verdict for one session, given the ledger: what every scope has spent, against its limit. The hook (at a
//! tool call, a prompt) and the mod's gate (before a model request, a subagent, a compaction) both decide here, so
//! they never disagree; a new scope or limit is added here once, for both.
//!
//! A scope's spend is what was counted from the transcripts, plus the estimate for responses whose final usage
//! Claude Code never wrote, plus the steps the mod saw finish that the transcripts do not show yet (see
//! [`crate::ledger::overlay`]). A model request about to be sent, a subagent about to start or a compaction also
//! counts what the requests in flight hold ([`Ask`]): never its own, so a lone request under budget is never
//! refused on an estimate.

use crate::config::{Config, Reserve};
use crate::ledger::overlay;
use crate::ledger::state::{Ledger, SessionSpend};
use crate::ledger::store::Allowances;
use crate::policy::{self, Limits, Scope, Standing, Verdict};
use crate::pricing::{PriceTable, ResponseFacts, Speed};
use crate::usage::{Pico, Usage};
use chrono::{DateTime, NaiveDate, Utc};

/// What is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ask<'a> {
    /// A hook's event (a tool call, a prompt, a batch): the spend.
    Hook,
    /// A model request of the mod's `turn.step`, about to be sent: the spend and what every other request in flight
    /// holds.
    Step(&'a str),
    /// A subagent about to start, or a compaction: the spend and what every request in flight holds.
    Start,
    /// An engine send that is no step of its own (a retry, a side request): the spend.
    Send,
}

impl<'a> Ask<'a> {
    /// Whether what the requests in flight hold counts (`Some`), and whose not (the asking step's own).
    fn counts_in_flight(self) -> Option<Option<&'a str>> {
        match self {
            Ask::Hook | Ask::Send => None,
            Ask::Step(step) => Some(Some(step)),
            Ask::Start => Some(None),
        }
    }
}

/// One session's standing in the ledger.
pub(crate) struct Judge<'a> {
    pub ledger: &'a Ledger,
    pub allowances: &'a Allowances,
    pub config: &'a Config,
    pub session: &'a str,
    /// Today in `budget.timezone`.
    pub today: NaiveDate,
    /// Now: what the mod reported or holds counts for a limited time.
    pub now: DateTime<Utc>,
    /// The home directory, for `~/` in project globs.
    pub home: Option<&'a std::path::Path>,
}

/// What the session and the day have spent, for the budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Spent {
    pub session: Pico,
    pub day: Pico,
}

impl Judge<'_> {
    fn spend(&self) -> Option<&SessionSpend> {
        self.ledger.sessions.get(self.session)
    }

    pub(crate) fn limits(&self) -> Limits {
        let b = &self.config.budget;
        Limits::from_usd(b.session_usd, b.daily_usd, b.warn_at, self.allowances.extra_for(self.session))
    }

    /// What each scope has spent, with what `ask` counts in flight.
    pub(crate) fn spent(&self, ask: Ask) -> Spent {
        let per_response = self.config.budget.incomplete_output_tokens;
        let ledger = self.ledger;
        let today = self.today;
        let mut spent = Spent {
            session: Pico(0),
            day: ledger
                .day(today)
                .cost
                .saturating_add(ledger.day_estimate(today, per_response))
                .saturating_add(overlay::provisional_day(ledger, today, self.now)),
        };
        if let Some(s) = self.spend() {
            spent.session = s
                .total
                .cost
                .saturating_add(s.estimate(per_response, None))
                .saturating_add(overlay::provisional(s, None, self.now));
        }
        if let Some(except) = ask.counts_in_flight() {
            let held = self.spend().map_or(Pico(0), |s| overlay::held(s, except, self.now));
            spent.session = spent.session.saturating_add(held);
            spent.day = spent.day.saturating_add(overlay::held_day(ledger, self.session, except, self.now));
        }
        spent
    }

    /// Every budget in force for this session, for `ask`: the session's and the day's dollars, then every scope of
    /// [`crate::standings`] (the block, the week, the month, tokens, projects, models, the burn rate). This list is
    /// where a new source of limits adds its standings.
    pub(crate) fn standings(&self, ask: Ask) -> Vec<Standing> {
        let spent = self.spent(ask);
        let mut standings = policy::standings(spent.session, spent.day, &self.limits());
        standings.extend(crate::standings::more(&self.view()));
        standings
    }

    /// The view of this session that [`crate::standings`] judges.
    pub(crate) fn view(&self) -> crate::standings::View<'_> {
        crate::standings::View {
            ledger: self.ledger,
            config: self.config,
            session: Some(self.session),
            extra: self.allowances.extra_for(self.session),
            now: self.now,
            home: self.home,
        }
    }

    /// Allow, warn or breach, for `ask`.
    pub(crate) fn verdict(&self, ask: Ask) -> Verdict {
        policy::judge(self.standings(ask))
    }

    /// How much of a breached scope's spend is an estimate for responses whose final usage Claude Code never wrote,
    /// and for how many responses, if any.
    pub(crate) fn estimated_part(&self, scope: Scope) -> Option<(Pico, u64)> {
        let per_response = self.config.budget.incomplete_output_tokens;
        let (estimate, count) = match scope {
            Scope::Session => {
                let session = self.spend()?;
                (session.estimate(per_response, None), session.total.incomplete)
            }
            Scope::Day => (self.ledger.day_estimate(self.today, per_response), self.ledger.day(self.today).incomplete),
            _ => return None,
        };
        (estimate > Pico(0)).then_some((estimate, count))
    }

    /// What a model request about to be sent on `model` (if the mod said) holds while in flight, by
    /// `policy.reserve`.
    pub(crate) fn reservation(&self, model: Option<&str>, prices: &PriceTable, now: DateTime<Utc>) -> Pico {
        match self.config.policy.reserve {
            Reserve::Off => Pico(0),
            Reserve::Bound => next_response_bound(self.spend(), model, prices, now),
            Reserve::Last => match self.spend().map(|s| s.last_response).filter(|c| *c > Pico(0)) {
                Some(last) => last,
                // Nothing to go on yet: the bound (a lone request is never refused on it; see the module).
                None => next_response_bound(self.spend(), model, prices, now),
            },
        }
    }
}

/// The most Claude Code asks one response to write (`max_tokens` of 2.1.331 on Opus and Sonnet).
pub(crate) const MAX_OUTPUT_TOKENS: u64 = 128_000;

/// What the response being written could cost at most: its prompt is at least the last one's (priced as fresh
/// cache writes, the dearest way to send it) and its output at most `MAX_OUTPUT_TOKENS`; never less than the
/// largest response of the session so far. Priced as `model` when the asker knows it (the mod does), else as the
/// session's latest; a session with no response yet as the unknown model. With a budget correction, the table prices
/// the bound corrected too.
pub(crate) fn next_response_bound(
    spend: Option<&SessionSpend>,
    model: Option<&str>,
    prices: &PriceTable,
    now: DateTime<Utc>,
) -> Pico {
    let latest = spend.map(|s| s.last_model.as_str()).filter(|m| !m.is_empty());
    let model = model.filter(|m| !m.is_empty()).or(latest).unwrap_or("unknown");
    let usage = Usage {
        cache_creation_5m_tokens: spend.map(|s| s.last_prompt_tokens).unwrap_or(0),
        output_tokens: MAX_OUTPUT_TOKENS,
        ..Usage::default()
    };
    let facts =
        ResponseFacts { model, usage: &usage, speed: Speed::Standard, inference_geo: None, date: now.date_naive() };
    let bound = prices.price(&facts).cost;
    bound.max(spend.map(|s| s.max_response).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::state::{Provisional, Reservation};

    fn usd(x: f64) -> Pico {
        Pico::from_usd(x)
    }

    fn ledger() -> Ledger {
        let mut ledger = Ledger::new("UTC");
        let day = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let at = now();
        for (name, cost) in [("A", 0.5), ("B", 0.2)] {
            let s = ledger.sessions.entry(name.into()).or_default();
            s.total.cost = usd(cost);
            ledger.days.entry(day).or_default().cost += usd(cost);
        }
        let a = ledger.sessions.get_mut("A").unwrap();
        a.provisional.push(Provisional { cost: usd(0.1), day, at, ..Provisional::default() });
        a.reserved.push(Reservation { step: "mine".into(), amount: usd(0.3), at, ..Reservation::default() });
        a.reserved.push(Reservation { step: "other".into(), amount: usd(0.05), at, ..Reservation::default() });
        let b = ledger.sessions.get_mut("B").unwrap();
        b.reserved.push(Reservation { step: "b".into(), amount: usd(0.01), at, ..Reservation::default() });
        ledger
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_asker_counts_the_provisional_steps_and_only_requests_count_what_is_in_flight() {
        let (ledger, allowances) = (ledger(), Allowances::default());
        let mut config = Config::default();
        config.budget.session_usd = 1.0;
        config.budget.daily_usd = 1.0;
        let judge = Judge {
            ledger: &ledger,
            allowances: &allowances,
            config: &config,
            session: "A",
            today: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            now: now(),
            home: None,
        };
        assert_eq!(judge.spent(Ask::Hook), Spent { session: usd(0.6), day: usd(0.8) });
        assert_eq!(judge.spent(Ask::Send), judge.spent(Ask::Hook));
        assert_eq!(judge.spent(Ask::Step("mine")), Spent { session: usd(0.65), day: usd(0.86) }, "not its own");
        assert_eq!(judge.spent(Ask::Start), Spent { session: usd(0.95), day: usd(1.16) });
        assert!(matches!(judge.verdict(Ask::Start), Verdict::Breach(_)));
        assert!(!matches!(judge.verdict(Ask::Step("mine")), Verdict::Breach(_)));
        // Half an hour later, nothing the mod reported or held counts any more (the gate also prunes it).
        let later = Judge { now: now() + chrono::Duration::minutes(30), ..judge };
        assert_eq!(later.spent(Ask::Start), Spent { session: usd(0.5), day: usd(0.7) });
    }
}

//! Spend over time, from the report's counted buckets (the same numbers as `ccbreaker report`), and the anomalies
//! in it: an hour or a day that cost at least [`FACTOR`] times the median of the active hours or days before it,
//! with its cause broken down (sessions, models, subagents, and the cache breaks, loops and retries in it).

use super::{Category, Day, Finding, Options, Scope, Summary, slot_start};
use crate::report::collect::Collected;
use crate::report::summary::SLOT_MS;
use crate::usage::Pico;
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use std::collections::{BTreeMap, HashMap};

/// How many times its trailing median a window must cost.
pub(crate) const FACTOR: u64 = 10;
/// ... and at least this much (a spike from 2 cents to 30 is not worth a finding).
pub(crate) const MIN_USD: u64 = 1;
/// Trailing windows: the active days (hours) before it, and how many of them a median needs.
const TRAILING_DAYS: usize = 7;
const MIN_DAYS: usize = 3;
const TRAILING_HOURS: usize = 24;
const MIN_HOURS: usize = 6;
const HOUR_MS: i64 = 3_600_000;

/// One quarter hour of one file and model: the unit spend is kept in.
#[derive(Debug, Clone, Copy)]
struct Slice {
    slot: i64,
    session: usize,
    model: usize,
    subagent: bool,
    cost: Pico,
    tokens: u64,
}

/// The selected sessions' spend, by quarter hour, over all of history.
#[derive(Debug, Default)]
pub(crate) struct Spend {
    /// In the period.
    pub total: Pico,
    pub responses: u64,
    /// Models with spend in the period, most expensive first.
    pub models: Vec<String>,
    /// Per session with spend in the period: project, cost and responses in it.
    pub sessions: BTreeMap<String, (String, Pico, u64)>,
    session_names: Vec<String>,
    model_names: Vec<String>,
    slices: Vec<Slice>,
    zone: crate::zone::Zone,
    bounds: (i64, i64),
}

impl Spend {
    pub(crate) fn of(collected: &Collected, options: &Options) -> Spend {
        let mut spend = Spend { zone: options.zone, bounds: options.bounds(), ..Spend::default() };
        let mut sessions: HashMap<&str, usize> = HashMap::new();
        let mut models: HashMap<&str, usize> = HashMap::new();
        let mut by_model: HashMap<usize, Pico> = HashMap::new();
        let (from, to) = spend.bounds;
        for (file, counted) in collected.files.iter().zip(&collected.counted) {
            if !options.selects(&file.session, &file.project) {
                continue;
            }
            let session = *sessions.entry(&file.session).or_insert_with(|| {
                spend.session_names.push(file.session.clone());
                spend.session_names.len() - 1
            });
            for b in file.buckets.iter().chain(counted) {
                let name = file.models[b.model as usize].as_str();
                let model = *models.entry(name).or_insert_with(|| {
                    spend.model_names.push(name.to_owned());
                    spend.model_names.len() - 1
                });
                let start = b.slot * SLOT_MS;
                if start >= from && start < to {
                    spend.total += b.cost;
                    spend.responses += b.responses;
                    *by_model.entry(model).or_default() += b.cost;
                    let row = spend.sessions.entry(file.session.clone()).or_insert((file.project.clone(), Pico(0), 0));
                    row.1 += b.cost;
                    row.2 += b.responses;
                }
                spend.slices.push(Slice {
                    slot: b.slot,
                    session,
                    model,
                    subagent: file.subagent,
                    cost: b.cost,
                    tokens: b.usage.total_tokens(),
                });
            }
        }
        let mut ranked: Vec<(usize, Pico)> = by_model.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(spend.model_names[a.0].cmp(&spend.model_names[b.0])));
        spend.models = ranked.into_iter().map(|(m, _)| spend.model_names[m].clone()).collect();
        spend
    }

    fn in_period(&self, at_ms: i64) -> bool {
        at_ms >= self.bounds.0 && at_ms < self.bounds.1
    }

    /// The local day a slice falls in, and the UTC instant its local hour starts at.
    fn day_and_hour(&self, slot: i64) -> (NaiveDate, i64) {
        let start = slot_start(slot);
        let local = self.zone.to_local(start);
        let hour = start.timestamp_millis() - i64::from(local.minute()) * 60_000;
        (local.date_naive(), hour)
    }

    /// Spend per local day and per local hour (its UTC start), over all of history.
    fn windows(&self) -> (BTreeMap<NaiveDate, Pico>, BTreeMap<i64, Pico>) {
        let mut days: BTreeMap<NaiveDate, Pico> = BTreeMap::new();
        let mut hours: BTreeMap<i64, Pico> = BTreeMap::new();
        for s in &self.slices {
            let (day, hour) = self.day_and_hour(s.slot);
            *days.entry(day).or_default() += s.cost;
            *hours.entry(hour).or_default() += s.cost;
        }
        (days, hours)
    }

    /// The days of the period with spend, per model (indexes into [`Spend::models`]), anomalies marked.
    pub(crate) fn days(&self, anomalies: &Summary) -> Vec<Day> {
        let mut days: BTreeMap<NaiveDate, HashMap<usize, Pico>> = BTreeMap::new();
        for s in self.slices.iter().filter(|s| self.in_period(s.slot * SLOT_MS)) {
            let model = self.models.iter().position(|m| *m == self.model_names[s.model]).unwrap_or(0);
            *days.entry(self.day_and_hour(s.slot).0).or_default().entry(model).or_default() += s.cost;
        }
        let flagged: Vec<i64> = anomalies.findings.iter().filter(|f| f.scope == Scope::Day).map(|f| f.at_ms).collect();
        days.into_iter()
            .map(|(date, models)| {
                let mut models: Vec<(usize, Pico)> = models.into_iter().collect();
                models.sort_unstable();
                let total = models.iter().fold(Pico(0), |sum, (_, c)| sum.saturating_add(*c));
                let anomaly = flagged.contains(&self.zone.start_of(date).timestamp_millis());
                Day { date, models, total, anomaly }
            })
            .collect()
    }

    /// Spend per hour of the period, anomalies marked.
    pub(crate) fn hours(&self, anomalies: &Summary) -> Vec<(DateTime<Utc>, Pico, bool)> {
        let (_, hours) = self.windows();
        let flagged: Vec<i64> = anomalies.findings.iter().filter(|f| f.scope == Scope::Hour).map(|f| f.at_ms).collect();
        hours
            .into_iter()
            .filter(|(hour, _)| self.in_period(*hour))
            .map(|(hour, cost)| {
                (DateTime::from_timestamp_millis(hour).unwrap_or_default(), cost, flagged.contains(&hour))
            })
            .collect()
    }
}

/// The anomalies of the period. `findings` are the other categories' (for the causes).
pub(crate) fn find(spend: &Spend, findings: &[Finding], options: &Options) -> Vec<Finding> {
    let (days, hours) = spend.windows();
    let mut out = Vec::new();
    let zone = options.zone;
    let mut anomalous_days: Vec<NaiveDate> = Vec::new();
    let day_list: Vec<(NaiveDate, Pico)> = days.into_iter().collect();
    for (i, &(day, cost)) in day_list.iter().enumerate() {
        let start = zone.start_of(day).timestamp_millis();
        if !spend.in_period(start) {
            continue;
        }
        let trailing: Vec<Pico> = day_list[i.saturating_sub(TRAILING_DAYS)..i].iter().map(|d| d.1).collect();
        if let Some(median) = spike(cost, &trailing, MIN_DAYS) {
            let end = zone.start_of(day + Duration::days(1)).timestamp_millis();
            anomalous_days.push(day);
            out.push(anomaly(spend, findings, (start, end), Scope::Day, &day.to_string(), cost, median));
        }
    }
    let hour_list: Vec<(i64, Pico)> = hours.into_iter().collect();
    for (i, &(hour, cost)) in hour_list.iter().enumerate() {
        let local = zone.to_local(DateTime::from_timestamp_millis(hour).unwrap_or_default());
        if !spend.in_period(hour) || anomalous_days.contains(&local.date_naive()) {
            continue;
        }
        let trailing: Vec<Pico> = hour_list[i.saturating_sub(TRAILING_HOURS)..i].iter().map(|h| h.1).collect();
        if let Some(median) = spike(cost, &trailing, MIN_HOURS) {
            let label = local.format("%Y-%m-%d %H:00").to_string();
            out.push(anomaly(spend, findings, (hour, hour + HOUR_MS), Scope::Hour, &label, cost, median));
        }
    }
    out
}

/// The trailing median, if `cost` is a spike above it.
fn spike(cost: Pico, trailing: &[Pico], needed: usize) -> Option<Pico> {
    if trailing.len() < needed {
        return None;
    }
    let mut sorted = trailing.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let median = if n % 2 == 1 { sorted[n / 2] } else { Pico((sorted[n / 2 - 1].0 + sorted[n / 2].0) / 2) };
    (cost.0 >= median.0.saturating_mul(FACTOR) && cost.0 >= MIN_USD * Pico::PER_USD).then_some(median)
}

/// An anomalous window's finding, its cause broken down.
fn anomaly(
    spend: &Spend,
    findings: &[Finding],
    (start, end): (i64, i64),
    scope: Scope,
    label: &str,
    cost: Pico,
    median: Pico,
) -> Finding {
    let mut sessions: HashMap<usize, Pico> = HashMap::new();
    let mut models: HashMap<usize, Pico> = HashMap::new();
    let (mut subagents, mut tokens) = (Pico(0), 0u64);
    for s in spend.slices.iter().filter(|s| s.slot * SLOT_MS >= start && s.slot * SLOT_MS < end) {
        *sessions.entry(s.session).or_default() += s.cost;
        *models.entry(s.model).or_default() += s.cost;
        if s.subagent {
            subagents += s.cost;
        }
        tokens += s.tokens;
    }
    let share = |part: Pico| if cost.0 == 0 { 0.0 } else { part.0 as f64 * 100.0 / cost.0 as f64 };
    let top =
        |map: &HashMap<usize, Pico>| map.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(k, v)| (*k, *v));
    let (session, session_cost) = top(&sessions).unwrap_or((0, Pico(0)));
    let (model, model_cost) = top(&models).unwrap_or((0, Pico(0)));
    let session_name = spend.session_names.get(session).cloned().unwrap_or_default();
    let mut causes = vec![
        format!("session {} {:.0}%", short(&session_name), share(session_cost)),
        format!("{} {:.0}%", spend.model_names.get(model).map_or("?", String::as_str), share(model_cost)),
    ];
    if subagents.0 > 0 {
        causes.push(format!("subagents {:.0}%", share(subagents)));
    }
    for (category, one, many) in [
        (Category::CacheBreaks, "cache break", "cache breaks"),
        (Category::CacheWaste, "expired cache", "expired caches"),
        (Category::Loops, "loop", "loops"),
        (Category::Retries, "retry", "retries"),
    ] {
        let inside: Vec<&Finding> =
            findings.iter().filter(|f| f.category == category && f.at_ms >= start && f.at_ms < end).collect();
        if !inside.is_empty() {
            let total = inside.iter().fold(Pico(0), |sum, f| sum.saturating_add(f.cost));
            let noun = if inside.len() == 1 { one } else { many };
            causes.push(format!("{} {noun} ({total})", inside.len()));
        }
    }
    let times = if median.0 == 0 { "no spend".to_owned() } else { format!("{:.0}x", cost.0 as f64 / median.0 as f64) };
    Finding {
        category: Category::Anomalies,
        session: session_name,
        at_ms: start,
        scope,
        detail: format!("{label}: {cost}, {times} the trailing median of {median}: {}", causes.join(", ")),
        tokens,
        cost: cost.saturating_sub(median),
    }
}

/// A session id's first 8 characters: enough to find it.
pub(crate) fn short(session: &str) -> &str {
    session.get(..8).unwrap_or(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(n: &[u64]) -> Vec<Pico> {
        n.iter().map(|d| Pico(d * Pico::PER_USD / 100)).collect()
    }

    #[test]
    fn a_spike_is_ten_times_the_trailing_median_and_a_dollar() {
        let trailing = usd(&[10, 30, 20, 500]); // cents: the median is 25 cents
        assert_eq!(spike(usd(&[250])[0], &trailing, 3), Some(usd(&[25])[0]));
        assert_eq!(spike(usd(&[249])[0], &trailing, 3), None, "under ten times");
        assert_eq!(spike(usd(&[90])[0], &usd(&[1, 2, 3]), 3), None, "under a dollar");
        assert_eq!(spike(usd(&[1_000])[0], &usd(&[1, 2]), 3), None, "too little history");
    }
}

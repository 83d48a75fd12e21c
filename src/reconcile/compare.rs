//! The comparison itself, pure: the local estimate and the bill joined per UTC day × model × token class (and per
//! session when the bill names sessions), ratios and USD differences, what is over `reconcile.alert_ratio`, a
//! step up in billed input per request that the transcripts do not show (the "overhead" pattern), and the
//! trailing factors the budget correction applies.

use super::{Bill, CLASSES, Cell, Class, RowKey};
use crate::config::Reconcile;
use crate::correction::{Factors, ModelFactor};
use crate::pricing::{PriceTable, ResponseFacts, Speed};
use crate::usage::Usage;
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What a comparison needs besides the two sides.
pub(crate) struct Options<'a> {
    pub first: NaiveDate,
    pub last: NaiveDate,
    /// Today (UTC): its bill is not complete yet, so it counts for neither factors nor the overhead search.
    pub today: NaiveDate,
    pub config: &'a Reconcile,
    pub prices: &'a PriceTable,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Comparison {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub alert_ratio: f64,
    /// The bill had no dollars (a usage export, or the legacy cost report that cannot be narrowed to API keys):
    /// billed USD is its tokens at list price.
    pub billed_usd_estimated: bool,
    pub totals: Pair,
    pub days: Vec<DayRow>,
    /// `None` when the bill names no sessions.
    pub sessions: Option<Vec<SessionRow>>,
    pub flags: Vec<Flag>,
    pub overhead: Vec<Overhead>,
}

/// Local and billed USD, their ratio (billed / local) and difference (billed - local).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Pair {
    pub local_usd: f64,
    pub billed_usd: Option<f64>,
    pub ratio: Option<f64>,
    pub diff_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DayRow {
    pub date: NaiveDate,
    /// Whether the bill covers this day at all (a day outside it has no billed figures, and is never flagged).
    pub billed: bool,
    #[serde(flatten)]
    pub pair: Pair,
    pub flagged: bool,
    pub models: Vec<ModelRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ModelRow {
    pub model: String,
    #[serde(flatten)]
    pub pair: Pair,
    pub flagged: bool,
    pub local_requests: u64,
    /// Only the analytics endpoints count requests.
    pub billed_requests: Option<u64>,
    /// Prompt tokens (input, cache writes, cache reads) per request.
    pub local_prompt_per_request: Option<f64>,
    pub billed_prompt_per_request: Option<f64>,
    pub classes: Vec<ClassRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ClassRow {
    pub class: &'static str,
    /// Tokens (web-search requests for `web_search`).
    pub local_tokens: u64,
    pub billed_tokens: Option<u64>,
    pub token_ratio: Option<f64>,
    pub local_usd: f64,
    pub billed_usd: Option<f64>,
    pub diff_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SessionRow {
    pub session_id: String,
    #[serde(flatten)]
    pub pair: Pair,
    pub flagged: bool,
    pub local_requests: u64,
    pub billed_requests: Option<u64>,
    /// The bill names the session but no transcript here has it (another machine, a deleted transcript).
    pub only_billed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Flag {
    /// `ratio` (billed/local at or over the threshold), `billed_without_local`, `session` or `overhead`.
    pub kind: &'static str,
    pub date: Option<NaiveDate>,
    /// `None` for a whole day.
    pub model: Option<String>,
    pub session: Option<String>,
    pub ratio: Option<f64>,
    pub detail: String,
}

/// A step up in billed prompt tokens per request that the transcripts do not show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Overhead {
    pub model: String,
    /// The first day at the new level.
    pub date: NaiveDate,
    /// Billed minus local prompt tokens per request, on average, before and from `date`.
    pub gap_before: f64,
    pub gap_after: f64,
    pub billed_prompt_per_request_before: f64,
    pub billed_prompt_per_request_after: f64,
}

/// Rounds USD in pico-dollars to a millionth of a cent, as every JSON amount of ccbreaker.
fn usd(pico: i64) -> f64 {
    (pico / 10_000) as f64 / 100_000_000.0
}

fn ratio(billed: i64, local: i64) -> Option<f64> {
    (local > 0).then(|| ((billed as f64 / local as f64) * 10_000.0).round() / 10_000.0)
}

fn pair(local: i64, billed: Option<i64>) -> Pair {
    Pair {
        local_usd: usd(local),
        billed_usd: billed.map(usd),
        ratio: billed.and_then(|b| ratio(b, local)),
        diff_usd: billed.map(|b| usd(b.saturating_sub(local))),
    }
}

/// The price of `tokens` of one class at `model`'s list rates: what a bill without dollars is estimated at.
fn list_price(prices: &PriceTable, model: &str, date: NaiveDate, class: Class, tokens: u64) -> i64 {
    let usage = match class {
        Class::Input => Usage { input_tokens: tokens, ..Usage::default() },
        Class::CacheWrite5m => Usage { cache_creation_5m_tokens: tokens, ..Usage::default() },
        Class::CacheWrite1h => Usage { cache_creation_1h_tokens: tokens, ..Usage::default() },
        Class::CacheRead => Usage { cache_read_tokens: tokens, ..Usage::default() },
        Class::Output => Usage { output_tokens: tokens, ..Usage::default() },
        Class::WebSearch => Usage { web_search_requests: tokens, ..Usage::default() },
        Class::Other => return 0,
    };
    let facts = ResponseFacts { model, usage: &usage, speed: Speed::Standard, inference_geo: None, date };
    i64::try_from(prices.price(&facts).cost.0).unwrap_or(i64::MAX)
}

/// Sums `bill`'s rows per (day, model), and per session.
fn by_day_model(bill: &Bill) -> BTreeMap<(NaiveDate, String), Cell> {
    let mut out: BTreeMap<(NaiveDate, String), Cell> = BTreeMap::new();
    for (RowKey { date, model, .. }, cell) in &bill.rows {
        out.entry((*date, model.clone())).or_default().add(cell);
    }
    out
}

fn by_session(bill: &Bill) -> BTreeMap<String, Cell> {
    let mut out: BTreeMap<String, Cell> = BTreeMap::new();
    for (key, cell) in &bill.rows {
        if let Some(session) = &key.session {
            out.entry(session.clone()).or_default().add(cell);
        }
    }
    out
}

/// A bill cell's dollars per class: as billed, or its tokens at list price when the bill has no dollars.
fn billed_usd(bill: &Bill, cell: &Cell, prices: &PriceTable, model: &str, date: NaiveDate) -> [i64; 7] {
    if bill.has_usd {
        return cell.usd;
    }
    let mut usd = [0i64; 7];
    for class in CLASSES {
        usd[class.index()] = list_price(prices, model, date, class, cell.tokens[class.index()]);
    }
    usd
}

/// Joins the local estimate with the bill (`None`: there is no bill, only the estimate).
pub(crate) fn compare(local: &Bill, bill: Option<&Bill>, options: &Options) -> Comparison {
    let config = options.config;
    let min_usd = (config.min_day_usd * 1e12) as i64;
    let locals = by_day_model(local);
    let billed = bill.map(by_day_model).unwrap_or_default();
    let mut days = Vec::new();
    let mut flags = Vec::new();
    let (mut total_local, mut total_billed, mut any_billed) = (0i64, 0i64, false);
    let mut date = options.first;
    while date <= options.last {
        let covered = bill.is_some_and(|b| b.days.contains(&date));
        let models: BTreeSet<&String> =
            locals.keys().chain(billed.keys()).filter(|(d, _)| *d == date).map(|(_, m)| m).collect();
        let mut rows = Vec::new();
        let (mut day_local, mut day_billed) = (0i64, 0i64);
        for model in models {
            let key = (date, model.clone());
            let l = locals.get(&key).copied().unwrap_or_default();
            let b = billed.get(&key).copied();
            let b_usd = match (bill, covered) {
                (Some(bill), true) => Some(billed_usd(bill, &b.unwrap_or_default(), options.prices, model, date)),
                _ => None,
            };
            let b_total = b_usd.map(|u| u.iter().fold(0i64, |a, x| a.saturating_add(*x)));
            let l_total = l.usd_total();
            day_local += l_total;
            day_billed += b_total.unwrap_or(0);
            let row_pair = pair(l_total, b_total);
            let significant = l_total.max(b_total.unwrap_or(0)) >= min_usd;
            let over = row_pair.ratio.is_some_and(|r| r >= config.alert_ratio);
            let billed_only = l_total == 0 && b_total.is_some_and(|b| b > 0);
            let flagged = significant && (over || billed_only);
            if flagged {
                flags.push(Flag {
                    kind: if billed_only { "billed_without_local" } else { "ratio" },
                    date: Some(date),
                    model: Some(model.clone()),
                    session: None,
                    ratio: row_pair.ratio,
                    detail: if billed_only {
                        format!("billed ${:.2} with no usage in the transcripts", usd(b_total.unwrap_or(0)))
                    } else {
                        format!(
                            "billed ${:.2}, estimated ${:.2} ({:.2}x)",
                            usd(b_total.unwrap_or(0)),
                            usd(l_total),
                            row_pair.ratio.unwrap_or(0.0)
                        )
                    },
                });
            }
            let has_tokens = bill.is_some_and(|b| b.has_tokens) && covered;
            let has_requests = bill.is_some_and(|b| b.has_requests) && covered;
            let b_cell = b.unwrap_or_default();
            let classes = CLASSES
                .iter()
                .filter(|c| {
                    l.tokens[c.index()] > 0
                        || l.usd[c.index()] != 0
                        || b_cell.tokens[c.index()] > 0
                        || b_cell.usd[c.index()] != 0
                })
                .map(|c| {
                    let i = c.index();
                    let billed_tokens = has_tokens.then_some(b_cell.tokens[i]);
                    ClassRow {
                        class: c.name(),
                        local_tokens: l.tokens[i],
                        billed_tokens,
                        token_ratio: billed_tokens.and_then(|b| ratio(b as i64, l.tokens[i] as i64)),
                        local_usd: usd(l.usd[i]),
                        billed_usd: b_usd.map(|u| usd(u[i])),
                        diff_usd: b_usd.map(|u| usd(u[i].saturating_sub(l.usd[i]))),
                    }
                })
                .collect();
            let billed_requests = has_requests.then_some(b_cell.requests);
            let requests = billed_requests.filter(|r| *r > 0).unwrap_or(l.requests);
            let per_request =
                |tokens: u64| (requests > 0).then(|| (tokens as f64 / requests as f64 * 10.0).round() / 10.0);
            rows.push(ModelRow {
                model: model.clone(),
                pair: row_pair,
                flagged,
                local_requests: l.requests,
                billed_requests,
                local_prompt_per_request: per_request(l.prompt_tokens()),
                billed_prompt_per_request: if has_tokens { per_request(b_cell.prompt_tokens()) } else { None },
                classes,
            });
        }
        rows.sort_by(|a, b| b.pair.local_usd.total_cmp(&a.pair.local_usd).then(a.model.cmp(&b.model)));
        total_local += day_local;
        if covered {
            total_billed += day_billed;
            any_billed = true;
        }
        let day_pair = pair(day_local, covered.then_some(day_billed));
        let day_flagged = day_local.max(if covered { day_billed } else { 0 }) >= min_usd
            && (day_pair.ratio.is_some_and(|r| r >= config.alert_ratio)
                || (day_local == 0 && covered && day_billed > 0));
        if day_flagged {
            flags.push(Flag {
                kind: if day_local == 0 { "billed_without_local" } else { "ratio" },
                date: Some(date),
                model: None,
                session: None,
                ratio: day_pair.ratio,
                detail: format!(
                    "the day: billed ${:.2}, estimated ${:.2}{}",
                    usd(day_billed),
                    usd(day_local),
                    day_pair.ratio.map(|r| format!(" ({r:.2}x)")).unwrap_or_default()
                ),
            });
        }
        if !rows.is_empty() || covered {
            days.push(DayRow { date, billed: covered, pair: day_pair, flagged: day_flagged, models: rows });
        }
        date = date.succ_opt().unwrap_or(date);
        if date == NaiveDate::MAX {
            break;
        }
    }
    let sessions = bill.filter(|b| b.has_sessions).map(|bill| sessions(local, bill, options, min_usd, &mut flags));
    let overhead = bill.map(|bill| overhead(&locals, &billed, bill, options)).unwrap_or_default();
    for o in &overhead {
        flags.push(Flag {
            kind: "overhead",
            date: Some(o.date),
            model: Some(o.model.clone()),
            session: None,
            ratio: None,
            detail: format!(
                "billed prompt per request rose by {:.0} tokens from this day ({:.0} -> {:.0}), not in the transcripts",
                o.gap_after - o.gap_before,
                o.billed_prompt_per_request_before,
                o.billed_prompt_per_request_after
            ),
        });
    }
    Comparison {
        first: options.first,
        last: options.last,
        alert_ratio: config.alert_ratio,
        billed_usd_estimated: bill.is_some_and(|b| !b.has_usd),
        totals: pair(total_local, any_billed.then_some(total_billed)),
        days,
        sessions,
        flags,
        overhead,
    }
}

fn sessions(local: &Bill, bill: &Bill, options: &Options, min_usd: i64, flags: &mut Vec<Flag>) -> Vec<SessionRow> {
    let locals = by_session(local);
    let billed = by_session(bill);
    let ids: BTreeSet<&String> = locals.keys().chain(billed.keys()).collect();
    let mut rows: Vec<SessionRow> = ids
        .into_iter()
        .map(|id| {
            let l = locals.get(id).copied().unwrap_or_default();
            let b = billed.get(id).copied().unwrap_or_default();
            // A bill without dollars per row would need each day's rates: sessions are compared on dollars only.
            let b_total = bill.has_usd.then(|| b.usd_total());
            let p = pair(l.usd_total(), b_total);
            let significant = l.usd_total().max(b_total.unwrap_or(0)) >= min_usd;
            let flagged = significant && p.ratio.is_some_and(|r| r >= options.config.alert_ratio);
            if flagged {
                flags.push(Flag {
                    kind: "session",
                    date: None,
                    model: None,
                    session: Some(id.clone()),
                    ratio: p.ratio,
                    detail: format!(
                        "session billed ${:.2}, estimated ${:.2}",
                        b_total.map(usd).unwrap_or(0.0),
                        usd(l.usd_total())
                    ),
                });
            }
            SessionRow {
                session_id: id.clone(),
                pair: p,
                flagged,
                local_requests: l.requests,
                billed_requests: bill.has_requests.then_some(b.requests),
                only_billed: !locals.contains_key(id),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &SessionRow| r.pair.billed_usd.unwrap_or(0.0).max(r.pair.local_usd);
        key(b).total_cmp(&key(a)).then(a.session_id.cmp(&b.session_id))
    });
    rows
}

/// Days on each side of a step, at least.
const STEP_SIDE_DAYS: usize = 2;

/// Per model, the day from which billed prompt tokens per request exceed the transcripts' by at least
/// `reconcile.overhead_tokens` more than before: the split of the series of daily gaps (billed minus local prompt
/// tokens per request) with the largest rise, kept when the rise is that large and at least three times the spread
/// within the two sides.
fn overhead(
    locals: &BTreeMap<(NaiveDate, String), Cell>,
    billed: &BTreeMap<(NaiveDate, String), Cell>,
    bill: &Bill,
    options: &Options,
) -> Vec<Overhead> {
    if !bill.has_tokens {
        return Vec::new();
    }
    let models: BTreeSet<&String> = locals.keys().map(|(_, m)| m).collect();
    let mut found = Vec::new();
    for model in models {
        // (day, gap, billed prompt per request)
        let series: Vec<(NaiveDate, f64, f64)> = locals
            .iter()
            .filter(|((d, m), _)| m == model && *d < options.today && bill.days.contains(d))
            .filter_map(|((d, _), l)| {
                let b = billed.get(&(*d, model.clone())).copied().unwrap_or_default();
                let requests = if bill.has_requests && b.requests > 0 { b.requests } else { l.requests };
                (requests > 0).then(|| {
                    let per = |t: u64| t as f64 / requests as f64;
                    (*d, per(b.prompt_tokens()) - per(l.prompt_tokens()), per(b.prompt_tokens()))
                })
            })
            .collect();
        if series.len() < 2 * STEP_SIDE_DAYS {
            continue;
        }
        let mut best: Option<(usize, f64, f64, f64)> = None;
        for split in STEP_SIDE_DAYS..=series.len() - STEP_SIDE_DAYS {
            let (before, after) = series.split_at(split);
            let mean = |s: &[(NaiveDate, f64, f64)]| s.iter().map(|x| x.1).sum::<f64>() / s.len() as f64;
            let (m1, m2) = (mean(before), mean(after));
            let spread = |s: &[(NaiveDate, f64, f64)], m: f64| s.iter().map(|x| (x.1 - m).powi(2)).sum::<f64>();
            let sd = ((spread(before, m1) + spread(after, m2)) / (series.len() - 2).max(1) as f64).sqrt();
            let rise = m2 - m1;
            if best.is_none_or(|(_, r, _, _)| rise > r) {
                best = Some((split, rise, m1, sd));
            }
        }
        let Some((split, rise, gap_before, sd)) = best else { continue };
        if rise >= options.config.overhead_tokens as f64 && rise >= 3.0 * sd {
            let (before, after) = series.split_at(split);
            let mean_billed = |s: &[(NaiveDate, f64, f64)]| s.iter().map(|x| x.2).sum::<f64>() / s.len() as f64;
            let round = |x: f64| (x * 10.0).round() / 10.0;
            found.push(Overhead {
                model: model.clone(),
                date: after[0].0,
                gap_before: round(gap_before),
                gap_after: round(gap_before + rise),
                billed_prompt_per_request_before: round(mean_billed(before)),
                billed_prompt_per_request_after: round(mean_billed(after)),
            });
        }
    }
    found
}

/// The trailing billed/local factor of each model: over the last `reconcile.window_days` complete days of the
/// comparison, from the days on which the model's local or billed spend reached `reconcile.min_day_usd`, clamped
/// to `min_factor..max_factor`. `None` when no complete day of the bill is in the comparison.
pub(crate) fn factors(
    local: &Bill,
    bill: &Bill,
    options: &Options,
    source: String,
    now: DateTime<Utc>,
) -> Option<Factors> {
    let config = options.config;
    let last = options.last.min(options.today.pred_opt()?);
    let first = options.first.max(last.checked_sub_days(Days::new(config.window_days.saturating_sub(1)))?);
    if first > last {
        return None;
    }
    let min_usd = (config.min_day_usd * 1e12) as i64;
    let locals = by_day_model(local);
    let billed = by_day_model(bill);
    let mut sums: BTreeMap<String, (i64, i64, u32)> = BTreeMap::new();
    let (mut all_local, mut all_billed) = (0i64, 0i64);
    for ((date, model), l) in locals.range((first, String::new())..) {
        if *date > last || !bill.days.contains(date) {
            continue;
        }
        let b = billed.get(&(*date, model.clone())).copied().unwrap_or_default();
        let b_total = billed_usd(bill, &b, options.prices, model, *date).iter().fold(0i64, |a, x| a.saturating_add(*x));
        if l.usd_total().max(b_total) < min_usd || l.usd_total() <= 0 {
            continue;
        }
        let entry = sums.entry(model.clone()).or_default();
        entry.0 += l.usd_total();
        entry.1 += b_total;
        entry.2 += 1;
        all_local += l.usd_total();
        all_billed += b_total;
    }
    let clamp = |l: i64, b: i64| (b as f64 / l as f64).clamp(config.min_factor, config.max_factor);
    let mut factors = Factors::new(now, source, first, last);
    for (model, (l, b, days)) in sums {
        let factor = (clamp(l, b) * 10_000.0).round() / 10_000.0;
        factors.models.insert(model, ModelFactor { factor, days, local_usd: usd(l), billed_usd: usd(b) });
    }
    factors.fallback = (all_local > 0).then(|| (clamp(all_local, all_billed) * 10_000.0).round() / 10_000.0);
    Some(factors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    /// `requests` requests of `input` uncached input tokens each, at $1 a request.
    fn cell(requests: u64, input: u64, usd_each: f64) -> Cell {
        let mut c = Cell { requests, ..Cell::default() };
        c.tokens[Class::Input.index()] = requests * input;
        c.usd[Class::Input.index()] = (requests as f64 * usd_each * 1e12) as i64;
        c
    }

    fn sides(days: std::ops::RangeInclusive<u32>, billed: impl Fn(u32, &str) -> Cell) -> (Bill, Bill) {
        let (mut local, mut bill) = (Bill::default(), Bill { has_tokens: true, has_usd: true, ..Bill::default() });
        for d in days {
            for model in ["claude-opus-4-5", "claude-sonnet-5"] {
                let key = RowKey { date: day(d), model: model.to_owned(), session: None };
                local.add(key.clone(), &cell(10, 1_000, 1.0));
                bill.add(key, &billed(d, model));
            }
        }
        (local, bill)
    }

    fn options<'a>(config: &'a Reconcile, prices: &'a PriceTable) -> Options<'a> {
        Options { first: day(1), last: day(10), today: day(11), config, prices }
    }

    #[test]
    fn a_model_billed_over_the_threshold_is_flagged_and_its_factor_measured() {
        let (config, prices) = (Reconcile::default(), PriceTable::builtin());
        let (local, bill) =
            sides(1..=10, |_, m| if m == "claude-opus-4-5" { cell(10, 1_000, 1.2) } else { cell(10, 1_000, 1.0) });
        let c = compare(&local, Some(&bill), &options(&config, &prices));
        let flagged: Vec<_> =
            c.flags.iter().map(|f| (f.kind, f.date.unwrap().day0() + 1, f.model.as_deref())).collect();
        let expected: Vec<_> = (1..=10).map(|d| ("ratio", d, Some("claude-opus-4-5"))).collect();
        assert_eq!(flagged, expected, "day totals are 1.1x: not flagged");
        assert_eq!(c.totals.ratio, Some(1.1));
        let f = factors(&local, &bill, &options(&config, &prices), "test".to_owned(), DateTime::UNIX_EPOCH).unwrap();
        assert_eq!((f.first_day, f.last_day), (day(1), day(10)));
        assert_eq!(f.models["claude-opus-4-5"].factor, 1.2);
        assert_eq!(f.models["claude-sonnet-5"].factor, 1.0);
        assert_eq!(f.fallback, Some(1.1));
    }

    #[test]
    fn a_step_in_billed_input_per_request_is_found_on_its_day() {
        let (config, prices) = (Reconcile::default(), PriceTable::builtin());
        let (local, bill) =
            sides(
                1..=10,
                |d, m| if m == "claude-sonnet-5" && d >= 6 { cell(10, 21_000, 1.0) } else { cell(10, 1_000, 1.0) },
            );
        let c = compare(&local, Some(&bill), &options(&config, &prices));
        assert_eq!(c.overhead.len(), 1, "{:?}", c.overhead);
        let o = &c.overhead[0];
        assert_eq!((o.model.as_str(), o.date), ("claude-sonnet-5", day(6)));
        assert_eq!((o.gap_before, o.gap_after), (0.0, 20_000.0));
        assert_eq!((o.billed_prompt_per_request_before, o.billed_prompt_per_request_after), (1_000.0, 21_000.0));
    }

    #[test]
    fn noise_is_not_a_step_and_a_day_outside_the_bill_is_not_flagged() {
        let (config, prices) = (Reconcile::default(), PriceTable::builtin());
        let (local, mut bill) =
            sides(1..=10, |d, _| if d % 2 == 0 { cell(10, 9_000, 1.0) } else { cell(10, 1_000, 1.0) });
        bill.days.remove(&day(3));
        let c = compare(&local, Some(&bill), &options(&config, &prices));
        assert!(c.overhead.is_empty(), "{:?}", c.overhead);
        let third = c.days.iter().find(|d| d.date == day(3)).unwrap();
        assert_eq!((third.billed, third.pair.billed_usd, third.flagged), (false, None, false));
    }
}

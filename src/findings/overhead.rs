//! Overhead creep: the fixed part of every request (system prompt, tool and MCP definitions, CLAUDE.md and memory
//! files) is about the smallest prompt a project's main sessions send in a day. A step up from one active day to
//! the next (at most a week later) is a finding, priced as the step's tokens in every later request of that project for as long as the
//! step lasts (read from the cache, as a fixed prefix is).

use super::view::{Taken, View, without};
use super::{Category, Finding, Options, Scope};
use crate::text::thousands;
use crate::usage::Pico;
use chrono::{DateTime, NaiveDate};
use std::collections::{BTreeMap, HashMap};

/// A step smaller than this is noise (a longer first prompt, a different memory file).
pub(crate) const STEP_TOKENS: u64 = 5_000;
/// A day is compared with the project's previous active day at most this many days before it.
pub(crate) const LOOKBACK_DAYS: i64 = 7;

/// One project's day: its smallest prompt, and its requests (view and request indexes).
type ProjectDay = (u64, Vec<(usize, usize)>);

/// The findings, and the smallest prompt of the main sessions per day of the period.
pub(crate) fn find(views: &[View], options: &Options) -> (Vec<Finding>, Vec<(NaiveDate, u64)>) {
    let zone = options.zone;
    let date = |at_ms: i64| zone.date_of(DateTime::from_timestamp_millis(at_ms).unwrap_or_default());
    // Per project, per day: the smallest prompt, and the requests (view, index).
    let mut projects: BTreeMap<&str, BTreeMap<NaiveDate, ProjectDay>> = BTreeMap::new();
    let mut series: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    let (from, to) = options.bounds();
    for (vi, v) in views.iter().enumerate().filter(|(_, v)| !v.thread.subagent && !v.thread.compaction) {
        for (ri, r) in v.requests().iter().enumerate().filter(|(_, r)| r.counted) {
            let day = date(r.at_ms);
            let prompt = r.usage.prompt_tokens();
            let entry = projects.entry(&v.thread.project).or_default().entry(day).or_insert((u64::MAX, Vec::new()));
            entry.0 = entry.0.min(prompt);
            entry.1.push((vi, ri));
            if r.at_ms >= from && r.at_ms < to {
                let min = series.entry(day).or_insert(u64::MAX);
                *min = (*min).min(prompt);
            }
        }
    }
    let mut findings = Vec::new();
    for (project, days) in &projects {
        let days: Vec<(&NaiveDate, &ProjectDay)> = days.iter().collect();
        for (k, pair) in days.windows(2).enumerate() {
            let ((prev_day, (prev, _)), (day, (min, _))) = (pair[0], pair[1]);
            if *min < prev + STEP_TOKENS || min * 5 < prev * 6 || (*day - *prev_day).num_days() > LOOKBACK_DAYS {
                continue;
            }
            let step = min - prev;
            // The requests of every day the step lasts, by session.
            let mut sessions: HashMap<&str, (i64, u64, Pico)> = HashMap::new();
            for (_, (day_min, requests)) in &days[k + 1..] {
                if *day_min < prev + step / 2 {
                    break;
                }
                for &(vi, ri) in requests {
                    let v = &views[vi];
                    let r = &v.requests()[ri];
                    let entry = sessions.entry(&v.thread.session).or_insert((r.at_ms, 0, Pico(0)));
                    entry.0 = entry.0.min(r.at_ms);
                    entry.1 += 1;
                    entry.2 += v.saved(r, &without(&r.usage, step, Taken::Carried));
                }
            }
            for (session, (at_ms, requests, cost)) in sessions {
                findings.push(Finding {
                    category: Category::OverheadCreep,
                    session: session.to_owned(),
                    at_ms,
                    scope: Scope::Day,
                    detail: format!(
                        "smallest prompt in {project} rose from {} tokens ({prev_day}) to {} ({day}): {} more on each \
                         of {requests} requests of this session",
                        thousands(*prev),
                        thousands(*min),
                        thousands(step)
                    ),
                    tokens: step * requests,
                    cost,
                });
            }
        }
    }
    (findings, series.into_iter().collect())
}

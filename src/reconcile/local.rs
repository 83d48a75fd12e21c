//! The local side: every transcript on this machine, counted and priced exactly as `ccbreaker report` does (the
//! same walk, de-duplication and report cache), summed per UTC day, model and session, with each sum's dollars
//! split over its token classes.

use super::{Bill, CLASSES, Cell, Class, RowKey};
use crate::correction::model_key;
use crate::pricing::{PriceTable, ResponseFacts, Speed};
use crate::report::collect::{Sources, collect};
use crate::report::summary::SLOT_MS;
use crate::usage::{Pico, Usage};
use chrono::{DateTime, NaiveDate};
use std::path::{Path, PathBuf};

/// What the transcripts say, as a [`Bill`] with sessions, and the notes of the walk (unreadable files).
pub(crate) struct Local {
    pub bill: Bill,
    pub notes: Vec<String>,
}

/// The transcripts under `roots` for UTC days `first..=last` (and only `session`, if given), priced with `prices`;
/// `cache` is the report cache.
pub(crate) fn gather(
    roots: &[PathBuf],
    prices: &PriceTable,
    cache: Option<&Path>,
    first: NaiveDate,
    last: NaiveDate,
    session: Option<&str>,
) -> Local {
    let collected = collect(&Sources { roots, prices, cache });
    let mut bill = Bill { has_tokens: true, has_usd: true, has_requests: true, has_sessions: true, ..Bill::default() };
    for item in collected.items() {
        let Some(at) = DateTime::from_timestamp_millis(item.slot.saturating_mul(SLOT_MS)) else { continue };
        let date = at.date_naive();
        if date < first || date > last || crate::pricing::is_free_model(item.model) {
            continue;
        }
        if session.is_some_and(|s| s != item.session) {
            continue;
        }
        let cell = cell(prices, item.model, date, &item.spend.usage, item.spend.cost, item.spend.responses);
        bill.add(RowKey { date, model: model_key(item.model), session: Some(item.session.to_owned()) }, &cell);
    }
    Local { bill, notes: collected.notes }
}

/// One sum of responses as a cell: its tokens, and its exact cost split over the classes in proportion to what
/// each class costs at the model's standard rates (web searches at their own price).
pub(crate) fn cell(
    prices: &PriceTable,
    model: &str,
    date: NaiveDate,
    usage: &Usage,
    cost: Pico,
    requests: u64,
) -> Cell {
    let mut cell = Cell { requests, ..Cell::default() };
    let parts: [(Class, Usage); 6] = [
        (Class::Input, Usage { input_tokens: usage.input_tokens, ..Usage::default() }),
        (Class::CacheWrite5m, Usage { cache_creation_5m_tokens: usage.cache_creation_5m_tokens, ..Usage::default() }),
        (Class::CacheWrite1h, Usage { cache_creation_1h_tokens: usage.cache_creation_1h_tokens, ..Usage::default() }),
        (Class::CacheRead, Usage { cache_read_tokens: usage.cache_read_tokens, ..Usage::default() }),
        (Class::Output, Usage { output_tokens: usage.output_tokens, ..Usage::default() }),
        (Class::WebSearch, Usage { web_search_requests: usage.web_search_requests, ..Usage::default() }),
    ];
    let price = |usage: &Usage| {
        let facts = ResponseFacts { model, usage, speed: Speed::Standard, inference_geo: None, date };
        u128::from(prices.price(&facts).cost.0)
    };
    let total = u128::from(cost.0);
    let mut weights = [0u128; 7];
    for (class, part) in &parts {
        cell.tokens[class.index()] = match class {
            Class::WebSearch => part.web_search_requests,
            _ => part.total_tokens(),
        };
        weights[class.index()] = price(part);
    }
    let web = weights[Class::WebSearch.index()].min(total);
    let rest = total - web;
    let token_weight: u128 = CLASSES.iter().filter(|c| **c != Class::WebSearch).map(|c| weights[c.index()]).sum();
    let mut given = 0u128;
    let mut largest = Class::Output;
    for class in CLASSES.iter().filter(|c| **c != Class::WebSearch && **c != Class::Other) {
        let share = (rest * weights[class.index()]).checked_div(token_weight).unwrap_or(0);
        cell.usd[class.index()] = i64::try_from(share).unwrap_or(i64::MAX);
        given += share;
        if weights[class.index()] > weights[largest.index()] {
            largest = *class;
        }
    }
    // What integer division left over goes to the dearest class, so the classes add up to the exact cost.
    let left = i64::try_from(rest - given).unwrap_or(0);
    cell.usd[largest.index()] = cell.usd[largest.index()].saturating_add(left);
    cell.usd[Class::WebSearch.index()] = i64::try_from(web).unwrap_or(i64::MAX);
    cell
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classes_add_up_to_the_exact_cost() {
        let prices = PriceTable::builtin();
        let usage = Usage {
            input_tokens: 1_000,
            output_tokens: 2_000,
            cache_creation_5m_tokens: 30_000,
            cache_read_tokens: 400_000,
            web_search_requests: 3,
            ..Usage::default()
        };
        let date = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let facts =
            ResponseFacts { model: "claude-sonnet-5", usage: &usage, speed: Speed::Fast, inference_geo: None, date };
        let cost = prices.price(&facts).cost;
        let c = cell(&prices, "claude-sonnet-5", date, &usage, cost, 7);
        assert_eq!(c.usd_total(), cost.0 as i64);
        assert_eq!(c.usd[Class::WebSearch.index()], 30_000_000_000, "3 searches at $0.01");
        assert_eq!(
            (c.tokens[Class::CacheRead.index()], c.tokens[Class::WebSearch.index()], c.requests),
            (400_000, 3, 7)
        );
        // Output is 2,000 x $10/M = $0.02 at standard rates, cache reads 400,000 x $0.2/M = $0.08: a quarter of
        // that split, whatever the fast-mode multiple.
        let (out, read) = (c.usd[Class::Output.index()], c.usd[Class::CacheRead.index()]);
        assert!((read as f64 / out as f64 - 4.0).abs() < 1e-6, "{read} {out}");
    }
}

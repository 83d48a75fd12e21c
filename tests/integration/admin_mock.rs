//! A mock of Anthropic's Admin API on 127.0.0.1, started and stopped by each test: the Usage & Cost Analytics
//! endpoints (which require their beta header) and the legacy usage and cost reports, paginated by day buckets,
//! with empty buckets for days without usage, from a bill the test writes down row by row. Faults (401, 429 with
//! `Retry-After`, 5xx, a slow answer, a malformed body, analytics not available) are switched on per test, and
//! every request is logged.

use crate::http::{Request, Response, Server};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) const KEY: &str = "sk-ant-admin01-test-key-0123456789";
pub(crate) const BETA: &str = "analytics-usage-cost-2026-08-24";

/// One row of the bill: a UTC day, a model id as the API writes it, a Claude Code session, and its usage and
/// cost (pico-dollars per token class: input, cache write 5m, cache write 1h, cache read, output).
#[derive(Debug, Clone, Default)]
pub(crate) struct BillRow {
    pub date: String,
    pub model: String,
    pub session: String,
    pub requests: u64,
    pub input: u64,
    pub cache_5m: u64,
    pub cache_1h: u64,
    pub cache_read: u64,
    pub output: u64,
    pub usd: [u64; 5],
}

/// What the mock does besides answering.
#[derive(Debug, Clone, Default)]
pub(crate) struct Faults {
    /// The analytics endpoints answer 404 (an organization without the beta).
    pub no_analytics: bool,
    /// The first N requests get 429 with this `Retry-After`.
    pub rate_limit: Option<(usize, String)>,
    /// The first N requests get this 5xx status (with `Retry-After: 0`).
    pub server_error: Option<(usize, u16)>,
    /// Every answer waits this long first.
    pub delay: Option<Duration>,
    /// Every 200 answer has this body instead.
    pub malformed: Option<String>,
    /// Day buckets per page, whatever `limit` asks (to test pagination).
    pub page_days: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct Logged {
    pub at: Instant,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub status: u16,
}

struct Shared {
    bill: Vec<BillRow>,
    faults: Faults,
    log: Mutex<Vec<Logged>>,
}

pub(crate) struct MockAdmin {
    pub url: String,
    shared: Arc<Shared>,
    _server: Server,
}

impl MockAdmin {
    pub(crate) fn start(bill: Vec<BillRow>, faults: Faults) -> MockAdmin {
        let shared = Arc::new(Shared { bill, faults, log: Mutex::new(Vec::new()) });
        let handler = {
            let shared = shared.clone();
            Arc::new(move |request: &Request| {
                let index = {
                    let mut log = shared.log.lock().unwrap();
                    let (path, query) = (request.path.clone(), request.query.clone());
                    log.push(Logged { at: request.at, path, query, status: 0 });
                    log.len() - 1
                };
                let (status, headers, body) = answer(&shared, index, &request.path, &request.query, &request.headers);
                shared.log.lock().unwrap()[index].status = status;
                Response { status, headers, body, delay: shared.faults.delay }
            })
        };
        let server = Server::start(handler);
        MockAdmin { url: server.url.clone(), shared, _server: server }
    }

    pub(crate) fn log(&self) -> Vec<Logged> {
        self.shared.log.lock().unwrap().clone()
    }
}

fn error(kind: &str, message: &str) -> String {
    json!({"type": "error", "error": {"type": kind, "message": message}}).to_string()
}

type Answer = (u16, Vec<(String, String)>, String);

fn answer(
    shared: &Shared,
    index: usize,
    path: &str,
    query: &[(String, String)],
    headers: &BTreeMap<String, String>,
) -> Answer {
    let faults = &shared.faults;
    if headers.get("x-api-key").map(String::as_str) != Some(KEY) {
        return (401, vec![], error("authentication_error", "invalid x-api-key"));
    }
    if headers.get("anthropic-version").map(String::as_str) != Some("2023-06-01") {
        return (400, vec![], error("invalid_request_error", "anthropic-version: header is required"));
    }
    let analytics = path.starts_with("/v1/organizations/analytics/");
    if analytics {
        if faults.no_analytics {
            return (404, vec![], error("not_found_error", "Not found"));
        }
        let beta = headers.get("anthropic-beta").map(String::as_str).unwrap_or("");
        if !beta.split(',').any(|b| b.trim() == BETA) {
            return (400, vec![], error("invalid_request_error", "this endpoint requires the beta header"));
        }
    }
    if let Some((count, after)) = &faults.rate_limit
        && index < *count
    {
        return (429, vec![("retry-after".to_owned(), after.clone())], error("rate_limit_error", "slow down"));
    }
    if let Some((count, status)) = faults.server_error
        && index < count
    {
        return (status, vec![("retry-after".to_owned(), "0".to_owned())], error("api_error", "overloaded"));
    }
    let get = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let all = |name: &str| query.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let (Some(start), Some(end)) = (get("starting_at"), get("ending_at")) else {
        return (400, vec![], error("invalid_request_error", "starting_at and ending_at are required"));
    };
    let group_by = all("group_by[]");
    let sessions = all("session_ids[]");
    if analytics && all("products[]") != ["claude_code"] {
        return (400, vec![], error("invalid_request_error", "expected products[]=claude_code"));
    }
    let body = match path {
        "/v1/organizations/analytics/usage" | "/v1/organizations/usage_report/messages" => {
            let by_session = group_by.iter().any(|g| g == "session_id");
            page(shared, &start, &end, get("page"), get("limit"), |date| {
                usage_results(&shared.bill, date, by_session, &sessions, analytics)
            })
        }
        "/v1/organizations/analytics/cost" | "/v1/organizations/cost_report" => {
            page(shared, &start, &end, get("page"), get("limit"), |date| {
                cost_results(&shared.bill, date, analytics, &sessions)
            })
        }
        _ => return (404, vec![], error("not_found_error", "Not found")),
    };
    match &faults.malformed {
        Some(bad) => (200, vec![], bad.clone()),
        None => (200, vec![], body),
    }
}

/// The day buckets from `start` (or the page token) to `end`, `limit` (or the fault's page size) per page.
fn page(
    shared: &Shared,
    start: &str,
    end: &str,
    token: Option<String>,
    limit: Option<String>,
    results: impl Fn(&str) -> Vec<Value>,
) -> String {
    let first = chrono::NaiveDate::parse_from_str(&start[..10], "%Y-%m-%d").unwrap();
    let end = chrono::NaiveDate::parse_from_str(&end[..10], "%Y-%m-%d").unwrap();
    let from = token.map(|t| chrono::NaiveDate::parse_from_str(t.trim_start_matches("page_"), "%Y-%m-%d").unwrap());
    let limit: usize = limit.and_then(|l| l.parse().ok()).unwrap_or(7);
    let per_page = shared.faults.page_days.unwrap_or(limit).min(limit);
    let mut day = from.unwrap_or(first);
    let mut data = Vec::new();
    while day < end && data.len() < per_page {
        let date = day.to_string();
        data.push(json!({
            "starting_at": format!("{date}T00:00:00Z"),
            "ending_at": format!("{}T00:00:00Z", day.succ_opt().unwrap()),
            "results": results(&date),
        }));
        day = day.succ_opt().unwrap();
    }
    let more = day < end;
    json!({"data": data, "has_more": more, "next_page": if more { json!(format!("page_{day}")) } else { Value::Null }})
        .to_string()
}

fn usage_results(bill: &[BillRow], date: &str, by_session: bool, sessions: &[String], analytics: bool) -> Vec<Value> {
    let mut groups: BTreeMap<(String, String), BillRow> = BTreeMap::new();
    for row in bill.iter().filter(|r| r.date == date && (sessions.is_empty() || sessions.contains(&r.session))) {
        let session = if by_session { row.session.clone() } else { String::new() };
        let g = groups.entry((row.model.clone(), session)).or_default();
        g.requests += row.requests;
        g.input += row.input;
        g.cache_5m += row.cache_5m;
        g.cache_1h += row.cache_1h;
        g.cache_read += row.cache_read;
        g.output += row.output;
    }
    groups
        .into_iter()
        .map(|((model, session), g)| {
            let mut result = json!({
                "model": model,
                "uncached_input_tokens": g.input,
                "cache_creation": {"ephemeral_5m_input_tokens": g.cache_5m, "ephemeral_1h_input_tokens": g.cache_1h},
                "cache_read_input_tokens": g.cache_read,
                "output_tokens": g.output,
                "server_tool_use": {"web_search_requests": 0},
                "api_key_id": null,
                "workspace_id": null,
                "service_tier": null,
                "context_window": null,
            });
            if analytics {
                result["request_count"] = json!(g.requests);
                result["session_id"] = if session.is_empty() { Value::Null } else { json!(session) };
            }
            result
        })
        .collect()
}

const TOKEN_TYPES: [&str; 5] = [
    "uncached_input_tokens",
    "cache_creation.ephemeral_5m_input_tokens",
    "cache_creation.ephemeral_1h_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
];

/// Cents as the API writes them: a decimal string.
pub(crate) fn cents(pico: u64) -> String {
    format!("{}.{:010}", pico / 10_000_000_000, pico % 10_000_000_000)
}

fn cost_results(bill: &[BillRow], date: &str, analytics: bool, sessions: &[String]) -> Vec<Value> {
    let mut groups: BTreeMap<(String, String, usize), u64> = BTreeMap::new();
    for row in bill.iter().filter(|r| r.date == date && (sessions.is_empty() || sessions.contains(&r.session))) {
        for (i, usd) in row.usd.iter().enumerate().filter(|(_, usd)| **usd > 0) {
            let session = if analytics { row.session.clone() } else { String::new() };
            *groups.entry((row.model.clone(), session, i)).or_default() += usd;
        }
    }
    groups
        .into_iter()
        .map(|((model, session, i), usd)| {
            let mut result = json!({
                "amount": cents(usd),
                "currency": "USD",
                "cost_type": "tokens",
                "token_type": TOKEN_TYPES[i],
                "model": model,
                "description": format!("{model} usage"),
                "context_window": "0-200k",
                "service_tier": "standard",
                "workspace_id": null,
            });
            if analytics {
                result["session_id"] = json!(session);
            }
            result
        })
        .collect()
}

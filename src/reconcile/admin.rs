//! The Admin API client: what Anthropic billed, per UTC day and model (and session, from the analytics
//! endpoints), as a [`Bill`]. Every page is fetched (`has_more` / `next_page`), empty day buckets count as days
//! billed nothing, each request has a timeout, and a 429 or 5xx is retried after the `Retry-After` the server asks
//! for (or a short backoff), a few times at most. The key is sent and never shown: any text quoted from a response
//! has it blanked out.
//!
//! Endpoints (base `https://api.anthropic.com`, or `CCBREAKER_ADMIN_API_URL`):
//! - the Usage & Cost Analytics API (beta, header `anthropic-beta: analytics-usage-cost-2026-08-24`):
//!   `GET /v1/organizations/analytics/usage` and `/analytics/cost`, grouped by model and session id, filtered to
//!   Claude Code;
//! - the legacy Usage & Cost API: `GET /v1/organizations/usage_report/messages` (grouped by model) and
//!   `/cost_report` (grouped by description, which names model and token type).

use super::{Bill, Cell, Class, RowKey};
use crate::correction::model_key;
use crate::env::Secret;
use crate::net::{Http, HttpError, Reply};
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Deserialize;
use std::time::Duration;

pub(crate) const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The beta header the analytics endpoints require.
pub(crate) const ANALYTICS_BETA: &str = "analytics-usage-cost-2026-08-24";
/// The product the analytics endpoints are filtered to.
const PRODUCT: &str = "claude_code";
/// Tries per request when the server answers 429 or 5xx.
const MAX_TRIES: u32 = 4;
/// The longest `Retry-After` waited for; a longer one ends the fetch with the time to come back.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
/// Without `Retry-After`, the first wait (doubled each time).
const BACKOFF: Duration = Duration::from_millis(500);
/// Day buckets per page (the legacy API's maximum for `1d`).
const PAGE_DAYS: u32 = 31;
const MAX_PAGES: usize = 10_000;
const MAX_BODY_BYTES: u64 = 64 << 20;
/// The model of a bill row that names none (a web search, when not grouped by model).
pub(crate) const UNATTRIBUTED: &str = "(no model)";

/// Which generation of the Admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Api {
    Analytics,
    Legacy,
}

impl Api {
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Api::Analytics => "analytics",
            Api::Legacy => "legacy",
        }
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Api::Analytics => {
                "the Admin API's Usage & Cost Analytics endpoints (/v1/organizations/analytics/usage and /cost, Claude Code only)"
            }
            Api::Legacy => {
                "the Admin API's legacy Usage & Cost endpoints (/v1/organizations/usage_report/messages and /cost_report)"
            }
        }
    }

    fn paths(self) -> (&'static str, &'static str) {
        match self {
            Api::Analytics => ("/v1/organizations/analytics/usage", "/v1/organizations/analytics/cost"),
            Api::Legacy => ("/v1/organizations/usage_report/messages", "/v1/organizations/cost_report"),
        }
    }
}

/// What to ask for: UTC days `first..=last`, narrowed to API keys, workspaces or one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Query<'a> {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub api_key_ids: &'a [String],
    pub workspace_ids: &'a [String],
    pub session: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum AdminError {
    #[error(
        "the Admin API refused the key (HTTP 401) for GET {path}{message}: check ANTHROPIC_ADMIN_KEY or reconcile.admin_key_file; it must be an Admin API key (sk-ant-admin...) of the organization"
    )]
    Refused { path: String, message: String },
    #[error("the Admin API answered HTTP {status} for GET {path}{message}")]
    Status { status: u16, path: String, message: String },
    #[error("the Admin API answered HTTP {status} for GET {path} {tries} times{message}; try again later")]
    GaveUp { status: u16, path: String, tries: u32, message: String },
    #[error(
        "the Admin API answered HTTP {status} for GET {path} and asked to retry after {seconds} s, longer than ccbreaker waits; try again then"
    )]
    RetryLater { status: u16, path: String, seconds: u64 },
    #[error("GET {path} took longer than {seconds} s (reconcile.timeout_secs)")]
    Timeout { path: String, seconds: u64 },
    /// (The HTTP client's error is boxed, so that the hook's binary, which only names this type, links none of it.)
    #[error("GET {path} failed")]
    Transport {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the answer to GET {path} is not the report ccbreaker expects: {why}")]
    Malformed { path: String, why: String },
}

impl AdminError {
    /// Whether the analytics endpoints are not there for this key (not found, not enabled, a beta it does not
    /// know): then the legacy ones are tried.
    pub(crate) fn means_unavailable(&self) -> bool {
        matches!(self, AdminError::Status { status: 400 | 403 | 404, .. })
    }
}

pub(crate) struct Client {
    http: Http,
    base: String,
    key: Secret,
    timeout: Duration,
}

impl Client {
    /// A client for `base` (default [`DEFAULT_BASE_URL`]) whose every request gives up after `timeout`.
    pub(crate) fn new(base: Option<&str>, key: Secret, timeout: Duration) -> Client {
        let base = base.unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/').to_owned();
        Client { http: Http::new(timeout), base, key, timeout }
    }

    /// The base URL without any user name or password in it, for messages.
    pub(crate) fn shown_base(&self) -> String {
        match self.base.split_once("://") {
            Some((scheme, rest)) => match rest.split_once('@') {
                Some((_, host)) if !host.contains('/') || host.find('/') > rest.find('@') => {
                    format!("{scheme}://{host}")
                }
                _ => self.base.clone(),
            },
            None => self.base.clone(),
        }
    }

    /// The bill for `query` from `api`: usage (tokens, requests) and cost (USD), every page of both.
    pub(crate) fn fetch(&self, api: Api, query: &Query) -> Result<Bill, AdminError> {
        let (usage_path, cost_path) = api.paths();
        let mut bill = Bill { has_tokens: true, has_usd: true, ..Bill::default() };
        let mut params = self.params(api, query);
        let mut usage_params = params.clone();
        match api {
            Api::Analytics => {
                for by in ["model", "session_id"] {
                    usage_params.push(("group_by[]".to_owned(), by.to_owned()));
                }
            }
            Api::Legacy => usage_params.push(("group_by[]".to_owned(), "model".to_owned())),
        }
        let usage = self.pages::<UsageResult>(api, usage_path, &usage_params)?;
        bill.days.extend(usage.covered);
        for (date, result) in usage.rows {
            let session = result.session_id.clone().filter(|s| !s.is_empty());
            bill.has_sessions |= session.is_some();
            bill.has_requests |= result.request_count.is_some();
            let model = result.model.as_deref().map_or_else(|| UNATTRIBUTED.to_owned(), model_key);
            bill.add(RowKey { date, model, session }, &result.cell());
        }
        match api {
            Api::Analytics => {
                for by in ["model", "session_id", "token_type"] {
                    params.push(("group_by[]".to_owned(), by.to_owned()));
                }
            }
            Api::Legacy => {
                params.retain(|(k, _)| k != "api_key_ids[]" && k != "workspace_ids[]");
                params.push(("group_by[]".to_owned(), "description".to_owned()));
                if !query.workspace_ids.is_empty() {
                    params.push(("group_by[]".to_owned(), "workspace_id".to_owned()));
                }
            }
        }
        if api == Api::Legacy && !query.api_key_ids.is_empty() {
            // The legacy cost report cannot be narrowed to API keys: its dollars would be the whole organization's.
            bill.has_usd = false;
            return Ok(bill);
        }
        let cost = self.pages::<CostResult>(api, cost_path, &params)?;
        bill.days.extend(cost.covered);
        for (date, result) in cost.rows {
            if api == Api::Legacy
                && !query.workspace_ids.is_empty()
                && !result.workspace_id.as_ref().is_some_and(|w| query.workspace_ids.contains(w))
            {
                continue;
            }
            let usd = result.amount.pico(cost_path)?;
            if let Some(currency) = result.currency.as_deref().filter(|c| !c.eq_ignore_ascii_case("USD")) {
                return Err(AdminError::Malformed {
                    path: cost_path.to_owned(),
                    why: format!("an amount in {currency}, where ccbreaker compares USD"),
                });
            }
            let session = result.session_id.clone().filter(|s| !s.is_empty());
            let model = result.model.as_deref().map_or_else(|| UNATTRIBUTED.to_owned(), model_key);
            let mut cell = Cell::default();
            cell.usd[result.class().index()] = usd;
            bill.add(RowKey { date, model, session }, &cell);
        }
        Ok(bill)
    }

    fn params(&self, api: Api, query: &Query) -> Vec<(String, String)> {
        let end = query.last.checked_add_days(Days::new(1)).unwrap_or(query.last);
        let mut params = vec![
            ("starting_at".to_owned(), format!("{}T00:00:00Z", query.first)),
            ("ending_at".to_owned(), format!("{end}T00:00:00Z")),
            ("bucket_width".to_owned(), "1d".to_owned()),
            ("limit".to_owned(), PAGE_DAYS.to_string()),
        ];
        for id in query.api_key_ids {
            params.push(("api_key_ids[]".to_owned(), id.clone()));
        }
        for id in query.workspace_ids {
            params.push(("workspace_ids[]".to_owned(), id.clone()));
        }
        if api == Api::Analytics {
            params.push(("products[]".to_owned(), PRODUCT.to_owned()));
            if let Some(session) = query.session {
                params.push(("session_ids[]".to_owned(), session.to_owned()));
            }
        }
        params
    }

    /// Every page of `path`: the days its buckets covered (a bucket without results is a day billed nothing) and
    /// every result with its day.
    fn pages<R: for<'de> Deserialize<'de>>(
        &self,
        api: Api,
        path: &str,
        params: &[(String, String)],
    ) -> Result<Paged<R>, AdminError> {
        let mut paged = Paged { covered: Vec::new(), rows: Vec::new() };
        let mut token: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut query = params.to_vec();
            if let Some(token) = &token {
                query.push(("page".to_owned(), token.clone()));
            }
            let body = self.get(api, path, &query)?;
            let page: Page<R> = serde_json::from_slice(&body).map_err(|err| malformed(path, err.to_string()))?;
            for bucket in page.data {
                let date = bucket_day(&bucket.starting_at)
                    .ok_or_else(|| malformed(path, format!("a bucket starting at {:?}", bucket.starting_at)))?;
                paged.covered.push(date);
                paged.rows.extend(bucket.results.into_iter().map(|r| (date, r)));
            }
            match (page.has_more, page.next_page) {
                (true, Some(next)) if !next.is_empty() => {
                    if !seen.insert(next.clone()) {
                        return Err(malformed(path, format!("the page token {next:?} came back twice")));
                    }
                    token = Some(next);
                }
                (true, _) => return Err(malformed(path, "`has_more` is true without a `next_page`".to_owned())),
                (false, _) => return Ok(paged),
            }
        }
        Err(malformed(path, format!("more than {MAX_PAGES} pages")))
    }

    /// One GET, retried on 429 and 5xx as the server asks.
    fn get(&self, api: Api, path: &str, query: &[(String, String)]) -> Result<Vec<u8>, AdminError> {
        let url = format!("{}{path}", self.base);
        let mut wait = BACKOFF;
        for attempt in 1..=MAX_TRIES {
            let mut headers = vec![
                ("x-api-key", self.key.expose()),
                ("anthropic-version", ANTHROPIC_VERSION),
                ("accept", "application/json"),
            ];
            if api == Api::Analytics {
                headers.push(("anthropic-beta", ANALYTICS_BETA));
            }
            let Reply { status, retry_after, body } =
                self.http.get(&url, &headers, query, MAX_BODY_BYTES).map_err(|source| match source {
                    HttpError::Timeout => {
                        AdminError::Timeout { path: path.to_owned(), seconds: self.timeout.as_secs() }
                    }
                    source => AdminError::Transport { path: path.to_owned(), source: Box::new(source) },
                })?;
            if (200..300).contains(&status) {
                return Ok(body);
            }
            let message = self.quote(&body);
            if status == 401 {
                return Err(AdminError::Refused { path: path.to_owned(), message });
            }
            if status != 429 && !(500..600).contains(&status) {
                return Err(AdminError::Status { status, path: path.to_owned(), message });
            }
            if attempt == MAX_TRIES {
                return Err(AdminError::GaveUp { status, path: path.to_owned(), tries: MAX_TRIES, message });
            }
            let pause = match retry_after.as_deref().and_then(|v| retry_after_delay(v, Utc::now())) {
                Some(asked) if asked > MAX_RETRY_WAIT => {
                    return Err(AdminError::RetryLater { status, path: path.to_owned(), seconds: asked.as_secs() });
                }
                Some(asked) => asked,
                None => wait,
            };
            std::thread::sleep(pause);
            wait *= 2;
        }
        unreachable!("the last try returns")
    }

    /// `: <the API's error message>` from an error body, with the key blanked out; empty if there is none.
    fn quote(&self, body: &[u8]) -> String {
        #[derive(Deserialize)]
        struct Envelope {
            error: Option<ErrorBody>,
        }
        #[derive(Deserialize)]
        struct ErrorBody {
            message: Option<String>,
        }
        let text = match serde_json::from_slice::<Envelope>(body) {
            Ok(Envelope { error: Some(ErrorBody { message: Some(message) }) }) => message,
            _ => String::from_utf8_lossy(body).chars().take(200).collect(),
        };
        let text = text.trim();
        let key = self.key.expose();
        let text = if key.is_empty() { text.to_owned() } else { text.replace(key, "[the key]") };
        if text.is_empty() { String::new() } else { format!(": {text}") }
    }
}

/// What every page of a report held.
struct Paged<R> {
    covered: Vec<NaiveDate>,
    rows: Vec<(NaiveDate, R)>,
}

fn malformed(path: &str, why: String) -> AdminError {
    AdminError::Malformed { path: path.to_owned(), why }
}

/// The UTC day of a bucket's `starting_at`.
fn bucket_day(starting_at: &str) -> Option<NaiveDate> {
    DateTime::parse_from_rfc3339(starting_at).ok().map(|t| t.with_timezone(&Utc).date_naive())
}

/// How long `Retry-After` asks to wait: seconds, or an HTTP date (measured from `now`).
pub(crate) fn retry_after_delay(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[derive(Deserialize)]
struct Page<R> {
    data: Vec<Bucket<R>>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    next_page: Option<String>,
}

#[derive(Deserialize)]
struct Bucket<R> {
    starting_at: String,
    results: Vec<R>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UsageResult {
    model: Option<String>,
    session_id: Option<String>,
    uncached_input_tokens: u64,
    cache_creation: Option<CacheCreation>,
    /// The flat spelling some versions of the report use.
    cache_creation_5m_input_tokens: Option<u64>,
    cache_creation_1h_input_tokens: Option<u64>,
    cache_read_input_tokens: u64,
    output_tokens: u64,
    server_tool_use: Option<ServerToolUse>,
    /// Analytics only (an assumption about the beta's field name, see the README).
    request_count: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CacheCreation {
    ephemeral_5m_input_tokens: u64,
    ephemeral_1h_input_tokens: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ServerToolUse {
    web_search_requests: u64,
}

impl UsageResult {
    fn cell(&self) -> Cell {
        let cache = self.cache_creation.as_ref();
        let mut cell = Cell { requests: self.request_count.unwrap_or(0), ..Cell::default() };
        let tokens = [
            (Class::Input, self.uncached_input_tokens),
            (
                Class::CacheWrite5m,
                cache.map(|c| c.ephemeral_5m_input_tokens).or(self.cache_creation_5m_input_tokens).unwrap_or(0),
            ),
            (
                Class::CacheWrite1h,
                cache.map(|c| c.ephemeral_1h_input_tokens).or(self.cache_creation_1h_input_tokens).unwrap_or(0),
            ),
            (Class::CacheRead, self.cache_read_input_tokens),
            (Class::Output, self.output_tokens),
            (Class::WebSearch, self.server_tool_use.as_ref().map_or(0, |s| s.web_search_requests)),
        ];
        for (class, n) in tokens {
            cell.tokens[class.index()] = n;
        }
        cell
    }
}

#[derive(Deserialize)]
struct CostResult {
    amount: Amount,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    cost_type: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    workspace_id: Option<String>,
}

impl CostResult {
    fn class(&self) -> Class {
        match (self.cost_type.as_deref(), self.token_type.as_deref()) {
            (Some("web_search"), _) => Class::WebSearch,
            (_, Some(token_type)) => token_class(token_type),
            _ => Class::Other,
        }
    }
}

/// The class of a cost report's `token_type`.
fn token_class(token_type: &str) -> Class {
    match token_type {
        "uncached_input_tokens" => Class::Input,
        "output_tokens" => Class::Output,
        "cache_read_input_tokens" => Class::CacheRead,
        "cache_creation.ephemeral_5m_input_tokens" => Class::CacheWrite5m,
        "cache_creation.ephemeral_1h_input_tokens" => Class::CacheWrite1h,
        _ => Class::Other,
    }
}

/// An amount in cents: the API writes a decimal string ("123.45" is $1.2345); a number is accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum Amount {
    Text(String),
    Number(f64),
}

impl Amount {
    /// Pico-dollars (a cent is 10^10).
    fn pico(&self, path: &str) -> Result<i64, AdminError> {
        let parsed = match self {
            Amount::Text(text) => super::csv::decimal_scaled(text, 10),
            Amount::Number(n) if n.is_finite() => Some((n * 1e10).round() as i64),
            Amount::Number(_) => None,
        };
        parsed.ok_or_else(|| {
            let shown = match self {
                Amount::Text(t) => format!("{t:?}"),
                Amount::Number(n) => n.to_string(),
            };
            malformed(path, format!("the amount {shown} is not a number of cents"))
        })
    }
}

/// Every class's USD, for tests.
#[cfg(test)]
fn usd_by_class(cell: &Cell) -> Vec<(&'static str, i64)> {
    super::CLASSES.iter().map(|c| (c.name(), cell.usd[c.index()])).filter(|(_, v)| *v != 0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(retry_after_delay("2", now), Some(Duration::from_secs(2)));
        assert_eq!(retry_after_delay("Tue, 24 Nov 2026 12:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after_delay("Tue, 24 Nov 2026 11:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(retry_after_delay("soon", now), None);
    }

    #[test]
    fn cost_rows_fall_into_their_class() {
        let rows: Vec<CostResult> = serde_json::from_str(
            r#"[{"amount": "123.45", "currency": "USD", "cost_type": "tokens", "token_type": "cache_creation.ephemeral_1h_input_tokens"},
                {"amount": "10", "cost_type": "web_search", "token_type": null},
                {"amount": 5, "cost_type": "code_execution"}]"#,
        )
        .unwrap();
        let mut cell = Cell::default();
        for r in &rows {
            cell.usd[r.class().index()] += r.amount.pico("/p").unwrap();
        }
        assert_eq!(
            usd_by_class(&cell),
            [("cache_write_1h", 1_234_500_000_000), ("web_search", 100_000_000_000), ("other", 50_000_000_000)]
        );
    }
}

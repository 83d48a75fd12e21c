//! `ccbreaker audit`: where the money went. Every transcript is read once more than a report does (tool calls,
//! results, texts, compactions, each request's cache figures), the waste in it is found by eleven precise rules,
//! and each finding is priced by the budget's own table, as what the requests cost minus what they would have cost
//! without it. (Not to be confused with [`crate::audit`], the trail of blocks shown by `ccbreaker log`.)
//!
//! - [`gather`]: the report's walk and cache, one read per file for both ([`facts`] is what is kept of a file);
//! - [`view`]: one thread's contexts, token estimates and counterfactual prices;
//! - the rules: [`tools`] (loops, retries, failed operations, re-reads, verbose output), [`texts`] (duplicate
//!   instructions, compaction), [`prompt_cache`] (cache waste and breaks), [`overhead`], [`anomalies`];
//! - the views: [`json`], [`terminal`], [`html`].

pub(crate) mod anomalies;
pub(crate) mod facts;
pub(crate) mod gather;
pub(crate) mod html;
pub(crate) mod json;
pub(crate) mod loops;
pub(crate) mod overhead;
pub(crate) mod prompt_cache;
pub(crate) mod terminal;
pub(crate) mod texts;
pub(crate) mod tools;
pub(crate) mod view;

use crate::pricing::PriceTable;
use crate::report::rows::project_matches;
use crate::report::summary::{FileSummary, SLOT_MS};
use crate::usage::Pico;
use crate::zone::Zone;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::{BTreeMap, HashMap};

/// The eleven kinds of finding, in the order the JSON lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Category {
    Retries,
    ReReads,
    FailedOps,
    VerboseOutput,
    DuplicateInstructions,
    CacheWaste,
    CacheBreaks,
    OverheadCreep,
    Compaction,
    Loops,
    Anomalies,
}

impl Category {
    pub(crate) const ALL: [Category; 11] = [
        Category::Retries,
        Category::ReReads,
        Category::FailedOps,
        Category::VerboseOutput,
        Category::DuplicateInstructions,
        Category::CacheWaste,
        Category::CacheBreaks,
        Category::OverheadCreep,
        Category::Compaction,
        Category::Loops,
        Category::Anomalies,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Category::Retries => "retries",
            Category::ReReads => "re_reads",
            Category::FailedOps => "failed_ops",
            Category::VerboseOutput => "verbose_output",
            Category::DuplicateInstructions => "duplicate_instructions",
            Category::CacheWaste => "cache_waste",
            Category::CacheBreaks => "cache_breaks",
            Category::OverheadCreep => "overhead_creep",
            Category::Compaction => "compaction",
            Category::Loops => "loops",
            Category::Anomalies => "anomalies",
        }
    }

    pub(crate) fn title(self) -> &'static str {
        match self {
            Category::Retries => "Retries",
            Category::ReReads => "Re-reads",
            Category::FailedOps => "Failed operations",
            Category::VerboseOutput => "Verbose output",
            Category::DuplicateInstructions => "Duplicate instructions",
            Category::CacheWaste => "Cache waste",
            Category::CacheBreaks => "Cache breaks",
            Category::OverheadCreep => "Overhead creep",
            Category::Compaction => "Compaction",
            Category::Loops => "Loops",
            Category::Anomalies => "Anomalies",
        }
    }

    /// What the rule finds, in one line.
    pub(crate) fn rule(self) -> &'static str {
        match self {
            Category::Retries => "the same tool call (name and input) made again after it failed",
            Category::ReReads => "a file read again, the same part of it, with no write to it in between",
            Category::FailedOps => "tool results marked as errors, and API errors",
            Category::VerboseOutput => "tool results of 5,000 tokens or more, carried by every later request",
            Category::DuplicateInstructions => "the same block of user or system text (1,000 bytes or more) sent again",
            Category::CacheWaste => "cache writes that expired unread, and 1-hour writes that did not pay off",
            Category::CacheBreaks => "a request that re-wrote a cache it could have read",
            Category::OverheadCreep => {
                "a step up in the smallest prompt of a project's requests from one day to the next"
            }
            Category::Compaction => "the requests that summarised a context (agent-acompact files)",
            Category::Loops => "5 identical calls within 10 minutes with nothing written in between, or A-B-A-B",
            Category::Anomalies => "an hour or day that cost 10 times its trailing median or more",
        }
    }

    /// How its dollars are estimated, in one line.
    pub(crate) fn estimate(self) -> &'static str {
        match self {
            Category::Retries | Category::ReReads | Category::Loops => {
                "each repeated call's share of the request that issued it, plus its result's tokens in every later request of the context"
            }
            Category::FailedOps => {
                "the failed call's share of its request, its result in later requests, and the output of the request that answered it"
            }
            Category::VerboseOutput | Category::DuplicateInstructions => {
                "the content's tokens in every request of the context from the one that sent it (written once, read after)"
            }
            Category::CacheWaste => {
                "the re-written tokens at write price instead of read price; for 1-hour writes, their extra price minus the rebuilds they saved"
            }
            Category::CacheBreaks => "the re-written tokens at write price instead of read price",
            Category::OverheadCreep => "the step's tokens in each later request of the project, as cache reads",
            Category::Compaction => "what the compaction requests cost",
            Category::Anomalies => "the spend above the trailing median",
        }
    }

    /// One concrete thing to do about it.
    pub(crate) fn suggestion(self) -> &'static str {
        match self {
            Category::Retries => {
                "A failed call repeated unchanged usually fails again: note the missing step (install, build, path) in CLAUDE.md so the model changes the call instead of repeating it."
            }
            Category::ReReads => {
                "A file read again unchanged is already in the context: ask in CLAUDE.md not to re-read open files, and read large files in parts (offset/limit)."
            }
            Category::FailedOps => {
                "Fix the calls that fail most (see the findings): a missing tool, a wrong path or a permission rule costs a request every time."
            }
            Category::VerboseOutput => {
                "Large results ride along in every later request: trim command output (| tail, --quiet), search with Grep before reading, and /compact after a big read."
            }
            Category::DuplicateInstructions => {
                "Text sent twice is paid twice, and again in every later request: keep standing instructions in CLAUDE.md and give subagents short prompts that point to a file."
            }
            Category::CacheWaste => {
                "A pause longer than the cache's lifetime writes the whole context again: /compact or /clear before a break, and use the 1-hour cache only for sessions that pause 5 to 60 minutes."
            }
            Category::CacheBreaks => {
                "Keep the model, tools, MCP servers and system prompt unchanged within a session; a break with a known cause names it (update Claude Code for those)."
            }
            Category::OverheadCreep => {
                "Every request pays the fixed overhead: check what was added that day (MCP servers and their tool definitions, CLAUDE.md, plugins, skills) and remove what is not used."
            }
            Category::Compaction => {
                "Compaction re-reads the whole context: /clear between unrelated tasks, and /compact earlier with a focus so it runs on a smaller context."
            }
            Category::Loops => {
                "A call repeated unchanged is a loop: stop the session, fix what it waits for, and keep a session budget so an unattended loop stops itself."
            }
            Category::Anomalies => {
                "A spike has its cause in the breakdown: look at the session named first, and set a daily budget below the spike."
            }
        }
    }
}

/// How precise a finding's time is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// A request (or a tool call): the minute.
    Request,
    Hour,
    Day,
}

/// One piece of evidence: which session, when, what was seen, and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub category: Category,
    pub session: String,
    pub at_ms: i64,
    pub scope: Scope,
    pub detail: String,
    pub tokens: u64,
    pub cost: Pico,
}

/// One category's findings, summed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    pub category: Category,
    pub tokens: u64,
    pub cost: Pico,
    /// Most expensive first: session, occurrences, cost.
    pub top_sessions: Vec<(String, usize, Pico)>,
    /// Most expensive first.
    pub findings: Vec<Finding>,
}

/// A day of the period: its spend per model (indexes into [`Audit::models`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Day {
    pub date: NaiveDate,
    pub models: Vec<(usize, Pico)>,
    pub total: Pico,
    pub anomaly: bool,
}

/// A session's spend in the period and what the findings put on it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SessionSpend {
    pub session: String,
    pub project: String,
    pub cost: Pico,
    pub waste: Pico,
    pub requests: u64,
    /// Cache reads over prompt tokens.
    pub hit_ratio: f64,
}

/// An audit's result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Audit {
    pub zone: Zone,
    /// The period: as asked, else the first and last day with spend.
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub total: Pico,
    pub requests: u64,
    /// Model names, most expensive first.
    pub models: Vec<String>,
    pub days: Vec<Day>,
    /// Spend per hour of the period (the hour's start), for the anomaly timeline.
    pub hours: Vec<(DateTime<Utc>, Pico, bool)>,
    /// The smallest prompt of the main sessions' requests, per day.
    pub overhead: Vec<(NaiveDate, u64)>,
    /// In [`Category::ALL`] order.
    pub categories: Vec<Summary>,
    /// Most expensive first.
    pub sessions: Vec<SessionSpend>,
}

impl Audit {
    /// The findings of every category but anomalies (which overlap them), summed.
    pub(crate) fn waste(&self) -> Pico {
        let waste = self.categories.iter().filter(|c| c.category != Category::Anomalies);
        waste.fold(Pico(0), |sum, c| sum.saturating_add(c.cost))
    }

    pub(crate) fn summary(&self, category: Category) -> &Summary {
        &self.categories[Category::ALL.iter().position(|c| *c == category).unwrap_or(0)]
    }

    /// The waste categories (all but anomalies) by dollars, most first (then by occurrences).
    pub(crate) fn wasted(&self) -> Vec<&Summary> {
        let mut ranked: Vec<&Summary> = self.categories.iter().filter(|c| c.category != Category::Anomalies).collect();
        ranked.sort_by(|a, b| b.cost.cmp(&a.cost).then(b.findings.len().cmp(&a.findings.len())));
        ranked
    }
}

/// What to audit.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub zone: Zone,
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub session: Option<String>,
    pub project: Option<String>,
}

impl Options {
    /// The period as instants: `[from, to)` in milliseconds.
    pub(crate) fn bounds(&self) -> (i64, i64) {
        let from = self.since.map_or(i64::MIN, |d| self.zone.start_of(d).timestamp_millis());
        let to = self.until.map_or(i64::MAX, |d| self.zone.start_of(d + Duration::days(1)).timestamp_millis());
        (from, to)
    }

    /// Whether a file's session and project are audited.
    pub(crate) fn selects(&self, session: &str, project: &str) -> bool {
        self.session.as_deref().is_none_or(|s| s == session)
            && self.project.as_deref().is_none_or(|p| project_matches(project, p))
    }

    /// Whether the audit needs a file's facts: its session and project are selected, and it has spend in the
    /// period, or in the week before it (overhead creep compares a day with the project's previous active day
    /// within a week), or the day after it (the requests around the period's end).
    pub(crate) fn wants(&self, file: &FileSummary) -> bool {
        if !self.selects(&file.session, &file.project) {
            return false;
        }
        let (from, to) = self.bounds();
        let day = 86_400_000;
        let (from, to) = (from.saturating_sub(overhead::LOOKBACK_DAYS * day), to.saturating_add(day));
        file.buckets.iter().any(|b| b.last_ms >= from && b.first_ms < to)
            || file.entries.iter().any(|e| e.at_ms >= from && e.at_ms < to)
    }
}

/// Finds and prices the waste in what was gathered.
pub(crate) fn analyze(gathered: &gather::Gathered, prices: &PriceTable, options: &Options) -> Audit {
    let (from, to) = options.bounds();
    let threads = &gathered.threads;
    let views: Vec<view::View> = threads.iter().map(|t| view::View::new(t, prices)).collect();
    let sessions = texts::by_session(threads);
    // Each thread on its own, on every core.
    let indexes: Vec<usize> = (0..views.len()).collect();
    let per_thread = crate::report::collect::parallel(&indexes, |&i| {
        let (v, mut found) = (&views[i], Vec::new());
        let session_threads = &sessions[&v.thread.session];
        tools::find(v, &views, session_threads, i, &mut found);
        prompt_cache::find(v, &views, session_threads, &mut found);
        found
    });
    let mut findings: Vec<Finding> = per_thread.into_iter().flatten().collect();
    texts::duplicates(&views, &sessions, &mut findings);
    texts::compaction(&views, &sessions, &mut findings);
    let (overhead_findings, overhead) = overhead::find(&views, options);
    findings.extend(overhead_findings);
    findings.retain(|f| f.at_ms >= from && f.at_ms < to);

    // The report's spend, for the chart, the totals and the anomaly baselines.
    let spend = anomalies::Spend::of(&gathered.collected, options);
    findings.extend(anomalies::find(&spend, &findings, options));

    let mut categories: Vec<Summary> = Category::ALL
        .iter()
        .map(|&category| Summary { category, tokens: 0, cost: Pico(0), top_sessions: Vec::new(), findings: Vec::new() })
        .collect();
    for finding in findings {
        let summary = &mut categories[finding.category as usize];
        summary.tokens += finding.tokens;
        summary.cost += finding.cost;
        summary.findings.push(finding);
    }
    for summary in &mut categories {
        summary.findings.sort_by(|a, b| b.cost.cmp(&a.cost).then(a.at_ms.cmp(&b.at_ms)));
        let mut by: BTreeMap<&str, (usize, Pico)> = BTreeMap::new();
        for f in &summary.findings {
            let entry = by.entry(&f.session).or_default();
            entry.0 += 1;
            entry.1 += f.cost;
        }
        let mut top: Vec<(String, usize, Pico)> = by.into_iter().map(|(s, (n, c))| (s.to_owned(), n, c)).collect();
        top.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
        top.truncate(5);
        summary.top_sessions = top;
    }
    let sessions = session_spend(&spend, &views, &categories, (from, to));
    let days = spend.days(&categories[Category::Anomalies as usize]);
    let hours = spend.hours(&categories[Category::Anomalies as usize]);
    let since = options.since.or_else(|| days.first().map(|d| d.date));
    let until = options.until.or_else(|| days.last().map(|d| d.date));
    Audit {
        zone: options.zone,
        since,
        until,
        total: spend.total,
        requests: spend.responses,
        models: spend.models.clone(),
        days,
        hours,
        overhead,
        categories,
        sessions,
    }
}

/// Each session's spend in the period (from the report), the findings' cost on it, and its cache hit ratio.
fn session_spend(
    spend: &anomalies::Spend,
    views: &[view::View],
    categories: &[Summary],
    (from, to): (i64, i64),
) -> Vec<SessionSpend> {
    let mut waste: HashMap<&str, Pico> = HashMap::new();
    for summary in categories.iter().filter(|c| c.category != Category::Anomalies) {
        for f in &summary.findings {
            *waste.entry(&f.session).or_default() += f.cost;
        }
    }
    let mut cache: HashMap<&str, (u64, u64)> = HashMap::new();
    for v in views {
        let entry = cache.entry(&v.thread.session).or_default();
        for r in v.requests().iter().filter(|r| r.counted && r.at_ms >= from && r.at_ms < to) {
            entry.0 += r.usage.cache_read_tokens;
            entry.1 += r.usage.prompt_tokens();
        }
    }
    let mut sessions: Vec<SessionSpend> = spend
        .sessions
        .iter()
        .map(|(session, (project, cost, requests))| {
            let (read, prompt) = cache.get(session.as_str()).copied().unwrap_or_default();
            SessionSpend {
                session: session.clone(),
                project: project.clone(),
                cost: *cost,
                waste: waste.get(session.as_str()).copied().unwrap_or_default(),
                requests: *requests,
                hit_ratio: if prompt == 0 { 0.0 } else { read as f64 / prompt as f64 },
            }
        })
        .collect();
    sessions.sort_by(|a, b| b.cost.cmp(&a.cost).then(a.session.cmp(&b.session)));
    sessions
}

/// The quarter hour's start as an instant.
pub(crate) fn slot_start(slot: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(slot * SLOT_MS).unwrap_or_default()
}

/// `instant` as the finding's `date`: the day, the hour or the minute in the zone.
pub(crate) fn when(zone: Zone, at_ms: i64, scope: Scope) -> String {
    let local = zone.to_local(DateTime::from_timestamp_millis(at_ms).unwrap_or_default());
    match scope {
        Scope::Day => local.format("%Y-%m-%d").to_string(),
        Scope::Hour => local.format("%Y-%m-%dT%H:00").to_string(),
        Scope::Request => local.format("%Y-%m-%dT%H:%M").to_string(),
    }
}

/// Where a request is, for a person: the file below its project directory, and the line.
pub(crate) fn place(thread: &facts::Thread, line: u32) -> String {
    let path = std::path::Path::new(&thread.path);
    let mut parts: Vec<String> = Vec::new();
    for component in path.components().rev() {
        let name = component.as_os_str().to_string_lossy().into_owned();
        if name == thread.project || parts.len() == 3 {
            break;
        }
        parts.push(name);
    }
    parts.reverse();
    format!("{}:{line}", parts.join("/"))
}

/// Minutes between two instants, for details.
pub(crate) fn minutes(ms: i64) -> String {
    let minutes = ms as f64 / 60_000.0;
    if minutes < 10.0 { format!("{minutes:.1} min") } else { format!("{:.0} min", minutes) }
}

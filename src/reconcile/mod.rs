//! `ccbreaker reconcile`: the local estimate (the transcripts, priced by the table the budgets use) against what
//! Anthropic billed, per UTC day, model and token class, and per session where the bill names sessions.
//!
//! The bill comes from one of two sources, each turned into the same [`Bill`]:
//! - [`admin`]: the Admin API (the Usage & Cost Analytics endpoints first, the legacy `usage_report/messages` and
//!   `cost_report` when those are not available), with timeouts and `Retry-After`; its settled days are kept in
//!   [`cache`];
//! - [`csv`]: the console's usage and cost exports, whichever column set the header shows.
//!
//! [`local`] sums the transcripts the same way; [`compare`] (pure) joins both, flags what is over
//! `reconcile.alert_ratio`, finds a step up in billed input per request, and measures the factors the budget
//! correction applies ([`crate::correction`]); [`render`] prints it. Nothing here runs on the hook path.

pub(crate) mod admin;
pub(crate) mod cache;
pub(crate) mod compare;
pub(crate) mod csv;
pub(crate) mod local;
pub(crate) mod render;
pub(crate) mod state;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// What a bill and an estimate are compared by: the five token classes, server-side web searches, and
/// everything billed that has no class (code execution, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Class {
    Input,
    CacheWrite5m,
    CacheWrite1h,
    CacheRead,
    Output,
    WebSearch,
    Other,
}

pub(crate) const CLASSES: [Class; 7] = [
    Class::Input,
    Class::CacheWrite5m,
    Class::CacheWrite1h,
    Class::CacheRead,
    Class::Output,
    Class::WebSearch,
    Class::Other,
];

impl Class {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Class::Input => "input",
            Class::CacheWrite5m => "cache_write_5m",
            Class::CacheWrite1h => "cache_write_1h",
            Class::CacheRead => "cache_read",
            Class::Output => "output",
            Class::WebSearch => "web_search",
            Class::Other => "other",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Classes that are part of a request's prompt: where per-request overhead shows.
    pub(crate) fn is_prompt(self) -> bool {
        matches!(self, Class::Input | Class::CacheWrite5m | Class::CacheWrite1h | Class::CacheRead)
    }
}

/// One side's numbers for one day × model (× session): tokens per class (web-search requests for
/// [`Class::WebSearch`]), USD per class in pico-dollars (negative for a credit), and requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Cell {
    pub tokens: [u64; 7],
    pub usd: [i64; 7],
    pub requests: u64,
}

impl Cell {
    pub(crate) fn add(&mut self, other: &Cell) {
        for i in 0..CLASSES.len() {
            self.tokens[i] = self.tokens[i].saturating_add(other.tokens[i]);
            self.usd[i] = self.usd[i].saturating_add(other.usd[i]);
        }
        self.requests = self.requests.saturating_add(other.requests);
    }

    pub(crate) fn usd_total(&self) -> i64 {
        self.usd.iter().fold(0i64, |a, b| a.saturating_add(*b))
    }

    pub(crate) fn prompt_tokens(&self) -> u64 {
        CLASSES.iter().filter(|c| c.is_prompt()).map(|c| self.tokens[c.index()]).sum()
    }
}

/// One row of a bill: a UTC day, a model (its [`crate::correction::model_key`]), and the session when the source
/// names one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct RowKey {
    pub date: NaiveDate,
    pub model: String,
    pub session: Option<String>,
}

/// What a bill holds, whatever its source: rows, the days it covers (a covered day without rows billed
/// nothing), and which of its numbers are there at all (a usage export has no dollars, a cost export no tokens).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Bill {
    pub rows: BTreeMap<RowKey, Cell>,
    pub days: BTreeSet<NaiveDate>,
    pub has_tokens: bool,
    pub has_usd: bool,
    pub has_requests: bool,
    pub has_sessions: bool,
}

impl Bill {
    pub(crate) fn add(&mut self, key: RowKey, cell: &Cell) {
        self.days.insert(key.date);
        self.rows.entry(key).or_default().add(cell);
    }
}

/// Which source the bill came from, as `reconcile` says it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Source {
    /// `analytics`, `legacy`, `csv` or `none`.
    pub kind: &'static str,
    pub description: String,
    /// Why the analytics endpoints were not used, when the legacy ones were.
    pub fallback_reason: Option<String>,
    /// Days taken from the cache, and days fetched now.
    pub cached_days: usize,
    pub fetched_days: usize,
    pub files: Vec<CsvFile>,
}

/// A console export read with `--csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CsvFile {
    pub path: PathBuf,
    /// `usage` or `cost`.
    pub kind: &'static str,
    /// Which of the column sets Anthropic has shipped the header matched.
    pub columns: &'static str,
    pub rows: usize,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReconcileError {
    #[error(transparent)]
    Admin(#[from] admin::AdminError),
    #[error(transparent)]
    Csv(#[from] csv::CsvError),
    #[error(
        "no bill to compare with: set ANTHROPIC_ADMIN_KEY to an Admin API key (sk-ant-admin...), name a file holding one in reconcile.admin_key_file, or pass the console's exports with --csv. If you use Claude Code on a Pro or Max subscription there is no per-token bill: set reconcile.billing = \"subscription\" in {config} to see the local figures as an API-equivalent estimate"
    )]
    NoSource { config: PathBuf },
    #[error("could not read the Admin API key file `{path}` (reconcile.admin_key_file)")]
    KeyFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the Admin API key file `{path}` (reconcile.admin_key_file) is empty")]
    EmptyKeyFile { path: PathBuf },
    #[error(
        "per-session billing needs the Usage & Cost Analytics API: {source_name} has no session ids (run without --session, or without --csv)"
    )]
    NoSessions { source_name: String },
    #[error("could not write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

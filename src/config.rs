//! The user's budgets and policies, read from one TOML file: defaults live in `impl Default` only, unknown keys
//! warn, and every invalid value is an error naming the key and the file.

use crate::zone::Zone;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Config {
    pub budget: Budget,
    pub policy: Policy,
    pub pricing: Pricing,
    pub transcripts: Transcripts,
    pub reconcile: Reconcile,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Budget {
    /// USD one session may spend, subagents included; 0 turns the scope off.
    pub session_usd: f64,
    /// USD all sessions on this machine may spend in one day of `timezone`; 0 turns the scope off.
    pub daily_usd: f64,
    /// Fraction of a budget at which a one-time warning is shown; 0 turns warnings off.
    pub warn_at: f64,
    pub timezone: Zone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnBreach {
    /// Deny the call and end the turn (`continue: false`).
    Stop,
    /// Deny the call only: the model is told why and may go on without tools.
    Deny,
    /// Exit 2 with the reason on stderr, for callers that do not read JSON.
    ExitCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnError {
    Allow,
    Block,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Policy {
    pub on_breach: OnBreach,
    pub on_error: OnError,
    /// Milliseconds a PreToolUse hook near a budget waits for the response that issued its call to reach the
    /// transcript (Claude Code writes it while the hook runs); 0 never waits.
    pub wait_ms: u64,
}

/// Prices in USD per million tokens; the cache rates default to Anthropic's multiples of `input`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PriceOverride {
    pub input: f64,
    pub output: f64,
    pub cache_write_5m: Option<f64>,
    pub cache_write_1h: Option<f64>,
    pub cache_read: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum UnknownModel {
    /// Price an unknown model as the most expensive model in the table.
    MostExpensive,
    /// Price it as this known model.
    Like(String),
    Price(PriceOverride),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pricing {
    pub unknown_model: UnknownModel,
    pub models: Vec<(String, PriceOverride)>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Transcripts {
    /// Seconds between walks of every transcript root for sessions that do not run the hook.
    pub rescan_secs: u64,
    /// More directories laid out like `~/.claude/projects`.
    pub extra_roots: Vec<PathBuf>,
    /// Read a hook event's `transcript_path` even when it lies outside every root (off: a path elsewhere is
    /// hostile input, never opened).
    pub allow_any_path: bool,
}

/// Whether this account pays Anthropic per token (`api`) or by subscription (`subscription`: no per-token bill
/// to reconcile against).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Billing {
    Api,
    Subscription,
}

/// `ccbreaker reconcile`: where the bill comes from, what counts as a divergence, and the budget correction.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reconcile {
    pub billing: Billing,
    /// A file holding the Admin API key (used when `ANTHROPIC_ADMIN_KEY` is not set); `~/` is the home directory.
    pub admin_key_file: Option<PathBuf>,
    /// Only these API keys' usage is compared (empty: the whole organization).
    pub api_key_ids: Vec<String>,
    /// Only these workspaces' usage is compared (empty: every workspace).
    pub workspace_ids: Vec<String>,
    /// A day or model whose billed/local ratio reaches this is flagged.
    pub alert_ratio: f64,
    /// A day × model counts (for flags and factors) only when its local or billed spend reaches this many USD.
    pub min_day_usd: f64,
    /// A step up of at least this many billed input tokens per request, not in the transcripts, is flagged.
    pub overhead_tokens: u64,
    /// The hook multiplies local spend by the billed/local factor of each model before comparing with budgets.
    pub correct_budgets: bool,
    /// Trailing days the factors are computed from.
    pub window_days: u64,
    /// The range factors are clamped to.
    pub min_factor: f64,
    pub max_factor: f64,
    /// Seconds one Admin API request may take.
    pub timeout_secs: u64,
}

impl Default for Reconcile {
    fn default() -> Reconcile {
        Reconcile {
            billing: Billing::Api,
            admin_key_file: None,
            api_key_ids: Vec::new(),
            workspace_ids: Vec::new(),
            alert_ratio: 1.15,
            min_day_usd: 1.0,
            overhead_tokens: 5000,
            correct_budgets: false,
            window_days: 14,
            min_factor: 1.0,
            max_factor: 3.0,
            timeout_secs: 30,
        }
    }
}

impl Billing {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Billing::Api => "api",
            Billing::Subscription => "subscription",
        }
    }
}

impl Budget {
    /// What `ccbreaker allow` adds by default and what the block message suggests: one more session budget (else
    /// one more day's, else $10).
    pub(crate) fn suggested_extra(&self) -> f64 {
        match (self.session_usd, self.daily_usd) {
            (s, _) if s > 0.0 => s,
            (_, d) if d > 0.0 => d,
            _ => 10.0,
        }
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget { session_usd: 20.0, daily_usd: 50.0, warn_at: 0.8, timezone: Zone::Local }
    }
}

impl Default for Policy {
    fn default() -> Policy {
        Policy { on_breach: OnBreach::Stop, on_error: OnError::Allow, wait_ms: 1500 }
    }
}

impl Default for Pricing {
    fn default() -> Pricing {
        Pricing { unknown_model: UnknownModel::MostExpensive, models: Vec::new() }
    }
}

impl Default for Transcripts {
    fn default() -> Transcripts {
        Transcripts { rescan_secs: 10, extra_roots: Vec::new(), allow_any_path: false }
    }
}

impl OnBreach {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OnBreach::Stop => "stop",
            OnBreach::Deny => "deny",
            OnBreach::ExitCode => "exit-code",
        }
    }
}

impl OnError {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OnError::Allow => "allow",
            OnError::Block => "block",
        }
    }

    pub(crate) fn parse(value: &str) -> Option<OnError> {
        match value {
            "allow" => Some(OnError::Allow),
            "block" => Some(OnError::Block),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("could not read config file `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file `{path}` is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("`{key}` in `{path}` {message}")]
    Invalid { path: PathBuf, key: String, message: String },
}

/// A config as loaded: the values, whether the file exists, and warnings (unknown keys) to show the user.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub config: Config,
    pub exists: bool,
    pub warnings: Vec<String>,
}

/// Reads `path`; a missing file means the defaults.
pub(crate) fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Loaded { config: Config::default(), exists: false, warnings: vec![] });
        }
        Err(source) => return Err(ConfigError::Read { path: path.to_path_buf(), source }),
    };
    let (config, warnings) = parse(&text, path)?;
    Ok(Loaded { config, exists: true, warnings })
}

/// Parses config text; `path` only names the file in messages.
pub(crate) fn parse(text: &str, path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
    let table: Table = text.parse().map_err(|err: toml::de::Error| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: syntax_message(text, &err),
    })?;
    let mut reader = Reader { path, warnings: Vec::new() };
    let config = reader.config(&table)?;
    Ok((config, reader.warnings))
}

fn syntax_message(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim().to_owned();
    match err.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

struct Reader<'a> {
    path: &'a Path,
    warnings: Vec<String>,
}

impl Reader<'_> {
    fn config(&mut self, root: &Table) -> Result<Config, ConfigError> {
        self.warn_unknown(root, "", &["budget", "policy", "pricing", "transcripts", "reconcile"]);
        let defaults = Config::default();
        Ok(Config {
            budget: self.budget(self.section(root, "budget")?, defaults.budget)?,
            policy: self.policy(self.section(root, "policy")?, defaults.policy)?,
            pricing: self.pricing(self.section(root, "pricing")?)?,
            transcripts: self.transcripts(self.section(root, "transcripts")?, defaults.transcripts)?,
            reconcile: self.reconcile(self.section(root, "reconcile")?, defaults.reconcile)?,
        })
    }

    fn reconcile(&mut self, table: Option<&Table>, mut r: Reconcile) -> Result<Reconcile, ConfigError> {
        let Some(table) = table else { return Ok(r) };
        const KEYS: [&str; 12] = [
            "billing",
            "admin_key_file",
            "api_key_ids",
            "workspace_ids",
            "alert_ratio",
            "min_day_usd",
            "overhead_tokens",
            "correct_budgets",
            "window_days",
            "min_factor",
            "max_factor",
            "timeout_secs",
        ];
        self.warn_unknown(table, "reconcile", &KEYS);
        if let Some(v) = table.get("billing") {
            r.billing = match self.string("reconcile.billing", v)? {
                "api" => Billing::Api,
                "subscription" => Billing::Subscription,
                other => {
                    return Err(self
                        .invalid("reconcile.billing", format!("must be \"api\" or \"subscription\", got {other:?}")));
                }
            };
        }
        if let Some(v) = table.get("admin_key_file") {
            r.admin_key_file = Some(PathBuf::from(self.string("reconcile.admin_key_file", v)?));
        }
        for (key, list) in [("api_key_ids", &mut r.api_key_ids), ("workspace_ids", &mut r.workspace_ids)] {
            if let Some(v) = table.get(key) {
                let full = format!("reconcile.{key}");
                let Value::Array(items) = v else {
                    return Err(self.invalid(&full, "must be an array of ids".to_owned()));
                };
                *list = items.iter().map(|i| self.string(&full, i).map(str::to_owned)).collect::<Result<_, _>>()?;
            }
        }
        if let Some(v) = table.get("alert_ratio") {
            r.alert_ratio = self.number("reconcile.alert_ratio", v)?;
            if r.alert_ratio <= 1.0 {
                return Err(self.invalid("reconcile.alert_ratio", format!("must be above 1, got {}", r.alert_ratio)));
            }
        }
        if let Some(v) = table.get("min_day_usd") {
            r.min_day_usd = self.usd("reconcile.min_day_usd", v)?;
        }
        if let Some(v) = table.get("overhead_tokens") {
            r.overhead_tokens = self.whole("reconcile.overhead_tokens", v, 1, 10_000_000, "tokens")?;
        }
        if let Some(v) = table.get("correct_budgets") {
            r.correct_budgets = v
                .as_bool()
                .ok_or_else(|| self.invalid("reconcile.correct_budgets", format!("must be true or false, got {v}")))?;
        }
        if let Some(v) = table.get("window_days") {
            r.window_days = self.whole("reconcile.window_days", v, 1, 90, "days")?;
        }
        if let Some(v) = table.get("min_factor") {
            r.min_factor = self.number("reconcile.min_factor", v)?;
        }
        if let Some(v) = table.get("max_factor") {
            r.max_factor = self.number("reconcile.max_factor", v)?;
        }
        if !(r.min_factor > 0.0 && r.min_factor <= r.max_factor && r.max_factor <= 10.0) {
            let key = if table.contains_key("max_factor") { "reconcile.max_factor" } else { "reconcile.min_factor" };
            return Err(self.invalid(
                key,
                format!(
                    "must give a range with 0 < min_factor <= max_factor <= 10, got {} to {}",
                    r.min_factor, r.max_factor
                ),
            ));
        }
        if let Some(v) = table.get("timeout_secs") {
            r.timeout_secs = self.whole("reconcile.timeout_secs", v, 1, 600, "seconds")?;
        }
        Ok(r)
    }

    /// A whole number from `min` to `max`.
    fn whole(&self, key: &str, value: &Value, min: u64, max: u64, unit: &str) -> Result<u64, ConfigError> {
        match value {
            Value::Integer(n) if (min as i64..=max as i64).contains(n) => Ok(*n as u64),
            _ => Err(self.invalid(key, format!("must be a whole number of {unit} from {min} to {max}, got {value}"))),
        }
    }

    fn budget(&mut self, table: Option<&Table>, mut budget: Budget) -> Result<Budget, ConfigError> {
        let Some(table) = table else { return Ok(budget) };
        self.warn_unknown(table, "budget", &["session_usd", "daily_usd", "warn_at", "timezone"]);
        if let Some(v) = table.get("session_usd") {
            budget.session_usd = self.usd("budget.session_usd", v)?;
        }
        if let Some(v) = table.get("daily_usd") {
            budget.daily_usd = self.usd("budget.daily_usd", v)?;
        }
        if let Some(v) = table.get("warn_at") {
            let warn_at = self.number("budget.warn_at", v)?;
            if !(0.0..=1.0).contains(&warn_at) {
                return Err(self.invalid("budget.warn_at", format!("must be a fraction from 0 to 1, got {warn_at}")));
            }
            budget.warn_at = warn_at;
        }
        if let Some(v) = table.get("timezone") {
            let name = self.string("budget.timezone", v)?;
            budget.timezone = Zone::parse(name).ok_or_else(|| {
                self.invalid(
                    "budget.timezone",
                    format!("must be \"local\", \"UTC\" or an IANA zone name such as \"Europe/Berlin\", got {name:?}"),
                )
            })?;
        }
        Ok(budget)
    }

    fn policy(&mut self, table: Option<&Table>, mut policy: Policy) -> Result<Policy, ConfigError> {
        let Some(table) = table else { return Ok(policy) };
        self.warn_unknown(table, "policy", &["on_breach", "on_error", "wait_ms"]);
        if let Some(v) = table.get("on_breach") {
            policy.on_breach = match self.string("policy.on_breach", v)? {
                "stop" => OnBreach::Stop,
                "deny" => OnBreach::Deny,
                "exit-code" => OnBreach::ExitCode,
                other => {
                    return Err(self.invalid(
                        "policy.on_breach",
                        format!("must be \"stop\", \"deny\" or \"exit-code\", got {other:?}"),
                    ));
                }
            };
        }
        if let Some(v) = table.get("wait_ms") {
            policy.wait_ms = match v {
                Value::Integer(n) if (0..=8000).contains(n) => *n as u64,
                _ => {
                    return Err(self.invalid(
                        "policy.wait_ms",
                        format!("must be a whole number of milliseconds from 0 to 8000, got {v}"),
                    ));
                }
            };
        }
        if let Some(v) = table.get("on_error") {
            let value = self.string("policy.on_error", v)?;
            policy.on_error = OnError::parse(value).ok_or_else(|| {
                self.invalid("policy.on_error", format!("must be \"allow\" or \"block\", got {value:?}"))
            })?;
        }
        Ok(policy)
    }

    fn pricing(&mut self, table: Option<&Table>) -> Result<Pricing, ConfigError> {
        let mut pricing = Pricing::default();
        let Some(table) = table else { return Ok(pricing) };
        self.warn_unknown(table, "pricing", &["unknown_model", "models"]);
        if let Some(v) = table.get("unknown_model") {
            pricing.unknown_model = match v {
                Value::String(model) => UnknownModel::Like(model.clone()),
                Value::Table(rates) => UnknownModel::Price(self.price("pricing.unknown_model", rates)?),
                _ => {
                    return Err(self.invalid(
                        "pricing.unknown_model",
                        "must be a model name or a table of prices (input, output, ...)".to_owned(),
                    ));
                }
            };
        }
        if let Some(v) = table.get("models") {
            let Value::Table(models) = v else {
                return Err(self.invalid("pricing.models", "must be a table of model names".to_owned()));
            };
            for (model, rates) in models {
                let key = format!("pricing.models.\"{model}\"");
                let Value::Table(rates) = rates else {
                    return Err(self.invalid(&key, "must be a table of prices (input, output, ...)".to_owned()));
                };
                pricing.models.push((model.clone(), self.price(&key, rates)?));
            }
        }
        Ok(pricing)
    }

    fn price(&mut self, key: &str, table: &Table) -> Result<PriceOverride, ConfigError> {
        const KEYS: [&str; 5] = ["input", "output", "cache_write_5m", "cache_write_1h", "cache_read"];
        self.warn_unknown(table, key, &KEYS);
        let field = |name: &str| -> Result<Option<f64>, ConfigError> {
            table.get(name).map(|v| self.usd(&format!("{key}.{name}"), v)).transpose()
        };
        let input = field("input")?;
        let output = field("output")?;
        let (cache_write_5m, cache_write_1h, cache_read) =
            (field("cache_write_5m")?, field("cache_write_1h")?, field("cache_read")?);
        let (Some(input), Some(output)) = (input, output) else {
            return Err(self.invalid(key, "needs both `input` and `output` (USD per million tokens)".to_owned()));
        };
        Ok(PriceOverride { input, output, cache_write_5m, cache_write_1h, cache_read })
    }

    fn transcripts(&mut self, table: Option<&Table>, mut t: Transcripts) -> Result<Transcripts, ConfigError> {
        let Some(table) = table else { return Ok(t) };
        self.warn_unknown(table, "transcripts", &["rescan_secs", "extra_roots", "allow_any_path"]);
        if let Some(v) = table.get("allow_any_path") {
            t.allow_any_path = v
                .as_bool()
                .ok_or_else(|| self.invalid("transcripts.allow_any_path", format!("must be true or false, got {v}")))?;
        }
        if let Some(v) = table.get("rescan_secs") {
            t.rescan_secs = match v {
                Value::Integer(n) if *n >= 0 => *n as u64,
                _ => {
                    return Err(
                        self.invalid("transcripts.rescan_secs", format!("must be a whole number of seconds, got {v}"))
                    );
                }
            };
        }
        if let Some(v) = table.get("extra_roots") {
            let Value::Array(items) = v else {
                return Err(self.invalid("transcripts.extra_roots", "must be an array of directory paths".to_owned()));
            };
            t.extra_roots = items
                .iter()
                .map(|item| self.string("transcripts.extra_roots", item).map(PathBuf::from))
                .collect::<Result<_, _>>()?;
        }
        Ok(t)
    }

    fn section<'t>(&self, root: &'t Table, name: &str) -> Result<Option<&'t Table>, ConfigError> {
        match root.get(name) {
            None => Ok(None),
            Some(Value::Table(table)) => Ok(Some(table)),
            Some(_) => Err(self.invalid(name, "must be a table, e.g. `[budget]`".to_owned())),
        }
    }

    fn number(&self, key: &str, value: &Value) -> Result<f64, ConfigError> {
        match value {
            Value::Integer(n) => Ok(*n as f64),
            Value::Float(x) if x.is_finite() => Ok(*x),
            _ => Err(self.invalid(key, format!("must be a number, got {value}"))),
        }
    }

    fn usd(&self, key: &str, value: &Value) -> Result<f64, ConfigError> {
        let usd = self.number(key, value)?;
        if usd < 0.0 {
            return Err(self.invalid(key, format!("must not be negative, got {usd}")));
        }
        Ok(usd)
    }

    fn string<'v>(&self, key: &str, value: &'v Value) -> Result<&'v str, ConfigError> {
        value.as_str().ok_or_else(|| self.invalid(key, format!("must be a string, got {value}")))
    }

    fn invalid(&self, key: &str, message: String) -> ConfigError {
        ConfigError::Invalid { path: self.path.to_path_buf(), key: key.to_owned(), message }
    }

    fn warn_unknown(&mut self, table: &Table, section: &str, known: &[&str]) {
        for key in table.keys().filter(|key| !known.contains(&key.as_str())) {
            let full = if section.is_empty() { key.clone() } else { format!("{section}.{key}") };
            self.warnings.push(format!("unknown key `{full}` in `{}` is ignored", self.path.display()));
        }
    }
}

/// The commented config that `ccbreaker config init` writes.
pub(crate) const TEMPLATE: &str = r#"# ccbreaker configuration. Every key is optional; the values shown are the defaults.
# Check it with `ccbreaker config check`.

[budget]
# USD one Claude Code session may spend, its subagents included. 0 turns this budget off.
session_usd = 20.0
# USD all sessions on this machine may spend in one day (see `timezone`). 0 turns this budget off.
daily_usd = 50.0
# Show a one-time warning when a budget is this fraction spent. 0 turns warnings off.
warn_at = 0.8
# Where the day starts and ends: "local" (this machine's zone), "UTC", or an IANA name like "Europe/Berlin".
timezone = "local"

[policy]
# What happens once a budget is crossed:
#   "stop"      deny the tool call and end the turn (Claude Code stops making requests);
#   "deny"      deny tool calls only (the model is told why and may still answer in words, which costs
#               requests); new prompts are still refused;
#   "exit-code" exit 2 with the reason on stderr (for callers that do not read JSON).
on_breach = "stop"
# What happens when ccbreaker cannot read its own config or state: "allow" (fail open) or "block".
on_error = "allow"
# Claude Code writes the response that issued a tool call while the PreToolUse hook runs. When the spend is
# within one response of a budget, wait up to this many milliseconds for it, so the response that crosses the
# budget is the last one paid for. Far from every budget the hook never waits. 0 never waits.
wait_ms = 1500

[pricing]
# Price used for a model the built-in table does not know: a known model's name, or a table like
# { input = 15.0, output = 75.0 } in USD per million tokens. Default: the most expensive known model.
# unknown_model = "claude-opus-4-1"

# Per-model prices in USD per million tokens; cache rates default to 1.25x (5 min write), 2x (1 h write)
# and 0.1x (read) of input.
# [pricing.models."my-gateway-model"]
# input = 3.0
# output = 15.0

[transcripts]
# Seconds between scans of every transcript directory for sessions that do not run this hook.
rescan_secs = 10
# More directories laid out like ~/.claude/projects.
extra_roots = []
# A hook event names its transcript; one outside every directory above is not read unless this is true.
allow_any_path = false

[reconcile]
# `ccbreaker reconcile` compares these estimates with what Anthropic billed. "api": you pay per token (the Admin
# API or the console's CSV exports give the bill); "subscription": Claude Pro/Max, no per-token bill.
billing = "api"
# The Admin API key is read from ANTHROPIC_ADMIN_KEY, else from this file (never put the key itself here).
# admin_key_file = "~/.config/ccbreaker/admin-key"
# Compare only these API keys' or workspaces' usage (empty: the whole organization).
api_key_ids = []
workspace_ids = []
# A day or model billed at least this many times its local estimate is flagged.
alert_ratio = 1.15
# A day x model is judged (flagged, used for factors) only when its local or billed spend reaches this (USD).
min_day_usd = 1.0
# A step up of this many billed input tokens per request that the transcripts do not show is flagged.
overhead_tokens = 5000
# Multiply each model's local spend by its measured billed/local factor before comparing with budgets.
correct_budgets = false
# The factors come from this many trailing days, and are clamped to min_factor..max_factor.
window_days = 14
min_factor = 1.0
max_factor = 3.0
# Seconds one Admin API request may take.
timeout_secs = 30
"#;

/// The effective values, as TOML, for `ccbreaker config check`.
pub(crate) fn render(config: &Config) -> String {
    let mut out = String::new();
    let b = &config.budget;
    let _ = writeln!(out, "[budget]");
    let _ = writeln!(out, "session_usd = {:?}", b.session_usd);
    let _ = writeln!(out, "daily_usd = {:?}", b.daily_usd);
    let _ = writeln!(out, "warn_at = {:?}", b.warn_at);
    let zone = match b.timezone {
        Zone::Local => format!("local\" # {}", b.timezone.name()),
        other => format!("{}\"", other.name()),
    };
    let _ = writeln!(out, "timezone = \"{zone}");
    let _ = writeln!(out, "\n[policy]");
    let _ = writeln!(out, "on_breach = \"{}\"", config.policy.on_breach.as_str());
    let _ = writeln!(out, "on_error = \"{}\"", config.policy.on_error.as_str());
    let _ = writeln!(out, "wait_ms = {}", config.policy.wait_ms);
    let _ = writeln!(out, "\n[pricing]");
    match &config.pricing.unknown_model {
        UnknownModel::MostExpensive => {
            let _ = writeln!(out, "# unknown_model: the most expensive known model");
        }
        UnknownModel::Like(model) => {
            let _ = writeln!(out, "unknown_model = {model:?}");
        }
        UnknownModel::Price(price) => {
            let _ = writeln!(out, "unknown_model = {}", render_price(price));
        }
    }
    for (model, price) in &config.pricing.models {
        let _ = writeln!(out, "models.{model:?} = {}", render_price(price));
    }
    let t = &config.transcripts;
    let _ = writeln!(out, "\n[transcripts]");
    let _ = writeln!(out, "rescan_secs = {}", t.rescan_secs);
    let roots: Vec<String> = t.extra_roots.iter().map(|r| format!("{:?}", r.display().to_string())).collect();
    let _ = writeln!(out, "extra_roots = [{}]", roots.join(", "));
    let _ = writeln!(out, "allow_any_path = {}", t.allow_any_path);
    let r = &config.reconcile;
    let ids = |list: &[String]| list.iter().map(|id| format!("{id:?}")).collect::<Vec<_>>().join(", ");
    let _ = writeln!(out, "\n[reconcile]");
    let _ = writeln!(out, "billing = \"{}\"", r.billing.as_str());
    if let Some(file) = &r.admin_key_file {
        let _ = writeln!(out, "admin_key_file = {:?}", file.display().to_string());
    }
    let _ = writeln!(out, "api_key_ids = [{}]", ids(&r.api_key_ids));
    let _ = writeln!(out, "workspace_ids = [{}]", ids(&r.workspace_ids));
    let _ = writeln!(out, "alert_ratio = {:?}", r.alert_ratio);
    let _ = writeln!(out, "min_day_usd = {:?}", r.min_day_usd);
    let _ = writeln!(out, "overhead_tokens = {}", r.overhead_tokens);
    let _ = writeln!(out, "correct_budgets = {}", r.correct_budgets);
    let _ = writeln!(out, "window_days = {}", r.window_days);
    let _ = writeln!(out, "min_factor = {:?}", r.min_factor);
    let _ = writeln!(out, "max_factor = {:?}", r.max_factor);
    let _ = writeln!(out, "timeout_secs = {}", r.timeout_secs);
    out
}

fn render_price(p: &PriceOverride) -> String {
    let mut parts = vec![format!("input = {:?}", p.input), format!("output = {:?}", p.output)];
    for (name, value) in
        [("cache_write_5m", p.cache_write_5m), ("cache_write_1h", p.cache_write_1h), ("cache_read", p.cache_read)]
    {
        if let Some(value) = value {
            parts.push(format!("{name} = {value:?}"));
        }
    }
    format!("{{ {} }}", parts.join(", "))
}

impl Pricing {
    /// The built-in price table with this config's overrides; `path` names the file in errors.
    pub(crate) fn table(&self, path: &Path) -> Result<crate::pricing::PriceTable, ConfigError> {
        use crate::pricing::{PriceTable, Rates};
        let rates = |p: &PriceOverride| {
            Rates::from_usd_per_mtok(p.input, p.output, p.cache_write_5m, p.cache_write_1h, p.cache_read)
        };
        let mut table = PriceTable::builtin();
        match &self.unknown_model {
            UnknownModel::MostExpensive => {}
            UnknownModel::Like(model) => {
                let known = table.rates(model).copied().ok_or_else(|| ConfigError::Invalid {
                    path: path.to_path_buf(),
                    key: "pricing.unknown_model".to_owned(),
                    message: format!("names {model:?}, which the price table does not know"),
                })?;
                table.set_unknown(known);
            }
            UnknownModel::Price(price) => table.set_unknown(rates(price)),
        }
        for (model, price) in &self.models {
            table.set_override(model, rates(price));
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> (Config, Vec<String>) {
        parse(text, Path::new("/c.toml")).unwrap()
    }

    fn parse_err(text: &str) -> String {
        parse(text, Path::new("/c.toml")).unwrap_err().to_string()
    }

    #[test]
    fn empty_file_is_the_defaults() {
        assert_eq!(parse_ok("").0, Config::default());
    }

    #[test]
    fn template_parses_to_the_defaults_without_warnings() {
        let (config, warnings) = parse_ok(TEMPLATE);
        assert_eq!(config, Config::default());
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn rendered_config_parses_back() {
        let (config, _) = parse_ok(
            "[budget]\nsession_usd = 5\ntimezone = \"Asia/Tokyo\"\n[policy]\non_breach = \"deny\"\n\
             [pricing.models.\"x\"]\ninput = 1\noutput = 2\ncache_read = 0.5\n",
        );
        assert_eq!(parse_ok(&render(&config)).0, config);
    }

    #[test]
    fn values_are_read() {
        let (config, _) = parse_ok(
            "[budget]\nsession_usd = 5\ndaily_usd = 12.5\nwarn_at = 0.5\ntimezone = \"UTC\"\n\
             [policy]\non_breach = \"exit-code\"\non_error = \"block\"\n\
             [pricing]\nunknown_model = { input = 1, output = 2 }\n[transcripts]\nrescan_secs = 0\n",
        );
        assert_eq!(config.budget.session_usd, 5.0);
        assert_eq!(config.budget.daily_usd, 12.5);
        assert_eq!(config.budget.timezone, Zone::Utc);
        assert_eq!(config.policy.on_breach, OnBreach::ExitCode);
        assert_eq!(config.policy.on_error, OnError::Block);
        assert_eq!(config.transcripts.rescan_secs, 0);
        assert!(matches!(config.pricing.unknown_model, UnknownModel::Price(PriceOverride { input: 1.0, .. })));
    }

    #[test]
    fn unknown_keys_warn() {
        let (_, warnings) = parse_ok("colour = 1\n[budget]\nsesion_usd = 3\n");
        assert_eq!(warnings.len(), 2);
        assert!(warnings[1].contains("`budget.sesion_usd`"), "{warnings:?}");
    }

    #[test]
    fn invalid_values_name_key_and_file() {
        let err = parse_err("[budget]\nsession_usd = \"ten\"\n");
        assert!(err.contains("`budget.session_usd` in `/c.toml` must be a number"), "{err}");
        let err = parse_err("[budget]\ndaily_usd = -1\n");
        assert!(err.contains("must not be negative"), "{err}");
        let err = parse_err("[budget]\nwarn_at = 1.5\n");
        assert!(err.contains("`budget.warn_at`"), "{err}");
        let err = parse_err("[budget]\ntimezone = \"Mars/Base\"\n");
        assert!(err.contains("`budget.timezone`"), "{err}");
        let err = parse_err("[policy]\non_breach = \"explode\"\n");
        assert!(err.contains("`policy.on_breach`"), "{err}");
        let err = parse_err("[pricing.models.\"m\"]\ninput = 1\n");
        assert!(err.contains("needs both `input` and `output`"), "{err}");
        let err = parse_err("budget = 3\n");
        assert!(err.contains("`budget`"), "{err}");
    }

    #[test]
    fn reconcile_values_are_read_and_checked() {
        let (config, _) = parse_ok(
            "[reconcile]\nbilling = \"subscription\"\nalert_ratio = 1.3\ncorrect_budgets = true\n\
             window_days = 7\nmin_factor = 0.9\nmax_factor = 2\napi_key_ids = [\"apikey_1\"]\n\
             admin_key_file = \"~/k\"\n",
        );
        let r = &config.reconcile;
        assert_eq!(r.billing, Billing::Subscription);
        assert_eq!((r.alert_ratio, r.correct_budgets, r.window_days), (1.3, true, 7));
        assert_eq!((r.min_factor, r.max_factor), (0.9, 2.0));
        assert_eq!(r.api_key_ids, ["apikey_1"]);
        assert_eq!(r.admin_key_file.as_deref(), Some(Path::new("~/k")));
        assert_eq!(parse_ok(&render(&config)).0, config);
        let err = parse_err("[reconcile]\nalert_ratio = 0.9\n");
        assert!(err.contains("`reconcile.alert_ratio` in `/c.toml` must be above 1"), "{err}");
        let err = parse_err("[reconcile]\nmin_factor = 2\nmax_factor = 1.5\n");
        assert!(err.contains("`reconcile.max_factor`"), "{err}");
        let err = parse_err("[reconcile]\nbilling = \"free\"\n");
        assert!(err.contains("`reconcile.billing`"), "{err}");
        let err = parse_err("[reconcile]\ntimeout_secs = 0\n");
        assert!(err.contains("from 1 to 600"), "{err}");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = parse_err("[budget]\nsession_usd = \n");
        assert!(err.contains("`/c.toml` is not valid TOML: line 2"), "{err}");
    }
}

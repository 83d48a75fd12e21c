//! The user's budgets and policies, read from one TOML file: defaults live in `impl Default` only, unknown keys
//! warn, and every invalid value is an error naming the key and the file.

use crate::zone::Zone;
use std::fmt::Write as _;

mod breakers;
mod scopes;
pub(crate) use breakers::MAX_BURN_MINUTES;
pub(crate) use scopes::{ProjectBudget, Reach, Scopes};
use std::path::{Path, PathBuf};
use toml::{Table, Value};

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Config {
    pub budget: Budget,
    pub policy: Policy,
    pub pricing: Pricing,
    pub transcripts: Transcripts,
    pub reconcile: Reconcile,
    pub alerts: Alerts,
    /// `[team]`: `None` when the config has no such table (team mode off).
    pub team: Option<Team>,
    /// `[breaker.*]` (see [`breakers`]).
    pub breaker: breakers::Breakers,
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
    /// Output tokens a response whose final usage Claude Code never wrote is estimated at, for the budgets:
    /// `None` for its session's median output per response; 0 adds no estimate.
    pub incomplete_output_tokens: Option<u64>,
    /// The budgets over other spans and slices of the spend (see [`scopes`]).
    pub scopes: Scopes,
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
    /// transcript (Claude Code writes it while the hook runs); 0 never waits. The mod's gate waits as long at most
    /// for requests in flight to finish.
    pub wait_ms: u64,
    /// What a model request the mod let through holds against the budgets while it is in flight.
    pub reserve: Reserve,
    /// Refuse the next call when the spend plus the most the next response could cost would reach a budget.
    pub predict: bool,
    /// Past this fraction of any dollar budget (0: never), new subagents start on `downgrade_model`.
    pub downgrade_at: f64,
    pub downgrade_model: Option<String>,
}

/// The estimate a model request in flight holds against every budget until its usage is known (the mod's gate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reserve {
    /// The most the request could cost: its prompt as fresh cache writes plus 128,000 output tokens, never less
    /// than the session's largest response (the hook's bound on the response being written).
    Bound,
    /// What the session's latest response cost.
    Last,
    /// Nothing: only finished requests count.
    Off,
}

/// Prices in USD per million tokens; the cache rates default to Anthropic's multiples of `input`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PriceOverride {
    pub input: f64,
    pub output: f64,
    pub cache_write_5m: Option<f64>,
    pub cache_write_1h: Option<f64>,
    pub cache_read: Option<f64>,
    /// What fast mode (`usage.speed = "fast"`) multiplies the price by (default 1).
    pub fast_multiplier: Option<u32>,
    /// What `inference_geo = "us"` multiplies the price by: 1 or Anthropic's 1.1 (default 1).
    pub us_multiplier: Option<f64>,
    /// Rates for every token of a response whose prompt is over `above_prompt_tokens` (default 200,000).
    pub long_context: Option<LongContextOverride>,
}

/// A long-context tier of a price override, in USD per million tokens.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LongContextOverride {
    pub above_prompt_tokens: u64,
    pub input: f64,
    pub output: f64,
    pub cache_write_5m: Option<f64>,
    pub cache_write_1h: Option<f64>,
    pub cache_read: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum UnknownModel {
    /// Price an unknown model as the dearest known model of its family (haiku; sonnet; opus, fable, mythos), else
    /// as the dearest of all.
    Family,
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

/// What an alert is about: the events that send one (`alerts.send_on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AlertKind {
    /// A budget passed `budget.warn_at`.
    Warn,
    /// A session was blocked (any budget or breaker, `on_error = "block"`).
    Block,
    /// A tool call was refused as an attempt on ccbreaker's own files, hooks or limits, or a session for a tampered
    /// transcript or a state made unusable.
    Tamper,
    /// ccbreaker could not check the budgets and let a call through (`on_error = "allow"`).
    FailOpen,
    /// The daily digest line (`alerts.daily_digest`), and `ccbreaker digest --send`.
    Digest,
    /// `ccbreaker reconcile` flagged a day the bill shows above the estimate.
    Reconcile,
}

impl AlertKind {
    pub(crate) const ALL: [AlertKind; 6] = [
        AlertKind::Warn,
        AlertKind::Block,
        AlertKind::Tamper,
        AlertKind::FailOpen,
        AlertKind::Digest,
        AlertKind::Reconcile,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AlertKind::Warn => "warn",
            AlertKind::Block => "block",
            AlertKind::Tamper => "tamper",
            AlertKind::FailOpen => "fail_open",
            AlertKind::Digest => "digest",
            AlertKind::Reconcile => "reconcile",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// Where a secret (a URL with a token in it) comes from: the config itself, an environment variable it names, or a
/// file it names (`~/` is the home directory). The value is never printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Value(String),
    Env(String),
    File(PathBuf),
}

/// One place alerts go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Channel {
    /// POST of a JSON body with a Slack- and Discord-compatible text field.
    Webhook(Source),
    /// POST of the text to an ntfy topic URL (priority high on a block).
    Ntfy(Source),
    /// notify-send on Linux, osascript on macOS.
    Desktop,
    /// A program run with the alert as JSON on stdin.
    Command(Vec<String>),
}

impl Channel {
    /// What the channel is called in status, doctor and the delivery record (never its URL).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Channel::Webhook(_) => "webhook",
            Channel::Ntfy(_) => "ntfy",
            Channel::Desktop => "desktop",
            Channel::Command(_) => "command",
        }
    }
}

/// A channel, and whose config named it: in locked mode a user's config may add channels to the root's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Configured {
    pub channel: Channel,
    /// Named by the user's own config in locked mode (the root's channels are `false`).
    pub from_user: bool,
}

/// `[team]`: one budget for a team, kept on a Redis server every member's machine points at (see `crate::team`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Team {
    /// `redis_url`; `CCBREAKER_REDIS_URL` wins when set (the place of credentials kept out of the file). Never shown.
    pub redis_url: Option<crate::env::Secret>,
    /// The team's name: every key it writes is under it.
    pub name: String,
    /// Whose spend this machine's is; `None`: the OS user name.
    pub member: Option<String>,
    /// USD the whole team may spend in one day of `timezone`; 0 turns the scope off.
    pub daily_usd: f64,
    /// USD the whole team may spend in one calendar month of `timezone`; 0 turns the scope off.
    pub monthly_usd: f64,
    /// USD one member may spend in one day, on all their machines; 0 turns the scope off.
    pub member_daily_usd: f64,
    pub on_unreachable: OnUnreachable,
    /// Milliseconds the totals read from the server may be reused when there is nothing new to push.
    pub cache_ms: u64,
    /// Milliseconds one exchange with the server may take, connecting included.
    pub timeout_ms: u64,
    /// Where the team's days and months start: every member must use the same.
    pub timezone: Zone,
    /// A CA file (PEM) a `rediss://` server's certificate may be signed by, beside the web's roots.
    pub tls_ca_file: Option<PathBuf>,
}

/// What a hook does when the team's server cannot be reached in `team.timeout_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnUnreachable {
    /// Judge the team budgets on the last totals read plus what this machine has counted since.
    Allow,
    /// Block the call.
    Block,
}

impl OnUnreachable {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OnUnreachable::Allow => "allow",
            OnUnreachable::Block => "block",
        }
    }
}

impl Default for Team {
    fn default() -> Team {
        Team {
            redis_url: None,
            name: "default".to_owned(),
            member: None,
            daily_usd: 0.0,
            monthly_usd: 0.0,
            member_daily_usd: 0.0,
            on_unreachable: OnUnreachable::Allow,
            cache_ms: 0,
            timeout_ms: 50,
            timezone: Zone::Utc,
            tls_ca_file: None,
        }
    }
}

/// `[alerts]`: where alerts go, on what, and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Alerts {
    pub channels: Vec<Configured>,
    /// One alert per (scope, kind) per this many minutes.
    pub cooldown_minutes: u64,
    pub send_on: Vec<AlertKind>,
    /// Send yesterday's digest line with the first hook call of each day.
    pub daily_digest: bool,
    /// Seconds one delivery may take.
    pub timeout_secs: u64,
}

impl Default for Alerts {
    fn default() -> Alerts {
        Alerts {
            channels: Vec::new(),
            cooldown_minutes: 30,
            send_on: vec![
                AlertKind::Warn,
                AlertKind::Block,
                AlertKind::Tamper,
                AlertKind::FailOpen,
                AlertKind::Reconcile,
            ],
            daily_digest: false,
            timeout_secs: 10,
        }
    }
}

impl Alerts {
    /// Whether an alert of `kind` goes anywhere.
    pub(crate) fn sends(&self, kind: AlertKind) -> bool {
        !self.channels.is_empty() && self.send_on.contains(&kind)
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
        Budget {
            session_usd: 20.0,
            daily_usd: 50.0,
            warn_at: 0.8,
            timezone: Zone::Local,
            incomplete_output_tokens: None,
            scopes: Scopes::default(),
        }
    }
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            on_breach: OnBreach::Stop,
            on_error: OnError::Allow,
            wait_ms: 1500,
            reserve: Reserve::Last,
            predict: false,
            downgrade_at: 0.0,
            downgrade_model: None,
        }
    }
}

impl Default for Pricing {
    fn default() -> Pricing {
        Pricing { unknown_model: UnknownModel::Family, models: Vec::new() }
    }
}

impl Default for Transcripts {
    fn default() -> Transcripts {
        Transcripts { rescan_secs: 10, extra_roots: Vec::new() }
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

impl Reserve {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Reserve::Bound => "bound",
            Reserve::Last => "last",
            Reserve::Off => "off",
        }
    }

    fn parse(value: &str) -> Option<Reserve> {
        match value {
            "bound" => Some(Reserve::Bound),
            "last" => Some(Reserve::Last),
            "off" => Some(Reserve::Off),
            _ => None,
        }
    }

    /// How much a reservation holds back: `bound` the most, `off` nothing.
    fn strength(self) -> u8 {
        match self {
            Reserve::Off => 0,
            Reserve::Last => 1,
            Reserve::Bound => 2,
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
    /// The fingerprint of what was read ([`last_good::fingerprint`]).
    pub fingerprint: u64,
    /// The file's text, to keep as the last good config.
    pub text: Option<String>,
}

/// The largest config file read: a config is a few KB.
const MAX_CONFIG: u64 = 1 << 20;

/// Reads `path`; a missing file means the defaults. Only a regular file is read (never a FIFO, which would block),
/// and the config must be valid as a whole ([`validate`]).
pub(crate) fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text = match crate::files::read_regular(path, MAX_CONFIG) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let fingerprint = last_good::fingerprint(path, None);
            return Ok(Loaded { config: Config::default(), exists: false, warnings: vec![], fingerprint, text: None });
        }
        Err(source) => return Err(ConfigError::Read { path: path.to_path_buf(), source }),
    };
    let text = String::from_utf8(text)
        .map_err(|_| ConfigError::Syntax { path: path.to_path_buf(), message: "it is not UTF-8 text".to_owned() })?;
    let (config, warnings) = parse(&text, path)?;
    validate(&config, path)?;
    let fingerprint = last_good::fingerprint(path, Some(&text));
    Ok(Loaded { config, exists: true, warnings, fingerprint, text: Some(text) })
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
        self.warn_unknown(
            root,
            "",
            &["budget", "policy", "pricing", "transcripts", "reconcile", "alerts", "breaker", "team"],
        );
        let defaults = Config::default();
        Ok(Config {
            budget: self.budget(self.section(root, "budget")?, defaults.budget)?,
            policy: self.policy(self.section(root, "policy")?, defaults.policy)?,
            pricing: self.pricing(self.section(root, "pricing")?)?,
            transcripts: self.transcripts(self.section(root, "transcripts")?, defaults.transcripts)?,
            reconcile: self.reconcile(self.section(root, "reconcile")?, defaults.reconcile)?,
            alerts: self.alerts(self.section(root, "alerts")?, defaults.alerts)?,
            team: self.section(root, "team")?.map(|table| self.team(table)).transpose()?,
            breaker: self.breakers(self.section(root, "breaker")?)?,
        })
    }

    fn team(&mut self, table: &Table) -> Result<Team, ConfigError> {
        const KEYS: [&str; 11] = [
            "redis_url",
            "name",
            "member",
            "daily_usd",
            "monthly_usd",
            "member_daily_usd",
            "on_unreachable",
            "cache_ms",
            "timeout_ms",
            "timezone",
            "tls_ca_file",
        ];
        self.warn_unknown(table, "team", &KEYS);
        let mut t = Team::default();
        if let Some(v) = table.get("redis_url") {
            let url = self.string("team.redis_url", v)?.trim();
            if let Err(why) = crate::team::resp::Target::parse(url) {
                return Err(self.invalid("team.redis_url", why));
            }
            t.redis_url = Some(crate::env::Secret::new(url.to_owned()));
        }
        for (key, value) in [("name", &mut t.name), ("member", t.member.get_or_insert_with(String::new))] {
            if let Some(v) = table.get(key) {
                let full = format!("team.{key}");
                let text = self.string(&full, v)?;
                if text.is_empty() || text.len() > 64 || !text.chars().all(|c| c.is_ascii_graphic()) {
                    return Err(
                        self.invalid(&full, format!("must be 1 to 64 printable ASCII characters, got {text:?}"))
                    );
                }
                *value = text.to_owned();
            }
        }
        t.member = t.member.filter(|m| !m.is_empty());
        if let Some(v) = table.get("daily_usd") {
            t.daily_usd = self.usd("team.daily_usd", v)?;
        }
        if let Some(v) = table.get("monthly_usd") {
            t.monthly_usd = self.usd("team.monthly_usd", v)?;
        }
        if let Some(v) = table.get("member_daily_usd") {
            t.member_daily_usd = self.usd("team.member_daily_usd", v)?;
        }
        if let Some(v) = table.get("on_unreachable") {
            t.on_unreachable = match self.string("team.on_unreachable", v)? {
                "allow" => OnUnreachable::Allow,
                "block" => OnUnreachable::Block,
                other => {
                    return Err(
                        self.invalid("team.on_unreachable", format!("must be \"allow\" or \"block\", got {other:?}"))
                    );
                }
            };
        }
        if let Some(v) = table.get("cache_ms") {
            t.cache_ms = self.whole("team.cache_ms", v, 0, 3_600_000, "milliseconds")?;
        }
        if let Some(v) = table.get("timeout_ms") {
            t.timeout_ms = self.whole("team.timeout_ms", v, 1, 5_000, "milliseconds")?;
        }
        if let Some(v) = table.get("tls_ca_file") {
            t.tls_ca_file = Some(PathBuf::from(self.string("team.tls_ca_file", v)?));
        }
        if let Some(v) = table.get("timezone") {
            let name = self.string("team.timezone", v)?;
            t.timezone = Zone::parse(name).filter(|zone| *zone != Zone::Local).ok_or_else(|| {
                let what = "must be the same on every member's machine: \"UTC\" or an IANA zone name such as";
                self.invalid("team.timezone", format!("{what} \"Europe/Berlin\", got {name:?}"))
            })?;
        }
        Ok(t)
    }

    fn alerts(&mut self, table: Option<&Table>, mut a: Alerts) -> Result<Alerts, ConfigError> {
        let Some(table) = table else { return Ok(a) };
        const KEYS: [&str; 13] = [
            "webhook_url",
            "webhook_url_env",
            "webhook_url_file",
            "ntfy_url",
            "ntfy_url_env",
            "ntfy_url_file",
            "desktop",
            "command",
            "cooldown_minutes",
            "send_on",
            "daily_digest",
            "timeout_secs",
            "enabled",
        ];
        self.warn_unknown(table, "alerts", &KEYS);
        for (name, make) in [("webhook_url", Channel::Webhook as fn(Source) -> Channel), ("ntfy_url", Channel::Ntfy)] {
            if let Some(source) = self.secret_source(table, name)? {
                a.channels.push(Configured { channel: make(source), from_user: false });
            }
        }
        if let Some(v) = table.get("desktop")
            && self.boolean("alerts.desktop", v)?
        {
            a.channels.push(Configured { channel: Channel::Desktop, from_user: false });
        }
        if let Some(v) = table.get("command") {
            let Value::Array(items) = v else {
                return Err(
                    self.invalid("alerts.command", "must be an array: the program and its arguments".to_owned())
                );
            };
            let words: Vec<String> =
                items.iter().map(|i| self.string("alerts.command", i).map(str::to_owned)).collect::<Result<_, _>>()?;
            if let Some(program) = words.first() {
                if program.is_empty() {
                    return Err(self.invalid("alerts.command", "names an empty program".to_owned()));
                }
                a.channels.push(Configured { channel: Channel::Command(words), from_user: false });
            }
        }
        if let Some(v) = table.get("cooldown_minutes") {
            a.cooldown_minutes = self.whole("alerts.cooldown_minutes", v, 0, 10_080, "minutes")?;
        }
        if let Some(v) = table.get("timeout_secs") {
            a.timeout_secs = self.whole("alerts.timeout_secs", v, 1, 120, "seconds")?;
        }
        if let Some(v) = table.get("daily_digest") {
            a.daily_digest = self.boolean("alerts.daily_digest", v)?;
        }
        if let Some(v) = table.get("send_on") {
            let Value::Array(items) = v else {
                return Err(self.invalid("alerts.send_on", "must be an array of alert kinds".to_owned()));
            };
            let mut kinds = Vec::new();
            for item in items {
                let name = self.string("alerts.send_on", item)?;
                let kind = AlertKind::parse(name).ok_or_else(|| {
                    let all: Vec<&str> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
                    self.invalid("alerts.send_on", format!("names {name:?}; the kinds are {}", all.join(", ")))
                })?;
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            a.send_on = kinds;
        }
        if let Some(v) = table.get("enabled")
            && !self.boolean("alerts.enabled", v)?
        {
            a.channels.clear();
        }
        Ok(a)
    }

    /// `NAME`, `NAME_env` or `NAME_file` of `[alerts]`: at most one of them, an http(s) URL when written out.
    fn secret_source(&self, table: &Table, name: &str) -> Result<Option<Source>, ConfigError> {
        let keys = [name.to_owned(), format!("{name}_env"), format!("{name}_file")];
        let given: Vec<&String> = keys.iter().filter(|k| table.contains_key(k.as_str())).collect();
        if given.len() > 1 {
            let key = format!("alerts.{}", given[1]);
            return Err(self.invalid(&key, format!("goes with alerts.{}: give one of them", given[0])));
        }
        let Some(key) = given.first() else { return Ok(None) };
        let full = format!("alerts.{key}");
        let value = self.string(&full, &table[key.as_str()])?;
        if value.trim().is_empty() {
            return Ok(None);
        }
        Ok(Some(if key.ends_with("_env") {
            Source::Env(value.to_owned())
        } else if key.ends_with("_file") {
            Source::File(PathBuf::from(value))
        } else {
            if !(value.starts_with("http://") || value.starts_with("https://")) {
                return Err(self.invalid(&full, "must be an http:// or https:// URL".to_owned()));
            }
            Source::Value(value.to_owned())
        }))
    }

    fn boolean(&self, key: &str, value: &Value) -> Result<bool, ConfigError> {
        value.as_bool().ok_or_else(|| self.invalid(key, format!("must be true or false, got {value}")))
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
            r.correct_budgets = self.boolean("reconcile.correct_budgets", v)?;
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
        let mut known = vec!["session_usd", "daily_usd", "warn_at", "timezone", "incomplete_output_tokens"];
        known.extend(scopes::KEYS);
        self.warn_unknown(table, "budget", &known);
        budget.scopes = self.scopes(table, budget.scopes)?;
        if let Some(v) = table.get("incomplete_output_tokens") {
            budget.incomplete_output_tokens = match v {
                Value::Integer(n) if *n >= 0 => Some(*n as u64),
                Value::String(s) if s == "median" => None,
                _ => {
                    return Err(self.invalid(
                        "budget.incomplete_output_tokens",
                        format!("must be a whole number of tokens (0 turns the estimate off) or \"median\", got {v}"),
                    ));
                }
            };
        }
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
        self.warn_unknown(
            table,
            "policy",
            &["on_breach", "on_error", "wait_ms", "reserve", "predict", "downgrade_at", "downgrade_model"],
        );
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
        if let Some(v) = table.get("reserve") {
            let value = self.string("policy.reserve", v)?;
            policy.reserve = Reserve::parse(value).ok_or_else(|| {
                self.invalid("policy.reserve", format!("must be \"bound\", \"last\" or \"off\", got {value:?}"))
            })?;
        }
        if let Some(v) = table.get("predict") {
            policy.predict = self.boolean("policy.predict", v)?;
        }
        if let Some(v) = table.get("downgrade_at") {
            let at = self.number("policy.downgrade_at", v)?;
            if !(0.0..=1.0).contains(&at) {
                return Err(self.invalid("policy.downgrade_at", format!("must be a fraction from 0 to 1, got {at}")));
            }
            policy.downgrade_at = at;
        }
        if let Some(v) = table.get("downgrade_model") {
            let model = self.string("policy.downgrade_model", v)?.trim();
            policy.downgrade_model = (!model.is_empty()).then(|| model.to_owned());
        }
        if policy.downgrade_at > 0.0 && policy.downgrade_model.is_none() {
            return Err(self.invalid(
                "policy.downgrade_at",
                "needs policy.downgrade_model, the model to start subagents on".to_owned(),
            ));
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
        const KEYS: [&str; 8] = [
            "input",
            "output",
            "cache_write_5m",
            "cache_write_1h",
            "cache_read",
            "fast_multiplier",
            "us_multiplier",
            "long_context",
        ];
        self.warn_unknown(table, key, &KEYS);
        let (input, output, cache_write_5m, cache_write_1h, cache_read) = self.five_rates(key, table)?;
        let fast_multiplier = match table.get("fast_multiplier") {
            None => None,
            Some(Value::Integer(n)) if (1..=100).contains(n) => Some(*n as u32),
            Some(v) => {
                let key = format!("{key}.fast_multiplier");
                return Err(self.invalid(&key, format!("must be a whole number from 1 to 100, got {v}")));
            }
        };
        let us_multiplier = match table.get("us_multiplier") {
            None => None,
            Some(v) => {
                let key = format!("{key}.us_multiplier");
                let x = self.number(&key, v)?;
                if x != 1.0 && x != 1.1 {
                    return Err(self.invalid(&key, format!("must be 1 or 1.1 (Anthropic's US-only premium), got {x}")));
                }
                Some(x)
            }
        };
        let long_context = match table.get("long_context") {
            None => None,
            Some(Value::Table(tier)) => {
                let key = format!("{key}.long_context");
                self.warn_unknown(
                    tier,
                    &key,
                    &["above_prompt_tokens", "input", "output", "cache_write_5m", "cache_write_1h", "cache_read"],
                );
                let (input, output, cache_write_5m, cache_write_1h, cache_read) = self.five_rates(&key, tier)?;
                let above_prompt_tokens = match tier.get("above_prompt_tokens") {
                    None => 200_000,
                    Some(Value::Integer(n)) if *n > 0 => *n as u64,
                    Some(v) => {
                        let key = format!("{key}.above_prompt_tokens");
                        return Err(self.invalid(&key, format!("must be a whole number of tokens, got {v}")));
                    }
                };
                Some(LongContextOverride {
                    above_prompt_tokens,
                    input,
                    output,
                    cache_write_5m,
                    cache_write_1h,
                    cache_read,
                })
            }
            Some(_) => {
                let key = format!("{key}.long_context");
                return Err(self.invalid(&key, "must be a table of prices (input, output, ...)".to_owned()));
            }
        };
        Ok(PriceOverride {
            input,
            output,
            cache_write_5m,
            cache_write_1h,
            cache_read,
            fast_multiplier,
            us_multiplier,
            long_context,
        })
    }

    /// `input` and `output` (required) and the three cache rates of a price table.
    #[allow(clippy::type_complexity)]
    fn five_rates(
        &self,
        key: &str,
        table: &Table,
    ) -> Result<(f64, f64, Option<f64>, Option<f64>, Option<f64>), ConfigError> {
        let field = |name: &str| -> Result<Option<f64>, ConfigError> {
            table.get(name).map(|v| self.usd(&format!("{key}.{name}"), v)).transpose()
        };
        let (Some(input), Some(output)) = (field("input")?, field("output")?) else {
            return Err(self.invalid(key, "needs both `input` and `output` (USD per million tokens)".to_owned()));
        };
        Ok((input, output, field("cache_write_5m")?, field("cache_write_1h")?, field("cache_read")?))
    }

    fn transcripts(&mut self, table: Option<&Table>, mut t: Transcripts) -> Result<Transcripts, ConfigError> {
        let Some(table) = table else { return Ok(t) };
        self.warn_unknown(table, "transcripts", &["rescan_secs", "extra_roots"]);
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
            let hint = match did_you_mean(key, known) {
                Some(near) if section.is_empty() => format!(" (did you mean `[{near}]`?)"),
                Some(near) => format!(" (did you mean `{section}.{near}`?)"),
                None => String::new(),
            };
            self.warnings.push(format!("unknown key `{full}` in `{}` is ignored{hint}", self.path.display()));
        }
    }
}

/// The known key closest to `key`, when it is close enough to be a typo: at most a third of its letters differ
/// (case aside).
pub(crate) fn did_you_mean<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let key = key.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&key, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d > 0 && *d <= (k.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, on characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

impl OnBreach {
    /// How hard a breach stops the session: `stop` ends the turn, `exit-code` refuses and halts at PostToolBatch,
    /// `deny` only refuses tool calls.
    fn strength(self) -> u8 {
        match self {
            OnBreach::Deny => 0,
            OnBreach::ExitCode => 1,
            OnBreach::Stop => 2,
        }
    }
}

/// The budgets in force in locked mode: `root`'s (the root-owned config), tightened by the user's own config where
/// it is stricter, never loosened. A budget that one side turns off (0) is the other side's; warnings come at the
/// earlier fraction; the stricter `on_breach` and `on_error` and the longer `wait_ms` win; more transcript roots
/// and more frequent walks only count more. The time zone and prices are the root's alone (another zone would move
/// the day's end; other prices could make spend cheaper).
pub(crate) fn tighten(root: Config, user: &Config) -> Config {
    let budget = |a: f64, b: f64| match (a > 0.0, b > 0.0) {
        (true, true) => a.min(b),
        (true, false) => a,
        _ => b,
    };
    let mut config = root;
    let b = &mut config.budget;
    b.session_usd = budget(b.session_usd, user.budget.session_usd);
    b.daily_usd = budget(b.daily_usd, user.budget.daily_usd);
    b.warn_at = budget(b.warn_at, user.budget.warn_at);
    scopes::tighten(&mut b.scopes, &user.budget.scopes, budget);
    breakers::tighten(&mut config.breaker, &user.breaker);
    // The estimate for responses whose final usage was never written: more tokens is stricter; an estimate the
    // root turned off (0) may be turned on; the median (`None`) and a number cannot be compared, so the root's stays.
    b.incomplete_output_tokens = match (b.incomplete_output_tokens, user.budget.incomplete_output_tokens) {
        (Some(root), Some(user)) => Some(root.max(user)),
        (Some(0), None) => None,
        (root, _) => root,
    };
    let p = &mut config.policy;
    if user.policy.on_breach.strength() > p.on_breach.strength() {
        p.on_breach = user.policy.on_breach;
    }
    if user.policy.on_error == OnError::Block {
        p.on_error = OnError::Block;
    }
    p.wait_ms = p.wait_ms.max(user.policy.wait_ms);
    if user.policy.reserve.strength() > p.reserve.strength() {
        p.reserve = user.policy.reserve;
    }
    // Predicting only refuses sooner; a downgrade is the root's to set (a user's model could be a dearer one).
    p.predict |= user.policy.predict;
    // The budget correction: on if either turns it on, and clamped to the higher floor and ceiling (a correction
    // only ever raises spend in locked mode, see `Place::correction`). How the bill is read is the root's, but for
    // the user's own key file.
    let r = &mut config.reconcile;
    r.correct_budgets |= user.reconcile.correct_budgets;
    r.min_factor = r.min_factor.max(user.reconcile.min_factor);
    r.max_factor = r.max_factor.max(user.reconcile.max_factor);
    if r.admin_key_file.is_none() {
        r.admin_key_file.clone_from(&user.reconcile.admin_key_file);
    }
    // Alerts inform and never decide: a user's config may add its own channels, which get the root's alerts; the
    // root's channels, kinds and cooldown stand.
    for extra in &user.alerts.channels {
        config.alerts.channels.push(Configured { channel: extra.channel.clone(), from_user: true });
    }
    let t = &mut config.transcripts;
    t.rescan_secs = t.rescan_secs.min(user.transcripts.rescan_secs);
    for root in &user.transcripts.extra_roots {
        if !t.extra_roots.contains(root) {
            t.extra_roots.push(root.clone());
        }
    }
    config
}

/// Checks what the config names that only the price table can confirm (`pricing.unknown_model`), so that a config
/// that loads is a config that works.
pub(crate) fn validate(config: &Config, path: &Path) -> Result<(), ConfigError> {
    if let UnknownModel::Like(model) = &config.pricing.unknown_model
        && crate::pricing::PriceTable::builtin().rates(model).is_none()
    {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key: "pricing.unknown_model".to_owned(),
            message: format!("names {model:?}, which the price table does not know"),
        });
    }
    Ok(())
}

/// The last config that was read whole and valid, kept in the state directory: a config that later cannot be read
/// or parsed (a typo, `chmod 000`, a file removed) leaves it in force, never the defaults nor "allow".
pub(crate) mod last_good {
    use super::Config;
    use crate::files::{self, Durability};
    use chrono::{DateTime, Utc};
    use std::path::{Path, PathBuf};

    /// What the copy records about where and when it was read.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Header {
        path: PathBuf,
        at: DateTime<Utc>,
        exists: bool,
    }

    const PREFIX: &str = "# ccbreaker last good: ";

    /// The copy's file in `state_dir` for the config at `source` (one per config file name: locked mode keeps the
    /// root's and the user's apart).
    pub(crate) fn file(state_dir: &Path, root: bool) -> PathBuf {
        state_dir.join(if root { "root-config.last-good.toml" } else { "config.last-good.toml" })
    }

    /// A fingerprint of a config as read (its text, whether it exists, where it is): the copy is rewritten only
    /// when this changes.
    pub(crate) fn fingerprint(path: &Path, text: Option<&str>) -> u64 {
        let mut bytes = path.as_os_str().as_encoded_bytes().to_vec();
        bytes.push(0);
        bytes.extend_from_slice(text.map_or(b"\x01missing".as_slice(), str::as_bytes));
        files::checksum(&bytes)
    }

    /// Keeps `text` (`None`: the file did not exist, so the defaults were in force) as the last good config.
    pub(crate) fn remember(copy: &Path, path: &Path, text: Option<&str>, at: DateTime<Utc>) -> std::io::Result<()> {
        let header = Header { path: path.to_path_buf(), at, exists: text.is_some() };
        let json = serde_json::to_string(&header).expect("the header serialises");
        let body = format!("{PREFIX}{json}\n{}", text.unwrap_or(""));
        files::write_atomic(copy, body.as_bytes(), Durability::Synced, None)
    }

    /// What is kept for a config at `path`, when it was read, and whether that config existed.
    pub(crate) struct Kept {
        pub config: Config,
        pub at: DateTime<Utc>,
        pub existed: bool,
    }

    /// The last good config for `path`, if one is kept (for that same path, and still valid).
    pub(crate) fn recall(copy: &Path, path: &Path) -> Option<Kept> {
        let bytes = files::read_capped(copy, 4 << 20).ok().flatten()?;
        let text = String::from_utf8(bytes).ok()?;
        let (first, body) = text.split_once('\n')?;
        let header: Header = serde_json::from_str(first.strip_prefix(PREFIX)?).ok()?;
        if header.path != path {
            return None;
        }
        let config = if header.exists {
            let (config, _) = super::parse(body, path).ok()?;
            super::validate(&config, path).ok()?;
            config
        } else {
            Config::default()
        };
        Some(Kept { config, at: header.at, existed: header.exists })
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
# Claude Code sometimes never writes the final usage of a (subagent) response, leaving only an early snapshot:
# such totals are shown as "at least". The budgets add this many output tokens for each such response (less what
# it recorded): "median" is the session's median output per response; 0 adds nothing.
incomplete_output_tokens = "median"
# More budgets, each off unless set (0): USD per 5-hour billing block (as `ccbreaker report blocks` shows them),
# per week (from Monday) and per calendar month, all sessions; tokens per session and per day, counting
# `token_classes` ("input", "output", "cache_creation", "cache_read"; all of them unless set).
# block_5h_usd = 0.0
# weekly_usd = 0.0
# monthly_usd = 0.0
# session_tokens = 0
# daily_tokens = 0
# token_classes = ["input", "output", "cache_creation", "cache_read"]
# Subscribers (Pro, Max): stop at this percentage of the plan's own 5-hour and 7-day windows, as Claude Code reports
# them to its statusline (`ccbreaker install --statusline` records them). 0: off.
# five_hour_pct = 0
# seven_day_pct = 0

# A project's own budgets: sessions whose project directory matches `path` (a glob: `*` within a directory,
# `**` across them; `~/` is your home) and, if given, whose git branch is `branch`. A session is held to the first
# entry that matches it. Each entry may have session_usd, daily_usd, weekly_usd, monthly_usd and its own warn_at.
# [[budget.project]]
# path = "~/work/acme/**"
# branch = "main"
# daily_usd = 20.0

# A model's own budgets, counting only the spend of the models whose name matches the glob.
# [budget.model."claude-opus-*"]
# daily_usd = 30.0

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
# ccbreaker's mod (Claude Code 2.1.331 and later) asks before every model request. A request it lets through holds
# an estimate against every budget until its usage is known, so parallel subagents cannot together cross a budget
# by more than one response: "last" holds what the session's latest response cost; "bound" the most one response
# could cost (its prompt as fresh cache writes plus 128,000 output tokens: safe, but it refuses parallel requests
# far earlier); "off" holds nothing. A lone request under budget is never refused on an estimate.
reserve = "last"
# Stop before the crossing, not after it: refuse the next tool call or prompt when the spend plus the most the next
# response could cost (its prompt as fresh cache writes plus 128,000 output tokens) would reach a budget.
predict = false
# A softer line: past this fraction of any dollar budget, new subagents (the Agent tool) start on downgrade_model,
# and the session is told once. 0 turns it off.
# downgrade_at = 0.8
# downgrade_model = "claude-sonnet-5"

[pricing]
# Price used for a model the price table does not know: a known model's name, or a table like
# { input = 15.0, output = 75.0 } in USD per million tokens. Default: the dearest known model of its family
# (an unknown haiku as the dearest haiku; sonnet; opus, fable or mythos), else the dearest model of all.
# unknown_model = "claude-opus-4-1"

# Per-model prices in USD per million tokens; cache rates default to 1.25x (5 min write), 2x (1 h write)
# and 0.1x (read) of input. They win over the built-in table and over `ccbreaker prices update`.
# [pricing.models."my-gateway-model"]
# input = 3.0
# output = 15.0
# fast_multiplier = 2        # fast mode (usage.speed = "fast") costs this many times more
# us_multiplier = 1.1        # US-only inference (inference_geo = "us") costs 1.1x
# long_context = { above_prompt_tokens = 200000, input = 6.0, output = 22.5 }

[transcripts]
# Seconds between scans of every transcript directory for sessions that do not run this hook.
rescan_secs = 10
# More directories laid out like ~/.claude/projects.
extra_roots = []

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

[alerts]
# Where alerts go (any number of these; none: no alerts). A URL with a token in it may come from an environment
# variable (webhook_url_env = "NAME") or a file (webhook_url_file = "~/.config/ccbreaker/webhook-url") instead;
# it is never printed. Test them with `ccbreaker alert test`.
# webhook_url = "https://hooks.slack.com/services/..."   # JSON with a Slack- and Discord-compatible text field
# ntfy_url = "https://ntfy.sh/my-topic"                   # priority high on a block
# desktop = true                                         # notify-send (Linux), osascript (macOS)
# command = ["/path/to/script"]                          # gets the alert as JSON on stdin
# What sends an alert: "warn", "block", "tamper", "fail_open", "reconcile" (and "digest").
send_on = ["warn", "block", "tamper", "fail_open", "reconcile"]
# At most one alert per scope (a session, the day) and kind in this many minutes.
cooldown_minutes = 30
# Send yesterday's one-line digest with the first hook call of each day.
daily_digest = false
# Seconds one delivery may take (it never delays a hook: it happens in a process of its own).
timeout_secs = 10

# Breakers trip on the shape of a runaway rather than its total. Each is off unless its table is here; a table
# without keys takes the values shown.
#
# The same tool call with the same input (white space and key order aside) `repeats` times in a session within
# `window_minutes` with no file written in between, or two calls alternating A-B-A-B-A-B: that call is denied with
# a message the model can act on; at twice the count the session is stopped.
# [breaker.loop]
# repeats = 5
# window_minutes = 10
#
# Spend of `usd` within any `minutes` (1 to 120), in one session or across all: the session is stopped.
# [breaker.burn_rate]
# usd = 5.0
# minutes = 10
#
# Subagents (the Agent and Task tools, and the mod's agent.spawn): a spawn past a cap is refused. max_active counts
# those running at once, max_per_session all a session started, max_depth nesting (a subagent's own subagents are 2).
# [breaker.subagents]
# max_active = 8
# max_per_session = 50
# max_depth = 2
#
# Requests the API refused (rate limits, overloads, server errors: the client's error lines in the transcript),
# `count` within `minutes` in one session: the session is stopped, with the kinds of error in the reason.
# [breaker.api_errors]
# count = 10
# minutes = 5

# One budget for a whole team, on a Redis server every member's machine points at (see the README's "Team
# budgets"). Off without a [team] table.
# [team]
# redis_url = "redis://127.0.0.1:6379/0"   # or CCBREAKER_REDIS_URL; redis://user:password@host:port/db
# name = "default"                 # the team: every key is under it
# member = "alice"                 # default: the OS user name
# daily_usd = 0.0                  # the whole team, per day of `timezone`; 0 turns it off
# monthly_usd = 0.0                # the whole team, per calendar month
# member_daily_usd = 0.0           # one member on all their machines, per day
# on_unreachable = "allow"         # or "block" when the server does not answer in timeout_ms
# cache_ms = 0                     # reuse totals read this recently when there is nothing new to push
# timeout_ms = 50                  # one exchange with the server, connecting included
# timezone = "UTC"                 # the same on every machine: "UTC" or an IANA name
# tls_ca_file = "~/.config/ccbreaker/redis-ca.pem"   # for rediss:// with a private CA
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
    match b.incomplete_output_tokens {
        None => {
            let _ = writeln!(out, "incomplete_output_tokens = \"median\"");
        }
        Some(n) => {
            let _ = writeln!(out, "incomplete_output_tokens = {n}");
        }
    }
    scopes::render(&mut out, &b.scopes);
    let _ = writeln!(out, "\n[policy]");
    let _ = writeln!(out, "on_breach = \"{}\"", config.policy.on_breach.as_str());
    let _ = writeln!(out, "on_error = \"{}\"", config.policy.on_error.as_str());
    let _ = writeln!(out, "wait_ms = {}", config.policy.wait_ms);
    let _ = writeln!(out, "reserve = \"{}\"", config.policy.reserve.as_str());
    let _ = writeln!(out, "predict = {}", config.policy.predict);
    if let Some(model) = &config.policy.downgrade_model {
        let _ = writeln!(out, "downgrade_at = {:?}\ndowngrade_model = {model:?}", config.policy.downgrade_at);
    }
    let _ = writeln!(out, "\n[pricing]");
    match &config.pricing.unknown_model {
        UnknownModel::Family => {
            let _ = writeln!(out, "# unknown_model: the dearest known model of its family, else the dearest of all");
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
    let a = &config.alerts;
    let _ = writeln!(out, "\n[alerts]");
    for configured in &a.channels {
        let whose = if configured.from_user { " # from your own config" } else { "" };
        let line = match &configured.channel {
            Channel::Webhook(source) => source_line("webhook_url", source),
            Channel::Ntfy(source) => source_line("ntfy_url", source),
            Channel::Desktop => "desktop = true".to_owned(),
            Channel::Command(words) => {
                format!("command = [{}]", words.iter().map(|w| format!("{w:?}")).collect::<Vec<_>>().join(", "))
            }
        };
        let _ = writeln!(out, "{line}{whose}");
    }
    let kinds: Vec<String> = a.send_on.iter().map(|k| format!("{:?}", k.as_str())).collect();
    let _ = writeln!(out, "send_on = [{}]", kinds.join(", "));
    let _ = writeln!(out, "cooldown_minutes = {}", a.cooldown_minutes);
    let _ = writeln!(out, "daily_digest = {}", a.daily_digest);
    let _ = writeln!(out, "timeout_secs = {}", a.timeout_secs);
    breakers::render(&mut out, &config.breaker);
    if let Some(t) = &config.team {
        let _ = writeln!(out, "\n[team]");
        if let Some(url) = &t.redis_url {
            // Checked when read; shown without credentials.
            let shown = crate::team::resp::Target::parse(url.expose()).map(|t| t.to_string()).unwrap_or_default();
            let _ = writeln!(out, "redis_url = {shown:?} # CCBREAKER_REDIS_URL wins when set");
        }
        let _ = writeln!(out, "name = {:?}", t.name);
        if let Some(member) = &t.member {
            let _ = writeln!(out, "member = {member:?}");
        }
        let _ = writeln!(out, "daily_usd = {:?}", t.daily_usd);
        let _ = writeln!(out, "monthly_usd = {:?}", t.monthly_usd);
        let _ = writeln!(out, "member_daily_usd = {:?}", t.member_daily_usd);
        let _ = writeln!(out, "on_unreachable = \"{}\"", t.on_unreachable.as_str());
        let _ = writeln!(out, "cache_ms = {}", t.cache_ms);
        let _ = writeln!(out, "timeout_ms = {}", t.timeout_ms);
        let _ = writeln!(out, "timezone = \"{}\"", t.timezone.name());
        if let Some(file) = &t.tls_ca_file {
            let _ = writeln!(out, "tls_ca_file = {:?}", file.display().to_string());
        }
    }
    out
}

/// A secret's key as `config check` shows it: an environment variable or a file by name, a URL written out only as
/// its scheme and host.
fn source_line(key: &str, source: &Source) -> String {
    match source {
        Source::Value(url) => format!("{key} = {:?} # the rest of the URL is not shown", redact_url(url)),
        Source::Env(var) => format!("{key}_env = {var:?}"),
        Source::File(path) => format!("{key}_file = {:?}", path.display().to_string()),
    }
}

/// `https://host[:port]/…`: a URL with its path, query and credentials (where tokens live) left out.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let tail = if rest.len() > authority.len() { "/…" } else { "" };
    if scheme.is_empty() { format!("{host}{tail}") } else { format!("{scheme}://{host}{tail}") }
}

fn render_price(p: &PriceOverride) -> String {
    let mut parts = rate_parts(p.input, p.output, p.cache_write_5m, p.cache_write_1h, p.cache_read);
    if let Some(fast) = p.fast_multiplier {
        parts.push(format!("fast_multiplier = {fast}"));
    }
    if let Some(us) = p.us_multiplier {
        parts.push(format!("us_multiplier = {us:?}"));
    }
    if let Some(long) = &p.long_context {
        let mut tier = vec![format!("above_prompt_tokens = {}", long.above_prompt_tokens)];
        tier.extend(rate_parts(long.input, long.output, long.cache_write_5m, long.cache_write_1h, long.cache_read));
        parts.push(format!("long_context = {{ {} }}", tier.join(", ")));
    }
    format!("{{ {} }}", parts.join(", "))
}

fn rate_parts(input: f64, output: f64, w5: Option<f64>, w1: Option<f64>, read: Option<f64>) -> Vec<String> {
    let mut parts = vec![format!("input = {input:?}"), format!("output = {output:?}")];
    for (name, value) in [("cache_write_5m", w5), ("cache_write_1h", w1), ("cache_read", read)] {
        if let Some(value) = value {
            parts.push(format!("{name} = {value:?}"));
        }
    }
    parts
}

impl PriceOverride {
    /// The rates this override sets.
    pub(crate) fn rates(&self) -> crate::pricing::Rates {
        use crate::pricing::{LongContext, Rates};
        let mut rates = Rates::from_usd_per_mtok(
            self.input,
            self.output,
            self.cache_write_5m,
            self.cache_write_1h,
            self.cache_read,
        );
        rates.fast_multiplier = self.fast_multiplier.unwrap_or(1);
        rates.us_geo_multiplier = self.us_multiplier == Some(1.1);
        rates.long_context = self.long_context.as_ref().map(|long| {
            let tier = Rates::from_usd_per_mtok(
                long.input,
                long.output,
                long.cache_write_5m,
                long.cache_write_1h,
                long.cache_read,
            );
            LongContext {
                above_prompt_tokens: long.above_prompt_tokens,
                input: tier.input,
                output: tier.output,
                cache_write_5m: tier.cache_write_5m,
                cache_write_1h: tier.cache_write_1h,
                cache_read: tier.cache_read,
                until: None,
            }
        });
        rates
    }
}

impl Pricing {
    /// The built-in price table with the rows of the last `ccbreaker prices update` (`updates`) over it and this
    /// config's overrides over both; `path` names the config file in errors.
    pub(crate) fn table(
        &self,
        path: &Path,
        updates: Vec<(String, crate::pricing::Rates)>,
    ) -> Result<crate::pricing::PriceTable, ConfigError> {
        use crate::pricing::PriceTable;
        let mut table = PriceTable::builtin();
        table.set_updates(updates);
        for (model, price) in &self.models {
            table.set_override(model, price.rates());
        }
        match &self.unknown_model {
            UnknownModel::Family => {}
            UnknownModel::Like(model) => {
                let known = table.rates(model).copied().ok_or_else(|| ConfigError::Invalid {
                    path: path.to_path_buf(),
                    key: "pricing.unknown_model".to_owned(),
                    message: format!("names {model:?}, which the price table does not know"),
                })?;
                table.set_unknown(known, model);
            }
            UnknownModel::Price(price) => table.set_unknown(price.rates(), "pricing.unknown_model"),
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn parse_ok(text: &str) -> (Config, Vec<String>) {
        parse(text, Path::new("/c.toml")).unwrap()
    }

    pub(super) fn parse_err(text: &str) -> String {
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
        let (config, warnings) = parse_ok(
            "[budget]\nsession_usd = 5\ntimezone = \"Asia/Tokyo\"\nincomplete_output_tokens = 900\n\
             [policy]\non_breach = \"deny\"\n[pricing.models.\"x\"]\ninput = 1\noutput = 2\ncache_read = 0.5\n\
             fast_multiplier = 6\nus_multiplier = 1.1\nlong_context = { above_prompt_tokens = 100000, input = 2, output = 4 }\n",
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config.budget.incomplete_output_tokens, Some(900));
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
        let err = parse_err("[policy]\nreserve = \"all\"\n");
        assert!(err.contains("`policy.reserve` in `/c.toml` must be \"bound\", \"last\" or \"off\""), "{err}");
        let err = parse_err("[pricing.models.\"m\"]\ninput = 1\n");
        assert!(err.contains("needs both `input` and `output`"), "{err}");
        let err = parse_err("[pricing.models.\"m\"]\ninput = 1\noutput = 2\nus_multiplier = 1.5\n");
        assert!(err.contains("`pricing.models.\"m\".us_multiplier` in `/c.toml` must be 1 or 1.1"), "{err}");
        let err = parse_err("[budget]\nincomplete_output_tokens = -3\n");
        assert!(err.contains("`budget.incomplete_output_tokens`"), "{err}");
        let err = parse_err("budget = 3\n");
        assert!(err.contains("`budget`"), "{err}");
    }

    #[test]
    fn team_keys_read_with_their_defaults_and_bad_values_name_the_key() {
        assert_eq!(parse_ok("").0.team, None);
        let (config, warnings) = parse_ok("[team]\nredis_url = \"redis://:pw@10.0.0.5:6380/2\"\nmonthly_usd = 900\n");
        let team = config.team.unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!((team.monthly_usd, team.timeout_ms, team.cache_ms, team.name.as_str()), (900.0, 50, 0, "default"));
        assert_eq!((team.on_unreachable, team.timezone, team.member.clone()), (OnUnreachable::Allow, Zone::Utc, None));
        let rendered = render(&Config { team: Some(team), ..Config::default() });
        assert!(rendered.contains("redis_url = \"redis://10.0.0.5:6380/2 (credentials hidden)\""), "{rendered}");
        assert!(!rendered.contains("pw"));
        let err = parse_err("[team]\nredis_url = \"http://:secret@h\"\n");
        assert!(err.contains("`team.redis_url` in `/c.toml` must be a redis://") && !err.contains("secret"), "{err}");
        let err = parse_err("[team]\ntimezone = \"local\"\n");
        assert!(err.contains("`team.timezone`") && err.contains("the same on every member's machine"), "{err}");
        let err = parse_err("[team]\non_unreachable = \"maybe\"\n");
        assert!(err.contains("`team.on_unreachable`"), "{err}");
        let err = parse_err("[team]\ntimeout_ms = 0\n");
        assert!(err.contains("`team.timeout_ms`"), "{err}");
        let err = parse_err("[team]\nmember = \"a b\"\n");
        assert!(err.contains("`team.member`"), "{err}");
        let (_, warnings) = parse_ok("[team]\nredis_uri = \"x\"\n");
        assert!(warnings.iter().any(|w| w.contains("team.redis_url")), "{warnings:?}");
    }

    #[test]
    fn in_locked_mode_the_team_comes_from_the_root_config_only() {
        let (root, _) = parse_ok("[team]\nredis_url = \"redis://10.0.0.5\"\nname = \"eng\"\ndaily_usd = 100\n");
        let (user, _) = parse_ok("[team]\nredis_url = \"redis://127.0.0.1\"\nname = \"mine\"\ndaily_usd = 0\n");
        assert_eq!(tighten(root.clone(), &user).team, root.team, "the user's [team] neither changes nor adds");
        let (none, _) = parse_ok("");
        assert_eq!(tighten(none.clone(), &user).team, None);
        assert_eq!(tighten(root.clone(), &none).team, root.team, "nor drops the root's");
    }

    #[test]
    fn a_user_config_only_tightens_the_root_one() {
        let (root, _) =
            parse_ok("[budget]\nsession_usd = 10\ndaily_usd = 0\ntimezone = \"UTC\"\n[policy]\non_breach = \"deny\"\n");
        let (user, _) = parse_ok(
            "[budget]\nsession_usd = 1000\ndaily_usd = 30\ntimezone = \"Asia/Tokyo\"\n[policy]\non_breach = \"stop\"\n\
             on_error = \"block\"\n[pricing]\nunknown_model = { input = 0.0, output = 0.0 }\n",
        );
        let config = tighten(root.clone(), &user);
        assert_eq!((config.budget.session_usd, config.budget.daily_usd), (10.0, 30.0));
        assert_eq!(config.budget.timezone, Zone::Utc, "the day's end is the root's");
        assert_eq!((config.policy.on_breach, config.policy.on_error), (OnBreach::Stop, OnError::Block));
        assert_eq!(config.pricing, root.pricing, "prices are the root's");
        let (loose, _) = parse_ok("[budget]\nsession_usd = 0\n[policy]\non_breach = \"deny\"\non_error = \"allow\"\n");
        assert_eq!(tighten(root.clone(), &loose).budget.session_usd, 10.0, "0 turns nothing off");
        let reserve = |root: &str, user: &str| {
            let (root, _) = parse_ok(&format!("[policy]\nreserve = \"{root}\"\n"));
            let (user, _) = parse_ok(&format!("[policy]\nreserve = \"{user}\"\n"));
            tighten(root, &user).policy.reserve
        };
        assert_eq!(reserve("last", "bound"), Reserve::Bound, "holding more is stricter");
        assert_eq!(reserve("last", "off"), Reserve::Last, "the user cannot turn reservations off");
        assert_eq!(reserve("off", "last"), Reserve::Last);
        let estimate = |root: &str, user: &str| {
            let (root, _) = parse_ok(&format!("[budget]\nincomplete_output_tokens = {root}\n"));
            let (user, _) = parse_ok(&format!("[budget]\nincomplete_output_tokens = {user}\n"));
            tighten(root, &user).budget.incomplete_output_tokens
        };
        assert_eq!(estimate("500", "900"), Some(900), "a larger estimate is stricter");
        assert_eq!(estimate("900", "0"), Some(900), "the user cannot turn the estimate off");
        assert_eq!(estimate("0", "\"median\""), None, "an estimate the root left off may be turned on");
        assert_eq!(estimate("\"median\"", "0"), None);
        let (root, _) = parse_ok("[reconcile]\nmin_factor = 1.1\nmax_factor = 2\nalert_ratio = 1.5\n");
        let (user, _) = parse_ok(
            "[reconcile]\ncorrect_budgets = true\nmin_factor = 0.5\nmax_factor = 4\nalert_ratio = 3\n\
             admin_key_file = \"~/k\"\n",
        );
        let r = tighten(root, &user).reconcile;
        assert_eq!((r.correct_budgets, r.min_factor, r.max_factor), (true, 1.1, 4.0), "the stricter correction");
        assert_eq!((r.alert_ratio, r.admin_key_file.as_deref()), (1.5, Some(Path::new("~/k"))));
    }

    #[test]
    fn price_overrides_can_set_fast_mode_us_only_and_long_context_rates() {
        use crate::pricing::{ResponseFacts, Speed};
        use crate::usage::{Pico, Usage};
        let (config, warnings) = parse_ok(
            "[pricing.models.\"gw-model\"]\ninput = 2\noutput = 10\nfast_multiplier = 3\nus_multiplier = 1.1\n\
             long_context = { above_prompt_tokens = 100000, input = 4, output = 20 }\n",
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        let table = config.pricing.table(Path::new("/c.toml"), Vec::new()).unwrap();
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let price = |usage: &Usage, speed, geo| {
            table.price(&ResponseFacts { model: "gw-model", usage, speed, inference_geo: geo, date }).cost
        };
        let small = Usage { input_tokens: 50_000, output_tokens: 10_000, ..Usage::default() };
        // $0.10 + $0.10 at the standard rates; fast mode x3; US-only x1.1.
        assert_eq!(price(&small, Speed::Standard, None), Pico::from_usd(0.2));
        assert_eq!(price(&small, Speed::Fast, None), Pico::from_usd(0.6));
        assert_eq!(price(&small, Speed::Standard, Some("us")), Pico::from_usd(0.22));
        // A prompt over 100,000 tokens is billed whole at the long-context rates: $4 + $2.
        let long = Usage { input_tokens: 1_000_000, output_tokens: 100_000, ..Usage::default() };
        assert_eq!(price(&long, Speed::Standard, None), Pico::from_usd(6.0));
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

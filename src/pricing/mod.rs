//! Turns one response's token usage into dollars. A budget is only as credible as its prices, so
//! this follows Anthropic's published rules exactly (cache tiers, long context, fast mode, US-only
//! inference, web search), in integer pico-dollars, from a table compiled into the binary: a hook
//! must price without network, files or floating-point drift.

pub(crate) mod litellm;
pub(crate) mod stored;
mod table;
pub(crate) mod update;

use std::cmp::Reverse;

use chrono::NaiveDate;

use crate::usage::{Pico, Usage};

/// Web search: $10 per 1,000 requests, for every model.
const WEB_SEARCH_PER_REQUEST: u64 = Pico::PER_USD / 100;

/// `usage.speed` of a response: fast mode costs a model-specific multiple of the standard price.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Speed {
    #[default]
    Standard,
    Fast,
}

/// What the transcript tells us about one response: everything its price depends on.
#[derive(Debug, Clone, Copy)]
pub struct ResponseFacts<'a> {
    /// `message.model` as written, e.g. `claude-opus-4-7[1m]` or a Bedrock id.
    pub model: &'a str,
    pub usage: &'a Usage,
    pub speed: Speed,
    /// `usage.inference_geo`; `"us"` costs 1.1x on the models that support it.
    pub inference_geo: Option<&'a str>,
    /// UTC date of the response: the long-context premium of some models ended on a date.
    pub date: NaiveDate,
}

/// One model's prices, in pico-USD (1e-12 USD) per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    pub input: u64,
    pub output: u64,
    /// Prompt-cache write with the 5-minute TTL (1.25x input, Anthropic's rule).
    pub cache_write_5m: u64,
    /// Prompt-cache write with the 1-hour TTL (2x input, Anthropic's rule).
    pub cache_write_1h: u64,
    /// Prompt-cache hit (0.1x input, Anthropic's rule).
    pub cache_read: u64,
    /// Premium rates for long prompts, if the model has them.
    pub long_context: Option<LongContext>,
    /// Multiplier of the whole token cost in fast mode (1 when fast mode costs nothing extra).
    pub fast_multiplier: u32,
    /// Whether `inference_geo == "us"` costs 1.1x.
    pub us_geo_multiplier: bool,
}

/// Long-context rates, in pico-USD per token: they apply to **every** token of a response whose
/// prompt (input + cache writes + cache reads) exceeds `above_prompt_tokens`, output included.
///
/// That is Anthropic's rule. ccusage instead splits each bucket at the threshold and bills only
/// the tokens above it at the premium, which undercounts such responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongContext {
    /// 200,000 prompt tokens for all current models; the late table gives Haiku 5.5 a
    /// 100,000-token tier.
    pub above_prompt_tokens: u64,
    pub input: u64,
    pub output: u64,
    pub cache_write_5m: u64,
    /// 2x the long-context input rate.
    pub cache_write_1h: u64,
    pub cache_read: u64,
    /// First UTC date the premium no longer applies (4.6 models: 2026-03-31), if it ended.
    pub until: Option<NaiveDate>,
}

/// The cost of one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub cost: Pico,
    /// False when the model was not found and its price is a guess (see [`PriceTable::guess`]).
    pub known_model: bool,
}

/// The model families an unknown model is priced within: a name naming none is priced as the dearest of all.
const FAMILIES: [&[&str]; 3] = [&["haiku"], &["sonnet"], &["opus", "fable", "mythos"]];

/// The built-in rates, with the rates of `ccbreaker prices update` over them and the config's over both, and how
/// models found in none of them are priced.
#[derive(Debug, Clone)]
pub struct PriceTable {
    /// The config's `pricing.models`, keyed by normalized model name; a handful at most, so a linear scan is fastest.
    overrides: Vec<(String, Rates)>,
    /// Rows of the last `ccbreaker prices update`, keyed by model name (sorted).
    updates: Vec<(String, Rates)>,
    unknown: Unknown,
    /// The budget correction (`reconcile.correct_budgets`): every price multiplied by its model's billed/local
    /// factor. Only the hook's table carries one; reports price as Anthropic lists.
    correction: Option<crate::correction::Correction>,
}

/// How a model that no table knows is priced.
#[derive(Debug, Clone, PartialEq)]
enum Unknown {
    /// As the dearest model of its family (haiku, sonnet, or opus/fable/mythos), else the dearest of all.
    Family,
    /// At these rates (`pricing.unknown_model`), named for `status` as this.
    Fixed(Rates, String),
}

/// Where a row of the effective price table comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The built-in table: LiteLLM's current snapshot.
    Snapshot,
    /// The built-in table: a model LiteLLM's current table no longer lists, from an older copy.
    Retired,
    /// The built-in table: one of Anthropic's aliases, priced as the model it names.
    Alias,
    /// `ccbreaker prices update`.
    Updated,
    /// The config's `pricing.models`.
    Config,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Snapshot => "built-in",
            Origin::Retired => "built-in (retired upstream)",
            Origin::Alias => "built-in (alias)",
            Origin::Updated => "prices update",
            Origin::Config => "config",
        }
    }
}

/// A model's prices, found once ([`PriceTable::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// `None` for a model that costs nothing (`<synthetic>`).
    rates: Option<Rates>,
    known_model: bool,
    region_per_mille: u32,
    /// The budget correction's factor for this model, in parts per million ([`crate::correction::ONE`]: none).
    factor_ppm: u64,
}

impl Resolved {
    /// The price of one response of this model (`facts.model` is not looked at again), and what one more output
    /// token would add to it.
    pub fn price_and_output_rate(&self, facts: &ResponseFacts) -> (Price, u64) {
        let Some(rates) = &self.rates else {
            return (Price { cost: Pico(0), known_model: true }, 0);
        };
        let cost_of = |usage: &Usage| {
            let tokens = per_mille(rates.token_cost(&ResponseFacts { usage, ..*facts }), self.region_per_mille);
            let cost = crate::correction::scale(tokens.saturating_add(web_search_cost(usage)), self.factor_ppm);
            Pico(u64::try_from(cost).unwrap_or(u64::MAX))
        };
        let cost = cost_of(facts.usage);
        let one_more = Usage { output_tokens: facts.usage.output_tokens.saturating_add(1), ..*facts.usage };
        (Price { cost, known_model: self.known_model }, cost_of(&one_more).saturating_sub(cost).0)
    }
}

/// The five per-token rates that one response is billed at (standard or long-context).
struct Tier {
    input: u64,
    output: u64,
    cache_write_5m: u64,
    cache_write_1h: u64,
    cache_read: u64,
}

impl Rates {
    /// Rates from USD per million tokens, as users write them. Missing cache rates follow
    /// Anthropic's rules: 5-minute write 1.25x, 1-hour write 2x, read 0.1x the input rate.
    /// Negative or non-finite amounts count as 0. No long-context tier, fast mode x1, no US
    /// multiplier.
    pub fn from_usd_per_mtok(
        input: f64,
        output: f64,
        cache_write_5m: Option<f64>,
        cache_write_1h: Option<f64>,
        cache_read: Option<f64>,
    ) -> Rates {
        let input = pico_per_token(input);
        Rates {
            input,
            output: pico_per_token(output),
            cache_write_5m: cache_write_5m.map_or(scale(input, 5, 4), pico_per_token),
            cache_write_1h: cache_write_1h.map_or(scale(input, 2, 1), pico_per_token),
            cache_read: cache_read.map_or(scale(input, 1, 10), pico_per_token),
            long_context: None,
            fast_multiplier: 1,
            us_geo_multiplier: false,
        }
    }

    fn standard_tier(&self) -> Tier {
        Tier {
            input: self.input,
            output: self.output,
            cache_write_5m: self.cache_write_5m,
            cache_write_1h: self.cache_write_1h,
            cache_read: self.cache_read,
        }
    }

    /// The tier a response is billed at: long-context if its prompt is over the threshold.
    fn tier_for(&self, usage: &Usage, date: NaiveDate) -> Tier {
        match self.long_context {
            Some(long) if long.applies(usage, date) => long.tier(),
            _ => self.standard_tier(),
        }
    }

    /// Tokens times rates, with the fast-mode and US-inference multipliers.
    fn token_cost(&self, facts: &ResponseFacts) -> u128 {
        let cost = self.tier_for(facts.usage, facts.date).cost(facts.usage);
        let cost = match facts.speed {
            Speed::Standard => cost,
            Speed::Fast => cost.saturating_mul(u128::from(self.fast_multiplier)),
        };
        if self.us_geo_multiplier && facts.inference_geo == Some("us") { times_1_1(cost) } else { cost }
    }

    /// Sum of the standard rates: how "most expensive model" is ranked.
    fn weight(&self) -> u128 {
        self.standard_tier().cost(&Usage {
            input_tokens: 1,
            output_tokens: 1,
            cache_creation_5m_tokens: 1,
            cache_creation_1h_tokens: 1,
            cache_read_tokens: 1,
            web_search_requests: 0,
        })
    }
}

impl LongContext {
    fn applies(&self, usage: &Usage, date: NaiveDate) -> bool {
        let still_billed = self.until.is_none_or(|until| date < until);
        still_billed && usage.prompt_tokens() > self.above_prompt_tokens
    }

    fn tier(&self) -> Tier {
        Tier {
            input: self.input,
            output: self.output,
            cache_write_5m: self.cache_write_5m,
            cache_write_1h: self.cache_write_1h,
            cache_read: self.cache_read,
        }
    }
}

impl Tier {
    fn cost(&self, usage: &Usage) -> u128 {
        [
            (usage.input_tokens, self.input),
            (usage.output_tokens, self.output),
            (usage.cache_creation_5m_tokens, self.cache_write_5m),
            (usage.cache_creation_1h_tokens, self.cache_write_1h),
            (usage.cache_read_tokens, self.cache_read),
        ]
        .into_iter()
        .map(|(tokens, rate)| u128::from(tokens) * u128::from(rate))
        .fold(0, u128::saturating_add)
    }
}

impl PriceTable {
    /// The embedded table, no overrides; unknown models cost as much as the dearest known model of their family.
    /// Cheap: nothing is copied or indexed.
    pub fn builtin() -> PriceTable {
        PriceTable { overrides: Vec::new(), updates: Vec::new(), unknown: Unknown::Family, correction: None }
    }

    /// Prices `model` (matched after normalization, like lookups) at `rates`, ahead of the
    /// built-in table. An undated name also covers its dated versions. `rates` replaces the
    /// model's fast and US multipliers and long-context tier too: copy them from
    /// [`PriceTable::rates`] to keep them.
    pub fn set_override(&mut self, model: &str, rates: Rates) {
        let key = normalize(model);
        match self.overrides.iter_mut().find(|(name, _)| *name == key) {
            Some((_, existing)) => *existing = rates,
            None => self.overrides.push((key, rates)),
        }
    }

    /// Lays the rows of a `ccbreaker prices update` over the built-in table (under the config's overrides).
    pub fn set_updates(&mut self, mut rows: Vec<(String, Rates)>) {
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows.dedup_by(|a, b| a.0 == b.0);
        self.updates = rows;
    }

    /// The rates for models that no table knows, named `name` where `status` says what they were priced as.
    pub fn set_unknown(&mut self, rates: Rates, name: &str) {
        self.unknown = Unknown::Fixed(rates, name.to_owned());
    }

    /// The rates of `model`, or `None` if it is unknown. Tries the name as written, then
    /// normalized (see [`normalize`]), then without a trailing `-YYYYMMDD` date; the overrides
    /// are searched that way before the updated table, and that before the built-in one.
    pub fn rates(&self, model: &str) -> Option<&Rates> {
        self.lookup(model).map(|(rates, _)| rates)
    }

    /// The rates of `model` and where they come from.
    pub fn lookup(&self, model: &str) -> Option<(&Rates, Origin)> {
        let normalized = normalize(model);
        let keys = [Some(model), Some(normalized.as_str()), without_date(&normalized)];
        let keys = keys.into_iter().flatten();
        if let Some(rates) = self.override_for(keys.clone()) {
            return Some((rates, Origin::Config));
        }
        for key in keys.clone() {
            if let Ok(i) = self.updates.binary_search_by(|(name, _)| name.as_str().cmp(key)) {
                return Some((&self.updates[i].1, Origin::Updated));
            }
        }
        keys.into_iter().find_map(builtin_row).map(|(_, rates, origin)| (rates, *origin))
    }

    /// How a model no table knows is priced: the rates, and the model (or `pricing.unknown_model`) they are.
    /// Its family's dearest model (haiku; sonnet; opus, fable or mythos), else the dearest model of all.
    pub fn guess(&self, model: &str) -> (Rates, String) {
        if let Unknown::Fixed(rates, name) = &self.unknown {
            return (*rates, name.clone());
        }
        let normalized = normalize(model);
        let family = FAMILIES.iter().find(|words| words.iter().any(|w| normalized.contains(w)));
        let in_family = |name: &str| family.is_none_or(|words| words.iter().any(|w| name.contains(w)));
        // Every row of every table, without building the table: the dearest wins; ties go to the shortest name (an
        // undated alias), then the alphabetically last (the newest version).
        let rows = table::MODELS
            .iter()
            .map(|(name, rates, _)| (*name, rates))
            .chain(self.updates.iter().map(|(name, rates)| (name.as_str(), rates)))
            .chain(self.overrides.iter().map(|(name, rates)| (name.as_str(), rates)));
        fn rank<'r>(row: &(&'r str, &Rates)) -> (Reverse<u128>, usize, Reverse<&'r str>) {
            (Reverse(row.1.weight()), row.0.len(), Reverse(row.0))
        }
        let dearest = rows.clone().filter(|(name, _)| in_family(name)).min_by_key(rank);
        let (name, rates) = dearest.or_else(|| rows.min_by_key(rank)).expect("the built-in price table is not empty");
        (*rates, name.to_owned())
    }

    /// What an unknown `model` is priced as, or `None` if a table knows it (or it is free).
    pub fn priced_as(&self, model: &str) -> Option<String> {
        (self.lookup(model).is_none() && !is_free_model(model)).then(|| self.guess(model).1)
    }

    /// The effective table: every model any table names, with its rates and origin (config rows by their
    /// normalized name), sorted by name.
    pub fn rows(&self) -> Vec<(String, Rates, Origin)> {
        let mut rows: std::collections::BTreeMap<String, (Rates, Origin)> =
            table::MODELS.iter().map(|(name, rates, origin)| ((*name).to_owned(), (*rates, *origin))).collect();
        rows.extend(self.updates.iter().map(|(name, rates)| (name.clone(), (*rates, Origin::Updated))));
        rows.extend(self.overrides.iter().map(|(name, rates)| (name.clone(), (*rates, Origin::Config))));
        rows.into_iter().map(|(name, (rates, origin))| (name, rates, origin)).collect()
    }

    /// The cost of one response: tokens x rates (long-context tier if it applies), times the
    /// fast-mode, US-inference and Bedrock-region multipliers, plus web search. Unknown models are never free.
    pub fn price(&self, facts: &ResponseFacts) -> Price {
        self.price_and_output_rate(facts).0
    }

    /// [`PriceTable::price`], and what one more output token would add to it (pico-USD): the model is looked up
    /// once.
    pub fn price_and_output_rate(&self, facts: &ResponseFacts) -> (Price, u64) {
        self.resolve(facts.model).price_and_output_rate(facts)
    }

    /// What prices `model`: its rates (or the guess for an unknown one) and its multipliers, found once, to price
    /// many responses of it.
    pub fn resolve(&self, model: &str) -> Resolved {
        let factor_ppm = self.correction.as_ref().map_or(crate::correction::ONE, |c| c.factor_ppm(model));
        if is_free_model(model) {
            return Resolved { rates: None, known_model: true, region_per_mille: 1000, factor_ppm };
        }
        let (rates, known_model, origin) = match self.lookup(model) {
            Some((rates, origin)) => (*rates, true, Some(origin)),
            None => (self.guess(model).0, false, None),
        };
        let region_per_mille = if origin == Some(Origin::Config) { 1000 } else { bedrock_region_per_mille(model) };
        Resolved { rates: Some(rates), known_model, region_per_mille, factor_ppm }
    }

    /// Makes every price the budgets see the corrected one (see [`crate::correction`]).
    pub(crate) fn set_correction(&mut self, correction: Option<crate::correction::Correction>) {
        self.correction = correction;
    }

    fn override_for<'k>(&self, mut keys: impl Iterator<Item = &'k str>) -> Option<&Rates> {
        keys.find_map(|key| self.overrides.iter().find(|(name, _)| name == key).map(|(_, rates)| rates))
    }
}

/// What AWS charges over list on a Bedrock inference profile, per mille: the regional (geographic) profiles
/// `us.`, `eu.`, `au.`, `jp.`, `apac.` ... of Claude 4.5 and later models cost 1.1x list, the US GovCloud ones
/// (`us-gov.`, `bedrock/us-gov-*/`) 1.2x; `global.` profiles and plain model ids cost list.
fn bedrock_region_per_mille(model: &str) -> u32 {
    let lower = model.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    let Some(at) = name.find("anthropic.claude") else { return 1000 };
    let region = name[..at].trim_end_matches('.');
    let gov = region == "us-gov" || lower.split('/').any(|segment| segment.starts_with("us-gov-"));
    let geo = !region.is_empty() && region != "global" && region.bytes().all(|b| b.is_ascii_lowercase());
    if !(gov || geo) || !is_4_5_or_later(&normalize(model)) {
        return 1000;
    }
    if gov { 1200 } else { 1100 }
}

/// Whether a normalized name is a Claude 4.5 or later model (`claude-sonnet-4-5`, `claude-opus-5`, `claude-fable-5-1`).
fn is_4_5_or_later(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("claude-") else { return false };
    let mut parts = rest.split('-');
    let family = parts.next().unwrap_or("");
    if !FAMILIES.iter().any(|words| words.contains(&family)) {
        return false;
    }
    let number = |p: Option<&str>| p.filter(|p| p.len() <= 2).and_then(|p| p.parse::<u32>().ok());
    match (number(parts.next()), number(parts.next())) {
        (Some(major), minor) => (major, minor.unwrap_or(0)) >= (4, 5),
        (None, _) => false,
    }
}

/// `cost x per_mille / 1000`, rounded half up.
fn per_mille(cost: u128, per_mille: u32) -> u128 {
    if per_mille == 1000 {
        return cost;
    }
    cost.saturating_mul(u128::from(per_mille)).saturating_add(500) / 1000
}

impl Default for PriceTable {
    fn default() -> PriceTable {
        PriceTable::builtin()
    }
}

/// `<synthetic>` lines are written by Claude Code itself, not by an API call: they cost nothing.
pub(crate) fn is_free_model(model: &str) -> bool {
    model == crate::usage::SYNTHETIC_MODEL
}

/// The lookup form of a model name: `[1m]`-style suffix dropped, lower case, provider prefixes
/// (`anthropic/`, `us.anthropic.`, `bedrock/…/`, `vertex_ai/`) and Bedrock `-v1:0` versions
/// stripped, Vertex `@20251001` turned into `-20251001` (`@default` dropped), dots turned into
/// dashes: `us.anthropic.claude-opus-4-1-20250805-v1:0` gives `claude-opus-4-1-20250805`.
pub(crate) fn normalize(model: &str) -> String {
    let name = strip_bracket_suffix(model).to_ascii_lowercase();
    let name = strip_provider_prefix(&name);
    let name = strip_bedrock_version(name);
    vertex_version_to_suffix(name).replace('.', "-")
}

/// `claude-opus-4-7[1m]` -> `claude-opus-4-7`: a context-window variant of the same model.
fn strip_bracket_suffix(model: &str) -> &str {
    match model.find('[') {
        Some(start) if model.ends_with(']') => model[..start].trim_end(),
        _ => model,
    }
}

/// Drops path-style prefixes (`bedrock/us-east-1/`, `vertex_ai/`, `anthropic/`) and dotted
/// ones right before the model (`anthropic.`, `us.anthropic.`, `global.anthropic.`).
fn strip_provider_prefix(name: &str) -> &str {
    let name = name.rsplit('/').next().unwrap_or(name);
    match name.find("claude") {
        Some(start) if name[..start].ends_with('.') => &name[start..],
        _ => name,
    }
}

/// `…-20250805-v1:0` -> `…-20250805`, and `claude-opus-4-6-v1` -> `claude-opus-4-6`.
fn strip_bedrock_version(name: &str) -> &str {
    let Some(start) = name.rfind("-v") else {
        return name;
    };
    let version = &name[start + 2..];
    let is_version = match version.split_once(':') {
        Some((major, minor)) => is_digits(major) && is_digits(minor),
        None => is_digits(version),
    };
    // A bare `-vN` is a version only after a version number (`claude-opus-4-6-v1`, not `claude-devstral-v2`).
    let after_number = name[..start].ends_with(|c: char| c.is_ascii_digit());
    if is_version && (version.contains(':') || after_number) { &name[..start] } else { name }
}

/// Vertex `claude-opus-4-1@20250805` -> `claude-opus-4-1-20250805`; `@default` is dropped.
fn vertex_version_to_suffix(name: &str) -> String {
    match name.split_once('@') {
        Some((model, version)) if is_digits(version) => format!("{model}-{version}"),
        Some((model, _)) => model.to_owned(),
        None => name.to_owned(),
    }
}

/// `claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`, to find the undated entry.
fn without_date(name: &str) -> Option<&str> {
    let (model, date) = name.rsplit_once('-')?;
    (date.len() == 8 && is_digits(date)).then_some(model)
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

fn builtin_row(name: &str) -> Option<&'static (&'static str, Rates, Origin)> {
    let index = table::MODELS.binary_search_by(|(model, _, _)| (*model).cmp(name)).ok()?;
    Some(&table::MODELS[index])
}

fn web_search_cost(usage: &Usage) -> u128 {
    u128::from(usage.web_search_requests) * u128::from(WEB_SEARCH_PER_REQUEST)
}

/// x1.1, rounded half up, in integers.
fn times_1_1(cost: u128) -> u128 {
    per_mille(cost, 1100)
}

/// `value * numerator / denominator`, rounded half up.
fn scale(value: u64, numerator: u64, denominator: u64) -> u64 {
    let scaled =
        (u128::from(value) * u128::from(numerator) * 2 + u128::from(denominator)) / (2 * u128::from(denominator));
    u64::try_from(scaled).unwrap_or(u64::MAX)
}

/// USD per million tokens -> pico-USD per token (1 USD/MTok = 1,000,000 pico-USD/token).
fn pico_per_token(usd_per_mtok: f64) -> u64 {
    if usd_per_mtok.is_finite() && usd_per_mtok > 0.0 { (usd_per_mtok * 1e6).round() as u64 } else { 0 }
}

/// A date in the generated table (a `const` context).
const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("invalid date in the price table"),
    }
}

#[cfg(test)]
mod tests;

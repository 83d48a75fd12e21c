//! Turns one response's token usage into dollars. A budget is only as credible as its prices, so
//! this follows Anthropic's published rules exactly (cache tiers, long context, fast mode, US-only
//! inference, web search), in integer pico-dollars, from a table compiled into the binary: a hook
//! must price without network, files or floating-point drift.

mod table;

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
    /// False when the model was not found and was priced at [`PriceTable::unknown_rates`].
    pub known_model: bool,
}

/// The built-in rates plus the user's overrides, and the rates for models found in neither.
#[derive(Debug, Clone)]
pub struct PriceTable {
    /// Keyed by normalized model name; a handful at most, so a linear scan is fastest.
    overrides: Vec<(String, Rates)>,
    unknown: Rates,
    most_expensive: &'static str,
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
    /// The embedded table, no overrides; unknown models cost as much as the most expensive
    /// known model. Cheap: nothing is copied or indexed.
    pub fn builtin() -> PriceTable {
        let (name, rates) = most_expensive(table::MODELS);
        PriceTable { overrides: Vec::new(), unknown: *rates, most_expensive: name }
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

    /// The rates for models that neither the overrides nor the built-in table know.
    pub fn set_unknown(&mut self, rates: Rates) {
        self.unknown = rates;
    }

    /// The rates of `model`, or `None` if it is unknown. Tries the name as written, then
    /// normalized (see [`normalize`]), then without a trailing `-YYYYMMDD` date; the overrides
    /// are searched that way before the built-in table.
    pub fn rates(&self, model: &str) -> Option<&Rates> {
        let normalized = normalize(model);
        let keys = [Some(model), Some(normalized.as_str()), without_date(&normalized)];
        let mut keys = keys.into_iter().flatten();
        self.override_for(keys.clone()).or_else(|| keys.find_map(builtin_rates))
    }

    pub fn unknown_rates(&self) -> &Rates {
        &self.unknown
    }

    /// The cost of one response: tokens x rates (long-context tier if it applies), times the
    /// fast-mode and US-inference multipliers, plus web search. Unknown models are never free.
    pub fn price(&self, facts: &ResponseFacts) -> Price {
        if is_free_model(facts.model) {
            return Price { cost: Pico(0), known_model: true };
        }
        let (rates, known_model) = match self.rates(facts.model) {
            Some(rates) => (rates, true),
            None => (&self.unknown, false),
        };
        let cost = rates.token_cost(facts).saturating_add(web_search_cost(facts.usage));
        Price { cost: Pico(u64::try_from(cost).unwrap_or(u64::MAX)), known_model }
    }

    /// The built-in model with the highest standard rates: the default price of unknown models.
    pub fn most_expensive_model(&self) -> &str {
        self.most_expensive
    }

    fn override_for<'k>(&self, mut keys: impl Iterator<Item = &'k str>) -> Option<&Rates> {
        keys.find_map(|key| self.overrides.iter().find(|(name, _)| name == key).map(|(_, rates)| rates))
    }
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

/// `…-20250805-v1:0` -> `…-20250805`.
fn strip_bedrock_version(name: &str) -> &str {
    let Some(start) = name.rfind("-v") else {
        return name;
    };
    let is_version =
        name[start + 2..].split_once(':').is_some_and(|(major, minor)| is_digits(major) && is_digits(minor));
    if is_version { &name[..start] } else { name }
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

fn builtin_rates(name: &str) -> Option<&'static Rates> {
    let index = table::MODELS.binary_search_by(|(model, _)| (*model).cmp(name)).ok()?;
    Some(&table::MODELS[index].1)
}

/// Highest [`Rates::weight`]; ties go to the shortest name (an undated alias), then the
/// alphabetically last (the newest version).
fn most_expensive(models: &'static [(&'static str, Rates)]) -> &'static (&'static str, Rates) {
    models
        .iter()
        .min_by_key(|(name, rates)| (Reverse(rates.weight()), name.len(), Reverse(*name)))
        .expect("the built-in price table is not empty")
}

fn web_search_cost(usage: &Usage) -> u128 {
    u128::from(usage.web_search_requests) * u128::from(WEB_SEARCH_PER_REQUEST)
}

/// x1.1, rounded half up, in integers.
fn times_1_1(cost: u128) -> u128 {
    cost.saturating_mul(11).saturating_add(5) / 10
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

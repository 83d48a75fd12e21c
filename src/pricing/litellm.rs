//! LiteLLM's public price table (`model_prices_and_context_window.json`) turned into rates, by the same rules as
//! `scripts/gen-pricing.py`, which builds the built-in table from it: the Anthropic entries only, Anthropic's cache
//! rules where the table is silent (5-minute write 1.25x input, read 0.1x; 1-hour write always 2x input), one
//! long-context tier, and the published facts the table lacks (fast-mode multipliers, the end of the 4.6 models'
//! long-context premium, aliases). A unit test holds the two to the same table.

use super::{LongContext, Rates, date};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Fast-mode multipliers published by Anthropic (they win over the table's `provider_specific_entry.fast`),
/// by undated model name.
const FAST_MULTIPLIERS: [(&str, u32); 3] = [("claude-opus-4-6", 6), ("claude-opus-4-7", 6), ("claude-opus-4-8", 2)];

/// Models whose long-context premium ended on a date (4.6 models: 1M context at the standard price).
const LONG_CONTEXT_UNTIL: [(&str, (i32, u32, u32)); 2] =
    [("claude-opus-4-6", (2026, 3, 31)), ("claude-sonnet-4-6", (2026, 3, 31))];

/// Anthropic's aliases that the table does not list, or lists at another price than the model they name.
const ALIASES: [(&str, &str); 6] = [
    ("claude-opus-4-0", "claude-opus-4-20250514"),
    ("claude-sonnet-4-0", "claude-sonnet-4-20250514"),
    ("claude-3-5-haiku-latest", "claude-3-5-haiku-20241022"),
    ("claude-3-5-sonnet-latest", "claude-3-5-sonnet-20241022"),
    ("claude-3-7-sonnet-latest", "claude-3-7-sonnet-20250219"),
    ("claude-3-opus-latest", "claude-3-opus-20240229"),
];

/// The long-context tiers the table has: prompt-token threshold and field suffix.
const TIERS: [(u64, &str); 2] = [(200_000, "_above_200k_tokens"), (100_000, "_above_100k_tokens")];

/// The Anthropic rows of one table, and its aliases (name, the model it names).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Converted {
    pub rows: BTreeMap<String, Rates>,
    pub aliases: Vec<(String, String)>,
}

/// Why a table could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TableError {
    #[error("is not JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("is not a JSON object of models")]
    NotAnObject,
    #[error("has no Anthropic models (no entry with `litellm_provider` \"anthropic\")")]
    NoAnthropicModels,
    #[error("`{model}.{field}` {problem}")]
    Field { model: String, field: String, problem: &'static str },
}

/// The Anthropic entries of a LiteLLM price table (the JSON text `text`), converted.
pub(crate) fn convert(text: &[u8]) -> Result<Converted, TableError> {
    let value: Value = serde_json::from_slice(text).map_err(TableError::Json)?;
    let Value::Object(models) = value else { return Err(TableError::NotAnObject) };
    let mut converted = Converted::default();
    for (name, entry) in &models {
        let Value::Object(entry) = entry else { continue };
        if entry.get("litellm_provider").and_then(Value::as_str) == Some("anthropic") {
            converted.rows.insert(name.clone(), rates(name, entry)?);
        } else if let Some(target) = entry.get("alias_of").and_then(Value::as_str)
            && !name.contains('/')
            && name.starts_with("claude-")
        {
            converted.aliases.push((name.clone(), target.to_owned()));
        }
    }
    if converted.rows.is_empty() {
        return Err(TableError::NoAnthropicModels);
    }
    Ok(converted)
}

/// `rows` with every alias whose model is in `rows` (or in `also`) added, priced as that model; Anthropic's own
/// aliases win over the table's rows for the same name.
pub(crate) fn with_aliases(
    mut rows: BTreeMap<String, Rates>,
    table_aliases: &[(String, String)],
    also: &BTreeMap<String, Rates>,
) -> BTreeMap<String, Rates> {
    let published = ALIASES.iter().map(|(a, t)| ((*a).to_owned(), (*t).to_owned()));
    for (alias, target) in table_aliases.iter().cloned().chain(published) {
        if let Some(rates) = rows.get(&target).or_else(|| also.get(&target)).copied() {
            rows.insert(alias, rates);
        }
    }
    rows
}

fn undated(name: &str) -> &str {
    match name.rsplit_once('-') {
        Some((model, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => model,
        _ => name,
    }
}

fn field_error(model: &str, field: &str, problem: &'static str) -> TableError {
    TableError::Field { model: model.to_owned(), field: field.to_owned(), problem }
}

/// A price in USD per token as pico-USD per token (rounded to the pico-dollar).
fn pico(model: &str, entry: &Map<String, Value>, field: &str) -> Result<Option<u64>, TableError> {
    match entry.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(usd) if usd.is_finite() && usd >= 0.0 => Ok(Some((usd * 1e12).round() as u64)),
            _ => Err(field_error(model, field, "is not a price")),
        },
        Some(_) => Err(field_error(model, field, "is not a number")),
    }
}

/// `value * numerator / denominator`, rounded half up.
fn scale(value: u64, numerator: u64, denominator: u64) -> u64 {
    super::scale(value, numerator, denominator)
}

/// One tier's five rates (suffix "" for the standard tier).
fn tier(model: &str, entry: &Map<String, Value>, suffix: &str) -> Result<Option<[u64; 5]>, TableError> {
    let field = |base: &str| format!("{base}{suffix}");
    let Some(input) = pico(model, entry, &field("input_cost_per_token"))? else { return Ok(None) };
    let output = pico(model, entry, &field("output_cost_per_token"))?
        .ok_or_else(|| field_error(model, &field("output_cost_per_token"), "is missing"))?;
    let write_5m = pico(model, entry, &field("cache_creation_input_token_cost"))?.unwrap_or(scale(input, 5, 4));
    let read = pico(model, entry, &field("cache_read_input_token_cost"))?.unwrap_or(scale(input, 1, 10));
    Ok(Some([input, output, write_5m, 2 * input, read]))
}

/// One Anthropic entry's rates.
fn rates(model: &str, entry: &Map<String, Value>) -> Result<Rates, TableError> {
    let [input, output, cache_write_5m, cache_write_1h, cache_read] =
        tier(model, entry, "")?.ok_or_else(|| field_error(model, "input_cost_per_token", "is missing"))?;
    let mut long_context = None;
    for (above, suffix) in TIERS {
        if let Some([input, output, cache_write_5m, cache_write_1h, cache_read]) = tier(model, entry, suffix)? {
            let until =
                LONG_CONTEXT_UNTIL.iter().find(|(m, _)| *m == undated(model)).map(|(_, (y, m, d))| date(*y, *m, *d));
            long_context = Some(LongContext {
                above_prompt_tokens: above,
                input,
                output,
                cache_write_5m,
                cache_write_1h,
                cache_read,
                until,
            });
        }
    }
    let specific = entry.get("provider_specific_entry").and_then(Value::as_object);
    let listed_fast = specific.and_then(|s| s.get("fast")).and_then(Value::as_f64);
    let fast_multiplier = match FAST_MULTIPLIERS.iter().find(|(m, _)| *m == undated(model)) {
        Some((_, published)) => *published,
        None => match listed_fast {
            None => 1,
            Some(fast) if fast >= 1.0 && fast.fract() == 0.0 => fast as u32,
            Some(_) => return Err(field_error(model, "provider_specific_entry.fast", "is not a whole multiplier")),
        },
    };
    let us_geo_multiplier = match specific.and_then(|s| s.get("us")) {
        None | Some(Value::Null) => false,
        Some(us) if us.as_f64() == Some(1.1) => true,
        Some(_) => return Err(field_error(model, "provider_specific_entry.us", "is not 1.1, the only US multiplier")),
    };
    Ok(Rates {
        input,
        output,
        cache_write_5m,
        cache_write_1h,
        cache_read,
        long_context,
        fast_multiplier,
        us_geo_multiplier,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::table;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pricing").join(name)).unwrap()
    }

    /// The two snapshots the built-in table is made from, merged as `scripts/gen-pricing.py` merges them: the late
    /// one wins per model, the older one fills in models it dropped and long-context rates it lacks.
    #[test]
    fn converting_the_snapshots_gives_the_built_in_table() {
        let late = convert(&fixture("litellm-anthropic.json")).unwrap();
        let old = convert(&fixture("litellm-anthropic-1.82.0.json")).unwrap();
        let mut rows = old.rows.clone();
        for (name, mut rates) in late.rows.clone() {
            if rates.long_context.is_none() {
                rates.long_context = old.rows.get(&name).and_then(|r| r.long_context);
            }
            rows.insert(name, rates);
        }
        let rows = with_aliases(rows, &late.aliases, &BTreeMap::new());
        let built_in: BTreeMap<String, Rates> =
            table::MODELS.iter().map(|(name, rates, _)| ((*name).to_owned(), *rates)).collect();
        assert_eq!(rows.keys().collect::<Vec<_>>(), built_in.keys().collect::<Vec<_>>());
        for (name, rates) in &built_in {
            assert_eq!(&rows[name], rates, "{name}");
        }
        assert!(!late.rows.contains_key("us.anthropic.claude-opus-4-6-v1"), "only Anthropic's own entries");
    }

    #[test]
    fn bad_tables_are_refused_with_a_reason() {
        assert!(matches!(convert(b"[1]"), Err(TableError::NotAnObject)));
        assert!(matches!(convert(b"{\"gpt\":{\"litellm_provider\":\"openai\"}}"), Err(TableError::NoAnthropicModels)));
        let no_output = br#"{"claude-x":{"litellm_provider":"anthropic","input_cost_per_token":1e-6}}"#;
        let err = convert(no_output).unwrap_err().to_string();
        assert_eq!(err, "`claude-x.output_cost_per_token` is missing");
        let text = br#"{"claude-x":{"litellm_provider":"anthropic","input_cost_per_token":"cheap"}}"#;
        assert!(convert(text).unwrap_err().to_string().contains("is not a number"));
    }
}

//! `ccbreaker prices update`, the pure part: a new LiteLLM table's Anthropic rows compared with the prices in force,
//! what changed, and what looks wrong enough to need `--force` (a price that drops by more than half, a model
//! that vanishes: the signs of a broken or hostile table, which would let a budget be overspent).

use super::litellm::{self, Converted, TableError};
use super::{PriceTable, Rates};
use std::collections::BTreeMap;

/// Why prices could not be updated.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PricesError {
    #[error("the price table from {source_name} {error}")]
    Table {
        source_name: String,
        #[source]
        error: TableError,
    },
    #[error("could not read the price table from {source_name}")]
    Fetch {
        source_name: String,
        #[source]
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Stored(#[from] super::stored::StoredError),
    #[error("{0}")]
    Refused(String),
}

/// What an update would change.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Plan {
    /// The rows to store: the new table's models (and aliases), each keeping the long-context tier in force where
    /// the new table has none.
    pub rows: BTreeMap<String, Rates>,
    pub added: Vec<String>,
    /// Model, before, after.
    pub changed: Vec<(String, Rates, Rates)>,
    /// Models priced before (by the last update, else the built-in snapshot) that the new table lacks: they keep
    /// their price in force.
    pub vanished: Vec<String>,
    /// Models with a rate that falls below half of what it was: (model, which rate, before, after), pico-USD/token.
    pub drops: Vec<(String, &'static str, u64, u64)>,
    /// Models whose long-context tier was kept from the prices in force.
    pub kept_long_context: Vec<String>,
}

impl Plan {
    /// Whether the update needs `--force`.
    pub(crate) fn suspicious(&self) -> bool {
        !self.vanished.is_empty() || !self.drops.is_empty()
    }
}

/// Plans an update from the LiteLLM table `text` (read from `source_name`) against `current` (the built-in table
/// with the last update over it, no config overrides) and the models the last update priced (`previous`; `None`:
/// there was none, and the built-in snapshot's models are compared instead).
pub(crate) fn plan(
    text: &[u8],
    source_name: &str,
    current: &PriceTable,
    previous: Option<&[(String, Rates)]>,
) -> Result<Plan, PricesError> {
    let Converted { rows, aliases } =
        litellm::convert(text).map_err(|error| PricesError::Table { source_name: source_name.to_owned(), error })?;
    let in_force: BTreeMap<String, Rates> = current.rows().into_iter().map(|(name, rates, _)| (name, rates)).collect();
    let mut plan = Plan::default();
    let mut kept = BTreeMap::new();
    for (name, mut rates) in rows {
        if rates.long_context.is_none()
            && let Some(long) = in_force.get(&name).and_then(|r| r.long_context)
        {
            rates.long_context = Some(long);
            plan.kept_long_context.push(name.clone());
        }
        kept.insert(name, rates);
    }
    plan.rows = litellm::with_aliases(kept, &aliases, &in_force);
    let compared: Vec<String> = match previous {
        Some(rows) => rows.iter().map(|(name, _)| name.clone()).collect(),
        None => current
            .rows()
            .into_iter()
            .filter(|(_, _, origin)| matches!(origin, super::Origin::Snapshot | super::Origin::Alias))
            .map(|(name, _, _)| name)
            .collect(),
    };
    plan.vanished = compared.into_iter().filter(|name| !plan.rows.contains_key(name)).collect();
    for (name, new) in &plan.rows {
        match in_force.get(name) {
            None => plan.added.push(name.clone()),
            Some(old) if old != new => {
                plan.changed.push((name.clone(), *old, *new));
                for (which, before, after) in rate_pairs(old, new) {
                    if after * 2 < before {
                        plan.drops.push((name.clone(), which, before, after));
                    }
                }
            }
            Some(_) => {}
        }
    }
    Ok(plan)
}

/// The rates of two rows side by side, long-context ones where both have them.
fn rate_pairs(old: &Rates, new: &Rates) -> Vec<(&'static str, u64, u64)> {
    let mut pairs = vec![
        ("input", old.input, new.input),
        ("output", old.output, new.output),
        ("cache_write_5m", old.cache_write_5m, new.cache_write_5m),
        ("cache_write_1h", old.cache_write_1h, new.cache_write_1h),
        ("cache_read", old.cache_read, new.cache_read),
    ];
    if let (Some(a), Some(b)) = (old.long_context, new.long_context) {
        pairs.push(("long_context.input", a.input, b.input));
        pairs.push(("long_context.output", a.output, b.output));
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pricing/litellm-anthropic.json"),
        )
        .unwrap()
    }

    #[test]
    fn the_current_snapshot_changes_nothing_but_retired_models_are_not_vanished() {
        let plan = plan(&fixture(), "x", &PriceTable::builtin(), None).unwrap();
        assert!(plan.changed.is_empty(), "{:?}", plan.changed);
        assert!(plan.added.is_empty(), "{:?}", plan.added);
        assert!(!plan.suspicious(), "{:?} {:?}", plan.vanished, plan.drops);
        assert!(plan.rows.contains_key("claude-haiku-latest") && plan.rows.contains_key("claude-opus-4-0"));
    }

    #[test]
    fn a_halved_price_or_a_missing_model_needs_force() {
        let text = String::from_utf8(fixture()).unwrap();
        let cheap = text.replacen("\"output_cost_per_token\": 2e-05", "\"output_cost_per_token\": 2e-06", 1);
        let cheaper = plan(cheap.as_bytes(), "x", &PriceTable::builtin(), None).unwrap();
        assert!(cheaper.suspicious());
        let drop = |(_, which, _, after): &(String, &str, u64, u64)| *which == "output" && *after == 2_000_000;
        assert!(cheaper.drops.iter().any(drop), "{cheaper:?}");
        let mut table: serde_json::Value = serde_json::from_str(&text).unwrap();
        table.as_object_mut().unwrap().remove("claude-sonnet-5");
        let missing = plan(table.to_string().as_bytes(), "x", &PriceTable::builtin(), None).unwrap();
        assert_eq!(missing.vanished, ["claude-sonnet-5"]);
    }
}

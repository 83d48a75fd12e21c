//! The budget correction: each model's billed/local factor, as `ccbreaker reconcile` measured it, kept in the state
//! directory in one small file. The hook reads that file only when `reconcile.correct_budgets` is on, and then
//! multiplies each response's price by its model's factor as the response is counted, so every total the hook
//! compares with a budget is the corrected one. The factors are clamped to the configured range on every read.
//!
//! This sits with the facts (below accounting) because both sides meet here: `reconcile` writes the file, the
//! hook's accounting (`sync`) reads it.

use crate::config::Reconcile;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// The factors file in the state directory.
pub(crate) const FILE_NAME: &str = "reconcile-factors.json";
/// Bumped when the file's meaning changes; a file of another version is not applied.
const VERSION: u32 = 1;
/// The largest factors file read (a few hundred bytes in practice).
const MAX_BYTES: u64 = 1 << 20;
/// A factor of 1, in parts per million.
pub(crate) const ONE: u64 = 1_000_000;

/// What `reconcile` measured, as written to [`FILE_NAME`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Factors {
    pub version: u32,
    pub computed_at: DateTime<Utc>,
    /// Where the bill came from, as `reconcile` said it ("the Usage & Cost Analytics API", a CSV export...).
    pub source: String,
    /// The UTC days the factors were computed from.
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// By model key (see [`model_key`]).
    pub models: BTreeMap<String, ModelFactor>,
    /// For models without a factor of their own: every model's billed over local spend, if any day counted.
    pub fallback: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ModelFactor {
    /// Billed over local, clamped to the configured range when it was computed.
    pub factor: f64,
    /// Days of enough volume it was computed from.
    pub days: u32,
    pub local_usd: f64,
    pub billed_usd: f64,
}

impl Factors {
    pub(crate) fn new(computed_at: DateTime<Utc>, source: String, first_day: NaiveDate, last_day: NaiveDate) -> Self {
        Factors { version: VERSION, computed_at, source, first_day, last_day, models: BTreeMap::new(), fallback: None }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum CorrectionError {
    #[error("could not read the reconcile factors `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the reconcile factors `{path}` are damaged ({why}); run `ccbreaker reconcile` to write them again, or set reconcile.correct_budgets = false"
    )]
    Damaged { path: PathBuf, why: String },
    #[error("could not write the reconcile factors `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The factors file, or `None` if `reconcile` has not written one.
pub(crate) fn read(state_dir: &Path) -> Result<Option<Factors>, CorrectionError> {
    let path = state_dir.join(FILE_NAME);
    let bytes = match crate::files::read_capped(&path, MAX_BYTES) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(CorrectionError::Damaged { path, why: format!("larger than {MAX_BYTES} bytes") }),
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(CorrectionError::Read { path, source }),
    };
    let factors: Factors = serde_json::from_slice(&bytes)
        .map_err(|err| CorrectionError::Damaged { path: path.clone(), why: err.to_string() })?;
    if factors.version != VERSION {
        let why = format!("version {} where this ccbreaker reads {VERSION}", factors.version);
        return Err(CorrectionError::Damaged { path, why });
    }
    let bad = factors.models.values().map(|m| m.factor).chain(factors.fallback).find(|f| !(f.is_finite() && *f > 0.0));
    if let Some(bad) = bad {
        return Err(CorrectionError::Damaged { path, why: format!("a factor of {bad}") });
    }
    Ok(Some(factors))
}

/// Replaces the factors file (atomically: a hook reads either the old or the new one).
pub(crate) fn write(state_dir: &Path, factors: &Factors) -> Result<(), CorrectionError> {
    let path = state_dir.join(FILE_NAME);
    let bytes = serde_json::to_vec_pretty(factors).expect("factors serialise");
    crate::files::create_private_dir(state_dir)
        .and_then(|()| crate::files::write_atomic(&path, &bytes, crate::files::Durability::Synced, None))
        .map_err(|source| CorrectionError::Write { path, source })
}

/// The correction a hook applies: each model's factor in parts per million, clamped to the configured range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Correction {
    models: Vec<(String, u64)>,
    fallback: u64,
    pub computed_at: DateTime<Utc>,
}

impl Correction {
    /// The correction to apply: `None` when `reconcile.correct_budgets` is off (the file is then not even opened) or
    /// `reconcile` has not measured anything yet.
    pub(crate) fn load(state_dir: &Path, config: &Reconcile) -> Result<Option<Correction>, CorrectionError> {
        if !config.correct_budgets {
            return Ok(None);
        }
        Ok(read(state_dir)?.map(|factors| Correction::new(&factors, config.min_factor, config.max_factor)))
    }

    pub(crate) fn new(factors: &Factors, min: f64, max: f64) -> Correction {
        let ppm = |factor: f64| (factor.clamp(min, max) * ONE as f64).round() as u64;
        Correction {
            models: factors.models.iter().map(|(model, m)| (model.clone(), ppm(m.factor))).collect(),
            fallback: ppm(factors.fallback.unwrap_or(1.0)),
            computed_at: factors.computed_at,
        }
    }

    /// The factor of `model` (as the transcript names it), in parts per million.
    pub(crate) fn factor_ppm(&self, model: &str) -> u64 {
        let key = model_key(model);
        self.models.iter().find(|(m, _)| *m == key).map_or(self.fallback, |(_, ppm)| *ppm)
    }

    /// What the ledger's totals were counted with, beside the time zone: another correction means another ledger.
    pub(crate) fn basis(&self) -> String {
        let mut text = format!("{}", self.fallback);
        for (model, ppm) in &self.models {
            text.push_str(&format!(" {model}={ppm}"));
        }
        format!("costs x reconcile factors #{:08x}", crate::transcript::line::hash(text.as_bytes()) as u32)
    }
}

/// `cost` times a factor of `ppm` parts per million (the price table applies a model's factor with it).
pub(crate) fn scale(cost: u128, ppm: u64) -> u128 {
    if ppm == ONE {
        return cost;
    }
    cost.saturating_mul(u128::from(ppm)) / u128::from(ONE)
}

/// The name a model is compared under, whichever way it is spelled: the transcript's `claude-opus-4-5-20251101`
/// or `claude-opus-4-7[1m]`, the Admin API's id, or the console export's `Claude Opus 4.5` all come down to the
/// price table's lookup form without its date (`claude-opus-4-5`).
pub(crate) fn model_key(name: &str) -> String {
    let spaced = name.trim().replace(' ', "-");
    let normalized = crate::pricing::normalize(&spaced);
    match normalized.rsplit_once('-') {
        Some((model, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => model.to_owned(),
        _ => normalized,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;
    use crate::usage::Pico;

    fn factors(models: &[(&str, f64)], fallback: Option<f64>) -> Factors {
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let mut f = Factors::new(DateTime::UNIX_EPOCH, "test".to_owned(), day, day);
        for (model, factor) in models {
            let m = ModelFactor { factor: *factor, days: 3, local_usd: 10.0, billed_usd: 10.0 * factor };
            f.models.insert((*model).to_owned(), m);
        }
        f.fallback = fallback;
        f
    }

    #[test]
    fn every_spelling_of_a_model_has_one_key() {
        for name in ["claude-opus-4-5-20251101", "Claude Opus 4.5", "claude-opus-4-5", "anthropic/claude-opus-4.5"] {
            assert_eq!(model_key(name), "claude-opus-4-5", "{name}");
        }
        assert_eq!(model_key("claude-opus-4-7[1m]"), "claude-opus-4-7");
        assert_eq!(model_key("claude-3-5-haiku-20241022"), "claude-3-5-haiku");
    }

    #[test]
    fn a_factor_scales_its_model_and_the_fallback_the_rest_within_the_range() {
        let c = Correction::new(&factors(&[("claude-opus-4-5", 1.2), ("claude-sonnet-5", 5.0)], Some(0.5)), 1.0, 3.0);
        let usd = Pico::from_usd(10.0);
        let corrected =
            |c: &Correction, model: &str, cost: Pico| Pico(scale(u128::from(cost.0), c.factor_ppm(model)) as u64);
        assert_eq!(corrected(&c, "claude-opus-4-5-20251101", usd), Pico::from_usd(12.0));
        assert_eq!(corrected(&c, "claude-sonnet-5", usd), Pico::from_usd(30.0), "clamped to max_factor");
        assert_eq!(corrected(&c, "claude-haiku-4-5", usd), usd, "the fallback is clamped to min_factor");
        assert_ne!(c.basis(), Correction::new(&factors(&[("claude-opus-4-5", 1.3)], None), 1.0, 3.0).basis());
    }

    #[test]
    fn the_file_is_read_only_when_the_option_is_on_and_a_damaged_one_is_an_error() {
        let dir = TestDir::new("correction");
        let mut config = Reconcile::default();
        write(dir.path(), &factors(&[("claude-opus-4-5", 1.25)], None)).unwrap();
        assert_eq!(Correction::load(dir.path(), &config).unwrap(), None);
        config.correct_budgets = true;
        let loaded = Correction::load(dir.path(), &config).unwrap().unwrap();
        assert_eq!(loaded.factor_ppm("claude-opus-4-5"), 1_250_000);
        std::fs::write(dir.path().join(FILE_NAME), b"{\"version\": 1, \"models\": ").unwrap();
        let err = Correction::load(dir.path(), &config).unwrap_err().to_string();
        assert!(err.contains("reconcile-factors.json` are damaged"), "{err}");
        std::fs::remove_file(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(Correction::load(dir.path(), &config).unwrap(), None);
    }
}

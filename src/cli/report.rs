//! `ccbreaker report daily|weekly|monthly|session|blocks`: what every transcript on this machine cost, by local
//! day, ISO week, month, session or 5-hour billing block, as a table or as JSON. It reads the transcripts
//! itself (through the report cache), not the hook's ledger, so it covers any period and never takes the lock.

use super::Io;
use super::args::Args;
use crate::config;
use crate::error::{Error, exit};
use crate::paths;
use crate::pricing::PriceTable;
use crate::report::collect::Sources;
use crate::report::{Kind, Options, Report, build, cache, collect, render};
use crate::text::Style;
use crate::zone::Zone;
use chrono::NaiveDate;
use std::path::PathBuf;

pub(super) fn report(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    const KINDS: &str = "daily, weekly, monthly, session or blocks";
    let Some(name) = args.next_word()? else {
        return Err(Error::usage(format!("`report` needs a kind: {KINDS}")));
    };
    let kind = Kind::parse(&name).ok_or_else(|| Error::usage(format!("unknown report `{name}`: use {KINDS}")))?;
    let json = args.flag("--json");
    let breakdown = args.flag("--breakdown");
    let (since, until) = period(&mut args)?;
    let timezone = args.value("--timezone")?;
    let project = args.value("--project")?;
    args.finish()?;
    let zone_override = match timezone {
        Some(name) => Some(Zone::parse(&name).ok_or_else(|| {
            Error::usage(format!(
                "`--timezone` must be \"local\", \"UTC\" or an IANA zone name such as \"Asia/Tokyo\", got {name:?}"
            ))
        })?),
        None => None,
    };
    let Reading { config, prices, roots, cache: cache_path } = reading(io)?;
    let config = &config;
    let options = Options {
        zone: zone_override.unwrap_or(config.budget.timezone),
        since,
        until,
        project,
        breakdown,
        now: super::now(io.env)?,
    };
    let started = std::time::Instant::now();
    let collected = collect(&Sources { roots: &roots, prices: &prices, cache: cache_path.as_deref() });
    let stats = &collected.stats;
    if io.stderr_is_terminal && stats.read > 0 && started.elapsed().as_secs() >= 1 {
        // A cold report over a large history: say what took the time, and that the next one will be quick.
        writeln!(
            io.stderr,
            "ccbreaker: read {} of {} transcripts ({:.1} MB) in {:.1} s{}",
            stats.read,
            stats.files,
            stats.bytes_read as f64 / 1e6,
            started.elapsed().as_secs_f64(),
            if stats.cache_written { "; the report cache holds them now" } else { "" }
        )?;
    }
    for note in &collected.notes {
        writeln!(io.stderr, "ccbreaker: note: {note}")?;
    }
    let report = build(kind, collected.items(), &collected.subagents(), &options);
    warn_unknown_models(&report, &prices, &config.pricing.unknown_model, io)?;
    if json {
        let text = serde_json::to_string_pretty(&render::json(&report)).expect("a report serialises");
        writeln!(io.stdout, "{text}")?;
    } else {
        let style = Style::new(io.stdout_is_terminal, io.env.no_color);
        write!(io.stdout, "{}", render::table(&report, style))?;
    }
    Ok(exit::OK)
}

/// Models the price table does not know are priced at the `pricing.unknown_model` rates: say so, on stderr.
fn warn_unknown_models(
    report: &Report,
    prices: &PriceTable,
    unknown_model: &config::UnknownModel,
    io: &mut Io,
) -> Result<(), Error> {
    let unknown: Vec<&str> = report
        .totals
        .models
        .keys()
        .map(String::as_str)
        .filter(|m| prices.rates(m).is_none() && !crate::pricing::is_free_model(m))
        .collect();
    if !unknown.is_empty() {
        let rates = match unknown_model {
            config::UnknownModel::MostExpensive => format!("{}'s rates", prices.most_expensive_model()),
            config::UnknownModel::Like(model) => format!("{model}'s rates"),
            config::UnknownModel::Price(_) => "the pricing.unknown_model rates".to_owned(),
        };
        writeln!(io.stderr, "ccbreaker: note: not in the price table, priced at {rates}: {}", unknown.join(", "))?;
    }
    Ok(())
}

/// `--since` and `--until`: dates, the first not after the second.
pub(super) fn period(args: &mut Args) -> Result<(Option<NaiveDate>, Option<NaiveDate>), Error> {
    let since = args.value("--since")?.map(|v| date("--since", &v)).transpose()?;
    let until = args.value("--until")?.map(|v| date("--until", &v)).transpose()?;
    if let (Some(since), Some(until)) = (since, until)
        && since > until
    {
        return Err(Error::usage(format!("`--since {since}` is after `--until {until}`")));
    }
    Ok((since, until))
}

/// What reading every transcript takes: the config (its warnings printed), its prices, the transcript roots, and
/// the report cache's path (`None` without a usable state directory: reading still works, only without it).
pub(super) struct Reading {
    pub(super) config: config::Config,
    pub(super) prices: PriceTable,
    pub(super) roots: Vec<PathBuf>,
    pub(super) cache: Option<PathBuf>,
}

pub(super) fn reading(io: &mut Io) -> Result<Reading, Error> {
    let config_path = paths::config_file(io.env);
    let loaded = config::load(&config_path)?;
    for warning in &loaded.warnings {
        writeln!(io.stderr, "ccbreaker: warning: {warning}")?;
    }
    let config = loaded.config;
    let prices = config.pricing.table(&config_path)?;
    let roots = paths::transcript_roots(io.env, &config.transcripts.extra_roots);
    let state_dir = paths::state_dir(io.env);
    let cache = crate::files::create_private_dir(&state_dir).ok().map(|()| state_dir.join(cache::FILE_NAME));
    Ok(Reading { config, prices, roots, cache })
}

/// `YYYY-MM-DD` (or `YYYYMMDD`).
fn date(flag: &str, value: &str) -> Result<NaiveDate, Error> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(value, "%Y%m%d"))
        .map_err(|_| Error::usage(format!("`{flag}` must be a date like 2026-11-24, got {value:?}")))
}

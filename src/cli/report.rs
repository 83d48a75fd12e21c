//! `ccbreaker report daily|weekly|monthly|session|blocks`: what every transcript on this machine cost, by local
//! day, ISO week, month, session or 5-hour billing block, as a table or as JSON. It reads the transcripts
//! itself (through the report cache), not the hook's ledger, so it covers any period and never takes the lock.

use super::Io;
use super::args::Args;
use crate::config::Config;
use crate::error::{Error, exit};
use crate::paths;
use crate::place::Place;
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
    let compact = args.flag("--compact");
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
    let Reading { place, config, prices, roots, cache: cache_path } = reading(io, "report")?;
    let config = &config;
    let options = Options {
        zone: zone_override.unwrap_or(config.budget.timezone),
        since,
        until,
        project,
        breakdown,
        now: super::now(&place.env)?,
    };
    future_since(io, since, options.zone, options.now)?;
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
    if let Some(wanted) = &options.project {
        known_project(&collected, wanted)?;
    }
    if collected.files.is_empty() {
        let looked: Vec<String> = roots.iter().map(|r| format!("`{}`", r.display())).collect();
        writeln!(io.stderr, "ccbreaker: note: no transcript found (looked in {})", looked.join(", "))?;
    }
    let report = build(kind, collected.items(), &collected.subagents(), &options);
    warn_unknown_models(&report, &prices, io)?;
    if json {
        let guessed = |model: &str| prices.priced_as(model);
        let text = serde_json::to_string_pretty(&render::json(&report, &guessed)).expect("a report serialises");
        writeln!(io.stdout, "{text}")?;
    } else {
        let style = Style::new(io.stdout_is_terminal, io.env.no_color);
        let guessed = |model: &str| prices.priced_as(model);
        let width = crate::text::Width::of(io.stdout_is_terminal, io.env, compact);
        write!(io.stdout, "{}", render::table(&report, style, width, &guessed))?;
    }
    Ok(exit::OK)
}

/// A `--since` after today is said: nothing but a response timestamped after now can match it.
pub(super) fn future_since(
    io: &mut Io,
    since: Option<NaiveDate>,
    zone: Zone,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    let today = zone.date_of(now);
    if let Some(since) = since.filter(|since| *since > today) {
        writeln!(
            io.stderr,
            "ccbreaker: note: `--since {since}` is in the future (today is {today} in {}): only responses timestamped \
             after now can match",
            zone.name()
        )?;
    }
    Ok(())
}

/// `--project NAME` must name a project some transcript is under: otherwise the report would only say "no usage
/// found". The error lists the projects there are.
pub(super) fn known_project(collected: &crate::report::collect::Collected, wanted: &str) -> Result<(), Error> {
    if collected.files.iter().any(|f| crate::report::rows::project_matches(&f.project, wanted)) {
        return Ok(());
    }
    let mut projects: Vec<&str> = collected.files.iter().map(|f| f.project.as_str()).collect();
    projects.sort_unstable();
    projects.dedup();
    let known = if projects.is_empty() {
        "there are none".to_owned()
    } else {
        format!("the projects are: {}", projects.join(", "))
    };
    Err(Error::Failed(format!("no transcript is under a project `{wanted}`; {known}")))
}

/// Models the price table does not know are priced by a guess: say which, and as what, on stderr.
fn warn_unknown_models(report: &Report, prices: &PriceTable, io: &mut Io) -> Result<(), Error> {
    let guessed: Vec<String> =
        report.totals.models.keys().filter_map(|m| prices.priced_as(m).map(|like| format!("{m} as {like}"))).collect();
    if !guessed.is_empty() {
        writeln!(io.stderr, "ccbreaker: note: not in the price table, guessed prices: {}", guessed.join(", "))?;
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

/// What reading every transcript takes (`report`, `audit`, `reconcile`): this mode's place, the config in force (its
/// warnings and notices printed), its prices (the stored update and the config's overrides; never the budget
/// correction), the transcript roots, and the report cache's path (`None` without a usable state directory: reading
/// still works, only without it).
pub(super) struct Reading {
    pub(super) place: Place,
    pub(super) config: Config,
    pub(super) prices: PriceTable,
    pub(super) roots: Vec<PathBuf>,
    pub(super) cache: Option<PathBuf>,
}

pub(super) fn reading(io: &mut Io, command: &str) -> Result<Reading, Error> {
    let place = super::place(io, command)?;
    let config = super::config(&place, io)?;
    let (prices, note) = crate::sync::prices(&config, &place.config_path, &place.prices_dir())?;
    if let Some(note) = note {
        writeln!(io.stderr, "ccbreaker: note: {note}")?;
    }
    for dir in place.env.claude_config_dirs().iter().filter(|d| !d.exists()) {
        writeln!(io.stderr, "ccbreaker: note: CLAUDE_CONFIG_DIR names `{}`, which does not exist", dir.display())?;
    }
    let roots = paths::transcript_roots(&place.env, &config.transcripts.extra_roots);
    let state_dir = &place.state_dir;
    let cache = crate::files::create_private_dir(state_dir).ok().map(|()| state_dir.join(cache::FILE_NAME));
    Ok(Reading { place, config, prices, roots, cache })
}

/// `YYYY-MM-DD` (or `YYYYMMDD`).
pub(super) fn date(flag: &str, value: &str) -> Result<NaiveDate, Error> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(value, "%Y%m%d"))
        .map_err(|_| Error::usage(format!("`{flag}` must be a date like 2026-11-24, got {value:?}")))
}

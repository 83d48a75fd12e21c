//! `ccbreaker reconcile`: the local estimate against what Anthropic billed (the Admin API, or the console's CSV
//! exports), per UTC day, model, token class and session; flags, the overhead step, and the factors the budget
//! correction applies. See [`crate::reconcile`].

use super::Io;
use super::args::Args;
use super::report::{Reading, reading};
use crate::config::{Billing, Reconcile};
use crate::correction;
use crate::env::Secret;
use crate::error::{Error, exit};
use crate::paths;
use crate::reconcile::admin::{Api, Client, Query};
use crate::reconcile::cache::Cache;
use crate::reconcile::compare::{self, Options};
use crate::reconcile::render::{self, Output};
use crate::reconcile::{Bill, ReconcileError, Source, csv, local, state};
use crate::text::Style;
use chrono::{DateTime, Days, NaiveDate, Utc};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The longest range one run compares.
const MAX_DAYS: u64 = 366;
/// Days compared when `--since` is not given (today included).
const DEFAULT_DAYS: u64 = 30;

pub(super) fn reconcile(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    let json = args.flag("--json");
    let (since, until) = super::report::period(&mut args)?;
    let session = args.value("--session")?;
    let csv_files: Vec<PathBuf> = args.values("--csv")?.into_iter().map(PathBuf::from).collect();
    args.finish()?;
    // The local side is `report`'s: its config, prices (never corrected), roots and cache.
    let Reading { place, config, prices, roots, cache: report_cache } = reading(io, "reconcile")?;
    let now = super::now(&place.env)?;
    let today = now.date_naive();
    let until = until.unwrap_or(today);
    if until > today {
        return Err(Error::usage(format!("`--until {until}` is in the future (today is {today} in UTC)")));
    }
    let since = since.unwrap_or_else(|| until.checked_sub_days(Days::new(DEFAULT_DAYS - 1)).unwrap_or(until));
    if since > until {
        return Err(Error::usage(format!("`--since {since}` is after `--until {until}`")));
    }
    if (until - since).num_days() as u64 >= MAX_DAYS {
        return Err(Error::usage(format!("reconcile compares at most {MAX_DAYS} days at a time")));
    }
    let (config_path, state_dir) = (&place.config_path, &place.state_dir);
    let r = &config.reconcile;
    let mut notes = Vec::new();

    let (bill, source) = match r.billing {
        Billing::Subscription => (None, none_source()),
        Billing::Api if !csv_files.is_empty() => {
            let (bill, files) = csv::read(&csv_files).map_err(ReconcileError::from)?;
            let source = Source {
                kind: "csv",
                description: format!("the console's CSV export{}", if files.len() > 1 { "s" } else { "" }),
                fallback_reason: None,
                cached_days: 0,
                fetched_days: 0,
                files,
            };
            (Some(bill), source)
        }
        Billing::Api => {
            let key = admin_key(io, &place.env, r, config_path)?;
            let client = Client::new(place.env.admin_api_url.as_deref(), key, Duration::from_secs(r.timeout_secs));
            let (cache, note) = Cache::load(state_dir);
            notes.extend(note);
            let (bill, source) = fetch(&client, cache, r, since, until, session.as_deref(), now, &mut notes)?;
            (Some(bill), source)
        }
    };
    if let (Some(bill), Some(_)) = (&bill, &session)
        && !bill.has_sessions
        && source.kind != "analytics"
    {
        return Err(ReconcileError::NoSessions { source_name: source.description.clone() }.into());
    }

    let local = local::gather(&roots, &prices, report_cache.as_deref(), since, until, session.as_deref());
    notes.extend(local.notes);
    let options = Options { first: since, last: until, today, config: r, prices: &prices };
    let comparison = compare::compare(&local.bill, bill.as_ref(), &options);

    let mut factors = None;
    let mut factors_written = false;
    let mut new_flags = Vec::new();
    if let Some(bill) = &bill {
        if session.is_none() {
            factors = compare::factors(&local.bill, bill, &options, source.description.clone(), now);
            // Only a range that reaches the present measures the trailing factors the budgets use.
            if let Some(f) = factors.as_ref().filter(|_| until.succ_opt().is_some_and(|next| next >= today)) {
                correction::write(state_dir, f)?;
                factors_written = true;
            }
        }
        let (new, note) = state::record(state_dir, &comparison.flags, now)
            .map_err(|source| ReconcileError::Write { path: state_dir.join(state::FILE_NAME), source })?;
        new_flags = new;
        notes.extend(note);
        let min = r.min_day_usd.max(0.01);
        if comparison.totals.billed_usd == Some(0.0) && comparison.totals.local_usd >= min {
            notes.push(format!(
                "the bill shows nothing for these days while the transcripts show {}: if these sessions ran on a Claude \
                 subscription, set reconcile.billing = \"subscription\"; otherwise check that the key belongs to the \
                 organization that pays for them, and reconcile.api_key_ids and workspace_ids",
                crate::usage::Pico::from_usd(comparison.totals.local_usd)
            ));
        }
    }

    let mut output = Output {
        billing: r.billing.as_str(),
        local_is: match r.billing {
            Billing::Api => "estimate",
            Billing::Subscription => "API-equivalent estimate",
        },
        source: &source,
        comparison: &comparison,
        factors: factors.as_ref(),
        factors_written,
        correct_budgets: r.correct_budgets,
        min_day_usd: r.min_day_usd,
        new_flags: &new_flags,
        digest: String::new(),
        notes: &notes,
    };
    output.digest = render::digest(&output);
    if bill.is_some() {
        let _ = state::remember_digest(state_dir, &output.digest);
        notify(&place, &config.alerts, &output.digest, now, io)?;
    }
    if json {
        writeln!(io.stdout, "{}", render::json(&output))?;
    } else {
        write!(io.stdout, "{}", render::text(&output, Style::new(io.stdout_is_terminal, io.env.no_color)))?;
    }
    Ok(exit::OK)
}

/// Sends one alert for the flags no alert has gone out for (this run's new ones, and any an earlier run could not
/// send), through the `[alerts]` channels, and marks them notified once a channel took it.
fn notify(
    place: &crate::place::Place,
    alerts: &crate::config::Alerts,
    digest: &str,
    now: DateTime<Utc>,
    io: &mut Io,
) -> Result<(), Error> {
    use crate::config::AlertKind;
    if !alerts.sends(AlertKind::Reconcile) {
        return Ok(());
    }
    let due: Vec<state::Recorded> =
        state::unnotified(&place.state_dir).into_iter().filter(|f| f.kind != "session").collect();
    if due.is_empty() {
        return Ok(());
    }
    let days: std::collections::BTreeSet<String> = due.iter().filter_map(|f| f.date.map(|d| d.to_string())).collect();
    let title = format!(
        "ccbreaker: the bill is above the estimate on {} day(s): {}",
        days.len(),
        days.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    let mut message: Vec<String> = due.iter().take(10).map(|f| f.detail.clone()).collect();
    message.push(digest.to_owned());
    let alert = crate::alert::Alert::new(AlertKind::Reconcile, "reconcile".to_owned(), title, message.join("\n"), now);
    let sent = crate::alert::deliver::deliver(place, alerts, Some(&alert), now);
    if sent.iter().any(|s| s.ok) {
        state::mark_notified(&place.state_dir, &due)
            .map_err(|source| ReconcileError::Write { path: place.state_dir.join(state::FILE_NAME), source })?;
    }
    for s in sent.iter().filter(|s| !s.ok) {
        writeln!(
            io.stderr,
            "ccbreaker: the alert about new flags was not sent to {}: {}",
            s.channel,
            s.error.as_deref().unwrap_or("?")
        )?;
    }
    Ok(())
}

fn none_source() -> Source {
    Source {
        kind: "none",
        description: "none (reconcile.billing is \"subscription\": there is no per-token bill)".to_owned(),
        fallback_reason: None,
        cached_days: 0,
        fetched_days: 0,
        files: Vec::new(),
    }
}

/// The Admin API key: `ANTHROPIC_ADMIN_KEY`, else the file `reconcile.admin_key_file` names.
fn admin_key(io: &mut Io, env: &crate::env::Env, r: &Reconcile, config_path: &Path) -> Result<Secret, Error> {
    if let Some(key) = env.admin_key.clone().filter(|k| !k.expose().is_empty()) {
        return Ok(key);
    }
    let Some(file) = &r.admin_key_file else {
        return Err(ReconcileError::NoSource { config: config_path.to_path_buf() }.into());
    };
    let path = paths::admin_key_file(env, file);
    let text =
        std::fs::read_to_string(&path).map_err(|source| ReconcileError::KeyFile { path: path.clone(), source })?;
    let key = text.trim();
    if key.is_empty() {
        return Err(ReconcileError::EmptyKeyFile { path }.into());
    }
    warn_if_shared(io, &path)?;
    Ok(Secret::new(key.to_owned()))
}

/// A key file others can read is said (and still used: it is the user's file).
fn warn_if_shared(io: &mut Io, path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            writeln!(
                io.stderr,
                "ccbreaker: warning: the Admin API key file `{}` can be read by others (mode {:o}); run `chmod 600` on it",
                path.display(),
                meta.permissions().mode() & 0o777
            )?;
        }
    }
    #[cfg(not(unix))]
    let _ = (io, path);
    Ok(())
}

/// The bill for `since..=until`: settled days from the cache, the rest from the analytics endpoints, or from the
/// legacy ones when the analytics endpoints are not available to this key.
#[allow(clippy::too_many_arguments)]
fn fetch(
    client: &Client,
    mut cache: Cache,
    r: &Reconcile,
    since: NaiveDate,
    until: NaiveDate,
    session: Option<&str>,
    now: DateTime<Utc>,
    notes: &mut Vec<String>,
) -> Result<(Bill, Source), Error> {
    let mut fallback_reason = None;
    for api in [Api::Analytics, Api::Legacy] {
        if api == Api::Legacy && session.is_some() {
            let source_name = Api::Legacy.describe().to_owned();
            let why = fallback_reason.map(|r: String| format!(" (the analytics endpoints: {r})")).unwrap_or_default();
            return Err(Error::from(ReconcileError::NoSessions { source_name: format!("{source_name}{why}") }));
        }
        let scope = format!(
            "{} {} api_keys={:?} workspaces={:?} session={:?}",
            api.kind(),
            client.shown_base(),
            r.api_key_ids,
            r.workspace_ids,
            session
        );
        let plan = cache.plan(&scope, since, until, now);
        let mut bill = plan.cached;
        let mut fetched_days = 0;
        if let Some(from) = plan.fetch_from {
            let query = Query {
                first: from,
                last: until,
                api_key_ids: &r.api_key_ids,
                workspace_ids: &r.workspace_ids,
                session,
            };
            let fetched = match client.fetch(api, &query) {
                Ok(fetched) => fetched,
                Err(err) if api == Api::Analytics && err.means_unavailable() => {
                    fallback_reason = Some(crate::error::report(&err));
                    continue;
                }
                Err(err) => return Err(ReconcileError::from(err).into()),
            };
            cache.store(&scope, &fetched, now);
            if let Err(err) = cache.save() {
                notes.push(format!("the reconcile cache could not be written ({err}); the next run fetches again"));
            }
            fetched_days = fetched.days.len();
            bill.has_tokens = fetched.has_tokens;
            bill.has_usd = fetched.has_usd;
            bill.has_requests = fetched.has_requests;
            bill.has_sessions = fetched.has_sessions;
            for (key, cell) in fetched.rows {
                bill.add(key, &cell);
            }
            bill.days.extend(fetched.days);
        }
        let description = format!("{} at {}", api.describe(), client.shown_base());
        if api == Api::Legacy && !r.api_key_ids.is_empty() {
            notes.push(
                "the legacy cost report cannot be narrowed to reconcile.api_key_ids: billed USD is the billed tokens at \
                 list prices"
                    .to_owned(),
            );
        }
        let source = Source {
            kind: api.kind(),
            description,
            fallback_reason,
            cached_days: plan.cached_days,
            fetched_days,
            files: Vec::new(),
        };
        return Ok((bill, source));
    }
    unreachable!("the legacy endpoints return or fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Env;

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let env = Env { admin_key: Some(Secret::new("sk-ant-admin01-secret".to_owned())), ..Env::default() };
        assert!(!format!("{env:?}").contains("secret"));
    }
}

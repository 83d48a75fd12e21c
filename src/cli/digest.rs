//! `ccbreaker digest [--since 7d|DATE] [--json] [--send]`: the period in a few lines (total, per day, the top
//! sessions and projects, blocks and refusals, the most expensive model, the last reconcile's line), from the same
//! reading as `report` and the audit trail, printed or sent through the alert channels. For where the money went in
//! detail, it points to `ccbreaker audit`, which it does not repeat.
//!
//! `--send` runs in `ccbreaker-net` (the alert channels need HTTP), as does the daily digest a hook starts
//! (`digest --daily --date D`, the day D alone, sent).

use super::Io;
use super::args::Args;
use super::report::{Reading, reading};
use crate::alert::{Alert, deliver::Sent};
use crate::audit;
use crate::config::{AlertKind, Alerts};
use crate::error::{Error, exit};
use crate::place::Place;
use crate::report::collect::Sources;
use crate::report::rows::Detail;
use crate::report::{Kind, Options, build, collect};
use crate::usage::Pico;
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// How `--send` delivers: [`crate::alert::deliver::deliver`] in `ccbreaker-net`; `None` in `ccbreaker`, which runs
/// `ccbreaker-net` for it.
pub(super) type Send = fn(&Place, &Alerts, Option<&Alert>, DateTime<Utc>) -> Vec<Sent>;

/// Days in the default period.
const DEFAULT_DAYS: u64 = 7;
/// Rows in the top lists.
const TOP: usize = 3;

pub(super) fn digest(mut args: Args, io: &mut Io, send: Option<Send>) -> Result<u8, Error> {
    let daily = args.flag("--daily");
    let date = args.value("--date")?;
    let json = args.flag("--json");
    let send_it = args.flag("--send") || daily;
    let since = args.value("--since")?;
    if send_it && send.is_none() {
        args.finish()?;
        let mut forwarded = vec!["digest".to_owned(), "--send".to_owned()];
        forwarded.extend(json.then(|| "--json".to_owned()));
        forwarded.extend(daily.then(|| "--daily".to_owned()));
        for (flag, value) in [("--since", since), ("--date", date)] {
            forwarded.extend(value.map(|v| [flag.to_owned(), v]).into_iter().flatten());
        }
        return super::net(io, forwarded);
    }
    args.finish()?;
    let Reading { place, config, prices, roots, cache } = reading(io, "digest")?;
    let now = super::now(&place.env)?;
    let today = config.budget.timezone.date_of(now);
    let (first, last) = match (daily, date.as_deref(), since.as_deref()) {
        (true, Some(d), _) => {
            let d = super::report::date("--date", d)?;
            (d, d)
        }
        (_, _, Some(since)) => (period_start(since, today)?, today),
        _ => (today.checked_sub_days(Days::new(DEFAULT_DAYS - 1)).unwrap_or(today), today),
    };
    let collected = collect(&Sources { roots: &roots, prices: &prices, cache: cache.as_deref() });
    for note in &collected.notes {
        writeln!(io.stderr, "ccbreaker: note: {note}")?;
    }
    let options = Options {
        zone: config.budget.timezone,
        since: Some(first),
        until: Some(last),
        project: None,
        breakdown: false,
        now,
    };
    let subagents = collected.subagents();
    let daily_rows = build(Kind::Daily, collected.items(), &subagents, &options);
    let sessions = build(Kind::Session, collected.items(), &subagents, &options);
    let trail = audit::read(&place.state_dir).unwrap_or_default();
    let digest = Digest::of(&daily_rows, &sessions, &trail, first, last, &config.budget.timezone, &place);
    let text = digest.text();
    if !send_it {
        if json {
            writeln!(io.stdout, "{}", serde_json::to_string_pretty(&digest).expect("a digest serialises"))?;
        } else {
            write!(io.stdout, "{text}")?;
        }
        return Ok(exit::OK);
    }
    let send = send.expect("sending runs in ccbreaker-net");
    if config.alerts.channels.is_empty() {
        return Err(Error::Failed(format!(
            "no alert channel is configured to send the digest to: set one in [alerts] of {}",
            place.config_path.display()
        )));
    }
    let title = match digest.first == digest.last {
        true => format!("ccbreaker: {} spent on {}", money(digest.total_usd), digest.first),
        false => format!("ccbreaker: {} spent {}..{}", money(digest.total_usd), digest.first, digest.last),
    };
    let alert = Alert::new(AlertKind::Digest, format!("digest:{last}"), title, text.clone(), now);
    let sent = send(&place, &config.alerts, Some(&alert), now);
    if json {
        let out = serde_json::json!({ "digest": digest, "channels": sent });
        writeln!(io.stdout, "{}", serde_json::to_string_pretty(&out).expect("a digest serialises"))?;
    } else {
        write!(io.stdout, "{text}")?;
        for s in &sent {
            match &s.error {
                None => writeln!(io.stdout, "sent: {} ({})", s.channel, s.to)?,
                Some(why) => writeln!(io.stdout, "NOT sent: {}: {why}", s.channel)?,
            }
        }
    }
    Ok(if sent.iter().all(|s| s.ok) { exit::OK } else { exit::ERROR })
}

/// `7d` (the last seven days, today included) or a date.
fn period_start(since: &str, today: NaiveDate) -> Result<NaiveDate, Error> {
    if let Some(days) = since.strip_suffix('d').and_then(|n| n.parse::<u64>().ok()).filter(|n| *n > 0) {
        return Ok(today.checked_sub_days(Days::new(days - 1)).unwrap_or(today));
    }
    let date = super::report::date("--since", since)
        .map_err(|_| Error::usage(format!("`--since` must be a number of days (7d) or a date, got {since:?}")))?;
    if date > today {
        return Err(Error::usage(format!("`--since {date}` is in the future (today is {today})")));
    }
    Ok(date)
}

#[derive(Debug, Serialize)]
struct Digest {
    first: NaiveDate,
    last: NaiveDate,
    timezone: String,
    total_usd: f64,
    lower_bound: bool,
    sessions: usize,
    days: Vec<DayRow>,
    top_sessions: Vec<Ranked>,
    top_projects: Vec<Ranked>,
    top_model: Option<Ranked>,
    blocks: usize,
    blocked_sessions: usize,
    refusals: usize,
    /// The last `ccbreaker reconcile`'s line, if one ran.
    reconcile: Option<String>,
    /// The audit command for the same days.
    audit: String,
}

#[derive(Debug, Serialize)]
struct DayRow {
    date: String,
    cost_usd: f64,
}

#[derive(Debug, Serialize)]
struct Ranked {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<String>,
    cost_usd: f64,
}

impl Digest {
    fn of(
        daily: &crate::report::Report,
        sessions: &crate::report::Report,
        trail: &[audit::Entry],
        first: NaiveDate,
        last: NaiveDate,
        zone: &crate::zone::Zone,
        place: &Place,
    ) -> Digest {
        let mut projects: BTreeMap<&str, Pico> = BTreeMap::new();
        let mut ranked: Vec<(&String, &str, Pico)> = Vec::new();
        for row in &sessions.rows {
            let Detail::Session { project, .. } = &row.detail else { continue };
            *projects.entry(project.as_str()).or_default() += row.totals.spend.cost;
            ranked.push((&row.label, project.as_str(), row.totals.spend.cost));
        }
        ranked.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
        let mut projects: Vec<(&str, Pico)> = projects.into_iter().collect();
        projects.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let top_model = daily
            .totals
            .models
            .iter()
            .max_by(|a, b| a.1.cost.cmp(&b.1.cost).then(b.0.cmp(a.0)))
            .map(|(m, s)| Ranked { name: m.clone(), project: None, cost_usd: s.cost.usd_for_json() });
        let in_period = |e: &&audit::Entry| {
            let day = zone.date_of(e.at);
            day >= first && day <= last
        };
        let blocks: Vec<&audit::Entry> =
            trail.iter().filter(in_period).filter(|e| e.kind == audit::Kind::Block).collect();
        let blocked: std::collections::BTreeSet<&str> = blocks.iter().filter_map(|e| e.session.as_deref()).collect();
        Digest {
            first,
            last,
            timezone: zone.name(),
            total_usd: daily.totals.spend.cost.usd_for_json(),
            lower_bound: daily.totals.spend.incomplete > 0,
            sessions: sessions.rows.len(),
            days: daily
                .rows
                .iter()
                .map(|r| DayRow { date: r.label.clone(), cost_usd: r.totals.spend.cost.usd_for_json() })
                .collect(),
            top_sessions: ranked
                .iter()
                .take(TOP)
                .map(|(s, p, c)| Ranked {
                    name: (*s).clone(),
                    project: Some((*p).to_owned()),
                    cost_usd: c.usd_for_json(),
                })
                .collect(),
            top_projects: projects
                .iter()
                .take(TOP)
                .map(|(p, c)| Ranked { name: (*p).to_owned(), project: None, cost_usd: c.usd_for_json() })
                .collect(),
            top_model,
            blocks: blocks.len(),
            blocked_sessions: blocked.len(),
            refusals: trail.iter().filter(in_period).filter(|e| e.kind == audit::Kind::Refuse).count(),
            reconcile: crate::reconcile::state::last_digest(&place.state_dir),
            audit: format!("ccbreaker audit --since {first} --until {last}"),
        }
    }

    fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let period =
            if self.first == self.last { self.first.to_string() } else { format!("{}..{}", self.first, self.last) };
        let at_least = if self.lower_bound { "at least " } else { "" };
        let _ = writeln!(
            out,
            "ccbreaker digest {period} ({}): {at_least}{} over {} session(s)",
            self.timezone,
            money(self.total_usd),
            self.sessions
        );
        if self.first != self.last {
            let days: Vec<String> =
                self.days.iter().map(|d| format!("{} {}", &d.date[5..], money(d.cost_usd))).collect();
            let _ = writeln!(
                out,
                "  per day: {}",
                if days.is_empty() { "nothing spent".to_owned() } else { days.join(", ") }
            );
        }
        if !self.top_sessions.is_empty() {
            let top: Vec<String> = self
                .top_sessions
                .iter()
                .map(|r| {
                    format!("{} {} ({})", short_id(&r.name), money(r.cost_usd), r.project.as_deref().unwrap_or(""))
                })
                .collect();
            let _ = writeln!(out, "  top sessions: {}", top.join(", "));
            let projects: Vec<String> =
                self.top_projects.iter().map(|r| format!("{} {}", r.name, money(r.cost_usd))).collect();
            let _ = writeln!(out, "  top projects: {}", projects.join(", "));
        }
        if let Some(m) = &self.top_model {
            let share = if self.total_usd > 0.0 { m.cost_usd / self.total_usd * 100.0 } else { 0.0 };
            let _ = writeln!(out, "  most expensive model: {} {} ({share:.0}%)", m.name, money(m.cost_usd));
        }
        let _ = writeln!(
            out,
            "  blocks: {} ({} session(s)); tool calls refused as tampering: {}",
            self.blocks, self.blocked_sessions, self.refusals
        );
        if let Some(line) = &self.reconcile {
            let _ = writeln!(out, "  {line}");
        }
        let _ = writeln!(out, "  where it went: {}", self.audit);
        out
    }
}

fn money(usd: f64) -> String {
    Pico::from_usd(usd).to_string()
}

/// A session id's first eight characters (what `status` and people recognise).
fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

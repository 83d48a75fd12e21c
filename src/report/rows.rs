//! Counted spend grouped into the rows of a report: by local day, ISO week (starting Monday) or month of a time
//! zone, by session, or by 5-hour billing block; filtered by date and project. Pure: the buckets, the zone and
//! "now" come in, rows go out.

use super::summary::SLOT_MS;
use crate::usage::{Pico, Usage};
use crate::zone::Zone;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use std::collections::{BTreeMap, HashMap};

/// A Claude subscription's usage window: it opens at the first request (floored to the hour) and lasts 5 hours.
pub(crate) const BLOCK_MS: i64 = 5 * 60 * 60 * 1000;
const HOUR_MS: i64 = 60 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Daily,
    Weekly,
    Monthly,
    Session,
    Blocks,
}

impl Kind {
    pub(crate) fn parse(name: &str) -> Option<Kind> {
        match name {
            "daily" => Some(Kind::Daily),
            "weekly" => Some(Kind::Weekly),
            "monthly" => Some(Kind::Monthly),
            "session" => Some(Kind::Session),
            "blocks" => Some(Kind::Blocks),
            _ => None,
        }
    }

    /// The JSON key the rows are listed under.
    pub(crate) fn list_key(self) -> &'static str {
        match self {
            Kind::Daily => "daily",
            Kind::Weekly => "weekly",
            Kind::Monthly => "monthly",
            Kind::Session => "sessions",
            Kind::Blocks => "blocks",
        }
    }
}

/// What to report on, and how.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub zone: Zone,
    /// First and last local date to include (both inclusive).
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub project: Option<String>,
    pub breakdown: bool,
    pub now: DateTime<Utc>,
}

/// Tokens, money and responses summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Spend {
    pub usage: Usage,
    pub cost: Pico,
    pub responses: u64,
    /// Of which Claude Code never wrote the final usage: while there are any, `cost` is a lower bound.
    pub incomplete: u64,
}

impl Spend {
    fn add(&mut self, other: &Spend) {
        self.usage.add(&other.usage);
        self.cost += other.cost;
        self.responses += other.responses;
        self.incomplete += other.incomplete;
    }
}

/// A row's (or the report's) spend, in all and per model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub spend: Spend,
    pub models: BTreeMap<String, Spend>,
}

impl Totals {
    fn add(&mut self, model: &str, spend: &Spend) {
        self.spend.add(spend);
        match self.models.get_mut(model) {
            Some(m) => m.add(spend),
            None => {
                self.models.insert(model.to_owned(), *spend);
            }
        }
    }

    fn merge(&mut self, other: &Totals) {
        for (model, spend) in &other.models {
            self.add(model, spend);
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Detail {
    Period,
    Session {
        project: String,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
        subagents: u64,
    },
    Block {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        first: DateTime<Utc>,
        /// The last response in the block.
        last: DateTime<Utc>,
        /// The window is still open: `now` lies between its start and its end.
        active: bool,
        /// For the active block: USD per hour since its first response, and the cost at its end at that rate.
        burn_rate_usd_per_hour: Option<f64>,
        projected: Option<Pico>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// The date, week (its Monday), month (`YYYY-MM`), session id, or block start.
    pub label: String,
    pub totals: Totals,
    pub detail: Detail,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Report {
    pub kind: Kind,
    pub zone: Zone,
    pub breakdown: bool,
    pub rows: Vec<Row>,
    pub totals: Totals,
}

/// Spend of one file, model and quarter hour: what rows are made of.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'a> {
    pub session: &'a str,
    pub project: &'a str,
    pub model: &'a str,
    pub slot: i64,
    pub spend: Spend,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// Whether a transcript directory name is the project `wanted`: the directory name itself, the project's path
/// (`/home/me/src/api`, which Claude Code writes as `-home-me-src-api`), or its last part (`api`).
pub(crate) fn project_matches(project: &str, wanted: &str) -> bool {
    let encoded: String = wanted.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    project == wanted
        || project == encoded
        || (!encoded.is_empty() && project.strip_suffix(encoded.as_str()).is_some_and(|rest| rest.ends_with('-')))
}

/// Groups `items` into the rows of a `kind` report. `subagents` counts each session's subagent transcripts.
pub(crate) fn build<'a>(
    kind: Kind,
    items: impl IntoIterator<Item = Item<'a>>,
    subagents: &HashMap<&str, u64>,
    options: &Options,
) -> Report {
    let mut dates: HashMap<i64, NaiveDate> = HashMap::new();
    let zone = options.zone;
    let mut date_of = |slot: i64| *dates.entry(slot).or_insert_with(|| zone.date_of(instant(slot * SLOT_MS)));
    let wanted: Vec<(Item, NaiveDate)> = items
        .into_iter()
        .filter(|item| options.project.as_deref().is_none_or(|p| project_matches(item.project, p)))
        .map(|item| (item, date_of(item.slot)))
        .filter(|(_, date)| options.since.is_none_or(|since| *date >= since))
        .filter(|(_, date)| options.until.is_none_or(|until| *date <= until))
        .collect();
    let rows = match kind {
        Kind::Daily => periods(&wanted, |date| date.to_string()),
        Kind::Weekly => periods(&wanted, |date| {
            (date - Duration::days(i64::from(date.weekday().num_days_from_monday()))).to_string()
        }),
        Kind::Monthly => periods(&wanted, |date| format!("{:04}-{:02}", date.year(), date.month())),
        Kind::Session => sessions(&wanted, subagents),
        Kind::Blocks => blocks(wanted.iter().map(|(item, _)| *item).collect(), options.now),
    };
    let mut totals = Totals::default();
    for row in &rows {
        totals.merge(&row.totals);
    }
    Report { kind, zone, breakdown: options.breakdown, rows, totals }
}

fn periods(items: &[(Item, NaiveDate)], label: impl Fn(NaiveDate) -> String) -> Vec<Row> {
    let mut by: BTreeMap<String, Totals> = BTreeMap::new();
    for (item, date) in items {
        by.entry(label(*date)).or_default().add(item.model, &item.spend);
    }
    by.into_iter().map(|(label, totals)| Row { label, totals, detail: Detail::Period }).collect()
}

fn sessions(items: &[(Item, NaiveDate)], subagents: &HashMap<&str, u64>) -> Vec<Row> {
    struct Acc<'a> {
        project: &'a str,
        first: i64,
        last: i64,
        totals: Totals,
    }
    let mut by: HashMap<&str, Acc> = HashMap::new();
    for (item, _) in items {
        let acc = by.entry(item.session).or_insert_with(|| Acc {
            project: item.project,
            first: item.first_ms,
            last: item.last_ms,
            totals: Totals::default(),
        });
        acc.first = acc.first.min(item.first_ms);
        acc.last = acc.last.max(item.last_ms);
        acc.totals.add(item.model, &item.spend);
    }
    let mut rows: Vec<(i64, Row)> = by
        .into_iter()
        .map(|(session, acc)| {
            let detail = Detail::Session {
                project: acc.project.to_owned(),
                first: instant(acc.first),
                last: instant(acc.last),
                subagents: subagents.get(session).copied().unwrap_or(0),
            };
            (acc.last, Row { label: session.to_owned(), totals: acc.totals, detail })
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.label.cmp(&b.1.label)));
    rows.into_iter().map(|(_, row)| row).collect()
}

/// 5-hour blocks: the first response opens a block at its hour; a response at or after the block's end opens
/// the next one at its hour (so a gap of more than 5 hours always starts a new block). Items are quarter hours
/// and block bounds fall on whole hours, so an item never straddles two blocks.
fn blocks(mut items: Vec<Item>, now: DateTime<Utc>) -> Vec<Row> {
    items.sort_by_key(|item| (item.slot, item.first_ms));
    struct Open {
        start: i64,
        first: i64,
        last: i64,
        totals: Totals,
    }
    let mut done: Vec<Open> = Vec::new();
    let mut open: Option<Open> = None;
    for item in items {
        let starts_new = open.as_ref().is_none_or(|b| item.first_ms >= b.start + BLOCK_MS);
        if starts_new {
            done.extend(open.take());
            open = Some(Open {
                start: item.first_ms.div_euclid(HOUR_MS) * HOUR_MS,
                first: item.first_ms,
                last: item.last_ms,
                totals: Totals::default(),
            });
        }
        let block = open.as_mut().expect("opened above");
        block.first = block.first.min(item.first_ms);
        block.last = block.last.max(item.last_ms);
        block.totals.add(item.model, &item.spend);
    }
    done.extend(open);
    let now_ms = now.timestamp_millis();
    done.into_iter()
        .map(|b| {
            let end = b.start + BLOCK_MS;
            let active = b.start <= now_ms && now_ms < end;
            let (burn_rate_usd_per_hour, projected) = if active {
                let hours = (now_ms - b.first).max(60_000) as f64 / HOUR_MS as f64;
                let rate = b.totals.spend.cost.usd() / hours;
                let remaining = (end - now_ms) as f64 / HOUR_MS as f64;
                (Some(rate), Some(Pico::from_usd(b.totals.spend.cost.usd() + rate * remaining)))
            } else {
                (None, None)
            };
            Row {
                label: instant(b.start).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                totals: b.totals,
                detail: Detail::Block {
                    start: instant(b.start),
                    end: instant(end),
                    first: instant(b.first),
                    last: instant(b.last),
                    active,
                    burn_rate_usd_per_hour,
                    projected,
                },
            }
        })
        .collect()
}

fn instant(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    fn item<'a>(session: &'a str, model: &'a str, when: &str, cost: u64) -> Item<'a> {
        let ms = at(when);
        Item {
            session,
            project: "-home-me-src-api",
            model,
            slot: ms.div_euclid(SLOT_MS),
            spend: Spend {
                usage: Usage { output_tokens: cost, ..Usage::default() },
                cost: Pico(cost * Pico::PER_USD),
                responses: 1,
                incomplete: 0,
            },
            first_ms: ms,
            last_ms: ms,
        }
    }

    fn options(zone: &str, now: &str) -> Options {
        Options {
            zone: Zone::parse(zone).unwrap(),
            since: None,
            until: None,
            project: None,
            breakdown: false,
            now: DateTime::parse_from_rfc3339(now).unwrap().with_timezone(&Utc),
        }
    }

    fn labels(report: &Report) -> Vec<(String, u64)> {
        report.rows.iter().map(|r| (r.label.clone(), r.totals.spend.usage.output_tokens)).collect()
    }

    #[test]
    fn days_follow_the_zone() {
        // 2026-11-24 15:30 UTC is the 25th in Tokyo; 02:30 UTC is still the 23rd in Los Angeles.
        let items = [item("s", "m", "2026-11-24T02:30:00Z", 1), item("s", "m", "2026-11-24T15:30:00Z", 2)];
        let none = HashMap::new();
        let utc = build(Kind::Daily, items, &none, &options("UTC", "2026-12-01T00:00:00Z"));
        assert_eq!(labels(&utc), [("2026-11-24".to_owned(), 3)]);
        let tokyo = build(Kind::Daily, items, &none, &options("Asia/Tokyo", "2026-12-01T00:00:00Z"));
        assert_eq!(labels(&tokyo), [("2026-11-24".to_owned(), 1), ("2026-11-25".to_owned(), 2)]);
        let la = build(Kind::Daily, items, &none, &options("America/Los_Angeles", "2026-12-01T00:00:00Z"));
        assert_eq!(labels(&la), [("2026-11-23".to_owned(), 1), ("2026-11-24".to_owned(), 2)]);
        // India is 5:30 ahead: 18:29 UTC is still the 24th, 18:31 the 25th.
        let near = [item("s", "m", "2026-11-24T18:29:00Z", 1), item("s", "m", "2026-11-24T18:31:00Z", 2)];
        let kolkata = build(Kind::Daily, near, &none, &options("Asia/Kolkata", "2026-12-01T00:00:00Z"));
        assert_eq!(labels(&kolkata), [("2026-11-24".to_owned(), 1), ("2026-11-25".to_owned(), 2)]);
    }

    #[test]
    fn weeks_start_on_monday_and_months_are_calendar_months() {
        let items = [
            item("s", "m", "2026-11-29T12:00:00Z", 1), // a Sunday
            item("s", "m", "2026-11-30T12:00:00Z", 2), // Monday
            item("s", "m", "2026-12-01T12:00:00Z", 4),
        ];
        let none = HashMap::new();
        let opts = options("UTC", "2027-01-01T00:00:00Z");
        let weekly = build(Kind::Weekly, items, &none, &opts);
        assert_eq!(labels(&weekly), [("2026-11-23".to_owned(), 1), ("2026-11-30".to_owned(), 6)]);
        let monthly = build(Kind::Monthly, items, &none, &opts);
        assert_eq!(labels(&monthly), [("2026-11".to_owned(), 3), ("2026-12".to_owned(), 4)]);
        assert_eq!(monthly.totals.spend.usage.output_tokens, 7);
    }

    #[test]
    fn filters_by_local_date_and_project() {
        let items = [item("s", "m", "2026-11-24T02:30:00Z", 1), item("s", "m", "2026-11-25T02:30:00Z", 2)];
        let none = HashMap::new();
        let mut opts = options("America/Los_Angeles", "2026-12-01T00:00:00Z");
        opts.since = NaiveDate::from_ymd_opt(2026, 11, 24);
        assert_eq!(labels(&build(Kind::Daily, items, &none, &opts)), [("2026-11-24".to_owned(), 2)]);
        opts.since = None;
        opts.until = NaiveDate::from_ymd_opt(2026, 11, 23);
        assert_eq!(labels(&build(Kind::Daily, items, &none, &opts)), [("2026-11-23".to_owned(), 1)]);
        opts.until = None;
        opts.project = Some("web".to_owned());
        assert!(build(Kind::Daily, items, &none, &opts).rows.is_empty());
        for name in ["api", "/home/me/src/api", "-home-me-src-api"] {
            opts.project = Some(name.to_owned());
            assert_eq!(build(Kind::Daily, items, &none, &opts).rows.len(), 2, "{name}");
        }
        assert!(!project_matches("-home-me-src-rapi", "api"));
    }

    #[test]
    fn sessions_sum_their_models_and_count_subagents() {
        let items = [
            item("b", "m1", "2026-11-24T10:00:00Z", 1),
            item("a", "m1", "2026-11-24T09:00:00Z", 2),
            item("b", "m2", "2026-11-24T11:00:00Z", 4),
        ];
        let subagents = HashMap::from([("b", 3)]);
        let report = build(Kind::Session, items, &subagents, &options("UTC", "2026-12-01T00:00:00Z"));
        assert_eq!(labels(&report), [("a".to_owned(), 2), ("b".to_owned(), 5)]);
        let b = &report.rows[1];
        assert_eq!(b.totals.models.keys().collect::<Vec<_>>(), ["m1", "m2"]);
        let Detail::Session { first, last, subagents, .. } = &b.detail else { panic!() };
        assert_eq!(
            (first.to_rfc3339(), last.to_rfc3339(), *subagents),
            ("2026-11-24T10:00:00+00:00".to_owned(), "2026-11-24T11:00:00+00:00".to_owned(), 3)
        );
    }

    #[test]
    fn blocks_open_on_the_hour_and_close_after_five_hours_or_a_gap() {
        let items = [
            item("s", "m", "2026-11-24T09:40:00Z", 1), // opens 09:00-14:00
            item("s", "m", "2026-11-24T13:59:00Z", 2),
            item("s", "m", "2026-11-24T14:00:00Z", 4), // the end: opens 14:00-19:00
            item("s", "m", "2026-11-25T01:10:00Z", 8), // after a gap: 01:00-06:00
            item("s", "m", "2026-11-25T02:00:00Z", 16),
        ];
        let none = HashMap::new();
        let report = build(Kind::Blocks, items, &none, &options("UTC", "2026-11-25T03:10:00Z"));
        assert_eq!(
            labels(&report),
            [
                ("2026-11-24T09:00:00Z".to_owned(), 3),
                ("2026-11-24T14:00:00Z".to_owned(), 4),
                ("2026-11-25T01:00:00Z".to_owned(), 24),
            ]
        );
        let Detail::Block { end, last, active, burn_rate_usd_per_hour, projected, .. } = &report.rows[2].detail else {
            panic!()
        };
        assert_eq!(end.to_rfc3339(), "2026-11-25T06:00:00+00:00");
        assert_eq!(last.to_rfc3339(), "2026-11-25T02:00:00+00:00");
        assert!(*active);
        // $24 in the two hours since 01:10, and 2h50m to go at $12/h: $58.
        assert_eq!(*burn_rate_usd_per_hour, Some(12.0));
        assert_eq!(*projected, Some(Pico(58 * Pico::PER_USD)));
        assert!(matches!(report.rows[0].detail, Detail::Block { active: false, projected: None, .. }));
    }
}

//! A report as JSON (fixed snake_case field names, for scripts) or as an aligned table (for people). Pure:
//! the text is returned, the caller prints it.

use super::rows::{Detail, Kind, Report, Row, Spend, Totals};
use crate::text::{Align, RowKind, Style, Table, Width, thousands};
use crate::usage::Pico;
use crate::zone::Zone;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

/// What an unknown model is priced as (`None` for a model the price table knows).
pub(crate) type Guessed<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// `{"<daily|weekly|monthly|sessions|blocks>": [rows], "totals": {...}}`.
pub(crate) fn json(report: &Report, guessed: &Guessed) -> Value {
    let rows: Vec<Value> = report.rows.iter().map(|row| json_row(report, row, guessed)).collect();
    let mut totals = Map::new();
    spend_fields(&mut totals, &report.totals.spend);
    totals.insert("models".into(), models(&report.totals));
    totals.insert("guessed_prices".into(), guessed_prices(&report.totals, guessed));
    if report.breakdown {
        totals.insert("breakdown".into(), breakdown(&report.totals));
    }
    let mut out = Map::new();
    out.insert(report.kind.list_key().into(), Value::Array(rows));
    out.insert("totals".into(), Value::Object(totals));
    Value::Object(out)
}

/// The models of `totals` whose price is a guess, and what each is priced as.
fn guessed_prices(totals: &Totals, guessed: &Guessed) -> Value {
    Value::Object(totals.models.keys().filter_map(|m| guessed(m).map(|like| (m.clone(), json!(like)))).collect())
}

fn json_row(report: &Report, row: &Row, guessed: &Guessed) -> Value {
    let mut map = Map::new();
    match &row.detail {
        Detail::Period => {
            let key = match report.kind {
                Kind::Weekly => "week",
                Kind::Monthly => "month",
                _ => "date",
            };
            map.insert(key.into(), json!(row.label));
            spend_fields(&mut map, &row.totals.spend);
        }
        Detail::Session { project, first, last, subagents } => {
            map.insert("session_id".into(), json!(row.label));
            map.insert("project".into(), json!(project));
            map.insert("first_activity".into(), json!(time(first)));
            map.insert("last_activity".into(), json!(time(last)));
            spend_fields(&mut map, &row.totals.spend);
            map.insert("subagents".into(), json!(subagents));
        }
        Detail::Block { start, end, last, active, burn_rate_usd_per_hour, projected, .. } => {
            map.insert("start".into(), json!(time(start)));
            map.insert("end".into(), json!(time(end)));
            map.insert("actual_end".into(), json!(time(last)));
            map.insert("is_active".into(), json!(active));
            spend_fields(&mut map, &row.totals.spend);
            map.insert("burn_rate_usd_per_hour".into(), json!(burn_rate_usd_per_hour.map(round_rate)));
            map.insert("projected_cost_usd".into(), json!(projected.map(Pico::usd_for_json)));
        }
    }
    map.insert("models".into(), models(&row.totals));
    map.insert("guessed_prices".into(), guessed_prices(&row.totals, guessed));
    if report.breakdown {
        map.insert("breakdown".into(), breakdown(&row.totals));
    }
    Value::Object(map)
}

fn spend_fields(map: &mut Map<String, Value>, s: &Spend) {
    let u = &s.usage;
    map.insert("input_tokens".into(), json!(u.input_tokens));
    map.insert("output_tokens".into(), json!(u.output_tokens));
    map.insert("cache_creation_tokens".into(), json!(u.cache_creation_tokens()));
    map.insert("cache_creation_5m_tokens".into(), json!(u.cache_creation_5m_tokens));
    map.insert("cache_creation_1h_tokens".into(), json!(u.cache_creation_1h_tokens));
    map.insert("cache_read_tokens".into(), json!(u.cache_read_tokens));
    map.insert("web_search_requests".into(), json!(u.web_search_requests));
    map.insert("responses".into(), json!(s.responses));
    map.insert("cost_usd".into(), json!(s.cost.usd_for_json()));
    map.insert("incomplete_responses".into(), json!(s.incomplete));
    map.insert("lower_bound".into(), json!(s.incomplete > 0));
}

fn models(totals: &Totals) -> Value {
    json!(totals.models.keys().collect::<Vec<_>>())
}

/// One entry per model, most expensive first.
fn breakdown(totals: &Totals) -> Value {
    Value::Array(
        by_cost(totals)
            .into_iter()
            .map(|(model, spend)| {
                let mut map = Map::new();
                map.insert("model".into(), json!(model));
                spend_fields(&mut map, spend);
                Value::Object(map)
            })
            .collect(),
    )
}

fn by_cost(totals: &Totals) -> Vec<(&String, &Spend)> {
    let mut models: Vec<_> = totals.models.iter().collect();
    models.sort_by(|a, b| b.1.cost.cmp(&a.1.cost).then_with(|| a.0.cmp(b.0)));
    models
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn round_rate(usd_per_hour: f64) -> f64 {
    (usd_per_hour * 1e6).round() / 1e6
}

/// The aligned table, with a totals row; `--breakdown` adds one dimmed row per model under each row. Costs that
/// hold responses whose final usage was never written read "at least"; models priced by a guess are starred and
/// named under the table.
pub(crate) fn table(report: &Report, style: Style, width: Width, guessed: &Guessed) -> String {
    let zone = report.zone;
    let (title, first): (String, &[(&str, Align)]) = match report.kind {
        Kind::Daily => (format!("Daily usage ({zone})"), &[("Date", Align::Left)]),
        Kind::Weekly => (format!("Weekly usage, weeks from Monday ({zone})"), &[("Week", Align::Left)]),
        Kind::Monthly => (format!("Monthly usage ({zone})"), &[("Month", Align::Left)]),
        Kind::Session => (
            format!("Usage by session, subagents included ({zone})"),
            &[("Session", Align::Left), ("Project", Align::Left), ("Last activity", Align::Left)],
        ),
        Kind::Blocks => (
            format!("5-hour billing blocks ({zone})"),
            &[("Block start", Align::Left), ("Ends", Align::Left), ("Last response", Align::Left)],
        ),
    };
    let mut headers: Vec<(&str, Align)> = first.to_vec();
    headers.extend([
        ("Input", Align::Right),
        ("Output", Align::Right),
        ("Cache write", Align::Right),
        ("Cache read", Align::Right),
        ("Cost", Align::Right),
    ]);
    if report.kind == Kind::Session {
        headers.push(("Subagents", Align::Right));
    }
    headers.push(("Models", Align::Left));
    let lead = first.len();
    let mut out = format!("{}\n\n", style.paint("1", &title));
    if report.rows.is_empty() {
        out.push_str("no usage found\n");
        return out;
    }
    let mut t = Table::new(&headers);
    for row in &report.rows {
        let mut cells: Vec<String> = match &row.detail {
            Detail::Period => vec![row.label.clone()],
            Detail::Session { project, last, .. } => vec![row.label.clone(), project.clone(), local(zone, last)],
            Detail::Block { start, end, last, active, .. } => {
                let ends = if *active { format!("{} (active)", local(zone, end)) } else { local(zone, end) };
                vec![local(zone, start), ends, local(zone, last)]
            }
        };
        cells.extend(spend_cells(&row.totals.spend));
        if let Detail::Session { subagents, .. } = &row.detail {
            cells.push(subagents.to_string());
        }
        // With a breakdown the models have rows of their own.
        let star = |m: &str| if guessed(m).is_some() { format!("{}*", short(m)) } else { short(m).to_owned() };
        let models: Vec<String> =
            if report.breakdown { Vec::new() } else { row.totals.models.keys().map(|m| star(m)).collect() };
        cells.push(models.join(", "));
        t.row(RowKind::Body, cells);
        if report.breakdown {
            for (model, spend) in by_cost(&row.totals) {
                let mut cells = vec![format!("  {model}{}", if guessed(model).is_some() { "*" } else { "" })];
                cells.extend((1..lead).map(|_| String::new()));
                cells.extend(spend_cells(spend));
                t.row(RowKind::Detail, cells);
            }
        }
    }
    let mut cells = vec!["Total".to_owned()];
    cells.extend((1..lead).map(|_| String::new()));
    cells.extend(spend_cells(&report.totals.spend));
    t.row(RowKind::Total, cells);
    // A narrow terminal (or --compact) gives up the cache columns first, as ccusage's compact mode does.
    t.droppable("Cache write", 1).droppable("Cache read", 1).droppable("Input", 2).droppable("Subagents", 2);
    t.droppable("Last response", 2).droppable("Last activity", 3).droppable("Ends", 3);
    t.shortenable("Session", 10).shortenable("Project", 18);
    out.push_str(&t.render_fit(style, width));
    let guesses: Vec<String> =
        report.totals.models.keys().filter_map(|m| guessed(m).map(|like| format!("{m} as {like}"))).collect();
    if !guesses.is_empty() {
        out.push_str(&format!("\n* guessed price (not in the price table): {}\n", guesses.join(", ")));
    }
    if report.totals.spend.incomplete > 0 {
        out.push_str(&format!(
            "\n\"at least\": {} response(s) lack their final usage (Claude Code did not write it); they are counted as \
             recorded\n",
            report.totals.spend.incomplete
        ));
    }
    for row in &report.rows {
        if let Detail::Block {
            active: true, end, burn_rate_usd_per_hour: Some(rate), projected: Some(projected), ..
        } = &row.detail
        {
            out.push_str(&format!(
                "\nactive block: {} so far, {}/hour, {} projected by {}\n",
                row.totals.spend.cost,
                Pico::from_usd(*rate),
                projected,
                local(zone, end)
            ));
        }
    }
    out
}

fn spend_cells(s: &Spend) -> [String; 5] {
    let u = &s.usage;
    [
        thousands(u.input_tokens),
        thousands(u.output_tokens),
        thousands(u.cache_creation_tokens()),
        thousands(u.cache_read_tokens),
        if s.incomplete > 0 { format!("at least {}", s.cost) } else { s.cost.to_string() },
    ]
}

/// A model name without the `claude-` prefix and the release date: `claude-haiku-4-5-20251001` -> `haiku-4-5`.
fn short(model: &str) -> &str {
    let model = model.strip_prefix("claude-").unwrap_or(model);
    match model.rsplit_once('-') {
        Some((name, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => model,
    }
}

/// `YYYY-MM-DD HH:MM` in the report's zone.
fn local(zone: Zone, t: &DateTime<Utc>) -> String {
    zone.to_local(*t).format("%Y-%m-%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::rows::{Item, Options, build};
    use crate::usage::Usage;
    use std::collections::HashMap;

    fn report(kind: Kind, breakdown: bool) -> Report {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
        let item = |model, when: &str, output: u64| Item {
            session: "s1",
            project: "-home-me-api",
            model,
            slot: at(when).div_euclid(crate::report::summary::SLOT_MS),
            spend: Spend {
                usage: Usage {
                    input_tokens: 1,
                    output_tokens: output,
                    cache_creation_1h_tokens: 3,
                    ..Usage::default()
                },
                cost: Pico(output * 1_000_000_000),
                responses: 1,
                incomplete: 0,
            },
            first_ms: at(when),
            last_ms: at(when),
        };
        let items = [item("m-a", "2026-11-24T10:00:00Z", 1500), item("m-b", "2026-11-24T11:00:00Z", 2000)];
        let options = Options {
            zone: Zone::Utc,
            since: None,
            until: None,
            project: None,
            breakdown,
            now: DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z").unwrap().with_timezone(&Utc),
        };
        build(kind, items, &HashMap::from([("s1", 2)]), &options)
    }

    fn json_of(report: &Report) -> Value {
        json(report, &|_| None)
    }

    #[test]
    fn daily_json_has_the_fixed_fields() {
        let value = json(&report(Kind::Daily, false), &|_| None);
        let row = &value["daily"][0];
        assert_eq!(row["date"], "2026-11-24");
        assert_eq!(row["input_tokens"], 2);
        assert_eq!(row["output_tokens"], 3500);
        assert_eq!(row["cache_creation_tokens"], 6);
        assert_eq!(row["cache_creation_5m_tokens"], 0);
        assert_eq!(row["cache_creation_1h_tokens"], 6);
        assert_eq!(row["cache_read_tokens"], 0);
        assert_eq!(row["web_search_requests"], 0);
        assert_eq!(row["cost_usd"], 3.5);
        assert_eq!(row["models"], json!(["m-a", "m-b"]));
        assert!(row.get("breakdown").is_none());
        assert_eq!(value["totals"]["output_tokens"], 3500);
        let with = json(&report(Kind::Daily, true), &|_| None);
        assert_eq!(with["daily"][0]["breakdown"][0]["model"], "m-b", "most expensive first");
        assert_eq!(with["daily"][0]["breakdown"][1]["cost_usd"], 1.5);
    }

    #[test]
    fn weekly_monthly_session_and_block_fields() {
        assert_eq!(json_of(&report(Kind::Weekly, false))["weekly"][0]["week"], "2026-11-23");
        assert_eq!(json_of(&report(Kind::Monthly, false))["monthly"][0]["month"], "2026-11");
        let session = &json_of(&report(Kind::Session, false))["sessions"][0];
        assert_eq!(session["session_id"], "s1");
        assert_eq!(session["project"], "-home-me-api");
        assert_eq!(session["first_activity"], "2026-11-24T10:00:00.000Z");
        assert_eq!(session["last_activity"], "2026-11-24T11:00:00.000Z");
        assert_eq!(session["subagents"], 2);
        let block = &json_of(&report(Kind::Blocks, false))["blocks"][0];
        assert_eq!(block["start"], "2026-11-24T10:00:00.000Z");
        assert_eq!(block["end"], "2026-11-24T15:00:00.000Z");
        assert_eq!(block["actual_end"], "2026-11-24T11:00:00.000Z");
        assert_eq!(block["is_active"], true);
        assert_eq!(block["burn_rate_usd_per_hour"], 1.75);
        assert_eq!(block["projected_cost_usd"], 8.75);
    }

    #[test]
    fn the_table_has_totals_and_breakdown_rows() {
        let text = table(&report(Kind::Daily, true), Style { color: false }, Width::default(), &|_| None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Daily usage (UTC)");
        assert_eq!(lines[2], "Date        Input  Output  Cache write  Cache read   Cost  Models", "{text}");
        assert_eq!(lines[4], "2026-11-24      2   3,500            6           0  $3.50", "{text}");
        assert!(lines[5].starts_with("  m-b"), "{text}");
        assert!(lines.last().unwrap().starts_with("Total           2   3,500"), "{text}");
        let plain = table(&report(Kind::Daily, false), Style { color: false }, Width::default(), &|_| None);
        assert!(plain.contains("$3.50  m-a, m-b\n"), "{plain}");
        assert_eq!(short("claude-haiku-4-5-20251001"), "haiku-4-5");
        assert_eq!(short("claude-opus-4-7[1m]"), "opus-4-7[1m]");
        let blocks = table(&report(Kind::Blocks, false), Style { color: false }, Width::default(), &|_| None);
        assert!(blocks.contains("2026-11-24 15:00 (active)"), "{blocks}");
        assert!(
            blocks.contains("active block: $3.50 so far, $1.75/hour, $8.75 projected by 2026-11-24 15:00"),
            "{blocks}"
        );
    }

    #[test]
    fn eighty_columns_hold_the_session_report() {
        let wide = table(&report(Kind::Session, false), Style { color: false }, Width::default(), &|_| None);
        assert!(wide.lines().any(|l| l.chars().count() > 80), "{wide}");
        let fitted = table(
            &report(Kind::Session, false),
            Style { color: false },
            Width { columns: Some(80), compact: false },
            &|_| None,
        );
        for line in fitted.lines().filter(|l| !l.starts_with('(')) {
            assert!(line.chars().count() <= 80, "{line:?}\n{fitted}");
        }
        assert!(fitted.contains("Cache write, Cache read, Input, Subagents left out"), "{fitted}");
        let compact =
            table(&report(Kind::Daily, false), Style { color: false }, Width { columns: None, compact: true }, &|_| {
                None
            });
        assert!(compact.contains("Date        Output   Cost  Models"), "{compact}");
    }
}

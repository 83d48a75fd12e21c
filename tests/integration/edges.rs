//! The accounting edge cases of `tests/data/edges/`, each a fixture with its hand-computed truth: the transcripts'
//! lines, the order in which they are written and the hook is called (`steps`), and what the day and each session
//! cost. Every fixture is played through `ccbreaker hook` and then checked twice, against the hook's ledger
//! (`status --json`) and against `report daily|session --json`, which read the transcripts afresh: both must say
//! exactly the truth.

use crate::harness::{PROJECT, Sandbox};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn edges() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/edges")
}

/// Plays the fixture's steps in a fresh sandbox; returns it.
fn play(name: &str) -> (Sandbox, Value) {
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(edges().join(format!("{name}.json"))).unwrap()).unwrap();
    let sb = Sandbox::new(name);
    let projects = sb.home.join(".claude/projects");
    let mut written: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for step in fixture["steps"].as_array().unwrap() {
        if let Some(file) = step["write"].as_str() {
            let lines = fixture["files"][file].as_array().unwrap();
            let which: Vec<usize> = match step["lines"].as_array() {
                Some(indexes) => indexes.iter().map(|i| i.as_u64().unwrap() as usize).collect(),
                None => (0..lines.len()).collect(),
            };
            let path = projects.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let text: String = which.iter().map(|&i| format!("{}\n", lines[i])).collect();
            append(&path, &text);
            written.entry(file.to_owned()).or_default().push(text);
        } else if let Some(session) = step["hook"].as_str() {
            let out = sb.pre_tool_use(session);
            assert_eq!(out.code, 0, "{name}: hook of {session}: {}", out.stderr);
        } else if let Some(file) = step["truncate"].as_str() {
            let path = projects.join(file);
            let size = std::fs::metadata(&path).unwrap().len();
            std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(size / 2).unwrap();
        } else if let Some(file) = step["restore"].as_str() {
            std::fs::write(projects.join(file), written[file].concat()).unwrap();
        } else if let Some(table) = step["prices_update"].as_str() {
            let from = edges().join(table);
            let out = sb.run(&["prices", "update", "--from", from.to_str().unwrap()], b"");
            assert_eq!(out.code, 0, "{name}: prices update: {}{}", out.stdout, out.stderr);
        } else {
            panic!("{name}: unknown step {step}");
        }
    }
    (sb, fixture)
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// Plays `name` and checks the hook's ledger and the reports against its truth.
fn check(name: &str) {
    let (sb, fixture) = play(name);
    let truth = &fixture["truth"];
    let status = sb.status();
    assert_eq!(status["date"], truth["date"], "{name}");
    let daily = sb.report(&["daily", "--timezone", "UTC"]);
    let row = daily["daily"].as_array().unwrap().iter().find(|r| r["date"] == truth["date"]).cloned();
    let row = row.unwrap_or_else(|| panic!("{name}: no report row for {}: {daily:#}", truth["date"]));
    for (key, want) in truth["day"].as_object().unwrap() {
        assert_eq!(&status["day"][key], want, "{name}: status day.{key}\n{status:#}");
        if key != "estimated_usd" {
            assert_eq!(&row[key], want, "{name}: report daily {key}\n{row:#}");
        }
    }
    // Every response of the fixture falls on the truth's day.
    assert_eq!(daily["totals"]["cost_usd"], truth["day"]["cost_usd"], "{name}: report total\n{daily:#}");
    let sessions = sb.report(&["session"]);
    for (session, want) in truth["sessions"].as_object().unwrap() {
        let ledger = status["sessions"].as_array().unwrap().iter().find(|s| s["session_id"] == session.as_str());
        let ledger = ledger.map_or(0.0, |s| s["cost_usd"].as_f64().unwrap());
        assert_eq!(ledger, want.as_f64().unwrap(), "{name}: status, session {session}\n{status:#}");
        let report = sessions["sessions"].as_array().unwrap().iter().find(|s| s["session_id"] == session.as_str());
        let report = report.map_or(0.0, |s| s["cost_usd"].as_f64().unwrap());
        assert_eq!(report, want.as_f64().unwrap(), "{name}: report session {session}\n{sessions:#}");
    }
    if let Some(guessed) = truth.get("guessed_prices") {
        assert_eq!(&status["guessed_prices"], guessed, "{name}: status");
        assert_eq!(&daily["totals"]["guessed_prices"], guessed, "{name}: report");
    }
    assert_eq!(PROJECT, "-work-proj", "the fixtures are written for this project directory");
}

#[test]
fn item_1_advisor_usage_is_counted_at_the_advisors_prices() {
    check("01-advisor-usage");
}

#[test]
fn item_2_the_largest_snapshot_wins_when_lines_interleave_across_hook_calls() {
    check("02-interleaved-snapshots");
}

#[test]
fn item_3_a_response_straddling_midnight_is_counted_once() {
    check("03-midnight-straddle");
}

#[test]
fn item_4_copies_counted_before_their_original_do_not_double_count_or_keep_it() {
    check("04-copies-before-original");
}

#[test]
fn item_5_a_transcript_cut_short_and_grown_back_is_counted_once() {
    check("05-truncate-and-restore");
}

#[test]
fn item_6_a_message_id_reused_inside_a_subagent_is_two_responses() {
    check("06-gateway-reused-id-in-subagent");
}

#[test]
fn item_7_bedrock_ids_regional_profiles_and_latest_aliases_are_priced() {
    check("07-model-names");
}

#[test]
fn item_8_unknown_models_are_priced_by_family_and_marked() {
    check("08-unknown-model-families");
    let (sb, _) = play("08-unknown-model-families");
    assert_eq!(sb.session_status("s1")["guessed_price"], true);
    let table = sb.run(&["report", "daily"], b"");
    assert!(
        table.stdout.contains("* guessed price (not in the price table): claude-haiku-9 as claude-haiku-4-5"),
        "{}",
        table.stdout
    );
}

#[test]
fn item_9_updated_prices_reach_the_hook_and_the_reports() {
    check("09-prices-update");
}

#[test]
fn item_10_transcripts_nested_below_the_project_count_once_in_their_session() {
    check("10-nested-transcripts");
}

#[test]
fn item_11_a_response_without_its_final_usage_is_a_lower_bound_and_estimated() {
    check("11-incomplete-subagent-response");
    let (sb, _) = play("11-incomplete-subagent-response");
    let text = sb.run(&["status"], b"").stdout;
    assert!(text.contains("today:    at least $0.04 of $50.00 daily budget"), "{text}");
    let report = sb.run(&["report", "daily"], b"").stdout;
    assert!(report.contains("at least $0.04"), "{report}");
    // 0 turns the estimate off; a number sets it.
    sb.config("[budget]\nincomplete_output_tokens = 0\n");
    assert_eq!(sb.status()["day"]["estimated_usd"], 0.0);
    sb.config("[budget]\nincomplete_output_tokens = 100002\n");
    assert_eq!(sb.status()["day"]["estimated_usd"], 1.0);
}

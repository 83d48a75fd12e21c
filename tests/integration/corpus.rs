//! Token totals equal the generator's truth (`expected.json`, made by ../shared/tools/gen-transcripts.py and
//! committed as test data) for every day and every session.

use crate::harness::Sandbox;
use serde_json::Value;
use std::path::Path;

fn tokens(v: &Value) -> [u64; 5] {
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("no {k} in {v}"));
    [n("input_tokens"), n("output_tokens"), n("cache_creation_tokens"), n("cache_read_tokens"), n("responses")]
}

fn truth(v: &Value) -> [u64; 5] {
    let n = |k: &str| v[k].as_u64().unwrap();
    [
        n("input_tokens"),
        n("output_tokens"),
        n("cache_creation_5m_tokens") + n("cache_creation_1h_tokens"),
        n("cache_read_tokens"),
        n("responses"),
    ]
}

fn check(corpus: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(corpus);
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut sb = Sandbox::new(corpus);
    sb.config("[budget]\ntimezone = \"UTC\"\n");
    sb.env("CLAUDE_CONFIG_DIR", dir.to_str().unwrap());
    let mut sessions = std::collections::BTreeMap::new();
    for (day, want) in expected["by_day_utc"].as_object().unwrap() {
        sb.now = format!("{day}T23:59:59Z");
        let status = sb.status();
        assert_eq!(tokens(&status["day"]), truth(want), "{corpus}: day {day}");
        for row in status["sessions"].as_array().unwrap() {
            sessions.insert(row["session_id"].as_str().unwrap().to_owned(), tokens(row));
        }
    }
    let want: std::collections::BTreeMap<String, [u64; 5]> =
        expected["by_session"].as_object().unwrap().iter().map(|(id, v)| (id.clone(), truth(v))).collect();
    assert_eq!(sessions, want, "{corpus}: sessions");
}

#[test]
fn current_and_classic_transcripts_with_resumes_and_replays_seed_30() {
    check("corpus-seed30");
}

#[test]
fn current_transcripts_with_subagents_seed_31() {
    check("corpus-seed31");
}

#[test]
fn classic_transcripts_with_streaming_snapshots_seed_21() {
    check("corpus-classic");
}

//! The floor for `ccbreaker hook`: what a bare Rust process costs for one hook event. It reads stdin, parses it
//! into a `serde_json::Value`, and stats the file named by `transcript_path`. It prints nothing and exits 0.
//! bench/hook-latency.sh times it beside `ccbreaker hook` on the same input.

use std::io::Read;

fn main() {
    let mut input = Vec::new();
    if std::io::stdin().lock().read_to_end(&mut input).is_err() {
        return;
    }
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(&input) else { return };
    if let Some(path) = event.get("transcript_path").and_then(serde_json::Value::as_str) {
        // The result is used so the call cannot be optimised away.
        std::hint::black_box(std::fs::metadata(path).map(|m| m.len()).ok());
    }
}

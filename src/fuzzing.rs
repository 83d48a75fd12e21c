//! Entry points for the fuzzers (`fuzz/`, run with `cargo fuzz`) and for the replay of their corpus in the test
//! suite: each takes arbitrary bytes, runs one parser ccbreaker feeds with input it does not own, and must never
//! panic.

use std::path::Path;

/// A transcript line: the top-level scanner, the response parser, and the torn-line recovery of the reader.
pub fn transcript_line(data: &[u8]) {
    let _ = crate::transcript::scan::top_level(data);
    let _ = crate::transcript::scan::may_carry_usage(data);
    use crate::transcript::line::{ToolUses, parse_response};
    let _ = parse_response(data, Some("previous"), ToolUses::Collect);
    let _ = parse_response(data, None, ToolUses::Skip);
}

/// A hook event on stdin, and the tamper checks that read its tool input.
pub fn hook_event(data: &[u8]) {
    if let Ok(event) = crate::hook::Event::parse(data) {
        let _ = event.kind();
        if let Some(input) = &event.tool_input {
            let protected = crate::hook::tamper::Protected::new(
                Path::new("/h/.config/ccbreaker/config.toml"),
                Path::new("/h/.local/state/ccbreaker"),
                None,
                vec![Path::new("/h/.claude/settings.json").to_path_buf()],
                Some(Path::new("/h").to_path_buf()),
            );
            let _ = crate::hook::tamper::check(&event, &crate::hook::event::ToolInput::new(input), &protected);
        }
    }
}

/// A config file, and the price table it builds; the same bytes as a LiteLLM price table (`prices update`).
pub fn config(data: &[u8]) {
    let _ = crate::pricing::litellm::convert(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok((config, _)) = crate::config::parse(text, Path::new("fuzz.toml")) {
        let _ = config.pricing.table(Path::new("fuzz.toml"), Vec::new());
        let _ = crate::config::render(&config);
    }
}

#[cfg(test)]
mod tests {
    /// Replays every input the fuzzers kept (`fuzz/corpus/<target>/`): a regression found once stays fixed.
    #[test]
    fn the_fuzz_corpus_replays_without_a_panic() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 3] =
            [("transcript_line", super::transcript_line), ("hook_event", super::hook_event), ("config", super::config)];
        for (name, target) in targets {
            let dir = root.join(name);
            let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            let mut count = 0;
            for entry in entries.flatten() {
                // A fuzzer running beside the tests may remove an input between listing and reading.
                if let Ok(input) = std::fs::read(entry.path()) {
                    target(&input);
                    count += 1;
                }
            }
            assert!(count > 0, "{} is empty", dir.display());
        }
    }

    use std::path::Path;
}

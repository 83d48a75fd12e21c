//! The walk of every transcript directory is bounded by the hook call's time like the reads after it: a hostile
//! tree of many directories cannot hold a hook, and later walks go on where the last one stopped.

use crate::harness::{Sandbox, chain};

#[test]
fn a_tree_of_200000_directories_does_not_hold_the_hook() {
    let sb = Sandbox::new("walk-200k");
    sb.config("[budget]\nsession_usd = 5\n[transcripts]\nrescan_secs = 0\n");
    let root = sb.home.join(".claude/projects");
    for p in 0..200 {
        let project = root.join(format!("-hostile-{p:03}"));
        std::fs::create_dir_all(&project).unwrap();
        for d in 0..1000 {
            std::fs::create_dir(project.join(format!("d{d:04}"))).unwrap();
        }
    }
    // A session over its budget is still stopped, with its usual words, while the walk has the tree to go through.
    sb.transcript("s1").lines(&chain("a", 1, 6.0));
    let out = sb.pre_tool_use("s1");
    assert!(!out.stdout.is_empty(), "code {} stderr {}", out.code, out.stderr);
    let reason = out.json()["stopReason"].as_str().unwrap_or_default().to_owned();
    assert!(reason.starts_with("ccbreaker: session budget reached: this session has spent $6.00"), "{}", out.stdout);
    // And again, the walk going on from where it stopped.
    let again = sb.pre_tool_use("s1").json()["stopReason"].as_str().unwrap_or_default().to_owned();
    assert_eq!(again, reason);
}

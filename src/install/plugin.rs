//! The repository doubles as a Claude Code plugin (`hooks/hooks.json`, `.claude-plugin/plugin.json`): these
//! tests keep its hook entries the same as the ones `install` writes, and check the wrapper script they run.

use serde_json::Value;

use super::edit::hook_entries;

/// The plugin's hook command, quoted because the plugin root may hold spaces (macOS "Application Support").
const PLUGIN_COMMAND: &str = "\"${CLAUDE_PLUGIN_ROOT}/hooks/ccbreaker-hook\"";
const HOOKS_JSON: &str = include_str!("../../hooks/hooks.json");
const PLUGIN_JSON: &str = include_str!("../../.claude-plugin/plugin.json");

#[test]
fn plugin_hooks_are_the_ones_install_writes() {
    let hooks: Value = serde_json::from_str(HOOKS_JSON).unwrap();
    assert!(hooks["description"].as_str().is_some_and(|d| d.contains("ccbreaker")));
    // Compared as text: the event order is part of what install writes.
    assert_eq!(format!("{:#}", hooks["hooks"]), format!("{:#}", hook_entries(PLUGIN_COMMAND, true)));
    assert_eq!(hooks.as_object().unwrap().len(), 2, "only `description` and `hooks`");
}

#[test]
fn plugin_manifest_names_this_crate() {
    let manifest: Value = serde_json::from_str(PLUGIN_JSON).unwrap();
    assert_eq!(manifest["name"], "ccbreaker");
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    assert!(manifest["description"].as_str().is_some_and(|d| !d.is_empty()));
}

/// The plugin loads ccbreaker's mod with its hooks, from a second hooks file the manifest names: never from
/// `hooks/hooks.json`, whose `modules` a client without mods (2.1.240) refuses, and with it every hook of the file.
/// The second file's empty `hooks` lets such a client load it without error (measured).
#[test]
fn the_plugin_loads_the_mod_from_a_file_of_its_own() {
    let manifest: Value = serde_json::from_str(PLUGIN_JSON).unwrap();
    assert_eq!(manifest["hooks"], "./mod/hooks.json");
    let hooks: Value = serde_json::from_str(HOOKS_JSON).unwrap();
    assert!(hooks.get("modules").is_none());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let modules: Value = serde_json::from_str(&std::fs::read_to_string(root.join("mod/hooks.json")).unwrap()).unwrap();
    assert_eq!(modules["hooks"], serde_json::json!({}));
    let module = modules["modules"][0].as_str().unwrap();
    assert!(root.join("mod").join(module).is_file(), "{module}");
    assert_eq!(modules["modules"].as_array().map(Vec::len), Some(1), "one hooks module per plugin");
}

#[cfg(unix)]
mod wrapper {
    use std::fs;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    use super::PLUGIN_COMMAND;
    use crate::test_dir::TestDir;

    /// A plugin root whose path needs quoting, holding a copy of the wrapper.
    fn plugin_root(dir: &TestDir) -> PathBuf {
        let root = dir.path().join("plugin \"root\" \\ here");
        fs::create_dir_all(root.join("hooks")).unwrap();
        let wrapper = Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks/ccbreaker-hook");
        fs::copy(wrapper, root.join("hooks/ccbreaker-hook")).unwrap();
        root
    }

    /// An executable at `path` that prints `name`, its first argument and its stdin.
    fn fake_ccbreaker(path: &Path, name: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, format!("#!/bin/sh\nprintf '{name}:%s:' \"$1\"\ncat\n")).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Runs the plugin's hook command as Claude Code does (through `sh -c`) with only `vars` set besides a
    /// minimal PATH, `event` on stdin; returns stdout and whether it exited 0.
    fn run(root: &Path, home: &Path, vars: &[(&str, &Path)], event: &str) -> (String, bool) {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(PLUGIN_COMMAND)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", home)
            .env("CLAUDE_PLUGIN_ROOT", root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        for (name, value) in vars {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        child.stdin.take().unwrap().write_all(event.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        (String::from_utf8(output.stdout).unwrap(), output.status.success())
    }

    #[test]
    fn runs_only_the_binary_recorded_at_install() {
        let dir = TestDir::new("wrapper-recorded");
        let root = plugin_root(&dir);
        let home = dir.path().join("home");
        let recorded = dir.path().join("installed/ccbreaker");
        fake_ccbreaker(&recorded, "recorded");
        let decoy = dir.path().join("decoy/ccbreaker");
        fake_ccbreaker(&decoy, "decoy");
        fake_ccbreaker(&home.join(".local/bin/ccbreaker"), "local");
        fs::write(root.join("hooks/ccbreaker.path"), format!("{}\n", recorded.display())).unwrap();
        let vars = [("CCBREAKER_BIN", decoy.as_path())];
        assert_eq!(run(&root, &home, &vars, "{\"a\":1}"), ("recorded:hook:{\"a\":1}".to_owned(), true));
    }

    #[test]
    fn without_a_recorded_binary_it_refuses_what_can_be_refused() {
        let dir = TestDir::new("wrapper-missing");
        let root = plugin_root(&dir);
        let home = dir.path().join("home");
        fake_ccbreaker(&home.join(".local/bin/ccbreaker"), "local");
        let pre = r#"{"hook_event_name": "PreToolUse", "tool_name": "Bash"}"#;
        assert_eq!(run(&root, &home, &[], pre), (String::new(), false), "exit 2, never another ccbreaker");
        let stop = r#"{"hook_event_name":"Stop"}"#;
        assert_eq!(run(&root, &home, &[], stop), (String::new(), true), "Stop is never blocked");
        fs::write(root.join("hooks/ccbreaker.path"), "relative/ccbreaker\n").unwrap();
        assert_eq!(run(&root, &home, &[], pre), (String::new(), false), "only an absolute path counts");
    }
}

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
    assert_eq!(format!("{:#}", hooks["hooks"]), format!("{:#}", hook_entries(PLUGIN_COMMAND, false)));
    assert_eq!(hooks.as_object().unwrap().len(), 2, "only `description` and `hooks`");
}

#[test]
fn plugin_manifest_names_this_crate() {
    let manifest: Value = serde_json::from_str(PLUGIN_JSON).unwrap();
    assert_eq!(manifest["name"], "ccbreaker");
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    assert!(manifest["description"].as_str().is_some_and(|d| !d.is_empty()));
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

    fn ccbreaker_on_system_path() -> bool {
        ["/usr/bin/ccbreaker", "/bin/ccbreaker"].iter().any(|path| Path::new(path).exists())
    }

    #[test]
    fn runs_the_first_ccbreaker_it_finds_with_the_event_on_stdin() {
        if ccbreaker_on_system_path() {
            return;
        }
        let dir = TestDir::new("wrapper-found");
        let root = plugin_root(&dir);
        let home = dir.path().join("home");
        let explicit = dir.path().join("explicit/ccbreaker");
        fake_ccbreaker(&explicit, "explicit");
        fake_ccbreaker(&home.join(".local/bin/ccbreaker"), "local");
        fake_ccbreaker(&root.join("target/release/ccbreaker"), "release");

        let explicit_var = [("CCBREAKER_BIN", explicit.as_path())];
        assert_eq!(run(&root, &home, &explicit_var, "{\"a\":1}"), ("explicit:hook:{\"a\":1}".to_owned(), true));
        let missing = dir.path().join("no/such/ccbreaker");
        assert_eq!(run(&root, &home, &[("CCBREAKER_BIN", &missing)], "e"), ("local:hook:e".to_owned(), true));
        fs::remove_file(home.join(".local/bin/ccbreaker")).unwrap();
        assert_eq!(run(&root, &home, &[], "e"), ("release:hook:e".to_owned(), true));
    }

    #[test]
    fn without_ccbreaker_it_says_how_to_install_and_exits_0() {
        if ccbreaker_on_system_path() {
            return;
        }
        let dir = TestDir::new("wrapper-missing");
        let root = plugin_root(&dir);
        let (stdout, success) = run(&root, &dir.path().join("home"), &[], "{}");
        assert!(success);
        let message: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let expected = format!("ccbreaker is not installed: run ./install.sh in {}", root.display());
        assert_eq!(message, serde_json::json!({"systemMessage": expected}));
    }
}

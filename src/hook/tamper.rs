//! Tamper resistance: the agent a budget guards must not be able to lift it. Tool calls that would edit
//! ccbreaker's config, state or binary, remove its hook entries from Claude Code's settings (or switch hooks off),
//! or run `ccbreaker allow|uninstall|config|prices update`, are refused with a reason; a person does these in their own terminal.
//!
//! The checks read the tool call's input as text (paths, shell commands); they are deliberately broad for the
//! files ccbreaker owns, and for Claude Code's settings they look for edits that touch ccbreaker's entries or hooks.

use super::event::Event;
use serde_json::Value;
use std::path::{Component, Path, PathBuf};

/// What the hook protects, as absolute paths.
#[derive(Debug, Clone)]
pub(crate) struct Protected {
    /// Files and directories the agent may not touch at all: the config file, the state directory, the binary.
    pub owned: Vec<PathBuf>,
    /// Claude Code settings files: edits that would remove ccbreaker's entries or disable hooks are refused.
    pub settings: Vec<PathBuf>,
    pub home: Option<PathBuf>,
}

impl Protected {
    pub(crate) fn new(
        config: &Path,
        state: &Path,
        binary: Option<PathBuf>,
        settings: Vec<PathBuf>,
        home: Option<PathBuf>,
    ) -> Self {
        let mut owned = vec![config.to_path_buf(), state.to_path_buf()];
        owned.extend(binary);
        Protected { owned, settings, home }
    }
}

/// Why this tool call is refused, if it is.
pub(crate) fn check(event: &Event, input: &Value, protected: &Protected) -> Option<String> {
    let tool = event.tool_name.as_deref()?;
    let cwd = event.cwd.as_deref().map(Path::new);
    match tool {
        "Edit" | "Write" | "MultiEdit" | "NotebookEdit" => {
            let path = ["file_path", "notebook_path", "path"].iter().find_map(|k| input.get(*k)?.as_str())?;
            let path = absolute(Path::new(path), cwd);
            if let Some(owned) = protected.owned.iter().find(|p| crate::paths::is_within(&path, p)) {
                return Some(refusal(&format!("it would change `{}`", owned.display())));
            }
            let settings = protected.settings.iter().find(|p| same_file(&path, p))?;
            settings_edit_is_harmful(tool, input)
                .then(|| refusal(&format!("it would remove ccbreaker's hooks from `{}`", settings.display())))
        }
        "Bash" | "PowerShell" => bash(input.get("command")?.as_str()?, protected, cwd),
        _ => None,
    }
}

fn refusal(what: &str) -> String {
    format!(
        "ccbreaker: this tool call is refused: {what}. The agent ccbreaker guards may not change its budgets, state \
         or hooks; a person can do this in their own terminal."
    )
}

/// An edit of a settings file that drops ccbreaker's entries or switches hooks off.
fn settings_edit_is_harmful(tool: &str, input: &Value) -> bool {
    let text = |key: &str| input.get(key).and_then(Value::as_str).unwrap_or("");
    let disables = |s: &str| s.contains("disableAllHooks") || s.contains("allowManagedHooksOnly");
    let edit_harms = |old: &str, new: &str| (old.contains("ccbreaker") && !new.contains("ccbreaker")) || disables(new);
    match tool {
        "Write" => !text("content").contains("ccbreaker") || disables(text("content")),
        "MultiEdit" => input.get("edits").and_then(Value::as_array).is_some_and(|edits| {
            edits.iter().any(|e| {
                edit_harms(
                    e.get("old_string").and_then(Value::as_str).unwrap_or(""),
                    e.get("new_string").and_then(Value::as_str).unwrap_or(""),
                )
            })
        }),
        _ => edit_harms(text("old_string"), text("new_string")),
    }
}

fn bash(command: &str, protected: &Protected, cwd: Option<&Path>) -> Option<String> {
    let words: Vec<&str> = command
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '`'))
        .filter(|w| !w.is_empty())
        .collect();
    for (i, pair) in words.windows(2).enumerate() {
        let program = pair[0].trim_matches(|c| c == '"' || c == '\'');
        if (program == "ccbreaker" || program.ends_with("/ccbreaker"))
            && matches!(pair[1], "allow" | "uninstall" | "config")
        {
            return Some(refusal(&format!("it runs `ccbreaker {}`", pair[1])));
        }
        // New prices could make every response cheap: only a person updates them.
        let fetch = program == "ccbreaker-fetch" || program.ends_with("/ccbreaker-fetch");
        if (fetch || program == "ccbreaker" || program.ends_with("/ccbreaker"))
            && pair[1] == "prices"
            && words.get(i + 2) == Some(&"update")
        {
            return Some(refusal("it runs `ccbreaker prices update`"));
        }
    }
    if let Some(var) = words.iter().find(|w| w.starts_with("CCBREAKER_") && w.contains('=')) {
        return Some(refusal(&format!("it sets `{}`", var.split('=').next().unwrap_or(var))));
    }
    for owned in &protected.owned {
        if spellings(owned, protected.home.as_deref(), cwd).iter().any(|s| command.contains(s.as_str())) {
            return Some(refusal(&format!("it touches `{}`", owned.display())));
        }
    }
    let hooks_off = command.contains("disableAllHooks") || command.contains("allowManagedHooksOnly");
    let settings = protected
        .settings
        .iter()
        .find(|p| spellings(p, protected.home.as_deref(), cwd).iter().any(|s| command.contains(s.as_str())));
    match settings {
        Some(path) if hooks_off || command.contains("ccbreaker") || command.contains("hooks") || writes(command) => {
            Some(refusal(&format!("it would change `{}`", path.display())))
        }
        None if hooks_off => Some(refusal("it would switch Claude Code's hooks off")),
        _ => None,
    }
}

/// Whether a shell command writes files: redirections and the usual file-changing programs.
fn writes(command: &str) -> bool {
    const WRITERS: [&str; 14] =
        ["sed", "tee", "mv", "cp", "rm", "truncate", "perl", "python", "python3", "node", "jq", "dd", "ln", "install"];
    command.contains('>')
        || command
            .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|'))
            .any(|w| WRITERS.contains(&w.rsplit('/').next().unwrap_or(w)))
}

/// The ways a shell command may spell `path`: absolute, `~/...`, `$HOME/...`, `${HOME}/...`, and relative to the
/// working directory.
fn spellings(path: &Path, home: Option<&Path>, cwd: Option<&Path>) -> Vec<String> {
    let mut out = vec![path.display().to_string()];
    if let Some(rest) = home.and_then(|h| path.strip_prefix(h).ok()) {
        for prefix in ["~", "$HOME", "${HOME}"] {
            out.push(format!("{prefix}/{}", rest.display()));
        }
    }
    if let Some(rest) = cwd.and_then(|c| path.strip_prefix(c).ok()).filter(|r| !r.as_os_str().is_empty()) {
        out.push(rest.display().to_string());
    }
    out
}

fn absolute(path: &Path, cwd: Option<&Path>) -> PathBuf {
    let joined = match cwd {
        Some(cwd) if path.is_relative() => cwd.join(path),
        _ => path.to_path_buf(),
    };
    normalize(&joined)
}

/// `a/./b/../c` -> `a/c`, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn same_file(path: &Path, other: &Path) -> bool {
    path == other
        || match (crate::paths::resolve(path), std::fs::canonicalize(other).ok()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn protected() -> Protected {
        Protected::new(
            Path::new("/home/u/.config/ccbreaker/config.toml"),
            Path::new("/home/u/.local/state/ccbreaker"),
            Some(PathBuf::from("/home/u/.local/bin/ccbreaker")),
            vec![PathBuf::from("/home/u/.claude/settings.json"), PathBuf::from("/work/p/.claude/settings.local.json")],
            Some(PathBuf::from("/home/u")),
        )
    }

    fn call(tool: &str, input: Value) -> Option<String> {
        let event = Event {
            tool_name: Some(tool.to_owned()),
            cwd: Some("/work/p".to_owned()),
            hook_event_name: Some("PreToolUse".to_owned()),
            ..Event::default()
        };
        check(&event, &input, &protected())
    }

    #[test]
    fn edits_of_owned_files_are_refused() {
        assert!(call("Write", json!({"file_path": "/home/u/.config/ccbreaker/config.toml", "content": "x"})).is_some());
        assert!(call("Edit", json!({"file_path": "/home/u/.local/state/ccbreaker/ledger.bin"})).is_some());
        assert!(call("Edit", json!({"file_path": "/home/u/.local/state/x/../ccbreaker/allowances.json"})).is_some());
        assert!(call("Write", json!({"file_path": "/home/u/.local/bin/ccbreaker", "content": ""})).is_some());
        assert!(call("Write", json!({"file_path": "/work/p/src/main.rs", "content": "ccbreaker"})).is_none());
        assert!(call("Read", json!({"file_path": "/home/u/.config/ccbreaker/config.toml"})).is_none());
    }

    #[test]
    fn settings_edits_that_drop_the_hooks_are_refused() {
        let settings = "/home/u/.claude/settings.json";
        assert!(call("Write", json!({"file_path": settings, "content": "{}"})).is_some());
        assert!(
            call("Write", json!({"file_path": settings, "content": "{\"hooks\": \"/b/ccbreaker hook\"}"})).is_none()
        );
        let off = json!({"file_path": settings, "old_string": "{", "new_string": "{\"disableAllHooks\": true,"});
        assert!(call("Edit", off).is_some());
        let drop = json!({"file_path": settings, "old_string": "\"command\": \"/b/ccbreaker hook\"", "new_string": ""});
        assert!(call("Edit", drop).is_some());
        let other = json!({"file_path": settings, "old_string": "\"model\": \"a\"", "new_string": "\"model\": \"b\""});
        assert!(call("Edit", other).is_none());
        let relative = json!({"file_path": ".claude/settings.local.json", "content": "{}"});
        assert!(call("Write", relative).is_some());
        let multi = json!({"file_path": settings, "edits": [{"old_string": "a", "new_string": "b"},
            {"old_string": "ccbreaker hook", "new_string": "true"}]});
        assert!(call("MultiEdit", multi).is_some());
    }

    #[test]
    fn shell_commands_that_lift_limits_are_refused() {
        let bash = |c: &str| call("Bash", json!({"command": c}));
        assert!(bash("ccbreaker allow --session s --add-usd 100").is_some());
        assert!(bash("cd /tmp && /home/u/.local/bin/ccbreaker uninstall").is_some());
        assert!(bash("ccbreaker prices update --from /tmp/cheap.json --force").is_some());
        assert!(bash("ccbreaker prices list").is_none());
        assert!(bash("~/.local/bin/ccbreaker-fetch prices update --force").is_some());
        assert!(bash("ccbreaker config init --force").is_some());
        assert!(bash("echo '[budget]' > ~/.config/ccbreaker/config.toml").is_some());
        assert!(bash("rm -rf $HOME/.local/state/ccbreaker").is_some());
        assert!(bash("CCBREAKER_CONFIG=/dev/null claude -p hi").is_some());
        assert!(bash("jq 'del(.hooks)' ~/.claude/settings.json > t && mv t ~/.claude/settings.json").is_some());
        assert!(bash("echo '{}' > .claude/settings.local.json").is_some());
        assert!(bash("claude --settings '{\"disableAllHooks\": true}' -p go").is_some());
        assert!(bash("ccbreaker status").is_none());
        assert!(bash("cat ~/.claude/settings.json").is_none());
        assert!(bash("cargo test && git commit -am wip").is_none());
    }
}

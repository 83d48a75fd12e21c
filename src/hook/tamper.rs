//! Tamper resistance in the tool call itself: the agent a budget guards must not be able to lift it. Tool calls that
//! would edit ccbreaker's config, state or binary, change or remove its hook entries in Claude Code's settings (or
//! switch hooks off, or steer ccbreaker through a settings `env`), or run `ccbreaker allow|uninstall|config|prices update`,
//! are refused with a reason; a person does these in their own terminal.
//!
//! These checks read the tool call's input as text (paths, shell commands). They are a first line, not a boundary:
//! a shell can build any path at run time. Locked mode (`sudo ccbreaker install --locked`) is the boundary; these
//! checks run there too. A settings file edit is judged by the file it would produce: the edit is applied to the
//! file's current content and ccbreaker's handlers and the keys that switch hooks off are compared.

use super::event::{Event, ToolInput};
use serde_json::Value;
use std::path::{Component, Path, PathBuf};

/// What the hook protects, as absolute paths.
#[derive(Debug, Clone, Default)]
pub(crate) struct Protected {
    /// Files and directories the agent may not touch at all: the config file, the state directory, the binary and
    /// `ccbreaker-net` beside it, the plugin's hook wrapper.
    pub owned: Vec<PathBuf>,
    /// Claude Code settings files: edits that would change ccbreaker's entries or disable hooks are refused.
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
        // The network binary beside it too: `ccbreaker prices update` runs it.
        owned.extend(binary.as_deref().map(crate::paths::net_binary_beside));
        owned.extend(binary);
        Protected { owned, settings, home }
    }
}

/// Why this tool call is refused, if it is.
pub(crate) fn check(event: &Event, input: &ToolInput, protected: &Protected) -> Option<String> {
    let tool = event.tool_name.as_deref()?;
    let cwd = event.cwd.as_deref().map(Path::new);
    match tool {
        "Edit" | "Write" | "MultiEdit" | "NotebookEdit" => {
            let path = ["file_path", "notebook_path", "path"].iter().find_map(|k| input.text(k))?;
            let path = absolute(Path::new(&path), cwd);
            if let Some(owned) = protected.owned.iter().find(|p| crate::paths::is_within(&path, p)) {
                return Some(refusal(&format!("it would change `{}`", owned.display())));
            }
            let settings = protected.settings.iter().find(|p| same_file(&path, p)).cloned();
            let settings = settings.or_else(|| is_settings_name(&path).then(|| path.clone()))?;
            settings_edit(tool, input, &settings)
        }
        "Bash" | "PowerShell" => bash(&input.text("command")?, protected, cwd),
        _ => None,
    }
}

fn refusal(what: &str) -> String {
    format!(
        "ccbreaker: this tool call is refused: {what}. The agent ccbreaker guards may not change its budgets, state \
         or hooks; a person can do this in their own terminal."
    )
}

/// A file Claude Code reads as settings wherever it lies: `.claude/settings.json` or `.claude/settings.local.json`.
fn is_settings_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str());
    matches!(name, Some("settings.json" | "settings.local.json"))
        && path.parent().and_then(Path::file_name).is_some_and(|dir| dir == ".claude")
}

/// The largest settings file read to judge an edit of it.
const MAX_SETTINGS: u64 = 4 << 20;

/// Judges an edit of the settings file `path` by the file it would produce.
fn settings_edit(tool: &str, input: &ToolInput, path: &Path) -> Option<String> {
    let before = crate::files::read_capped(path, MAX_SETTINGS).ok().flatten().unwrap_or_default();
    let before = String::from_utf8_lossy(&before).into_owned();
    let after = match tool {
        "Write" => input.text("content").unwrap_or_default(),
        "Edit" => apply_edit(&before, input)?,
        "MultiEdit" => {
            let mut text = before.clone();
            for edit in input.objects("edits")? {
                text = apply_edit(&text, &edit)?;
            }
            text
        }
        _ => return Some(refusal(&format!("it would change `{}` outside the settings editor", path.display()))),
    };
    let why = harm(&before, &after)?;
    Some(refusal(&format!("{why} in `{}`", path.display())))
}

/// The text an `Edit` (or one edit of a `MultiEdit`) leaves; `None` when it would fail (its `old_string` is not
/// there), so it changes nothing.
fn apply_edit(text: &str, edit: &ToolInput) -> Option<String> {
    let old = edit.text("old_string")?;
    let new = edit.text("new_string").unwrap_or_default();
    if old.is_empty() {
        return (text.trim().is_empty()).then_some(new);
    }
    if !text.contains(&old) {
        return None;
    }
    Some(if edit.flag("replace_all") { text.replace(&old, &new) } else { text.replacen(&old, &new, 1) })
}

/// Environment variables that steer ccbreaker, or switch hooks or mods off, when a settings file's `env` sets them.
fn steers(var: &str) -> bool {
    var.starts_with("CCBREAKER_")
        || matches!(
            var,
            "CLAUDE_CONFIG_DIR"
                | "HOME"
                | "XDG_CONFIG_HOME"
                | "XDG_STATE_HOME"
                | "XDG_DATA_HOME"
                | "CLAUDE_CODE_SIMPLE"
                | "CLAUDE_CODE_SAFE_MODE"
        )
}

/// The entries of `CLAUDE_CODE_PLUGIN_DIRS` (in a settings `env`) that load ccbreaker's mod.
fn mod_dirs(env: &serde_json::Map<String, Value>) -> Vec<String> {
    let value = env.get(crate::install::mods::PLUGIN_DIRS).and_then(Value::as_str).unwrap_or("");
    value.split(':').map(str::trim).filter(|e| e.contains("ccbreaker")).map(str::to_owned).collect()
}

/// What harm turning settings `before` into `after` would do, if any.
pub(crate) fn harm(before: &str, after: &str) -> Option<String> {
    let parse = |text: &str| -> Option<Value> {
        if text.trim().is_empty() { Some(Value::Object(Default::default())) } else { serde_json::from_str(text).ok() }
    };
    let old = parse(before).unwrap_or(Value::Null);
    let Some(new) = parse(after) else {
        // Claude Code ignores a settings file it cannot parse, hooks and all.
        return (!handlers(&old).is_empty())
            .then(|| "it would leave ccbreaker's hooks in a file that is not JSON".to_owned());
    };
    if handlers(&old) != handlers(&new) {
        return Some("it would change or remove ccbreaker's hooks".to_owned());
    }
    for key in ["disableAllHooks", "allowManagedHooksOnly"] {
        if new.get(key).is_some_and(|v| v != &Value::Bool(false)) && old.get(key) != new.get(key) {
            return Some(format!("it would set `{key}`"));
        }
    }
    let env = |v: &Value| v.get("env").and_then(Value::as_object).cloned().unwrap_or_default();
    let (old_env, new_env) = (env(&old), env(&new));
    for (var, value) in &new_env {
        if steers(var) && old_env.get(var) != Some(value) {
            return Some(format!("it would set `{var}` in its `env`"));
        }
    }
    let kept = mod_dirs(&new_env);
    if mod_dirs(&old_env).iter().any(|dir| !kept.contains(dir)) {
        return Some("it would stop loading ccbreaker's mod (`CLAUDE_CODE_PLUGIN_DIRS` in its `env`)".to_owned());
    }
    let marketplaces =
        |v: &Value| v.get("extraKnownMarketplaces").and_then(|m| m.get(crate::install::mods::MARKETPLACE)).cloned();
    if marketplaces(&old).is_some() && marketplaces(&old) != marketplaces(&new) {
        return Some("it would change the marketplace of ccbreaker's mod".to_owned());
    }
    let plugins = |v: &Value| v.get("enabledPlugins").and_then(Value::as_object).cloned().unwrap_or_default();
    let (old_plugins, new_plugins) = (plugins(&old), plugins(&new));
    for (name, value) in &new_plugins {
        if name.contains("ccbreaker") && value == &Value::Bool(false) && old_plugins.get(name) != Some(value) {
            return Some(format!("it would disable the plugin `{name}`"));
        }
    }
    None
}

/// Every handler that mentions ccbreaker, with its event and matcher, in file order.
fn handlers(settings: &Value) -> Vec<(String, Value, Value)> {
    let mut out = Vec::new();
    let Some(hooks) = settings.get("hooks").and_then(Value::as_object) else { return out };
    for (event, groups) in hooks {
        for group in groups.as_array().into_iter().flatten() {
            let matcher = group.get("matcher").cloned().unwrap_or(Value::Null);
            for handler in group.get("hooks").and_then(Value::as_array).into_iter().flatten() {
                if handler.to_string().contains("ccbreaker") {
                    out.push((event.clone(), matcher.clone(), handler.clone()));
                }
            }
        }
    }
    out
}

fn bash(command: &str, protected: &Protected, cwd: Option<&Path>) -> Option<String> {
    let words: Vec<&str> = command
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '`'))
        .filter(|w| !w.is_empty())
        .collect();
    let unquoted = |w: &str| w.trim_matches(|c| c == '"' || c == '\'').to_owned();
    for (i, pair) in words.windows(2).enumerate() {
        let (program, command) = (unquoted(pair[0]), unquoted(pair[1]));
        let ccbreaker = program == "ccbreaker" || program.ends_with("/ccbreaker");
        if ccbreaker && matches!(command.as_str(), "allow" | "uninstall" | "config") {
            return Some(refusal(&format!("it runs `ccbreaker {command}`")));
        }
        // New prices could make every response cheap: only a person updates them.
        let net = program == crate::paths::NET_BINARY || program.ends_with(&format!("/{}", crate::paths::NET_BINARY));
        if (ccbreaker || net)
            && command == "prices"
            && words.get(i + 2).map(|w| unquoted(w)).as_deref() == Some("update")
        {
            return Some(refusal("it runs `ccbreaker prices update`"));
        }
    }
    if let Some(var) = words.iter().find(|w| w.starts_with("CCBREAKER_") && w.contains('=')) {
        return Some(refusal(&format!("it sets `{}`", var.split('=').next().unwrap_or(var))));
    }
    if command.contains("CLAUDE_CONFIG_DIR=") {
        return Some(refusal(
            "it runs Claude Code under another config directory, where ccbreaker's hooks may not run",
        ));
    }
    if command.contains("ccbreaker")
        && words.iter().any(|w| matches!(w.rsplit('/').next().unwrap_or(w), "kill" | "pkill" | "killall"))
    {
        return Some(refusal("it would kill ccbreaker"));
    }
    let runs_claude = words.iter().any(|w| w.rsplit('/').next() == Some("claude"));
    if runs_claude && words.iter().any(|w| *w == "--bare" || w.starts_with("CLAUDE_CODE_SIMPLE=")) {
        return Some(refusal("it runs Claude Code without hooks"));
    }
    let unmodded = |w: &&str| {
        *w == "--safe-mode" || w.starts_with("CLAUDE_CODE_SAFE_MODE=") || w.starts_with("CLAUDE_CODE_PLUGIN_DIRS=")
    };
    if runs_claude && words.iter().any(unmodded) {
        return Some(refusal("it runs Claude Code without ccbreaker's mod"));
    }
    for owned in &protected.owned {
        if mentions(command, owned, protected.home.as_deref(), cwd) {
            return Some(refusal(&format!("it touches `{}`", owned.display())));
        }
        // `cd ~/.local/bin && cp /bin/true ccbreaker`: its directory, then its name.
        let (Some(dir), Some(name)) = (owned.parent(), owned.file_name().and_then(|n| n.to_str())) else { continue };
        let in_dir = mentions(command, dir, protected.home.as_deref(), cwd);
        if in_dir && writes(command) && words.iter().any(|w| w.trim_matches(|c| c == '"' || c == '\'') == name) {
            return Some(refusal(&format!("it would change `{}`", owned.display())));
        }
    }
    let hooks_off = command.contains("disableAllHooks") || command.contains("allowManagedHooksOnly");
    let settings = protected.settings.iter().find(|p| mentions(command, p, protected.home.as_deref(), cwd));
    let settings_named = command.contains(".claude/settings") || command.contains("settings.local.json");
    match settings {
        Some(path) if hooks_off || command.contains("ccbreaker") || command.contains("hooks") || writes(command) => {
            Some(refusal(&format!("it would change `{}`", path.display())))
        }
        None if settings_named && writes(command) => Some(refusal("it would change a Claude Code settings file")),
        _ if hooks_off => Some(refusal("it would switch Claude Code's hooks off")),
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

/// Whether `command` spells `path` in one of the ways [`spellings`] lists. Every spelling ends with the path's last
/// name (but `~/...` for the home directory itself), so a command without that name spells none of them: that cheap
/// test comes first, and most commands stop there (each path's spellings cost allocations; this runs on every
/// `Bash` call, for every owned path, its directory and every settings file).
fn mentions(command: &str, path: &Path, home: Option<&Path>, cwd: Option<&Path>) -> bool {
    // The home directory's own spellings (`~/`, `$HOME/`, `${HOME}/`) hold `~` or `HOME`.
    let spells_home = || command.contains('~') || command.contains("HOME");
    if let Some(name) = path.file_name().and_then(|n| n.to_str())
        && !command.contains(name)
        && (!spells_home() || home != Some(path))
    {
        return false;
    }
    spellings(path, home, cwd).iter().any(|s| command.contains(s.as_str()))
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
    use crate::test_dir::TestDir;
    use serde_json::json;

    fn protected(settings: Vec<PathBuf>) -> Protected {
        Protected::new(
            Path::new("/home/u/.config/ccbreaker/config.toml"),
            Path::new("/home/u/.local/state/ccbreaker"),
            Some(PathBuf::from("/home/u/.local/bin/ccbreaker")),
            settings,
            Some(PathBuf::from("/home/u")),
        )
    }

    fn call_with(tool: &str, input: Value, protected: &Protected, cwd: &str) -> Option<String> {
        let event = Event {
            tool_name: Some(tool.to_owned()),
            cwd: Some(cwd.to_owned()),
            hook_event_name: Some("PreToolUse".to_owned()),
            ..Event::default()
        };
        let raw = input.to_string();
        check(&event, &ToolInput::new(raw.as_bytes()), protected)
    }

    fn call(tool: &str, input: Value) -> Option<String> {
        let settings = vec![PathBuf::from("/home/u/.claude/settings.json")];
        call_with(tool, input, &protected(settings), "/work/p")
    }

    #[test]
    fn edits_of_owned_files_are_refused() {
        assert!(call("Write", json!({"file_path": "/home/u/.config/ccbreaker/config.toml", "content": "x"})).is_some());
        assert!(call("Edit", json!({"file_path": "/home/u/.local/state/ccbreaker/ledger.bin"})).is_some());
        assert!(call("Edit", json!({"file_path": "/home/u/.local/state/x/../ccbreaker/allowances.json"})).is_some());
        assert!(call("Write", json!({"file_path": "/home/u/.local/bin/ccbreaker", "content": ""})).is_some());
        assert!(call("Write", json!({"file_path": "/home/u/.local/bin/ccbreaker-net", "content": ""})).is_some());
        assert!(call("Write", json!({"file_path": "/work/p/src/main.rs", "content": "ccbreaker"})).is_none());
        assert!(call("Read", json!({"file_path": "/home/u/.config/ccbreaker/config.toml"})).is_none());
    }

    const INSTALLED: &str = r#"{
  "model": "a",
  "hooks": {
    "PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "/b/ccbreaker hook", "timeout": 10}]}]
  }
}"#;

    #[test]
    fn settings_edits_are_judged_by_the_file_they_produce() {
        let dir = TestDir::new("settings-edit");
        let settings = dir.path().join(".claude/settings.json");
        std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
        std::fs::write(&settings, INSTALLED).unwrap();
        let p = protected(vec![settings.clone()]);
        let cwd = dir.path().to_str().unwrap();
        let edit = |old: &str, new: &str| {
            call_with("Edit", json!({"file_path": settings, "old_string": old, "new_string": new}), &p, cwd)
        };
        assert!(edit("/b/ccbreaker hook", "true # ccbreaker").is_some());
        assert!(edit("/b/ccbreaker hook", "/b/ccbreaker hook >/dev/null").is_some());
        assert!(edit("\"timeout\": 10", "\"timeout\": 10, \"async\": true").is_some());
        assert!(edit("\"model\": \"a\",", "\"model\": \"a\", \"disableAllHooks\": true,").is_some());
        assert!(edit("\"model\": \"a\",", "\"env\": {\"CCBREAKER_CONFIG\": \"/tmp/x\"},").is_some());
        assert!(edit("\"model\": \"a\",", "\"env\": {\"CLAUDE_CONFIG_DIR\": \"/tmp/x\"},").is_some());
        assert!(edit("\"model\": \"a\",", "\"enabledPlugins\": {\"ccbreaker@x\": false},").is_some());
        assert!(edit("\"model\": \"a\",", "\"enabledPlugins\": {\"ccbreaker-gate@inline\": false},").is_some());
        assert!(edit("\"model\": \"a\",", "\"env\": {\"CLAUDE_CODE_SAFE_MODE\": \"1\"},").is_some());
        assert!(edit("{", "").is_some(), "a file Claude Code cannot parse loses the hooks");
        assert!(edit("\"model\": \"a\"", "\"model\": \"b\"").is_none());
        assert!(edit("not there", "{}").is_none(), "an edit that fails changes nothing");
        let write = |content: &str| call_with("Write", json!({"file_path": settings, "content": content}), &p, cwd);
        assert!(write("{}").is_some());
        assert!(write(&INSTALLED.replace("\"a\"", "\"b\"")).is_none());
        let multi = json!({"file_path": settings, "edits": [{"old_string": "a", "new_string": "b"},
            {"old_string": "ccbreaker hook", "new_string": "true"}]});
        assert!(call_with("MultiEdit", multi, &p, cwd).is_some());
        let sub = dir.path().join("sub/.claude/settings.local.json");
        let anywhere = json!({"file_path": sub, "content": "{\"disableAllHooks\": true}"});
        assert!(call_with("Write", anywhere, &p, cwd).is_some(), "a settings file anywhere is judged");
        let relative = json!({"file_path": ".claude/settings.json", "content": "{}"});
        assert!(call_with("Write", relative, &p, cwd).is_some());
    }

    #[test]
    fn settings_that_stop_loading_the_mod_are_refused() {
        let mods = "/home/u/.local/share/ccbreaker/mod";
        let before = json!({"env": {"CLAUDE_CODE_PLUGIN_DIRS": format!("/mine:{mods}"), "A": "1"}}).to_string();
        let after = |dirs: &str| json!({"env": {"CLAUDE_CODE_PLUGIN_DIRS": dirs, "A": "1"}}).to_string();
        assert!(harm(&before, &after("/mine")).is_some());
        assert!(harm(&before, &json!({"env": {"A": "1"}}).to_string()).is_some());
        assert!(harm(&before, "{}").is_some());
        assert!(harm(&before, &after(&format!("{mods}:/mine:/more"))).is_none(), "adding and reordering is fine");
        let managed =
            json!({"extraKnownMarketplaces": {"ccbreaker": {"source": {"source": "directory", "path": "/m"}}}});
        let moved = json!({"extraKnownMarketplaces": {"ccbreaker": {"source": {"source": "directory", "path": "/x"}}}});
        assert!(harm(&managed.to_string(), &moved.to_string()).is_some());
        assert!(harm(&managed.to_string(), "{}").is_some());
    }

    /// The cheap test first changes no answer: `mentions` says what the spellings say, for paths with and without a
    /// last name, the home directory itself, trailing separators, and commands naming a path in part or whole.
    #[test]
    fn mentions_agrees_with_the_spellings() {
        let paths = [
            "/home/u/.config/ccbreaker/config.toml",
            "/home/u/.local/state/ccbreaker/",
            "/home/u/.local/share/ccbreaker/mod",
            "/home/u",
            "/home/u/",
            "/work/p/.claude/settings.json",
            "/work/p",
            "/a/b/..",
            "/",
            "rel/x",
        ];
        let mut commands = vec![
            "echo next".to_owned(),
            "cat ~/".to_owned(),
            "ls ~ && cat config.toml".to_owned(),
            "ls $HOME/".to_owned(),
            "rm -rf ${HOME}/".to_owned(),
            "cat .claude/settings.json".to_owned(),
            "cd /a/b && ls ..".to_owned(),
            "cat x".to_owned(),
        ];
        for home in ["/home/u", "/home/u/"] {
            for path in paths {
                for spelled in spellings(Path::new(path), Some(Path::new(home)), Some(Path::new("/work/p"))) {
                    commands.push(format!("cat {spelled} | head"));
                    commands.push(format!("rm {}", &spelled[..spelled.len() / 2]));
                }
            }
        }
        for path in paths.map(Path::new) {
            for home in [Some(Path::new("/home/u")), Some(Path::new("/home/u/")), Some(Path::new("/work/p")), None] {
                for cwd in [Some(Path::new("/work/p")), Some(Path::new("/home/u")), None] {
                    for command in &commands {
                        let spelled = spellings(path, home, cwd).iter().any(|s| command.contains(s.as_str()));
                        assert_eq!(
                            mentions(command, path, home, cwd),
                            spelled,
                            "{command:?} {path:?} {home:?} {cwd:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn shell_commands_that_lift_limits_are_refused() {
        let bash = |c: &str| call("Bash", json!({"command": c}));
        assert!(bash("ccbreaker allow --session s --add-usd 100").is_some());
        assert!(bash("cd /tmp && /home/u/.local/bin/ccbreaker uninstall").is_some());
        assert!(bash("ccbreaker prices update --from /tmp/cheap.json --force").is_some());
        assert!(bash("ccbreaker \"prices\" 'update' --force").is_some(), "however quoted");
        assert!(bash("ccbreaker prices list").is_none());
        assert!(bash("~/.local/bin/ccbreaker-net prices update --force").is_some());
        assert!(bash("ccbreaker config init --force").is_some());
        assert!(bash("echo '[budget]' > ~/.config/ccbreaker/config.toml").is_some());
        assert!(bash("rm -rf $HOME/.local/state/ccbreaker").is_some());
        assert!(bash("CCBREAKER_CONFIG=/dev/null claude -p hi").is_some());
        assert!(bash("jq 'del(.hooks)' ~/.claude/settings.json > t && mv t ~/.claude/settings.json").is_some());
        assert!(bash("echo '{}' > .claude/settings.local.json").is_some());
        assert!(bash("claude --settings '{\"disableAllHooks\": true}' -p go").is_some());
        assert!(bash("CLAUDE_CONFIG_DIR=/tmp/c claude -p go").is_some());
        assert!(bash("while true; do pkill -f 'ccbreaker hook'; done &").is_some());
        assert!(bash("claude --bare -p go").is_some());
        assert!(bash("claude --safe-mode -p go").is_some());
        assert!(bash("CLAUDE_CODE_SAFE_MODE=1 claude -p go").is_some());
        assert!(bash("CLAUDE_CODE_PLUGIN_DIRS= ~/.local/bin/claude -p go").is_some());
        assert!(bash("cd ~/.local/bin && cp /bin/true ccbreaker").is_some());
        assert!(bash("cd ~/.config/ccbreaker && printf '[budget]\\nsession_usd=0\\n' > config.toml").is_some());
        assert!(bash("CLAUDECODE= ccbreaker \"allow\" --session s").is_some());
        assert!(bash("script -qec 'ccbreaker allow --session s' /dev/null").is_some());
        assert!(bash("ccbreaker status").is_none());
        assert!(bash("cat ~/.claude/settings.json").is_none());
        assert!(bash("git clone --bare x").is_none());
        assert!(bash("cargo test && git commit -am wip").is_none());
    }
}

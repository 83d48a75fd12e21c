//! ccbreaker's mod (`mod/` in the repository: a Claude Code plugin of function hooks that asks `ccbreaker gate`
//! before every model request), as `install` puts it in place: its files, embedded in the binary and written out
//! into a folder of their own, and the settings that load it.
//!
//! Embedded rather than looked for beside the binary: `cargo install` copies binaries only, and the mod a binary
//! writes is then always the one its `gate` speaks to (the two change together); the folder also records which
//! binary the mod runs (`hooks/ccbreaker.path`), so nothing on `PATH` is ever run.
//!
//! How it loads, in the sturdiest way each mode has (measured on Claude Code 2.1.331 and 2.1.240):
//! - user mode: the folder in `CLAUDE_CODE_PLUGIN_DIRS` in the `env` of the user settings `install` edits anyway.
//!   A client without mods (2.1.240) does not know the variable and loads nothing; the folder's hooks file also
//!   holds an empty `hooks` object, so a client that knows the variable but not `modules` loads it without error.
//! - locked mode: the folder as a directory marketplace in the managed settings (`extraKnownMarketplaces` and
//!   `enabledPlugins`), where the mod is seated in the administrator's tier and no user or project setting turns it
//!   off.

use super::edit::{Change, EditError, Edited, EventChange, as_object_mut, type_name};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// The plugin's name, as `plugin.json` and `enabledPlugins` spell it.
pub(crate) const PLUGIN: &str = "ccbreaker-gate";
/// The marketplace the folder is in locked mode (`<PLUGIN>@<MARKETPLACE>` in `enabledPlugins`).
pub(crate) const MARKETPLACE: &str = "ccbreaker";
/// The variable of user settings' `env` that names plugin folders to load.
pub(crate) const PLUGIN_DIRS: &str = "CLAUDE_CODE_PLUGIN_DIRS";
/// The file, under the folder, that names the binary the mod runs.
pub(crate) const BINARY_FILE: &str = "hooks/ccbreaker.path";

const GATE_JS: &str = include_str!("../../mod/ccbreaker-gate.js");
const HOOKS_JSON: &str = include_str!("../../mod/hooks.json");

/// The mod's files for the ccbreaker at `binary`, by path under its folder.
pub(crate) fn files(binary: &Path) -> Vec<(&'static str, String)> {
    let manifest = json!({
        "name": PLUGIN,
        "version": env!("CARGO_PKG_VERSION"),
        "description": "ccbreaker's gate: asks ccbreaker before every model request, subagent, compaction and send.",
        "license": "MIT",
        "hooks": "./mod/hooks.json",
    });
    let marketplace = json!({
        "name": MARKETPLACE,
        "owner": {"name": "ccbreaker"},
        "plugins": [{"name": PLUGIN, "source": "./", "description": "ccbreaker's gate"}],
    });
    vec![
        (".claude-plugin/plugin.json", format!("{manifest:#}\n")),
        (".claude-plugin/marketplace.json", format!("{marketplace:#}\n")),
        ("mod/hooks.json", HOOKS_JSON.to_owned()),
        ("mod/ccbreaker-gate.js", GATE_JS.to_owned()),
        (BINARY_FILE, format!("{}\n", binary.display())),
    ]
}

/// The files of the folder `dir` that are missing or differ from what the mod of `binary` is: what the boundary
/// checks and `status` report.
pub(crate) fn differences(dir: &Path, binary: &Path) -> Vec<PathBuf> {
    files(binary)
        .into_iter()
        .map(|(name, text)| (dir.join(name), text))
        .filter(|(path, text)| std::fs::read(path).ok().as_deref() != Some(text.as_bytes()))
        .map(|(path, _)| path)
        .collect()
}

/// The entries of a `CLAUDE_CODE_PLUGIN_DIRS` value.
fn entries(value: &str) -> Vec<&str> {
    value.split(':').map(str::trim).filter(|e| !e.is_empty()).collect()
}

fn env_mut(root: &mut Map<String, Value>) -> Result<&mut Map<String, Value>, EditError> {
    as_object_mut(root.entry("env").or_insert_with(|| Value::Object(Map::new())), "$.env")
}

fn root_mut(settings: &mut Value) -> Result<&mut Map<String, Value>, EditError> {
    as_object_mut(settings, "$")
}

fn label() -> String {
    format!("env.{PLUGIN_DIRS}")
}

/// `settings` loading the mod from `dir`: `dir` at the end of `env.CLAUDE_CODE_PLUGIN_DIRS`, the entries already
/// there kept.
pub(crate) fn add_plugin_dir(mut settings: Value, dir: &str) -> Result<Edited, EditError> {
    let env = env_mut(root_mut(&mut settings)?)?;
    let current = match env.get(PLUGIN_DIRS) {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(EditError::Shape { path: label(), expected: "a string", found: type_name(other) });
        }
    };
    if entries(&current).contains(&dir) {
        return Ok(Edited { settings, changes: Vec::new() });
    }
    let mut all = entries(&current);
    all.push(dir);
    env.insert(PLUGIN_DIRS.to_owned(), Value::String(all.join(":")));
    Ok(Edited { settings, changes: vec![EventChange { event: label(), change: Change::Added }] })
}

/// `settings` without `dir` in `env.CLAUDE_CODE_PLUGIN_DIRS` (the variable, and `env`, removed if this empties
/// them).
pub(crate) fn remove_plugin_dir(mut settings: Value, dir: &str) -> Result<Edited, EditError> {
    let root = root_mut(&mut settings)?;
    let Some(Value::Object(env)) = root.get_mut("env") else { return Ok(Edited { settings, changes: Vec::new() }) };
    let Some(Value::String(current)) = env.get(PLUGIN_DIRS) else {
        return Ok(Edited { settings, changes: Vec::new() });
    };
    let kept: Vec<&str> = entries(current).into_iter().filter(|e| *e != dir).collect();
    if kept.len() == entries(current).len() {
        return Ok(Edited { settings, changes: Vec::new() });
    }
    if kept.is_empty() {
        env.shift_remove(PLUGIN_DIRS);
    } else {
        let joined = kept.join(":");
        env.insert(PLUGIN_DIRS.to_owned(), Value::String(joined));
    }
    if env.is_empty() {
        root.shift_remove("env");
    }
    Ok(Edited { settings, changes: vec![EventChange { event: label(), change: Change::Removed(1) }] })
}

fn plugin_id() -> String {
    format!("{PLUGIN}@{MARKETPLACE}")
}

/// Managed settings seating the mod from `dir`: the folder as the directory marketplace `ccbreaker` in
/// `extraKnownMarketplaces`, and the plugin on in `enabledPlugins`.
pub(crate) fn add_marketplace(mut settings: Value, dir: &str) -> Result<Edited, EditError> {
    let root = root_mut(&mut settings)?;
    let mut changes = Vec::new();
    let source = json!({"source": {"source": "directory", "path": dir}});
    for (key, name, value) in
        [("extraKnownMarketplaces", MARKETPLACE.to_owned(), source), ("enabledPlugins", plugin_id(), json!(true))]
    {
        let map = as_object_mut(root.entry(key).or_insert_with(|| Value::Object(Map::new())), &format!("$.{key}"))?;
        if map.get(&name) != Some(&value) {
            let change = if map.contains_key(&name) { Change::Updated(vec![name.clone()]) } else { Change::Added };
            map.insert(name.clone(), value);
            changes.push(EventChange { event: format!("{key}.{name}"), change });
        }
    }
    Ok(Edited { settings, changes })
}

/// Managed settings without the mod's marketplace and plugin.
pub(crate) fn remove_marketplace(mut settings: Value) -> Result<Edited, EditError> {
    let root = root_mut(&mut settings)?;
    let mut changes = Vec::new();
    for (key, name) in [("extraKnownMarketplaces", MARKETPLACE.to_owned()), ("enabledPlugins", plugin_id())] {
        let Some(Value::Object(map)) = root.get_mut(key) else { continue };
        if map.shift_remove(&name).is_some() {
            changes.push(EventChange { event: format!("{key}.{name}"), change: Change::Removed(1) });
            if map.is_empty() {
                root.shift_remove(key);
            }
        }
    }
    Ok(Edited { settings, changes })
}

/// Whether managed `settings` seat the mod from `dir`.
pub(crate) fn seated(settings: &Value, dir: &Path) -> bool {
    let path = settings["extraKnownMarketplaces"][MARKETPLACE]["source"]["path"].as_str();
    settings["enabledPlugins"][plugin_id()] == json!(true)
        && settings["extraKnownMarketplaces"][MARKETPLACE]["source"]["source"] == "directory"
        && path.is_some_and(|p| Path::new(p) == dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mod_runs_the_binary_it_was_written_for() {
        let files = files(Path::new("/opt/bin/ccbreaker"));
        let text = |name: &str| files.iter().find(|(n, _)| *n == name).map(|(_, t)| t.clone()).unwrap();
        assert_eq!(text(BINARY_FILE), "/opt/bin/ccbreaker\n");
        assert!(
            text("mod/ccbreaker-gate.js").contains("hooks/ccbreaker.path"),
            "the module reads the file it is given"
        );
        let manifest: Value = serde_json::from_str(&text(".claude-plugin/plugin.json")).unwrap();
        assert_eq!((manifest["name"].as_str(), manifest["hooks"].as_str()), (Some(PLUGIN), Some("./mod/hooks.json")));
        let hooks: Value = serde_json::from_str(&text("mod/hooks.json")).unwrap();
        // An empty `hooks`: a client that knows no `modules` loads the file without error (measured on 2.1.240).
        assert_eq!((hooks["hooks"].clone(), hooks["modules"].clone()), (json!({}), json!(["./ccbreaker-gate.js"])));
    }

    #[test]
    fn the_plugin_folder_is_added_once_beside_the_users_own() {
        let settings = json!({"model": "opus", "env": {"A": "1", PLUGIN_DIRS: "/mine/mods"}});
        let added = add_plugin_dir(settings.clone(), "/h/.local/share/ccbreaker/mod").unwrap();
        assert_eq!(added.settings["env"][PLUGIN_DIRS], "/mine/mods:/h/.local/share/ccbreaker/mod");
        assert_eq!(added.changes[0].to_string(), "env.CLAUDE_CODE_PLUGIN_DIRS: added");
        let again = add_plugin_dir(added.settings.clone(), "/h/.local/share/ccbreaker/mod").unwrap();
        assert!(again.changes.is_empty());
        let removed = remove_plugin_dir(added.settings, "/h/.local/share/ccbreaker/mod").unwrap();
        assert_eq!(removed.settings, settings);
        let fresh = add_plugin_dir(json!({}), "/d").unwrap().settings;
        assert_eq!(fresh, json!({"env": {PLUGIN_DIRS: "/d"}}));
        assert_eq!(remove_plugin_dir(fresh, "/d").unwrap().settings, json!({}));
        let bad = add_plugin_dir(json!({"env": {PLUGIN_DIRS: 3}}), "/d").unwrap_err();
        assert_eq!(bad.to_string(), "`env.CLAUDE_CODE_PLUGIN_DIRS` should be a string, found a number");
    }

    #[test]
    fn managed_settings_seat_the_folder_as_a_marketplace() {
        let dir = "/usr/local/lib/ccbreaker/mod";
        let settings = json!({"hooks": {}, "enabledPlugins": {"other@x": true}});
        let added = add_marketplace(settings.clone(), dir).unwrap();
        assert!(seated(&added.settings, Path::new(dir)));
        assert_eq!(added.changes.len(), 2);
        assert!(add_marketplace(added.settings.clone(), dir).unwrap().changes.is_empty());
        assert_eq!(remove_marketplace(added.settings).unwrap().settings, settings);
        assert!(!seated(&settings, Path::new(dir)));
    }
}

//! The edit itself, as pure functions over a settings `Value`: a user's `settings.json` holds their permissions,
//! environment and other tools' hooks, so adding or removing ccbreaker must touch nothing else, keep key order,
//! be idempotent, and refuse a shape it does not understand rather than guess.

use std::fmt;

use serde_json::{Map, Value, json};

use super::shell;

/// One hook event ccbreaker registers for, and how.
struct EventSpec {
    name: &'static str,
    /// `None` for events that take no matcher.
    matcher: Option<&'static str>,
    /// Seconds.
    timeout: u64,
    /// Whether `onFailure: "block"` is set when the caller asks for fail-closed. Claude Code ignores it on Stop
    /// and SubagentStop, and a failed UserPromptSubmit hook should not swallow the user's prompt.
    can_fail_closed: bool,
}

/// The events, in the order they are added.
const EVENTS: [EventSpec; 5] = [
    EventSpec { name: "PreToolUse", matcher: Some("*"), timeout: 10, can_fail_closed: true },
    EventSpec { name: "PostToolBatch", matcher: None, timeout: 10, can_fail_closed: true },
    EventSpec { name: "UserPromptSubmit", matcher: None, timeout: 10, can_fail_closed: false },
    EventSpec { name: "Stop", matcher: None, timeout: 10, can_fail_closed: false },
    EventSpec { name: "SubagentStop", matcher: None, timeout: 10, can_fail_closed: false },
];

impl EventSpec {
    fn handler(&self, command: &str, fail_closed: bool) -> Value {
        let mut handler = json!({"type": "command", "command": command, "timeout": self.timeout});
        if fail_closed && self.can_fail_closed {
            handler["onFailure"] = json!("block");
        }
        handler
    }

    fn group(&self, handler: Value) -> Value {
        match self.matcher {
            Some(matcher) => json!({"matcher": matcher, "hooks": [handler]}),
            None => json!({"hooks": [handler]}),
        }
    }

    /// Whether a group with this `matcher` value runs its handlers for every occurrence of the event.
    fn matches_all(&self, matcher: Option<&Value>) -> bool {
        self.matcher.is_none()
            || match matcher {
                None | Some(Value::Null) => true,
                Some(Value::String(m)) => m.is_empty() || m == "*",
                Some(_) => false,
            }
    }
}

/// ccbreaker's whole `hooks` object for `command`: what [`add_hooks`] adds to settings that have none, and what
/// a plugin's `hooks/hooks.json` holds (checked by the plugin's tests).
#[cfg(test)]
pub(crate) fn hook_entries(command: &str, fail_closed: bool) -> Value {
    let events =
        EVENTS.iter().map(|spec| (spec.name.to_owned(), json!([spec.group(spec.handler(command, fail_closed))])));
    Value::Object(events.collect())
}

/// What happened to one event's ccbreaker handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    Added,
    /// The existing handler was rewritten; the names say what differed (handler keys such as `command`,
    /// `timeout` or `onFailure`, or `matcher` when it had to move to a group that matches every tool, or
    /// `duplicates` when extra copies were dropped).
    Updated(Vec<String>),
    /// This many handlers were taken out.
    Removed(usize),
    /// Another program's setting was kept (the statusline: replaced only with `--force`).
    Kept(String),
}

/// A [`Change`] to one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventChange {
    pub event: String,
    pub change: Change,
}

impl fmt::Display for EventChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.change {
            Change::Added => write!(f, "{}: added", self.event),
            Change::Updated(what) => write!(f, "{}: updated {}", self.event, what.join(", ")),
            Change::Removed(1) => write!(f, "{}: removed", self.event),
            Change::Removed(n) => write!(f, "{}: removed {n} handlers", self.event),
            Change::Kept(other) => {
                write!(f, "{}: kept the one already set (`{other}`); pass --force to replace it", self.event)
            }
        }
    }
}

/// Edited settings and what changed; no changes means the settings are returned as they came.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Edited {
    pub settings: Value,
    pub changes: Vec<EventChange>,
}

/// Settings the edit cannot safely apply to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EditError {
    /// A value has a type Claude Code's settings never give it there; `path` is a JSON path such as
    /// `$.hooks.PreToolUse[0].hooks`.
    #[error("`{path}` should be {expected}, found {found}")]
    Shape { path: String, expected: &'static str, found: &'static str },
    /// The command given to install would not be recognised as ccbreaker's afterwards.
    #[error(
        "`{command}` does not run ccbreaker's hook: the program must be named `ccbreaker` and its first argument be `hook`"
    )]
    NotOurCommand { command: String },
}

/// `settings` with ccbreaker's hook entries for `command` (a shell command line, see [`super::hook_command`]),
/// with `onFailure: "block"` on PreToolUse and PostToolBatch when `fail_closed`.
///
/// An event without a ccbreaker handler gets a new matcher group at its end. An existing handler (recognised by
/// its command, whatever the binary path) is rewritten in place if it differs; further copies are removed.
pub(crate) fn add_hooks(settings: &Value, command: &str, fail_closed: bool) -> Result<Edited, EditError> {
    if !shell::is_ccbreaker_hook(command) {
        return Err(EditError::NotOurCommand { command: command.to_owned() });
    }
    let mut settings = settings.clone();
    let mut changes = Vec::new();
    let root = as_object_mut(&mut settings, "$")?;
    let hooks = root.entry("hooks").or_insert_with(|| Value::Object(Map::new()));
    let hooks = as_object_mut(hooks, "$.hooks")?;
    for spec in &EVENTS {
        let desired = spec.handler(command, fail_closed);
        let change = match hooks.get_mut(spec.name) {
            None => {
                hooks.insert(spec.name.to_owned(), json!([spec.group(desired)]));
                Some(Change::Added)
            }
            Some(groups) => {
                let path = child("$.hooks", spec.name);
                let groups = as_array_mut(groups, &path)?;
                upsert(groups, spec, desired, &path)?
            }
        };
        if let Some(change) = change {
            changes.push(EventChange { event: spec.name.to_owned(), change });
        }
    }
    Ok(Edited { settings, changes })
}

/// `settings` without ccbreaker's handlers, in every event. A matcher group, event or `hooks` object that this
/// leaves empty is removed; one that was empty already is kept.
pub(crate) fn remove_hooks(settings: &Value) -> Result<Edited, EditError> {
    let mut settings = settings.clone();
    let mut changes = Vec::new();
    let root = as_object_mut(&mut settings, "$")?;
    let Some(hooks) = root.get_mut("hooks") else {
        return Ok(Edited { settings, changes });
    };
    let hooks = as_object_mut(hooks, "$.hooks")?;
    let mut emptied = Vec::new();
    for (event, groups) in hooks.iter_mut() {
        let path = child("$.hooks", event);
        let groups = as_array_mut(groups, &path)?;
        let ours = find_ours(groups, &path)?;
        if ours.is_empty() {
            continue;
        }
        remove_handlers(groups, &ours);
        if groups.is_empty() {
            emptied.push(event.clone());
        }
        changes.push(EventChange { event: event.clone(), change: Change::Removed(ours.len()) });
    }
    for event in &emptied {
        // `shift_remove`: plain `remove` swaps the last key into the gap, reordering the user's events.
        hooks.shift_remove(event);
    }
    if hooks.is_empty() && !changes.is_empty() {
        root.shift_remove("hooks");
    }
    Ok(Edited { settings, changes })
}

/// One of ccbreaker's hook handlers, as a settings file holds it (what `doctor` checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registered {
    pub event: String,
    /// The program it runs, as written: an absolute path, or a name looked up on `PATH`.
    pub program: String,
    pub on_failure_block: bool,
    /// It runs for every occurrence of the event (its matcher, if any, is `*` or empty).
    pub matches_all: bool,
}

/// The events ccbreaker registers for.
pub(crate) fn event_names() -> impl Iterator<Item = &'static str> {
    EVENTS.iter().map(|spec| spec.name)
}

/// Whether the event's handler gets `onFailure: "block"` (PreToolUse and PostToolBatch).
pub(crate) fn fails_closed(event: &str) -> bool {
    EVENTS.iter().any(|spec| spec.name == event && spec.can_fail_closed)
}

/// Every ccbreaker handler in `settings`, by event (a shape it does not understand holds none).
pub(crate) fn registered(settings: &Value) -> Vec<Registered> {
    let mut out = Vec::new();
    let Some(hooks) = settings.get("hooks").and_then(Value::as_object) else { return out };
    for (event, groups) in hooks {
        let spec = EVENTS.iter().find(|s| s.name == event);
        for group in groups.as_array().into_iter().flatten() {
            let matches_all = spec.is_none_or(|s| s.matches_all(group.get("matcher")));
            for handler in group.get("hooks").and_then(Value::as_array).into_iter().flatten() {
                let Some(handler) = handler.as_object().filter(|h| is_ccbreaker_handler(h)) else { continue };
                let command = handler.get("command").and_then(Value::as_str).unwrap_or("");
                let program = match handler.get("args") {
                    Some(Value::Array(_)) => Some(command.to_owned()),
                    _ => shell::program(command),
                };
                out.push(Registered {
                    event: event.clone(),
                    program: program.unwrap_or_default(),
                    on_failure_block: handler.get("onFailure").and_then(Value::as_str) == Some("block"),
                    matches_all,
                });
            }
        }
    }
    out
}

/// The key of Claude Code's statusline setting.
const STATUS_LINE: &str = "statusLine";

/// The statusline command in `settings`, and whether it is ccbreaker's (`... ccbreaker statusline`).
pub(crate) fn statusline(settings: &Value) -> Option<(String, bool)> {
    let command = settings.get(STATUS_LINE)?.get("command")?.as_str()?.to_owned();
    let ours = shell::is_ccbreaker(&command, "statusline");
    Some((command, ours))
}

/// `settings` with ccbreaker's statusline (`command`, e.g. `/usr/local/bin/ccbreaker statusline`). Another
/// statusline is kept unless `force`, and the change says so.
pub(crate) fn add_statusline(settings: &Value, command: &str, force: bool) -> Result<Edited, EditError> {
    let mut settings = settings.clone();
    let desired = json!({"type": "command", "command": command, "padding": 0});
    let change = match statusline(&settings) {
        Some((_, true)) if settings[STATUS_LINE] == desired => None,
        Some((other, false)) if !force => Some(Change::Kept(other)),
        Some(_) => Some(Change::Updated(vec!["command".to_owned()])),
        None => Some(Change::Added),
    };
    if matches!(change, Some(Change::Added | Change::Updated(_))) {
        as_object_mut(&mut settings, "$")?.insert(STATUS_LINE.to_owned(), desired);
    }
    let changes = change.map(|change| EventChange { event: STATUS_LINE.to_owned(), change }).into_iter().collect();
    Ok(Edited { settings, changes })
}

/// `settings` without ccbreaker's statusline (another one is left alone).
pub(crate) fn remove_statusline(settings: &Value) -> Result<Edited, EditError> {
    let mut settings = settings.clone();
    let mut changes = Vec::new();
    if let Some((_, true)) = statusline(&settings) {
        as_object_mut(&mut settings, "$")?.shift_remove(STATUS_LINE);
        changes.push(EventChange { event: STATUS_LINE.to_owned(), change: Change::Removed(1) });
    }
    Ok(Edited { settings, changes })
}

/// Makes `groups` (one event's matcher groups) hold exactly one ccbreaker handler equal to `desired`.
fn upsert(groups: &mut Vec<Value>, spec: &EventSpec, desired: Value, path: &str) -> Result<Option<Change>, EditError> {
    let ours = find_ours(groups, path)?;
    let Some(&(first_group, first_handler)) = ours.first() else {
        groups.push(spec.group(desired));
        return Ok(Some(Change::Added));
    };
    let matches_all = spec.matches_all(groups[first_group].get("matcher"));
    let current = handlers_mut(&mut groups[first_group]).and_then(|handlers| handlers.get_mut(first_handler));
    let mut what = current.as_deref().map_or_else(Vec::new, |current| differing_keys(current, &desired));
    let mut remove = ours[1..].to_vec();
    if matches_all {
        if let Some(current) = current.filter(|_| !what.is_empty()) {
            *current = desired;
        }
        remove_handlers(groups, &remove);
    } else {
        // A PreToolUse handler behind a narrower matcher would not see every tool: move it to a group of its own.
        what.insert(0, "matcher".to_owned());
        remove.insert(0, (first_group, first_handler));
        remove_handlers(groups, &remove);
        groups.push(spec.group(desired));
    }
    if ours.len() > 1 {
        what.push("duplicates".to_owned());
    }
    Ok((!what.is_empty()).then_some(Change::Updated(what)))
}

/// The keys whose values differ between two handlers: `desired`'s in its order, then keys only `current` has.
fn differing_keys(current: &Value, desired: &Value) -> Vec<String> {
    let (Some(current), Some(desired)) = (current.as_object(), desired.as_object()) else {
        return Vec::new();
    };
    let changed = desired.iter().filter(|&(key, value)| current.get(key) != Some(value)).map(|(key, _)| key);
    let extra = current.keys().filter(|key| !desired.contains_key(*key));
    changed.chain(extra).cloned().collect()
}

/// Positions (group, handler) of ccbreaker's handlers among one event's matcher groups, in order; checks the
/// shape of everything it walks.
fn find_ours(groups: &[Value], path: &str) -> Result<Vec<(usize, usize)>, EditError> {
    let mut ours = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let group_path = index(path, g);
        let group = as_object(group, &group_path)?;
        let Some(handlers) = group.get("hooks") else {
            continue;
        };
        let handlers_path = child(&group_path, "hooks");
        for (h, handler) in as_array(handlers, &handlers_path)?.iter().enumerate() {
            if is_ccbreaker_handler(as_object(handler, &index(&handlers_path, h))?) {
                ours.push((g, h));
            }
        }
    }
    Ok(ours)
}

/// Whether a handler runs ccbreaker's hook, in shell form (`command`) or exec form (`command` + `args`).
fn is_ccbreaker_handler(handler: &Map<String, Value>) -> bool {
    if handler.get("type").is_some_and(|kind| kind != "command") {
        return false;
    }
    let Some(Value::String(command)) = handler.get("command") else {
        return false;
    };
    match handler.get("args") {
        Some(Value::Array(args)) => {
            shell::is_ccbreaker_program(command) && args.first().and_then(Value::as_str) == Some(shell::HOOK_SUBCOMMAND)
        }
        _ => shell::is_ccbreaker_hook(command),
    }
}

/// Removes the handlers at `positions` (ascending, as [`find_ours`] gives them), then the groups that this
/// leaves without handlers.
fn remove_handlers(groups: &mut Vec<Value>, positions: &[(usize, usize)]) {
    for &(g, h) in positions.iter().rev() {
        if let Some(handlers) = handlers_mut(&mut groups[g]) {
            handlers.remove(h);
        }
    }
    let mut touched: Vec<usize> = positions.iter().map(|&(g, _)| g).collect();
    touched.dedup();
    for &g in touched.iter().rev() {
        if handlers_mut(&mut groups[g]).is_some_and(|handlers| handlers.is_empty()) {
            groups.remove(g);
        }
    }
}

fn handlers_mut(group: &mut Value) -> Option<&mut Vec<Value>> {
    group.get_mut("hooks")?.as_array_mut()
}

fn child(path: &str, key: &str) -> String {
    let plain = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain { format!("{path}.{key}") } else { format!("{path}[{}]", Value::from(key)) }
}

fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

pub(super) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn shape_error(value: &Value, path: &str, expected: &'static str) -> EditError {
    EditError::Shape { path: path.to_owned(), expected, found: type_name(value) }
}

fn as_object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, EditError> {
    value.as_object().ok_or_else(|| shape_error(value, path, "an object"))
}

pub(super) fn as_object_mut<'a>(value: &'a mut Value, path: &str) -> Result<&'a mut Map<String, Value>, EditError> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(shape_error(other, path, "an object")),
    }
}

fn as_array<'a>(value: &'a Value, path: &str) -> Result<&'a Vec<Value>, EditError> {
    value.as_array().ok_or_else(|| shape_error(value, path, "an array"))
}

fn as_array_mut<'a>(value: &'a mut Value, path: &str) -> Result<&'a mut Vec<Value>, EditError> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(shape_error(other, path, "an array")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "/usr/local/bin/ccbreaker hook";

    /// The text `install` would write: serde_json compares objects ignoring key order, text does not.
    fn text(value: &Value) -> String {
        format!("{value:#}")
    }

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn handler(command: &str) -> Value {
        json!({"type": "command", "command": command, "timeout": 10})
    }

    fn changes(list: &[(&str, Change)]) -> Vec<EventChange> {
        list.iter().map(|(event, change)| EventChange { event: (*event).to_owned(), change: change.clone() }).collect()
    }

    fn updated(what: &[&str]) -> Change {
        Change::Updated(what.iter().map(|s| (*s).to_owned()).collect())
    }

    fn all_added() -> Vec<EventChange> {
        changes(&EVENTS.map(|spec| (spec.name, Change::Added)))
    }

    #[test]
    fn adds_every_event_to_empty_settings() {
        let edited = add_hooks(&json!({}), CMD, false).unwrap();
        let expected = r#"{
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "*",
        "hooks": [
          {
            "type": "command",
            "command": "/usr/local/bin/ccbreaker hook",
            "timeout": 10
          }
        ]
      }
    ],
    "PostToolBatch": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "/usr/local/bin/ccbreaker hook",
            "timeout": 10
          }
        ]
      }
    ],
    "UserPromptSubmit": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "/usr/local/bin/ccbreaker hook",
            "timeout": 10
          }
        ]
      }
    ],
    "Stop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "/usr/local/bin/ccbreaker hook",
            "timeout": 10
          }
        ]
      }
    ],
    "SubagentStop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "/usr/local/bin/ccbreaker hook",
            "timeout": 10
          }
        ]
      }
    ]
  }
}"#;
        assert_eq!(text(&edited.settings), expected);
        assert_eq!(edited.changes, all_added());
        assert!(!edited.changes.is_empty());
    }

    const OTHERS: &str = r#"{
  "model": "opus",
  "permissions": {
    "allow": [
      "Bash(git *)"
    ],
    "deny": []
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "guard.sh"
          }
        ]
      },
      {
        "matcher": "*",
        "hooks": [
          {
            "type": "command",
            "command": "log.sh",
            "timeout": 5
          }
        ]
      }
    ],
    "Notification": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "notify-send hi"
          }
        ]
      }
    ],
    "Stop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "say done",
            "statusMessage": "ünïcode ✓"
          }
        ]
      }
    ]
  },
  "env": {
    "Z": "1",
    "A": "2"
  },
  "statusLine": {
    "type": "command",
    "command": "x",
    "padding": 0.5
  }
}"#;

    #[test]
    fn keeps_everything_else_in_order() {
        let original = parse(OTHERS);
        assert_eq!(text(&original), OTHERS, "the fixture is in the output format");
        let edited = add_hooks(&original, CMD, false).unwrap();
        assert_eq!(edited.changes, all_added());
        let settings = &edited.settings;
        let keys: Vec<&String> = settings.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["model", "permissions", "hooks", "env", "statusLine"]);
        let events: Vec<&String> = settings["hooks"].as_object().unwrap().keys().collect();
        assert_eq!(events, ["PreToolUse", "Notification", "Stop", "PostToolBatch", "UserPromptSubmit", "SubagentStop"]);
        let pre = settings["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(pre[..2], original["hooks"]["PreToolUse"].as_array().unwrap()[..]);
        assert_eq!(pre[2], json!({"matcher": "*", "hooks": [handler(CMD)]}));
        let stop = settings["hooks"]["Stop"].as_array().unwrap();
        assert_eq!(stop[0], original["hooks"]["Stop"][0]);
        assert_eq!(stop[1], json!({"hooks": [handler(CMD)]}));
        // Taking ccbreaker out again gives back the original, byte for byte.
        let removed = remove_hooks(settings).unwrap();
        assert_eq!(text(&removed.settings), OTHERS);
    }

    #[test]
    fn adding_twice_changes_nothing() {
        for fail_closed in [false, true] {
            let once = add_hooks(&parse(OTHERS), CMD, fail_closed).unwrap();
            let twice = add_hooks(&once.settings, CMD, fail_closed).unwrap();
            assert!(twice.changes.is_empty());
            assert_eq!(text(&twice.settings), text(&once.settings));
        }
    }

    #[test]
    fn key_order_inside_our_handler_does_not_count_as_a_change() {
        let settings = add_hooks(&json!({}), CMD, false).unwrap().settings;
        let mut reordered = settings.clone();
        reordered["hooks"]["Stop"][0]["hooks"][0] =
            parse(&format!(r#"{{"timeout": 10, "command": "{CMD}", "type": "command"}}"#));
        let edited = add_hooks(&reordered, CMD, false).unwrap();
        assert!(edited.changes.is_empty());
        assert_eq!(text(&edited.settings), text(&reordered));
    }

    #[test]
    fn replaces_a_stale_entry_in_place() {
        let settings = json!({"hooks": {
            "PreToolUse": [{"matcher": "*", "hooks": [
                {"type": "command", "command": "before.sh"},
                {"type": "command", "command": "/old/place/ccbreaker hook", "timeout": 5},
                {"type": "command", "command": "after.sh"}
            ]}],
            "Stop": [{"hooks": [{"type": "command", "command": "/old/place/ccbreaker", "args": ["hook"], "timeout": 10}]}]
        }});
        let edited = add_hooks(&settings, CMD, false).unwrap();
        assert_eq!(
            edited.changes,
            changes(&[
                ("PreToolUse", updated(&["command", "timeout"])),
                ("PostToolBatch", Change::Added),
                ("UserPromptSubmit", Change::Added),
                ("Stop", updated(&["command", "args"])),
                ("SubagentStop", Change::Added),
            ])
        );
        let hooks = &edited.settings["hooks"];
        assert_eq!(
            hooks["PreToolUse"],
            json!([{"matcher": "*", "hooks": [
                {"type": "command", "command": "before.sh"},
                handler(CMD),
                {"type": "command", "command": "after.sh"}
            ]}])
        );
        assert_eq!(hooks["Stop"], json!([{"hooks": [handler(CMD)]}]));
    }

    #[test]
    fn fail_closed_sets_on_failure_where_it_matters() {
        let closed = add_hooks(&json!({}), CMD, true).unwrap().settings;
        for spec in &EVENTS {
            let handler = &closed["hooks"][spec.name][0]["hooks"][0];
            let expected = ["PreToolUse", "PostToolBatch"].contains(&spec.name).then(|| json!("block"));
            assert_eq!(handler.get("onFailure"), expected.as_ref(), "{}", spec.name);
        }
        let open = add_hooks(&closed, CMD, false).unwrap();
        assert_eq!(
            open.changes,
            changes(&[("PreToolUse", updated(&["onFailure"])), ("PostToolBatch", updated(&["onFailure"]))])
        );
        assert_eq!(text(&open.settings), text(&add_hooks(&json!({}), CMD, false).unwrap().settings));
        let closed_again = add_hooks(&open.settings, CMD, true).unwrap();
        assert_eq!(closed_again.changes, open.changes);
        assert_eq!(text(&closed_again.settings), text(&closed));
    }

    #[test]
    fn moves_our_pre_tool_use_handler_out_of_a_narrow_matcher() {
        let settings = json!({"hooks": {"PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "guard.sh"}, handler(CMD)]},
            {"matcher": "Edit|Write", "hooks": [handler(CMD)]}
        ]}});
        let edited = add_hooks(&settings, CMD, false).unwrap();
        assert_eq!(edited.changes[0], changes(&[("PreToolUse", updated(&["matcher", "duplicates"]))])[0]);
        assert_eq!(
            edited.settings["hooks"]["PreToolUse"],
            json!([
                {"matcher": "Bash", "hooks": [{"type": "command", "command": "guard.sh"}]},
                {"matcher": "*", "hooks": [handler(CMD)]}
            ])
        );
    }

    #[test]
    fn an_empty_or_missing_matcher_already_matches_every_tool() {
        for group in [json!({"matcher": "", "hooks": [handler(CMD)]}), json!({"hooks": [handler(CMD)]})] {
            let settings = json!({"hooks": {"PreToolUse": [group]}});
            let edited = add_hooks(&settings, CMD, false).unwrap();
            assert_eq!(edited.changes.len(), 4, "only the other events are added");
            assert_eq!(edited.settings["hooks"]["PreToolUse"], settings["hooks"]["PreToolUse"]);
        }
    }

    #[test]
    fn drops_duplicate_handlers() {
        let settings = json!({"hooks": {"Stop": [
            {"hooks": [handler(CMD)]},
            {"hooks": [{"type": "command", "command": "say done"}, handler("/elsewhere/ccbreaker hook")]},
            {"hooks": [handler("ccbreaker hook")]}
        ]}});
        let edited = add_hooks(&settings, CMD, false).unwrap();
        let stop = edited.changes.iter().find(|c| c.event == "Stop").unwrap();
        assert_eq!(stop.change, updated(&["duplicates"]));
        assert_eq!(
            edited.settings["hooks"]["Stop"],
            json!([{"hooks": [handler(CMD)]}, {"hooks": [{"type": "command", "command": "say done"}]}])
        );
    }

    #[test]
    fn recognises_quoted_paths_with_spaces() {
        let quoted = "'/Users/Jo Doe/bin/ccbreaker' hook";
        let settings = json!({"hooks": {"Stop": [{"hooks": [handler("\"/Users/Jo Doe/bin/ccbreaker\" hook")]}]}});
        let edited = add_hooks(&settings, quoted, false).unwrap();
        let stop = edited.changes.iter().find(|c| c.event == "Stop").unwrap();
        assert_eq!(stop.change, updated(&["command"]));
        assert_eq!(edited.settings["hooks"]["Stop"], json!([{"hooks": [handler(quoted)]}]));
        assert!(add_hooks(&edited.settings, quoted, false).unwrap().changes.is_empty());
        let removed = remove_hooks(&edited.settings).unwrap();
        assert_eq!(removed.settings, json!({}));
        assert_eq!(removed.changes.len(), 5);
    }

    #[test]
    fn refuses_a_command_it_would_not_recognise() {
        for command in ["/usr/bin/other hook", "/usr/bin/ccbreaker", "ccbreaker status"] {
            assert_eq!(
                add_hooks(&json!({}), command, false),
                Err(EditError::NotOurCommand { command: command.to_owned() })
            );
        }
    }

    #[test]
    fn removal_takes_out_only_ours_and_what_it_emptied() {
        let settings = json!({
            "a": 1,
            "hooks": {
                "SessionStart": [],
                "PreToolUse": [
                    {"matcher": "*", "hooks": [{"type": "command", "command": "log.sh"}, handler(CMD)]},
                    {"matcher": "Bash", "hooks": []}
                ],
                "Stop": [{"hooks": [handler(CMD)]}],
                "PostToolBatch": [{"hooks": [handler(CMD)]}, {"hooks": [{"type": "http", "url": "http://x"}]}],
                "Notification": [{"hooks": [{"type": "command", "command": "ccbreaker status"}]}],
                "SubagentStop": [{"hooks": [handler(CMD), handler("'/x y/ccbreaker' hook")]}]
            },
            "z": 2
        });
        let edited = remove_hooks(&settings).unwrap();
        let expected = json!({
            "a": 1,
            "hooks": {
                "SessionStart": [],
                "PreToolUse": [
                    {"matcher": "*", "hooks": [{"type": "command", "command": "log.sh"}]},
                    {"matcher": "Bash", "hooks": []}
                ],
                "PostToolBatch": [{"hooks": [{"type": "http", "url": "http://x"}]}],
                "Notification": [{"hooks": [{"type": "command", "command": "ccbreaker status"}]}]
            },
            "z": 2
        });
        assert_eq!(text(&edited.settings), text(&expected));
        assert_eq!(
            edited.changes,
            changes(&[
                ("PreToolUse", Change::Removed(1)),
                ("Stop", Change::Removed(1)),
                ("PostToolBatch", Change::Removed(1)),
                ("SubagentStop", Change::Removed(2)),
            ])
        );
        assert!(remove_hooks(&edited.settings).unwrap().changes.is_empty());
    }

    #[test]
    fn removal_drops_a_hooks_object_it_emptied() {
        let settings = json!({"a": 1, "hooks": {"Stop": [{"hooks": [handler(CMD)]}]}, "z": 2});
        let edited = remove_hooks(&settings).unwrap();
        assert_eq!(text(&edited.settings), text(&json!({"a": 1, "z": 2})));
        let untouched = json!({"a": 1, "hooks": {}, "z": 2});
        let edited = remove_hooks(&untouched).unwrap();
        assert!(edited.changes.is_empty());
        assert_eq!(text(&edited.settings), text(&untouched));
        assert!(remove_hooks(&json!({"a": 1})).unwrap().changes.is_empty());
    }

    fn shape(path: &str, expected: &'static str, found: &'static str) -> EditError {
        EditError::Shape { path: path.to_owned(), expected, found }
    }

    #[test]
    fn malformed_settings_are_errors_naming_the_path() {
        let cases = [
            (json!([]), shape("$", "an object", "an array")),
            (json!({"hooks": []}), shape("$.hooks", "an object", "an array")),
            (json!({"hooks": null}), shape("$.hooks", "an object", "null")),
            (json!({"hooks": {"PreToolUse": {}}}), shape("$.hooks.PreToolUse", "an array", "an object")),
            (json!({"hooks": {"Stop": ["x"]}}), shape("$.hooks.Stop[0]", "an object", "a string")),
            (json!({"hooks": {"Stop": [{"hooks": {}}]}}), shape("$.hooks.Stop[0].hooks", "an array", "an object")),
            (
                json!({"hooks": {"Stop": [{"hooks": [{"type": "command"}, 1]}]}}),
                shape("$.hooks.Stop[0].hooks[1]", "an object", "a number"),
            ),
        ];
        for (settings, error) in cases {
            assert_eq!(add_hooks(&settings, CMD, false), Err(error.clone()), "add {settings}");
            assert_eq!(remove_hooks(&settings), Err(error), "remove {settings}");
        }
    }

    #[test]
    fn removal_checks_every_event_and_adding_only_its_own() {
        let settings = json!({"hooks": {"my.event": 3}});
        assert_eq!(remove_hooks(&settings), Err(shape("$.hooks[\"my.event\"]", "an array", "a number")));
        let edited = add_hooks(&settings, CMD, false).unwrap();
        assert_eq!(edited.settings["hooks"]["my.event"], json!(3));
    }

    #[test]
    fn messages_read_well() {
        let error = shape("$.hooks.PreToolUse", "an array", "an object");
        assert_eq!(error.to_string(), "`$.hooks.PreToolUse` should be an array, found an object");
        let change = |change| EventChange { event: "Stop".to_owned(), change }.to_string();
        assert_eq!(change(Change::Added), "Stop: added");
        assert_eq!(change(updated(&["command", "timeout"])), "Stop: updated command, timeout");
        assert_eq!(change(Change::Removed(1)), "Stop: removed");
        assert_eq!(change(Change::Removed(2)), "Stop: removed 2 handlers");
    }
}

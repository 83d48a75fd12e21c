//! Claude Code runs a command hook through a shell, so the hook command is a shell command line: this module
//! writes ccbreaker's so that any binary path survives the shell, and reads anyone's far enough to tell whether
//! it runs ccbreaker's hook.

use std::borrow::Cow;

/// The subcommand Claude Code runs.
pub(super) const HOOK_SUBCOMMAND: &str = "hook";

/// `word` as one POSIX shell word: unchanged when every character is plainly safe, else single-quoted.
pub(super) fn quote(word: &str) -> Cow<'_, str> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./,:@%+".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        return Cow::Borrowed(word);
    }
    // Inside single quotes nothing is special but the closing quote, written as `'\''`.
    Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
}

/// Whether the shell command line `command` runs ccbreaker's hook: its program's file name is `ccbreaker` and
/// its first argument is `hook`, however either is quoted.
pub(super) fn is_ccbreaker_hook(command: &str) -> bool {
    is_ccbreaker(command, HOOK_SUBCOMMAND)
}

/// The program the shell command line `command` runs (its first word, quotes removed), if any.
pub(super) fn program(command: &str) -> Option<String> {
    leading_words(command, 1).into_iter().next()
}

/// Whether `command` runs ccbreaker with `subcommand` as its first argument (`ccbreaker statusline`).
pub(super) fn is_ccbreaker(command: &str, subcommand: &str) -> bool {
    match leading_words(command, 2).as_slice() {
        [program, argument] => is_ccbreaker_program(program) && argument == subcommand,
        _ => false,
    }
}

/// Whether `program` (a path or a bare name) names the ccbreaker binary.
pub(super) fn is_ccbreaker_program(program: &str) -> bool {
    let name = program.rsplit(['/', '\\']).next().unwrap_or(program);
    name == "ccbreaker" || name.eq_ignore_ascii_case("ccbreaker.exe")
}

/// Characters that end a word and the simple command when unquoted.
fn is_operator(c: char) -> bool {
    matches!(c, ';' | '&' | '|' | '<' | '>' | '(' | ')' | '\n')
}

/// Up to `max` words of the first simple command in `command`, with quotes and backslashes removed and leading
/// `NAME=value` assignments skipped. Expansions (`$HOME`) stay literal: only the program's file name matters.
fn leading_words(command: &str, max: usize) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = command.chars().peekable();
    while words.len() < max {
        while chars.next_if(|&c| c == ' ' || c == '\t').is_some() {}
        match chars.peek() {
            None => break,
            Some(&c) if is_operator(c) || c == '#' => break,
            Some(_) => {}
        }
        let mut word = String::new();
        // Length of the word before its first quoted or escaped character: an assignment's `NAME=` lies there.
        let mut plain_len = None;
        while let Some(&c) = chars.peek() {
            if c == ' ' || c == '\t' || is_operator(c) {
                break;
            }
            chars.next();
            match c {
                '\'' => {
                    plain_len.get_or_insert(word.len());
                    word.extend(chars.by_ref().take_while(|&c| c != '\''));
                }
                '"' => {
                    plain_len.get_or_insert(word.len());
                    while let Some(c) = chars.next() {
                        match c {
                            '"' => break,
                            '\\' => match chars.next_if(|&n| matches!(n, '$' | '`' | '"' | '\\' | '\n')) {
                                Some('\n') => {}
                                Some(escaped) => word.push(escaped),
                                None => word.push('\\'),
                            },
                            c => word.push(c),
                        }
                    }
                }
                '\\' => {
                    plain_len.get_or_insert(word.len());
                    match chars.next() {
                        Some('\n') | None => {}
                        Some(escaped) => word.push(escaped),
                    }
                }
                c => word.push(c),
            }
        }
        let plain = &word[..plain_len.unwrap_or(word.len())];
        if words.is_empty() && is_assignment(plain) {
            continue;
        }
        words.push(word);
    }
    words
}

/// Whether an unquoted word prefix starts with `NAME=`, which makes the word a variable assignment.
fn is_assignment(plain: &str) -> bool {
    let Some((name, _)) = plain.split_once('=') else {
        return false;
    };
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_leaves_plain_paths_alone() {
        assert_eq!(quote("/usr/local/bin/ccbreaker"), "/usr/local/bin/ccbreaker");
        assert_eq!(quote("/opt/a-b_c/v1.2,x:y@z%+/ccbreaker"), "/opt/a-b_c/v1.2,x:y@z%+/ccbreaker");
    }

    #[test]
    fn quote_wraps_anything_the_shell_would_touch() {
        assert_eq!(quote("/Users/Jo Doe/bin/ccbreaker"), "'/Users/Jo Doe/bin/ccbreaker'");
        assert_eq!(quote("/it's/ccbreaker"), r"'/it'\''s/ccbreaker'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("~/bin/ccbreaker"), "'~/bin/ccbreaker'");
        assert_eq!(quote("/a=b/ccbreaker"), "'/a=b/ccbreaker'");
        assert_eq!(quote("/opt/é/ccbreaker"), "'/opt/é/ccbreaker'");
    }

    #[test]
    fn quoted_words_read_back_unchanged() {
        for path in [
            "/plain/ccbreaker",
            "/with space/ccbreaker",
            "/it's/a \"test\"/$HOME/`x`/back\\slash/ccbreaker",
            "/tab\tand\nnewline/ccbreaker",
            "/semi;colon&amp|pipe/#hash/ccbreaker",
        ] {
            let line = format!("{} hook --flag", quote(path));
            assert_eq!(leading_words(&line, 3), [path, "hook", "--flag"], "{line}");
        }
    }

    #[test]
    fn words_follow_shell_quoting() {
        assert_eq!(leading_words(r#""/a b/c" 'd e' f\ g"#, 5), ["/a b/c", "d e", "f g"]);
        assert_eq!(leading_words(r#""a\"b\$c\d""#, 5), [r#"a"b$c\d"#]);
        assert_eq!(leading_words("  x\ty  ", 5), ["x", "y"]);
        assert_eq!(leading_words("a b; c d", 5), ["a", "b"]);
        assert_eq!(leading_words("a b 2>/dev/null", 5), ["a", "b", "2"]);
        assert_eq!(leading_words("a # b", 5), ["a"]);
        assert_eq!(leading_words("a b#c", 5), ["a", "b#c"]);
        assert_eq!(leading_words("A=1 _b='x y' c d", 5), ["c", "d"]);
        assert_eq!(leading_words("'A=1' c", 5), ["A=1", "c"]);
        assert_eq!(leading_words("c A=1", 5), ["c", "A=1"]);
        assert_eq!(leading_words("", 5), Vec::<String>::new());
    }

    #[test]
    fn recognises_ccbreaker_hook_however_written() {
        for command in [
            "ccbreaker hook",
            "/usr/local/bin/ccbreaker hook",
            "'/Users/Jo Doe/.local/bin/ccbreaker' hook",
            "\"/Users/Jo Doe/.local/bin/ccbreaker\" hook",
            r"/Users/Jo\ Doe/.local/bin/ccbreaker hook",
            "$HOME/.cargo/bin/ccbreaker 'hook'",
            "CCBREAKER_LOG=1 ccbreaker hook --verbose",
            "ccbreaker hook 2>/dev/null",
            r"'C:\Tools\ccbreaker.exe' hook",
            "  ccbreaker   hook  ",
        ] {
            assert!(is_ccbreaker_hook(command), "{command}");
        }
    }

    #[test]
    fn rejects_other_commands() {
        for command in [
            "ccbreaker",
            "ccbreaker status",
            "ccbreaker 'hook '",
            "/opt/ccbreaker-hook hook",
            "/opt/notccbreaker hook",
            "/opt/ccbreaker/other hook",
            "echo ccbreaker hook",
            "'ccbreaker hook'",
            "# ccbreaker hook",
            "; ccbreaker hook",
            "",
        ] {
            assert!(!is_ccbreaker_hook(command), "{command}");
        }
    }
}

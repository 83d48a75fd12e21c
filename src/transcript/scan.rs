//! A top-level-only JSON field reader. Most transcript lines are large (tool output, file snapshots) and carry no
//! usage; the hook needs only their `uuid` and `type`, so it skips nested values without building them.

use memchr::memchr;

/// The top-level fields of one transcript line that decide how to treat it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TopLevel<'a> {
    pub kind: Option<&'a str>,
    pub uuid: Option<&'a str>,
    /// The line has a top-level `message` object (only then can it carry usage).
    pub has_message: bool,
}

/// Reads `type`, `uuid` and whether `message` is present from a JSON object line. Returns `None` if the line is
/// not a well-formed object at the top level (nested values are skipped, not validated).
pub fn top_level(line: &[u8]) -> Option<TopLevel<'_>> {
    let mut s = Scanner { b: line, i: 0 };
    let mut top = TopLevel::default();
    s.ws();
    s.eat(b'{')?;
    s.ws();
    if s.peek() == Some(b'}') {
        return Some(top);
    }
    loop {
        s.ws();
        let key = s.string()?;
        s.ws();
        s.eat(b':')?;
        s.ws();
        match key {
            b"type" | b"uuid" if s.peek() == Some(b'"') => {
                let value = std::str::from_utf8(s.string()?).ok()?;
                if key == b"type" {
                    top.kind = Some(value);
                } else {
                    top.uuid = Some(value);
                }
            }
            b"message" => {
                top.has_message = s.peek() == Some(b'{');
                s.value()?;
            }
            _ => s.value()?,
        }
        s.ws();
        match s.next()? {
            b',' => continue,
            b'}' => return Some(top),
            _ => return None,
        }
    }
}

/// The bytes that matter inside a nested value: strings (which may hide brackets) and brackets.
static STRUCTURAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b'"' as usize] = true;
    table[b'{' as usize] = true;
    table[b'[' as usize] = true;
    table[b'}' as usize] = true;
    table[b']' as usize] = true;
    table
};

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    /// A string's raw bytes between the quotes (escapes left as they are). Jumps from quote to quote: a quote
    /// ends the string unless an odd number of backslashes precede it. Text with many escapes (`\n` in tool
    /// output) is common, escaped quotes are rare, so this stops far less often than stopping at every backslash.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            let at = self.i + memchr(b'"', self.b.get(self.i..)?)?;
            let backslashes = self.b[start..at].iter().rev().take_while(|&&c| c == b'\\').count();
            self.i = at + 1;
            if backslashes % 2 == 0 {
                return Some(&self.b[start..at]);
            }
        }
    }

    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => self.nested(),
            _ => {
                while !matches!(self.peek()?, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                    self.i += 1;
                }
                Some(())
            }
        }
    }

    /// Skips an object or array, tracking depth and stepping over strings.
    fn nested(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        return Some(());
                    }
                }
                _ => {}
            }
            self.i += 1;
            // Jump to the next byte that can matter.
            let rest = self.b.get(self.i..)?;
            let skip = rest.iter().position(|&c| STRUCTURAL[usize::from(c)])?;
            self.i += skip;
        }
    }
}

/// Whether a line may carry usage at all: a cheap filter before any parsing.
pub fn may_carry_usage(line: &[u8]) -> bool {
    memchr::memmem::find(line, b"\"usage\"").is_some()
}

/// Whether a byte slice holds a line feed.
pub fn has_newline(bytes: &[u8]) -> bool {
    memchr(b'\n', bytes).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_top_level_fields_only() {
        let line = br#"{"parentUuid":"p","data":{"uuid":"nested","type":"x","a":[1,{"b":"}"}]},"type":"progress","uuid":"u1","n":-1.5e3,"t":true}"#;
        let top = top_level(line).unwrap();
        assert_eq!(top.kind, Some("progress"));
        assert_eq!(top.uuid, Some("u1"));
        assert!(!top.has_message);
    }

    #[test]
    fn sees_message_and_escapes() {
        let line = br#"{"message":{"content":"a \"quoted\" } brace","usage":{}},"type":"assistant","uuid":"u\"2"}"#;
        let top = top_level(line).unwrap();
        assert!(top.has_message);
        assert_eq!(top.kind, Some("assistant"));
        assert_eq!(top.uuid, Some("u\\\"2"));
    }

    #[test]
    fn escaped_quotes_and_backslashes() {
        let line = br#"{"a":"x\\","type":"t","b":{"c":"q\"}\\\"]"},"uuid":"u"}"#;
        let top = top_level(line).unwrap();
        assert_eq!(top.kind, Some("t"));
        assert_eq!(top.uuid, Some("u"));
        // A line cut right after a backslash is torn, not a panic.
        assert_eq!(top_level(br#"{"type":"x\"#), None);
        assert_eq!(top_level(br#"{"type":"assistant","message":{"a":"\"#), None);
    }

    #[test]
    fn rejects_torn_and_non_object_lines() {
        assert_eq!(top_level(br#"{"type":"assistant","message":{"id":"msg_trunc"#), None);
        assert_eq!(top_level(b"[1,2]"), None);
        assert_eq!(top_level(b""), None);
        assert_eq!(top_level(b"{}").unwrap(), TopLevel::default());
    }
}

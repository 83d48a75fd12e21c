//! A JSON field reader that builds nothing. Most transcript lines are large (tool output, file snapshots) and
//! carry no usage; they are needed only for their `uuid` and `type`, so nested values are skipped (their
//! brackets and strings tracked, nothing else checked). Assistant lines are read the same way, keeping the raw
//! bytes of the few fields a response is made of, so that only those small pieces are ever decoded.

use memchr::memchr;

/// The top-level fields of one transcript line that decide how to treat it. Repeated keys: the last one wins.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TopLevel<'a> {
    /// `type` and `uuid`, if strings: their raw text between the quotes (escapes left as they are).
    pub kind: Option<&'a str>,
    pub uuid: Option<&'a str>,
    /// The line has a top-level `message` object (only then can it carry usage).
    pub has_message: bool,
    /// The raw JSON values (as written, quotes included) of the fields a response is read from.
    pub raw: Raw<'a>,
}

/// Raw JSON values of the top-level fields a response is read from, when present.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub(crate) struct Raw<'a> {
    pub message: Option<&'a [u8]>,
    /// The members of `message` a response is read from, found in the same pass; `None` if `message` is not an
    /// object or not a well-formed one.
    pub message_fields: Option<MessageFields<'a>>,
    pub request_id: Option<&'a [u8]>,
    pub timestamp: Option<&'a [u8]>,
    pub is_sidechain: Option<&'a [u8]>,
    pub parent_uuid: Option<&'a [u8]>,
    pub uuid: Option<&'a [u8]>,
    pub session_id: Option<&'a [u8]>,
    /// The Claude Code version that wrote the line.
    pub version: Option<&'a [u8]>,
    /// The working directory and git branch the line was written in (for the project budgets).
    pub cwd: Option<&'a [u8]>,
    pub git_branch: Option<&'a [u8]>,
    /// `answeredWithoutRequest`: a plugin's function hook answered the model request itself (Claude Code 2.1.331
    /// mods); nothing was sent, so the line is no API response.
    pub answered_without_request: Option<&'a [u8]>,
}

/// Raw JSON values of the members of a line's `message` object that a response is read from.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub(crate) struct MessageFields<'a> {
    pub id: Option<&'a [u8]>,
    pub model: Option<&'a [u8]>,
    pub usage: Option<&'a [u8]>,
    pub content: Option<&'a [u8]>,
    pub stop_reason: Option<&'a [u8]>,
}

/// Reads the top-level fields of a JSON object line. Returns `None` if the line is not a well-formed object at
/// the top level (nested values are skipped, not validated; bytes after the closing brace are ignored).
pub(crate) fn top_level(line: &[u8]) -> Option<TopLevel<'_>> {
    let mut top = TopLevel::default();
    object::<true>(line, |key, s| {
        let raw = &mut top.raw;
        match key {
            b"type" | b"uuid" if s.peek() == Some(b'"') => {
                let start = s.i;
                let value = std::str::from_utf8(s.string()?).ok()?;
                if key == b"type" {
                    top.kind = Some(value);
                } else {
                    top.uuid = Some(value);
                    raw.uuid = Some(&s.b[start..s.i]);
                }
            }
            b"message" => {
                top.has_message = s.peek() == Some(b'{');
                let start = s.i;
                raw.message_fields = None;
                if top.has_message {
                    let mut m = MessageFields::default();
                    let read = s.members(|key, s| {
                        let value = s.value()?;
                        match key {
                            b"id" => m.id = Some(value),
                            b"model" => m.model = Some(value),
                            b"usage" => m.usage = Some(value),
                            b"content" => m.content = Some(value),
                            b"stop_reason" => m.stop_reason = Some(value),
                            _ => {}
                        }
                        Some(())
                    });
                    match read {
                        Some(()) => raw.message_fields = Some(m),
                        // Not a well-formed object: skipped like any other value (only its brackets count).
                        None => {
                            s.i = start;
                            s.value()?;
                        }
                    }
                } else {
                    s.value()?;
                }
                raw.message = Some(&s.b[start..s.i]);
            }
            b"requestId" => raw.request_id = Some(s.value()?),
            b"timestamp" => raw.timestamp = Some(s.value()?),
            b"isSidechain" => raw.is_sidechain = Some(s.value()?),
            b"parentUuid" => raw.parent_uuid = Some(s.value()?),
            b"uuid" => raw.uuid = Some(s.value()?),
            b"sessionId" => raw.session_id = Some(s.value()?),
            b"version" => raw.version = Some(s.value()?),
            b"cwd" => raw.cwd = Some(s.value()?),
            b"gitBranch" => raw.git_branch = Some(s.value()?),
            b"answeredWithoutRequest" => raw.answered_without_request = Some(s.value()?),
            _ => {
                s.value()?;
            }
        }
        Some(())
    })?;
    Some(top)
}

/// The raw JSON values of `keys` in the object `json` (the last of repeated keys); `None` if `json` is not a
/// well-formed object at its top level.
pub(crate) fn fields<'a, const N: usize>(json: &'a [u8], keys: [&[u8]; N]) -> Option<[Option<&'a [u8]>; N]> {
    fields_with::<true, N>(json, keys)
}

/// [`fields`] for a small input read once (a hook event): strings are searched byte by byte. The vector search
/// that pays off on transcripts first detects the CPU's features, and in a virtual machine that detection costs
/// more than reading a whole event (measured: about 60 µs).
pub(crate) fn small_fields<'a, const N: usize>(json: &'a [u8], keys: [&[u8]; N]) -> Option<[Option<&'a [u8]>; N]> {
    fields_with::<false, N>(json, keys)
}

fn fields_with<'a, const WIDE: bool, const N: usize>(
    json: &'a [u8],
    keys: [&[u8]; N],
) -> Option<[Option<&'a [u8]>; N]> {
    let mut found = [None; N];
    object::<WIDE>(json, |key, s| {
        let value = s.value()?;
        if let Some(i) = keys.iter().position(|k| *k == key) {
            found[i] = Some(value);
        }
        Some(())
    })?;
    Some(found)
}

/// The raw values of the JSON array `json`, in order; `None` if it is not a well-formed array at its top level.
pub(crate) fn items(json: &[u8]) -> Option<Vec<&[u8]>> {
    items_with::<true>(json)
}

/// [`items`] for small inputs, like [`small_fields`].
pub(crate) fn small_items(json: &[u8]) -> Option<Vec<&[u8]>> {
    items_with::<false>(json)
}

fn items_with<const WIDE: bool>(json: &[u8]) -> Option<Vec<&[u8]>> {
    let mut items = Vec::new();
    elements::<WIDE>(json, |s| {
        items.push(s.value()?);
        Some(())
    })?;
    Some(items)
}

/// Calls `each` with the raw values of `keys` in each object of the array `json` (in one pass: other elements and
/// other members are skipped by their brackets); `None` if `json` is not a well-formed array at its top level.
pub(crate) fn objects<'a, const N: usize>(
    json: &'a [u8],
    keys: [&[u8]; N],
    mut each: impl FnMut([Option<&'a [u8]>; N]),
) -> Option<()> {
    elements::<true>(json, |s| {
        if s.peek() != Some(b'{') {
            return s.value().map(drop);
        }
        let mut found = [None; N];
        s.members(|key, s| {
            let value = s.value()?;
            if let Some(i) = keys.iter().position(|k| *k == key) {
                found[i] = Some(value);
            }
            Some(())
        })?;
        each(found);
        Some(())
    })
}

/// Walks the elements of the array at the start of `json`, calling `each` with the scanner at each one, which it
/// must consume; `None` if `json` is not a well-formed array at its top level.
fn elements<'a, const WIDE: bool>(
    json: &'a [u8],
    mut each: impl FnMut(&mut Scanner<'a, WIDE>) -> Option<()>,
) -> Option<()> {
    let mut s = Scanner::<WIDE> { b: json, i: 0 };
    s.ws();
    s.eat(b'[')?;
    s.ws();
    if s.peek() == Some(b']') {
        return Some(());
    }
    loop {
        s.ws();
        each(&mut s)?;
        s.ws();
        match s.next()? {
            b',' => continue,
            b']' => return Some(()),
            _ => return None,
        }
    }
}

/// Whether `json` is one object with nothing after it but white space (nested values are skipped by their brackets).
pub(crate) fn is_whole_object(json: &[u8]) -> bool {
    let mut s = Scanner::<true> { b: json, i: 0 };
    s.ws();
    if s.peek() != Some(b'{') || s.value().is_none() {
        return false;
    }
    s.ws();
    s.i == json.len()
}

/// Walks the members of the object at the start of `json` (see [`Scanner::members`]).
fn object<'a, const WIDE: bool>(
    json: &'a [u8],
    member: impl FnMut(&'a [u8], &mut Scanner<'a, WIDE>) -> Option<()>,
) -> Option<()> {
    let mut s = Scanner { b: json, i: 0 };
    s.ws();
    s.members(member)
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

/// `WIDE`: strings are searched with `memchr` (vector instructions, for transcripts), else byte by byte.
struct Scanner<'a, const WIDE: bool> {
    b: &'a [u8],
    i: usize,
}

impl<'a, const WIDE: bool> Scanner<'a, WIDE> {
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
            let rest = self.b.get(self.i..)?;
            let at = self.i + if WIDE { memchr(b'"', rest)? } else { rest.iter().position(|&c| c == b'"')? };
            let backslashes = self.b[start..at].iter().rev().take_while(|&&c| c == b'\\').count();
            self.i = at + 1;
            if backslashes % 2 == 0 {
                return Some(&self.b[start..at]);
            }
        }
    }

    /// Walks the members of the object at the cursor, calling `member` with each key (raw) and the scanner at
    /// its value, which `member` must consume; stops just past the closing brace.
    fn members(&mut self, mut member: impl FnMut(&'a [u8], &mut Scanner<'a, WIDE>) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            member(key, self)?;
            self.ws();
            match self.next()? {
                b',' => continue,
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// Skips one value, returning its raw bytes.
    fn value(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => self.nested(),
            _ => {
                while !matches!(self.peek()?, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                    self.i += 1;
                }
                Some(())
            }
        }?;
        Some(&self.b[start..self.i])
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
pub(crate) fn may_carry_usage(line: &[u8]) -> bool {
    memchr::memmem::find(line, b"\"usage\"").is_some()
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
    fn a_line_ending_in_a_backslash_is_torn_not_a_panic() {
        assert_eq!(top_level(br#"{"parentUuid":"abc\"#), None);
        assert_eq!(top_level(br#"{"a":"\"#), None);
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
    fn keeps_the_raw_values_a_response_is_read_from() {
        let line = br#"{"parentUuid":null,"isSidechain":true,"message":{"id":"m","usage":{"a":1}},"requestId":"r","type":"assistant","uuid":"u","timestamp":"2026-01-01T00:00:00Z","sessionId":"s","x":[1]}"#;
        let top = top_level(line).unwrap();
        let raw = top.raw;
        assert_eq!(raw.message, Some(&br#"{"id":"m","usage":{"a":1}}"#[..]));
        assert_eq!(raw.parent_uuid, Some(&b"null"[..]));
        assert_eq!(raw.is_sidechain, Some(&b"true"[..]));
        assert_eq!(raw.request_id, Some(&br#""r""#[..]));
        assert_eq!(raw.uuid, Some(&br#""u""#[..]));
        assert_eq!(raw.timestamp, Some(&br#""2026-01-01T00:00:00Z""#[..]));
        assert_eq!(raw.session_id, Some(&br#""s""#[..]));
        let [id, usage, content] = fields(raw.message.unwrap(), [b"id", b"usage", b"content"]).unwrap();
        assert_eq!((id, usage, content), (Some(&br#""m""#[..]), Some(&br#"{"a":1}"#[..]), None));
        let m = raw.message_fields.unwrap();
        assert_eq!((m.id, m.usage, m.model), (id, usage, None));
        // A message that is not a well-formed object is skipped by its brackets, and has no fields.
        let odd = top_level(br#"{"message":{"a" [1]},"uuid":"u"}"#).unwrap();
        assert!(odd.has_message && odd.raw.message_fields.is_none());
        assert_eq!(odd.raw.message, Some(&br#"{"a" [1]}"#[..]));
        assert_eq!(fields(br#"{"a" 1}"#, [b"a"]), None);
    }

    #[test]
    fn reads_array_items() {
        assert_eq!(items(b" [ ] "), Some(vec![]));
        assert_eq!(items(br#"[{"a":[1,2]}, "x]", 3]"#), Some(vec![&br#"{"a":[1,2]}"#[..], br#""x]""#, b"3"]));
        assert_eq!(items(b"[1, 2"), None);
        assert_eq!(items(b"{}"), None);
    }

    #[test]
    fn reads_the_objects_of_an_array() {
        let mut seen = Vec::new();
        let json = br#" [ {"a":"]","b":{"a":2}} , 1,"x" ,[2], {"b":3,"a":4}] "#;
        assert_eq!(objects(json, [b"a", b"b"], |found| seen.push(found)), Some(()));
        assert_eq!(seen, [[Some(&br#""]""#[..]), Some(&br#"{"a":2}"#[..])], [Some(&b"4"[..]), Some(&b"3"[..])]]);
        assert_eq!(objects(b"[]", [b"a"], |_| panic!()), Some(()));
        assert_eq!(objects(b"[{\"a\":1},", [b"a"], |_| {}), None);
        assert_eq!(objects(b"{}", [b"a"], |_| {}), None);
    }

    #[test]
    fn rejects_torn_and_non_object_lines() {
        assert_eq!(top_level(br#"{"type":"assistant","message":{"id":"msg_trunc"#), None);
        assert_eq!(top_level(b"[1,2]"), None);
        assert_eq!(top_level(b""), None);
        assert_eq!(top_level(b"{}").unwrap(), TopLevel::default());
        assert_eq!(top_level(b"  {  }  ").unwrap(), TopLevel::default());
    }
}

//! The hook's Redis client: one exchange per call over a plain TCP connection, speaking RESP2 (the protocol every
//! Redis since 2.0 answers). AUTH, SELECT and the script go out in one write and their replies come back together,
//! so a hook call makes exactly one round trip, all of it (name lookup, connecting, writing, reading) under one
//! deadline. It is small on purpose: linked into the hook's binary, it adds no dependency and no start-up cost (see
//! BENCHMARKS.md, issue 23), where a full client would connect, then send `CLIENT SETINFO`, AUTH and SELECT as round
//! trips of their own.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Where the server is, parsed from a `redis://[[user]:password@]host[:port][/db]` URL. Its `Display` never shows
/// the credentials.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub host: String,
    pub port: u16,
    pub db: u32,
    user: Option<String>,
    password: Option<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({self})")
    }
}

impl std::fmt::Display for Target {
    /// `redis://host:port/db`, with `(credentials hidden)` when the URL has some.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        write!(f, "redis://{host}:{}/{}", self.port, self.db)?;
        if self.user.is_some() || self.password.is_some() {
            f.write_str(" (credentials hidden)")?;
        }
        Ok(())
    }
}

impl Target {
    /// Parses a URL; the error says what is wrong without repeating the URL (it may hold a password).
    pub(crate) fn parse(url: &str) -> Result<Target, String> {
        let rest = if let Some(rest) = url.strip_prefix("redis://") {
            rest
        } else if url.starts_with("rediss://") {
            return Err("is a rediss:// (TLS) URL: this version of ccbreaker speaks plain redis:// only; reach a TLS \
                        server through a local TLS tunnel (stunnel, spiped, an SSH forward) on 127.0.0.1"
                .to_owned());
        } else {
            return Err("must be a redis://[[user]:password@]host[:port][/db] URL".to_owned());
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, password) = match info.split_once(':') {
                    Some((user, password)) => (decode(user)?, Some(decode(password)?)),
                    None => (decode(info)?, None),
                };
                (Some(user).filter(|u| !u.is_empty()), password.filter(|p| !p.is_empty()))
            }
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or("has an IPv6 host without its closing `]`")?;
            (host, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err("names no host".to_owned());
        }
        let port = match port {
            None | Some("") => 6379,
            Some(port) => port.parse::<u16>().ok().filter(|p| *p > 0).ok_or("has a port that is not 1 to 65535")?,
        };
        let db_text = path.split(['?', '#']).next().unwrap_or("");
        let db = if db_text.is_empty() {
            0
        } else {
            db_text.parse::<u32>().map_err(|_| "has a database that is not a number (the path is /0, /1, ...)")?
        };
        Ok(Target { host: host.to_owned(), port, db, user, password })
    }

    /// The commands that open the session before `commands`: AUTH (if credentials are given) and SELECT (if not db 0).
    fn preamble(&self) -> Vec<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        match (&self.user, &self.password) {
            (Some(user), Some(password)) => out.push(words(&["AUTH", user, password])),
            (None, Some(password)) => out.push(words(&["AUTH", password])),
            (Some(user), None) => out.push(words(&["AUTH", user, ""])),
            (None, None) => {}
        }
        if self.db != 0 {
            out.push(words(&["SELECT", &self.db.to_string()]));
        }
        out
    }
}

fn words(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|w| w.as_bytes().to_vec()).collect()
}

/// Percent-decoding of a URL's user or password.
fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte =
                hex.and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or("has a bad %-escape in its credentials")?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "has credentials that are not UTF-8 once %-decoded".to_owned())
}

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Status(String),
    /// An error reply: the server's words (they never echo a password).
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// An integer, or a bulk string holding one.
    pub(crate) fn int(&self) -> Option<i64> {
        match self {
            Reply::Int(n) => Some(*n),
            Reply::Bulk(Some(bytes)) => std::str::from_utf8(bytes).ok()?.parse().ok(),
            _ => None,
        }
    }

    pub(crate) fn text(&self) -> Option<String> {
        match self {
            Reply::Bulk(Some(bytes)) => Some(String::from_utf8_lossy(bytes).into_owned()),
            Reply::Status(s) => Some(s.clone()),
            _ => None,
        }
    }
}

/// Why an exchange failed. None of them holds the URL's credentials.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RespError {
    #[error("could not find the address of `{host}`")]
    Resolve {
        host: String,
        #[source]
        source: Option<io::Error>,
    },
    #[error("no answer from {target} within {ms} ms")]
    Timeout { target: String, ms: u64 },
    #[error("could not talk to {target}")]
    Io {
        target: String,
        #[source]
        source: io::Error,
    },
    #[error("{target} answered with something that is not RESP: {what}")]
    Protocol { target: String, what: &'static str },
    #[error("{target} refused the credentials: {message}")]
    Auth { target: String, message: String },
    #[error("{target} refused: {message}")]
    Server { target: String, message: String },
}

/// The largest reply read: totals and a day's members are a few KB.
const MAX_REPLY: usize = 1 << 20;

/// Sends the session's preamble and `commands` in one write, reads every reply within `timeout`, and returns the
/// replies to `commands` (an error reply to AUTH or SELECT is an error).
pub(crate) fn exchange(target: &Target, commands: &[Vec<Vec<u8>>], timeout: Duration) -> Result<Vec<Reply>, RespError> {
    let deadline = Instant::now() + timeout;
    let shown = target.to_string();
    let timed_out = || RespError::Timeout { target: shown.clone(), ms: timeout.as_millis() as u64 };
    let io_err = |source: io::Error| match source.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => timed_out(),
        _ => RespError::Io { target: shown.clone(), source },
    };
    let addr = resolve(target, deadline).map_err(|e| e.unwrap_or_else(timed_out))?;
    let left = || deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero());
    let mut stream = TcpStream::connect_timeout(&addr, left().ok_or_else(timed_out)?).map_err(io_err)?;
    let _ = stream.set_nodelay(true);
    let preamble = target.preamble();
    let mut out = Vec::with_capacity(1024);
    for command in preamble.iter().chain(commands) {
        encode(command, &mut out);
    }
    stream.set_write_timeout(Some(left().ok_or_else(timed_out)?)).map_err(io_err)?;
    stream.write_all(&out).map_err(io_err)?;
    let mut reader = Reader { stream, buf: Vec::with_capacity(4096), at: 0, deadline };
    let mut replies = Vec::with_capacity(commands.len());
    for i in 0..preamble.len() + commands.len() {
        let reply = reader.reply(0).map_err(|e| match e {
            ReadError::Io(source) => io_err(source),
            ReadError::Deadline => timed_out(),
            ReadError::Bad(what) => RespError::Protocol { target: shown.clone(), what },
        })?;
        if i < preamble.len() {
            if let Reply::Error(message) = reply {
                return Err(RespError::Auth { target: shown.clone(), message });
            }
        } else {
            replies.push(reply);
        }
    }
    Ok(replies)
}

/// The server's address: an IP literal at once, a name looked up in a thread of its own (the system's resolver has
/// no timeout) within the deadline. `Err(None)`: the deadline passed.
fn resolve(target: &Target, deadline: Instant) -> Result<SocketAddr, Option<RespError>> {
    if let Ok(ip) = target.host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, target.port));
    }
    let (host, port) = (target.host.clone(), target.port);
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send((host.as_str(), port).to_socket_addrs().map(|mut addrs| addrs.next()));
    });
    let wait = deadline.saturating_duration_since(Instant::now());
    let failed = |source| Some(RespError::Resolve { host: target.host.clone(), source });
    match receive.recv_timeout(wait) {
        Ok(Ok(Some(addr))) => Ok(addr),
        Ok(Ok(None)) => Err(failed(None)),
        Ok(Err(source)) => Err(failed(Some(source))),
        Err(_) => Err(None),
    }
}

fn encode(command: &[Vec<u8>], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", command.len()).as_bytes());
    for word in command {
        out.extend_from_slice(format!("${}\r\n", word.len()).as_bytes());
        out.extend_from_slice(word);
        out.extend_from_slice(b"\r\n");
    }
}

enum ReadError {
    Io(io::Error),
    Deadline,
    Bad(&'static str),
}

struct Reader {
    stream: TcpStream,
    buf: Vec<u8>,
    at: usize,
    deadline: Instant,
}

impl Reader {
    /// Reads more bytes, within the deadline.
    fn fill(&mut self) -> Result<(), ReadError> {
        let left = self.deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero());
        let left = left.ok_or(ReadError::Deadline)?;
        self.stream.set_read_timeout(Some(left)).map_err(ReadError::Io)?;
        if self.buf.len() > MAX_REPLY {
            return Err(ReadError::Bad("a reply over 1 MiB"));
        }
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                Err(ReadError::Io(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection")))
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(err) if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                Err(ReadError::Deadline)
            }
            Err(err) => Err(ReadError::Io(err)),
        }
    }

    /// One line, without its CRLF.
    fn line(&mut self) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(end) = self.buf[self.at..].windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[self.at..self.at + end].to_vec();
                self.at += end + 2;
                return Ok(line);
            }
            self.fill()?;
        }
    }

    fn exact(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        while self.buf.len() - self.at < n + 2 {
            self.fill()?;
        }
        let bytes = self.buf[self.at..self.at + n].to_vec();
        if &self.buf[self.at + n..self.at + n + 2] != b"\r\n" {
            return Err(ReadError::Bad("a bulk string without its CRLF"));
        }
        self.at += n + 2;
        Ok(bytes)
    }

    fn reply(&mut self, depth: usize) -> Result<Reply, ReadError> {
        if depth > 8 {
            return Err(ReadError::Bad("arrays nested too deep"));
        }
        let line = self.line()?;
        let (&kind, rest) = line.split_first().ok_or(ReadError::Bad("an empty line"))?;
        let text = || String::from_utf8_lossy(rest).into_owned();
        let number = || -> Result<i64, ReadError> {
            std::str::from_utf8(rest).ok().and_then(|t| t.parse().ok()).ok_or(ReadError::Bad("a bad length or integer"))
        };
        Ok(match kind {
            b'+' => Reply::Status(text()),
            b'-' => Reply::Error(text()),
            b':' => Reply::Int(number()?),
            b'$' => match number()? {
                -1 => Reply::Bulk(None),
                n if (0..=MAX_REPLY as i64).contains(&n) => Reply::Bulk(Some(self.exact(n as usize)?)),
                _ => return Err(ReadError::Bad("a bad bulk length")),
            },
            b'*' => match number()? {
                -1 => Reply::Array(None),
                n if (0..=1_000_000).contains(&n) => {
                    let mut items = Vec::with_capacity(n.min(1024) as usize);
                    for _ in 0..n {
                        items.push(self.reply(depth + 1)?);
                    }
                    Reply::Array(Some(items))
                }
                _ => return Err(ReadError::Bad("a bad array length")),
            },
            _ => return Err(ReadError::Bad("an unknown reply type")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_never_show_their_credentials() {
        let t = Target::parse("redis://alice:s%40cret@cache.example:6380/2").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.db), ("cache.example", 6380, 2));
        assert_eq!(t.user.as_deref(), Some("alice"));
        assert_eq!(t.password.as_deref(), Some("s@cret"));
        assert_eq!(t.to_string(), "redis://cache.example:6380/2 (credentials hidden)");
        assert!(!format!("{t:?}").contains("cret"));
        let t = Target::parse("redis://:pw@[::1]").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.db, t.user.is_none()), ("::1", 6379, 0, true));
        assert_eq!(t.to_string(), "redis://[::1]:6379/0 (credentials hidden)");
        assert_eq!(Target::parse("redis://127.0.0.1").unwrap().to_string(), "redis://127.0.0.1:6379/0");
        for bad in ["http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h/x", "redis://:%zz@h"] {
            let err = Target::parse(bad).unwrap_err();
            assert!(!err.contains("zz") && !err.is_empty(), "{bad}: {err}");
        }
        assert!(Target::parse("rediss://h").unwrap_err().contains("plain redis://"));
    }

    #[test]
    fn commands_encode_as_resp_arrays() {
        let mut out = Vec::new();
        encode(&words(&["GET", "k"]), &mut out);
        assert_eq!(out, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    }
}

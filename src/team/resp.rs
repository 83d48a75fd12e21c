//! The hook's Redis client: one exchange per call, speaking RESP2 (the protocol every Redis since 2.0 answers).
//! AUTH, SELECT and the script go out in one write and their replies come back together, so a hook call makes
//! exactly one round trip, all of it (name lookup, connecting, writing, reading) under one deadline. It is small on
//! purpose: linked into the hook's binary, it adds no dependency and no start-up cost (see BENCHMARKS.md, issue 23),
//! where a full client would connect, then send `CLIENT SETINFO`, AUTH and SELECT as round trips of their own.
//!
//! `rediss://` (TLS) goes through `ccbreaker-net team-exchange` (see [`tls_pipe`]), which holds the TLS code (rustls),
//! so the hook's binary links none of it: the hook hands it the bytes to send and reads the replies it passes back.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

/// Where the server is, parsed from a `redis://[[user]:password@]host[:port][/db]` URL. Its `Display` never shows
/// the credentials.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `rediss://`: TLS.
    pub tls: bool,
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
        let scheme = if self.tls { "rediss" } else { "redis" };
        write!(f, "{scheme}://{host}:{}/{}", self.port, self.db)?;
        if self.user.is_some() || self.password.is_some() {
            f.write_str(" (credentials hidden)")?;
        }
        Ok(())
    }
}

impl Target {
    /// Parses a URL; the error says what is wrong without repeating the URL (it may hold a password).
    pub(crate) fn parse(url: &str) -> Result<Target, String> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("redis://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("rediss://") {
            (true, rest)
        } else {
            return Err("must be a redis://[[user]:password@]host[:port][/db] (or rediss:// for TLS) URL".to_owned());
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
        Ok(Target { tls, host: host.to_owned(), port, db, user, password })
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
    /// The TLS exchange through `ccbreaker-net` failed; `message` is its report (no credentials in it).
    #[error("{message}")]
    Tls { message: String },
}

/// The largest reply read: totals and a day's members are a few KB.
const MAX_REPLY: usize = 1 << 20;

/// Sends the session's preamble and `commands` in one write, reads every reply within `timeout`, and returns the
/// replies to `commands` (an error reply to AUTH or SELECT is an error).
pub(crate) fn exchange(
    target: &Target,
    ca_file: Option<&Path>,
    commands: &[Vec<Vec<u8>>],
    timeout: Duration,
) -> Result<Vec<Reply>, RespError> {
    let deadline = Instant::now() + timeout;
    let shown = target.to_string();
    let timed_out = || RespError::Timeout { target: shown.clone(), ms: timeout.as_millis() as u64 };
    let io_err = |source: io::Error| match source.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => timed_out(),
        _ => RespError::Io { target: shown.clone(), source },
    };
    let preamble = target.preamble();
    let mut out = Vec::with_capacity(1024);
    for command in preamble.iter().chain(commands) {
        encode(command, &mut out);
    }
    let count = preamble.len() + commands.len();
    let mut conn: Box<dyn Conn> = if target.tls {
        Box::new(tls_via_net(target, ca_file, &out, count, deadline, timeout)?)
    } else {
        let mut stream = connect(target, deadline).map_err(|e| e.unwrap_or_else(timed_out))?;
        let left = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero());
        stream.set_write_timeout(Some(left.ok_or_else(timed_out)?)).map_err(io_err)?;
        stream.write_all(&out).map_err(io_err)?;
        Box::new(stream)
    };
    let mut reader = Reader { conn: conn.as_mut(), buf: Vec::with_capacity(4096), at: 0, deadline };
    let mut replies = Vec::with_capacity(commands.len());
    for i in 0..count {
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

/// A TCP connection to the server, within the deadline. `Err(None)`: the deadline passed.
fn connect(target: &Target, deadline: Instant) -> Result<TcpStream, Option<RespError>> {
    let addr = resolve(target, deadline)?;
    let left = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()).ok_or(None)?;
    let stream = TcpStream::connect_timeout(&addr, left).map_err(|source| match source.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => None,
        _ => Some(RespError::Io { target: target.to_string(), source }),
    })?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Where the replies are read from: the socket, or what `ccbreaker-net` passed back from a TLS one.
trait Conn: Read {
    /// The longest the next read may block.
    fn read_within(&mut self, left: Duration) -> io::Result<()>;
}

impl Conn for TcpStream {
    fn read_within(&mut self, left: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(left))
    }
}

impl Conn for io::Cursor<Vec<u8>> {
    fn read_within(&mut self, _: Duration) -> io::Result<()> {
        Ok(())
    }
}

/// A `rediss://` exchange: `ccbreaker-net team-exchange` (beside this binary) connects with TLS, sends `bytes`,
/// and passes back the raw bytes of `count` replies, all within the deadline (it is killed past it).
fn tls_via_net(
    target: &Target,
    ca_file: Option<&Path>,
    bytes: &[u8],
    count: usize,
    deadline: Instant,
    timeout: Duration,
) -> Result<io::Cursor<Vec<u8>>, RespError> {
    use std::process::{Command, Stdio};
    let shown = target.to_string();
    let failed = |why: String| RespError::Tls { message: format!("could not talk to {shown} over TLS: {why}") };
    let timed_out = || RespError::Timeout { target: shown.clone(), ms: timeout.as_millis() as u64 };
    let exe = std::env::current_exe().map_err(|e| failed(format!("could not find ccbreaker's path ({e})")))?;
    let net = crate::paths::net_binary_beside(&exe);
    let left = deadline.saturating_duration_since(Instant::now());
    // The request: a header line (host, port, count, milliseconds left, the CA file or `-`), then the bytes.
    let ca = ca_file.map_or("-".to_owned(), |p| p.display().to_string());
    let mut input = format!("{}\t{}\t{count}\t{}\t{ca}\n", target.host, target.port, left.as_millis()).into_bytes();
    input.extend_from_slice(bytes);
    let mut child = Command::new(&net)
        .arg("team-exchange")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("could not run `{}` ({e})", net.display())))?;
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let (mut stdout, mut stderr) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    let reader = std::thread::spawn(move || {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let _ = stdout.read_to_end(&mut out);
        let _ = stderr.read_to_end(&mut err);
        (out, err)
    });
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let _ = writer.join();
                let (out, err) = reader.join().unwrap_or_default();
                return if status.success() {
                    Ok(io::Cursor::new(out))
                } else if status.code() == Some(TLS_TIMED_OUT) {
                    Err(timed_out())
                } else {
                    Err(failed(String::from_utf8_lossy(&err).trim().trim_start_matches("ccbreaker-net: ").to_owned()))
                };
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_micros(500)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(timed_out());
            }
        }
    }
}

/// `ccbreaker-net team-exchange`'s exit code when the deadline passed.
pub(crate) const TLS_TIMED_OUT: i32 = 9;

/// `ccbreaker-net team-exchange`: reads the request [`tls_via_net`] writes on `input`, connects with TLS (the
/// system's web roots, plus the CA file if named), sends the bytes and writes the raw bytes of the replies to `out`.
pub(crate) fn tls_pipe(input: &mut dyn Read, out: &mut dyn Write) -> Result<(), TlsError> {
    use std::sync::Arc;
    let mut request = Vec::new();
    input.read_to_end(&mut request).map_err(|e| TlsError::Failed(format!("could not read the request: {e}")))?;
    let newline =
        request.iter().position(|b| *b == b'\n').ok_or(TlsError::Failed("a request without a header".into()))?;
    let header = String::from_utf8_lossy(&request[..newline]).into_owned();
    let bytes = &request[newline + 1..];
    let fields: Vec<&str> = header.split('\t').collect();
    let bad = || TlsError::Failed(format!("a bad request header {header:?}"));
    let [host, port, count, ms, ca] = fields[..] else { return Err(bad()) };
    let port: u16 = port.parse().map_err(|_| bad())?;
    let count: usize = count.parse().map_err(|_| bad())?;
    let deadline = Instant::now() + Duration::from_millis(ms.parse().map_err(|_| bad())?);
    let target = Target { tls: true, host: host.to_owned(), port, db: 0, user: None, password: None };
    let shown = format!("{}:{port}", target.host);
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if ca != "-" {
        use rustls::pki_types::pem::PemObject;
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(ca)
            .map_err(|e| TlsError::Failed(format!("could not read team.tls_ca_file `{ca}`: {e}")))?;
        for cert in certs {
            let cert = cert.map_err(|e| TlsError::Failed(format!("team.tls_ca_file `{ca}`: {e}")))?;
            roots.add(cert).map_err(|e| TlsError::Failed(format!("team.tls_ca_file `{ca}`: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Failed(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| TlsError::Failed(format!("`{host}` is not a name TLS can check: {e}")))?;
    let connection =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| TlsError::Failed(e.to_string()))?;
    let stream = connect(&target, deadline).map_err(|e| match e {
        None => TlsError::TimedOut,
        Some(err) => TlsError::Failed(crate::error::report(&err)),
    })?;
    let mut tls = Tls(rustls::StreamOwned::new(connection, stream));
    let io_err = |e: io::Error| match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TlsError::TimedOut,
        _ => TlsError::Failed(format!("{shown}: {e}")),
    };
    let left = deadline.checked_duration_since(Instant::now()).ok_or(TlsError::TimedOut)?;
    tls.0.sock.set_write_timeout(Some(left)).map_err(io_err)?;
    tls.0.sock.set_read_timeout(Some(left)).map_err(io_err)?;
    tls.0.write_all(bytes).and_then(|()| tls.0.flush()).map_err(io_err)?;
    let mut reader = Reader { conn: &mut tls, buf: Vec::with_capacity(4096), at: 0, deadline };
    for _ in 0..count {
        reader.reply(0).map_err(|e| match e {
            ReadError::Io(err) => io_err(err),
            ReadError::Deadline => TlsError::TimedOut,
            ReadError::Bad(what) => {
                TlsError::Failed(format!("{shown} answered with something that is not RESP: {what}"))
            }
        })?;
    }
    let got = reader.at;
    out.write_all(&reader.buf[..got]).map_err(|e| TlsError::Failed(format!("could not pass the replies back: {e}")))
}

/// Why `team-exchange` failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsError {
    #[error("no answer in time")]
    TimedOut,
    #[error("{0}")]
    Failed(String),
}

struct Tls(rustls::StreamOwned<rustls::ClientConnection, TcpStream>);

impl Read for Tls {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Conn for Tls {
    fn read_within(&mut self, left: Duration) -> io::Result<()> {
        self.0.sock.set_read_timeout(Some(left))
    }
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

struct Reader<'c> {
    conn: &'c mut dyn Conn,
    buf: Vec<u8>,
    at: usize,
    deadline: Instant,
}

impl Reader<'_> {
    /// Reads more bytes, within the deadline.
    fn fill(&mut self) -> Result<(), ReadError> {
        let left = self.deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero());
        let left = left.ok_or(ReadError::Deadline)?;
        self.conn.read_within(left).map_err(ReadError::Io)?;
        if self.buf.len() > MAX_REPLY {
            return Err(ReadError::Bad("a reply over 1 MiB"));
        }
        let mut chunk = [0u8; 4096];
        match self.conn.read(&mut chunk) {
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
        let tls = Target::parse("rediss://:pw@cache.example:6380").unwrap();
        assert_eq!(tls.to_string(), "rediss://cache.example:6380/0 (credentials hidden)");
    }

    #[test]
    fn commands_encode_as_resp_arrays() {
        let mut out = Vec::new();
        encode(&words(&["GET", "k"]), &mut out);
        assert_eq!(out, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    }
}

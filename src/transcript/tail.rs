//! Reading only what was appended to a transcript since the last call: complete lines from a byte offset, with
//! the file's identity so a replaced or truncated file is noticed and read again from the start.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Instant, SystemTime};

/// Which file a path pointed to: a replaced file (same path, new inode) must not continue an old cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct FileId {
    pub dev: u64,
    pub ino: u64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Stat {
    pub id: FileId,
    pub size: u64,
    pub modified: SystemTime,
}

impl Stat {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Stat {
        Stat { id: id_of(meta), size: meta.len(), modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH) }
    }
}

#[cfg(unix)]
fn id_of(meta: &std::fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    FileId { dev: meta.dev(), ino: meta.ino() }
}

#[cfg(not(unix))]
fn id_of(_meta: &std::fs::Metadata) -> FileId {
    FileId::default()
}

/// Lines longer than this are skipped whole (a transcript line of 10 MB exists; 64 MB does not).
pub(crate) const MAX_LINE: usize = 64 << 20;
const CHUNK: usize = 256 << 10;

/// What one read of a file found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tail {
    /// The offset just past the last complete line: where the next read starts.
    pub offset: u64,
    pub lines: u64,
    /// Lines over [`MAX_LINE`], skipped.
    pub oversized: u64,
    /// The read stopped before the end of the file (its byte budget or deadline): the rest is for a later call.
    pub stopped: bool,
}

/// How much one read may take: never past the size the file had when it was opened (so a file that claims
/// nothing, as `/proc` files do, or keeps growing, is not read without end), at most `bytes` more (finishing the
/// line under way), and nothing after `deadline`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limit {
    /// The file's size when it was opened: the end of this read.
    pub end: u64,
    /// Bytes this read may consume; once spent, the read stops at the end of the line under way.
    pub bytes: u64,
    pub deadline: Option<Instant>,
}

/// What one call may still read, over all its files: bytes (soft: a line under way is finished) and a deadline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub bytes: u64,
    pub deadline: Option<Instant>,
}

impl Budget {
    pub(crate) const UNLIMITED: Budget = Budget { bytes: u64::MAX, deadline: None };

    /// The limit of one read of a file whose size at open is `stat.size`.
    pub(crate) fn limit(&self, stat: &Stat) -> Limit {
        Limit { end: stat.size, bytes: self.bytes, deadline: self.deadline }
    }

    pub(crate) fn spend(&mut self, bytes: u64) {
        self.bytes = self.bytes.saturating_sub(bytes);
    }

    /// Nothing more may be read in this call.
    pub(crate) fn spent(&self) -> bool {
        self.bytes == 0 || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

impl Limit {
    /// The whole file as it was when opened.
    pub(crate) fn whole(stat: &Stat) -> Limit {
        Limit { end: stat.size, bytes: u64::MAX, deadline: None }
    }
}

/// Calls `on_line` for every complete (newline-terminated) line from `from` to the end of the file (as `limit`
/// allows), without the newline. A partial last line is left for the next call.
pub(crate) fn read_lines(file: &mut File, from: u64, limit: Limit, on_line: impl FnMut(&[u8])) -> io::Result<Tail> {
    read_lines_up_to(file, from, MAX_LINE, limit, on_line)
}

fn read_lines_up_to(
    file: &mut File,
    from: u64,
    max_line: usize,
    limit: Limit,
    mut on_line: impl FnMut(&[u8]),
) -> io::Result<Tail> {
    file.seek(SeekFrom::Start(from))?;
    let mut tail = Tail { offset: from, ..Tail::default() };
    // `buf[..filled]` is the start of a line not yet complete; the rest is room for the next read. A hook usually
    // reads a few KB, so the first buffer is sized to what is there; larger reads grow it a chunk at a time.
    let mut left = limit.end.saturating_sub(from);
    let mut buf: Vec<u8> = vec![0; (left.min(CHUNK as u64) as usize + 1).clamp(4096, CHUNK)];
    let mut filled = 0;
    let mut skipping = false; // inside an oversized line, dropping bytes until its newline
    loop {
        if left == 0 || limit.deadline.is_some_and(|d| Instant::now() >= d) {
            tail.stopped = left > 0;
            return Ok(tail);
        }
        if buf.len() - filled < 4096 {
            buf.resize(filled + CHUNK, 0);
        }
        let room = (buf.len() - filled).min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match file.read(&mut buf[filled..filled + room]) {
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if n == 0 {
            return Ok(tail);
        }
        left -= n as u64;
        let data = filled + n;
        let mut start = 0;
        // Only the new bytes can hold a newline.
        let mut search = filled;
        while let Some(pos) = memchr::memchr(b'\n', &buf[search..data]) {
            let end = search + pos;
            if skipping {
                skipping = false;
                tail.oversized += 1;
            } else {
                tail.lines += 1;
                on_line(&buf[start..end]);
            }
            start = end + 1;
            search = start;
        }
        tail.offset += start as u64;
        if tail.offset - from >= limit.bytes {
            // The budget is spent: stop at the last whole line; the rest is read again next time.
            tail.stopped = tail.offset < limit.end;
            return Ok(tail);
        }
        buf.copy_within(start..data, 0);
        filled = data - start;
        if filled > max_line {
            // Drop what we hold of the oversized line; its bytes still count toward the offset once it ends.
            skipping = true;
            tail.offset += filled as u64;
            filled = 0;
            buf = vec![0; CHUNK];
        }
    }
}

/// Why a transcript was not read: it is not something Claude Code writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Not a regular file (a directory, FIFO, device or socket, or a symlink to one).
    NotRegular(&'static str),
    /// A regular file that claims far more bytes than it holds (`truncate -s 1T`).
    Sparse { size: u64, allocated: u64 },
    /// A file of a kernel file system (`/proc`, `/sys`), whose size says nothing of what reading it returns.
    Kernel,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::NotRegular(kind) => write!(f, "it is {kind}, not a regular file"),
            Refused::Sparse { size, allocated } => {
                write!(f, "it claims {size} bytes but holds {allocated} (a sparse file, not a transcript)")
            }
            Refused::Kernel => write!(f, "it is a file of the kernel (/proc, /sys), not a transcript"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("{0}")]
    Refused(Refused),
}

/// A file larger than this whose blocks hold less than 1/64 of its size is sparse: real transcripts are written
/// byte by byte (and even a compressing file system rarely stores JSON in under a 64th of its size).
const SPARSE_FROM: u64 = 64 << 20;

/// Opens `path` (following symlinks) if it is a file ccbreaker may read, and returns it with its identity. The
/// open never blocks (a FIFO would wait for a writer), and only a regular file that is not sparse and not of a
/// kernel file system is read.
pub(crate) fn open(path: &Path) -> Result<(File, Stat), OpenError> {
    let file = crate::files::open_nonblocking(path)?;
    let meta = file.metadata()?;
    check(&file, &meta)?;
    Ok((file, Stat::of(&meta)))
}

fn check(file: &File, meta: &std::fs::Metadata) -> Result<(), OpenError> {
    let kind = meta.file_type();
    if crate::files::is_forbidden(meta) {
        return Err(OpenError::Refused(Refused::NotRegular("one of ccbreaker's own state files")));
    }
    if !kind.is_file() {
        let what = if kind.is_dir() { "a directory" } else { "a FIFO, device or socket" };
        return Err(OpenError::Refused(Refused::NotRegular(what)));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let allocated = meta.blocks().saturating_mul(512);
        if meta.len() > SPARSE_FROM && allocated.saturating_mul(64) < meta.len() {
            return Err(OpenError::Refused(Refused::Sparse { size: meta.len(), allocated }));
        }
        // Kernel files claim 0 (or 4096) bytes and make up their content as they are read.
        if meta.len() <= 4096 && meta.blocks() == 0 && is_kernel_fs(file) {
            return Err(OpenError::Refused(Refused::Kernel));
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

#[cfg(unix)]
fn is_kernel_fs(file: &File) -> bool {
    #[cfg(target_os = "linux")]
    {
        // PROC_SUPER_MAGIC, SYSFS_MAGIC, DEBUGFS_MAGIC, SECURITYFS_MAGIC, TRACEFS_MAGIC.
        const KERNEL: [i64; 5] = [0x9fa0, 0x6265_6572, 0x6462_6720, 0x7363_6673, 0x7472_6163];
        // `f_type`'s width differs between targets.
        #[allow(clippy::unnecessary_cast)]
        let kernel = rustix::fs::fstatfs(file).is_ok_and(|fs| KERNEL.contains(&(fs.f_type as i64)));
        kernel
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A file `t.jsonl` with `content`, in a directory removed with the returned guard.
    fn temp_file(name: &str, content: &[u8]) -> (crate::test_dir::TestDir, std::path::PathBuf) {
        let dir = crate::test_dir::TestDir::new(name);
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, content).unwrap();
        (dir, path)
    }

    fn lines_from(path: &Path, from: u64) -> (Vec<String>, Tail) {
        let (mut file, stat) = open(path).unwrap();
        let mut lines = Vec::new();
        let tail =
            read_lines(&mut file, from, Limit::whole(&stat), |l| lines.push(String::from_utf8_lossy(l).into_owned()))
                .unwrap();
        (lines, tail)
    }

    #[test]
    fn leaves_a_partial_last_line() {
        let (_dir, path) = temp_file("partial", b"a\nbb\nccc");
        let (lines, tail) = lines_from(&path, 0);
        assert_eq!(lines, ["a", "bb"]);
        assert_eq!(tail.offset, 5);
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"c\n").unwrap();
        let (lines, tail) = lines_from(&path, tail.offset);
        assert_eq!(lines, ["cccc"]);
        assert_eq!(tail.offset, 10);
    }

    #[test]
    fn lines_across_chunks() {
        let mut content = Vec::new();
        for i in 0..20_000 {
            content.extend_from_slice(format!("line number {i} with some padding to cross chunks\n").as_bytes());
        }
        let (_dir, path) = temp_file("chunks", &content);
        let (lines, tail) = lines_from(&path, 0);
        assert_eq!(lines.len(), 20_000);
        assert_eq!(lines[12_345], "line number 12345 with some padding to cross chunks");
        assert_eq!(tail.offset, content.len() as u64);
    }

    #[test]
    fn oversized_lines_are_skipped_whole() {
        let mut content = b"first\n".to_vec();
        content.extend(std::iter::repeat_n(b'x', 3 * CHUNK));
        content.extend_from_slice(b"\nlast\npartial");
        let (_dir, path) = temp_file("oversized", &content);
        let (mut file, stat) = open(&path).unwrap();
        let mut lines = Vec::new();
        let tail = read_lines_up_to(&mut file, 0, CHUNK, Limit::whole(&stat), |l| {
            lines.push(String::from_utf8_lossy(l).into_owned())
        })
        .unwrap();
        assert_eq!(lines, ["first", "last"]);
        assert_eq!((tail.lines, tail.oversized), (2, 1));
        assert_eq!(tail.offset, content.len() as u64 - "partial".len() as u64);
    }

    #[test]
    fn blank_lines_are_lines() {
        let (_dir, path) = temp_file("blank", b"\n\nx\n");
        let (lines, _) = lines_from(&path, 0);
        assert_eq!(lines, ["", "", "x"]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn only_regular_files_that_hold_what_they_claim_are_opened() {
        let dir = crate::test_dir::TestDir::new("refused");
        let sparse = dir.path().join("sparse.jsonl");
        std::fs::File::create(&sparse).unwrap().set_len(1 << 40).unwrap();
        assert!(matches!(open(&sparse), Err(OpenError::Refused(Refused::Sparse { .. }))));
        let link = dir.path().join("pagemap.jsonl");
        std::os::unix::fs::symlink("/proc/self/pagemap", &link).unwrap();
        assert!(matches!(open(&link), Err(OpenError::Refused(Refused::Kernel))));
        let fifo = dir.path().join("fifo.jsonl");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        assert!(matches!(open(&fifo), Err(OpenError::Refused(Refused::NotRegular(_)))), "and it did not block");
        assert!(matches!(open(dir.path()), Err(OpenError::Refused(Refused::NotRegular("a directory")))));
        let null = dir.path().join("null.jsonl");
        std::os::unix::fs::symlink("/dev/null", &null).unwrap();
        assert!(matches!(open(&null), Err(OpenError::Refused(Refused::NotRegular(_)))));
    }

    #[test]
    fn a_read_stops_at_the_size_seen_at_open_and_at_its_byte_budget() {
        let (_dir, path) = temp_file("limits", b"aa\nbb\ncc\n");
        let (mut file, stat) = open(&path).unwrap();
        let mut lines = Vec::new();
        let limit = Limit { end: 6, ..Limit::whole(&stat) };
        let tail = read_lines(&mut file, 0, limit, |l| lines.push(l.to_vec())).unwrap();
        assert_eq!((lines.len(), tail.offset, tail.stopped), (2, 6, false), "the end as opened is the end");
        let past = Limit { deadline: Some(Instant::now()), ..Limit::whole(&stat) };
        assert_eq!(read_lines(&mut file, 0, past, |_| {}).unwrap().lines, 0);
        // A byte budget is checked between reads: one chunk at most past it, ending at a line's end.
        let line = "x".repeat(99) + "\n";
        let (_dir, path) = temp_file("budget", line.repeat(3 * CHUNK / 100).as_bytes());
        let (mut file, stat) = open(&path).unwrap();
        let tail = read_lines(&mut file, 0, Limit { bytes: 1, ..Limit::whole(&stat) }, |_| {}).unwrap();
        assert!(tail.stopped && tail.offset > 0 && tail.offset <= CHUNK as u64, "{tail:?}");
        assert_eq!(tail.offset % 100, 0);
    }
}

//! Reading only what was appended to a transcript since the last call: complete lines from a byte offset, with
//! the file's identity so a replaced or truncated file is noticed and read again from the start.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::SystemTime;

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
}

/// Calls `on_line` for every complete (newline-terminated) line from `from` to the end of the file, without the
/// newline. A partial last line is left for the next call.
pub(crate) fn read_lines(file: &mut File, from: u64, on_line: impl FnMut(&[u8])) -> io::Result<Tail> {
    read_lines_up_to(file, from, MAX_LINE, on_line)
}

fn read_lines_up_to(file: &mut File, from: u64, max_line: usize, mut on_line: impl FnMut(&[u8])) -> io::Result<Tail> {
    file.seek(SeekFrom::Start(from))?;
    let mut tail = Tail { offset: from, ..Tail::default() };
    // `buf[..filled]` is the start of a line not yet complete; the rest is room for the next read. A hook usually
    // reads a few KB, so the first buffer is sized to what is there; larger reads grow it a chunk at a time.
    let remaining = file.metadata().map(|m| m.len().saturating_sub(from) as usize).unwrap_or(CHUNK);
    let mut buf: Vec<u8> = vec![0; (remaining + 1).clamp(4096, CHUNK)];
    let mut filled = 0;
    let mut skipping = false; // inside an oversized line, dropping bytes until its newline
    loop {
        if buf.len() - filled < 4096 {
            buf.resize(filled + CHUNK, 0);
        }
        let n = match file.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if n == 0 {
            return Ok(tail);
        }
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

/// Opens `path` and returns it with its identity.
pub(crate) fn open(path: &Path) -> io::Result<(File, Stat)> {
    let file = File::open(path)?;
    let stat = Stat::of(&file.metadata()?);
    Ok((file, stat))
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
        let (mut file, _) = open(path).unwrap();
        let mut lines = Vec::new();
        let tail = read_lines(&mut file, from, |l| lines.push(String::from_utf8_lossy(l).into_owned())).unwrap();
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
        let (mut file, _) = open(&path).unwrap();
        let mut lines = Vec::new();
        let tail =
            read_lines_up_to(&mut file, 0, CHUNK, |l| lines.push(String::from_utf8_lossy(l).into_owned())).unwrap();
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
}

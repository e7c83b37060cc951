//! `--tail N`: where the last N lines of the log begin, read backwards from its end.

use crate::sys::fd;
use std::os::fd::OwnedFd;
use syscalls::Errno;

const CHUNK: usize = 16 * 1024;

/// The offset where the last `lines` lines of `log` begin (its size for 0, 0 when it has
/// fewer). A newline that ends the log ends its last line; a last line without one counts.
pub fn start_of_last(log: &OwnedFd, lines: u64) -> Result<u64, Errno> {
    let size = fd::lseek(log, 0, libc::SEEK_END)?;
    if lines == 0 {
        return Ok(size);
    }
    let mut buf = vec![0u8; CHUNK];
    let (mut end, mut seen) = (size, 0u64);
    while end > 0 {
        let start = end.saturating_sub(CHUNK as u64);
        let chunk = &mut buf[..(end - start) as usize];
        read_exact_at(log, chunk, start)?;
        for (i, b) in chunk.iter().enumerate().rev() {
            let after = start + i as u64 + 1;
            if *b == b'\n' && after != size {
                seen += 1;
                if seen == lines {
                    return Ok(after);
                }
            }
        }
        end = start;
    }
    Ok(0)
}

/// The byte before `at` (to know whether `at` starts a line).
pub fn byte_before(log: &OwnedFd, at: u64) -> Option<u8> {
    let mut b = [0u8];
    read_exact_at(log, &mut b, at.checked_sub(1)?).ok()?;
    Some(b[0])
}

fn read_exact_at(log: &OwnedFd, mut buf: &mut [u8], mut at: u64) -> Result<(), Errno> {
    while !buf.is_empty() {
        match fd::pread(log, buf, at) {
            Ok(0) => return Err(Errno::EIO),
            Ok(n) => {
                buf = &mut buf[n..];
                at += n as u64;
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fs;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static N: AtomicUsize = AtomicUsize::new(0);

    fn log_of(text: &[u8]) -> OwnedFd {
        let dir = std::env::temp_dir().join(format!(
            "nsbox-tail-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&dir, text).unwrap();
        let path = crate::sys::cpath(&dir).unwrap();
        let fd = fs::openat(libc::AT_FDCWD, &path, libc::O_RDONLY | libc::O_CLOEXEC, 0).unwrap();
        std::fs::remove_file(&dir).unwrap();
        fd
    }

    #[test]
    fn counts_lines_from_the_end() {
        let log = log_of(b"a\nbb\nccc\n");
        assert_eq!(start_of_last(&log, 0).unwrap(), 9);
        assert_eq!(start_of_last(&log, 1).unwrap(), 5);
        assert_eq!(start_of_last(&log, 2).unwrap(), 2);
        assert_eq!(start_of_last(&log, 3).unwrap(), 0);
        assert_eq!(start_of_last(&log, 9).unwrap(), 0);
        // A last line without its newline is a line.
        let log = log_of(b"a\nbb");
        assert_eq!(start_of_last(&log, 1).unwrap(), 2);
        assert_eq!(start_of_last(&log, 0).unwrap(), 4);
        assert_eq!(start_of_last(&log_of(b""), 5).unwrap(), 0);
    }

    #[test]
    fn reads_across_chunks() {
        let mut text = vec![b'x'; CHUNK * 2 + 7];
        text[10] = b'\n';
        text[CHUNK + 3] = b'\n';
        text.push(b'\n');
        let log = log_of(&text);
        assert_eq!(start_of_last(&log, 1).unwrap(), CHUNK as u64 + 4);
        assert_eq!(start_of_last(&log, 2).unwrap(), 11);
        assert_eq!(start_of_last(&log, 3).unwrap(), 0);
    }
}

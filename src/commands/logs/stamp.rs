//! `-t`: each line of the log after the time it came, from `log.times` (its format is in
//! container/output.rs): a line takes the time of the entry with the greatest offset at or
//! before the line's first byte. Lines before any entry (the supervisor's own messages) take
//! the container's creation time.

use crate::state::time::rfc3339;
use crate::sys::fd;
use std::os::fd::OwnedFd;
use std::time::Duration;

const ENTRY: u64 = 16;

pub struct Stamper {
    times: OwnedFd,
    /// Where in the log the next byte given to `stamp` is.
    pos: u64,
    line_start: bool,
    /// The time of the latest entry at or before `pos` (nanoseconds since the epoch).
    current: u64,
    /// The index of the entry after it, and that entry once read.
    next: u64,
    peek: Option<(u64, u64)>,
}

impl Stamper {
    /// `pos`: where in the log reading starts (`line_start`: at the start of a line);
    /// `created`: the time of lines before any entry.
    pub fn new(times: OwnedFd, pos: u64, line_start: bool, created: u64) -> Stamper {
        let mut s = Stamper {
            times,
            pos,
            line_start,
            current: created,
            next: 0,
            peek: None,
        };
        s.seek(pos);
        s
    }

    /// Appends `data` (the log's next bytes) to `out`, each line after its time and a space.
    pub fn stamp(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        while !data.is_empty() {
            if self.line_start {
                let ns = self.time_at(self.pos);
                out.extend_from_slice(rfc3339(Duration::from_nanos(ns)).as_bytes());
                out.push(b' ');
            }
            let n = data
                .iter()
                .position(|b| *b == b'\n')
                .map_or(data.len(), |i| i + 1);
            out.extend_from_slice(&data[..n]);
            self.line_start = data[n - 1] == b'\n';
            self.pos += n as u64;
            data = &data[n..];
        }
    }

    /// Binary search for the last entry at or before `pos` (reading from the middle).
    fn seek(&mut self, pos: u64) {
        let count = fd::lseek(&self.times, 0, libc::SEEK_END).unwrap_or(0) / ENTRY;
        let (mut lo, mut hi) = (0, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.entry(mid) {
                Some((offset, _)) if offset <= pos => lo = mid + 1,
                _ => hi = mid,
            }
        }
        if let Some((_, ns)) = lo.checked_sub(1).and_then(|i| self.entry(i)) {
            self.current = ns;
        }
        self.next = lo;
    }

    /// The time of the byte at `pos`, which is never before an earlier call's.
    fn time_at(&mut self, pos: u64) -> u64 {
        loop {
            if self.peek.is_none() {
                // Not there yet (with -f): asked again at the next line.
                self.peek = self.entry(self.next);
            }
            match self.peek {
                Some((offset, ns)) if offset <= pos => {
                    self.current = ns;
                    self.next += 1;
                    self.peek = None;
                }
                _ => return self.current,
            }
        }
    }

    fn entry(&self, index: u64) -> Option<(u64, u64)> {
        let mut e = [0u8; ENTRY as usize];
        match fd::pread(&self.times, &mut e, index * ENTRY) {
            Ok(n) if n == e.len() => Some((
                u64::from_le_bytes(e[..8].try_into().ok()?),
                u64::from_le_bytes(e[8..].try_into().ok()?),
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fs;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static N: AtomicUsize = AtomicUsize::new(0);

    const S: u64 = 1_000_000_000;

    fn times(entries: &[(u64, u64)]) -> OwnedFd {
        let path = std::env::temp_dir().join(format!(
            "nsbox-stamp-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let bytes: Vec<u8> = entries
            .iter()
            .flat_map(|(o, t)| o.to_le_bytes().into_iter().chain(t.to_le_bytes()))
            .collect();
        std::fs::write(&path, bytes).unwrap();
        let c = crate::sys::cpath(&path).unwrap();
        let fd = fs::openat(libc::AT_FDCWD, &c, libc::O_RDONLY | libc::O_CLOEXEC, 0).unwrap();
        std::fs::remove_file(&path).unwrap();
        fd
    }

    fn stamped(s: &mut Stamper, chunks: &[&[u8]]) -> String {
        let mut out = Vec::new();
        for c in chunks {
            s.stamp(c, &mut out);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_line_takes_the_time_of_its_first_byte() {
        // The log: "a\nb" (piece 1 at second 1), "c\nd\n" (piece 2 at second 2).
        let t = times(&[(0, S), (3, 2 * S)]);
        let mut s = Stamper::new(t, 0, true, 0);
        assert_eq!(
            stamped(&mut s, &[b"a\nb", b"c\nd\n"]),
            "1970-01-01T00:00:01.000000000Z a\n\
             1970-01-01T00:00:01.000000000Z bc\n\
             1970-01-01T00:00:02.000000000Z d\n"
        );
    }

    #[test]
    fn starts_in_the_middle_and_before_any_entry() {
        let t = times(&[(4, S), (6, 2 * S), (8, 3 * S)]);
        // From offset 6 (--tail): the entry at 6 is found by the search.
        let mut s = Stamper::new(t, 6, true, 0);
        assert_eq!(
            stamped(&mut s, &[b"x\ny\n"]),
            "1970-01-01T00:00:02.000000000Z x\n1970-01-01T00:00:03.000000000Z y\n"
        );
        // Before the first entry: the creation time; mid-line: no stamp.
        let t = times(&[(3, S)]);
        let mut s = Stamper::new(t, 0, true, 5 * S);
        assert_eq!(
            stamped(&mut s, &[b"tr\n", b"o\n"]),
            "1970-01-01T00:00:05.000000000Z tr\n1970-01-01T00:00:01.000000000Z o\n"
        );
        let mut s = Stamper::new(times(&[]), 3, false, 0);
        assert_eq!(stamped(&mut s, &[b"end\n"]), "end\n");
    }
}

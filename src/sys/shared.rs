//! A small append-only log in memory shared (MAP_SHARED) by nsbox and every process it forks or
//! clones: what the container's first process appends before its execve stays readable to
//! nsbox afterwards. `--trace` keeps its steps there for the timeline.

use std::sync::atomic::{AtomicUsize, Ordering};
use syscalls::{Errno, Sysno};

/// The log: a length word, then the bytes appended so far.
pub struct SharedLog {
    base: *mut u8,
    size: usize,
}

// SAFETY: the mapping lives as long as the value; appends reserve disjoint ranges with an
// atomic counter, so concurrent writers (even in other processes) never touch the same bytes.
unsafe impl Sync for SharedLog {}
// SAFETY: the pointer is to a process-wide mapping, valid from any thread.
unsafe impl Send for SharedLog {}

const HEADER: usize = std::mem::size_of::<AtomicUsize>();

impl SharedLog {
    /// Maps `size` bytes (a multiple of the page size), shared with future children. Untraced:
    /// it only exists when --trace is on, and is not a step of the container.
    pub fn new(size: usize) -> Result<SharedLog, Errno> {
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        let map = libc::MAP_SHARED | libc::MAP_ANONYMOUS;
        // SAFETY: a new anonymous mapping touches no existing memory; the kernel zeroes it,
        // which makes the length word 0.
        let base = unsafe { syscalls::syscall!(Sysno::mmap, 0, size, prot, map, -1i32, 0) }?;
        Ok(SharedLog {
            base: base as *mut u8,
            size,
        })
    }

    fn len(&self) -> &AtomicUsize {
        // SAFETY: the first word of a page-aligned mapping is aligned and, being zeroed, a
        // valid AtomicUsize; every access to it goes through this atomic.
        unsafe { &*(self.base as *const AtomicUsize) }
    }

    /// Appends `bytes` whole, or drops them when the log is full.
    pub fn append(&self, bytes: &[u8]) {
        let start = self.len().fetch_add(bytes.len(), Ordering::AcqRel);
        if HEADER + start + bytes.len() > self.size {
            return;
        }
        // SAFETY: [start, start + len) was reserved for this call alone by the fetch_add above,
        // and lies inside the mapping (checked just above).
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.base.add(HEADER + start),
                bytes.len(),
            )
        }
    }

    /// A copy of what was appended. Read it once the writers are done (the other processes
    /// have exec'd or exited): a range reserved but not yet written reads as zero bytes.
    pub fn contents(&self) -> Vec<u8> {
        let len = self.len().load(Ordering::Acquire).min(self.size - HEADER);
        // SAFETY: the first `len` bytes after the header are inside the mapping.
        unsafe { std::slice::from_raw_parts(self.base.add(HEADER), len) }.to_vec()
    }
}

impl Drop for SharedLog {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours and nothing borrows it past the value's life.
        let _ = unsafe { syscalls::syscall!(Sysno::munmap, self.base as usize, self.size) };
    }
}

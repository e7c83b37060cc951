//! Address leases: `ROOT/.leases`, one `ADDRESS/PREFIX ID` line per container: its address on
//! the bridge, or, for a veth pair, the host end's address (which claims the whole subnet).
//!
//! The file changes only under an exclusive flock of the state root directory, and is replaced
//! whole (write + rename), so containers started at the same moment get distinct addresses and
//! subnets, and a reader never sees half a file. The same lock serializes the bridge's creation
//! and removal. A container returns its lease on teardown; `nsbox gc` returns those of
//! containers that died without one.

use super::cidr::Cidr;
use crate::error::{Context, Error, Result};
use crate::sys::{cpath as c, fs};
use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use syscalls::Errno;

pub const LEASES_FILE: &str = ".leases";
const TMP_FILE: &str = ".leases.tmp";

/// The leases, read under the lock; the lock goes when this is dropped.
pub struct Leases {
    root: PathBuf,
    _lock: OwnedFd,
    entries: Vec<(Cidr, String)>,
}

impl Leases {
    /// Locks the state root (waiting for another nsbox that holds it) and reads the leases.
    pub fn lock(root: &Path) -> Result<Leases> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
        let lock = fs::openat(libc::AT_FDCWD, &c(root)?, flags, 0)
            .ctx(|| format!("open the state root {root:?}"))?;
        fs::flock(&lock, libc::LOCK_EX).ctx(|| format!("lock the state root {root:?}"))?;
        let path = root.join(LEASES_FILE);
        let text = match fs::read_file(&c(&path)?) {
            Ok(bytes) => bytes,
            Err(Errno::ENOENT) => Vec::new(),
            Err(e) => return Err(Error::sys(format!("read {path:?}"), e)),
        };
        let entries = parse(&text).map_err(|why| {
            Error::new(format!("{path:?}"), why)
                .hint("nsbox leaves this file alone: check it, and fix or remove it by hand")
        })?;
        Ok(Leases {
            root: root.to_path_buf(),
            _lock: lock,
            entries,
        })
    }

    /// Leases the lowest free host address of the bridge's `subnet` (never the bridge's own)
    /// to `id`.
    pub fn take(&mut self, subnet: Cidr, id: &str) -> Result<Cidr> {
        let addr = lowest_free(subnet, &self.entries).ok_or_else(|| {
            Error::new(
                format!("lease an address in {}", subnet.subnet()),
                format!(
                    "the subnet is exhausted: its {} host addresses are the bridge's and leased",
                    subnet.host_count()
                ),
            )
            .hint("'nsbox gc' returns the leases of dead containers; or give the bridge a larger subnet")
        })?;
        let lease = subnet.with_addr(addr);
        self.entries.push((lease, id.to_string()));
        self.save()?;
        Ok(lease)
    }

    /// Leases the whole subnet of a veth pair's host end `host` to `id`; refused when a lease
    /// overlaps it (`what`: the subject of that error).
    pub fn take_subnet(&mut self, host: Cidr, id: &str, what: &str) -> Result<()> {
        if let Some((other, owner)) = self.entries.iter().find(|(c, _)| c.overlaps(host)) {
            return Err(Error::new(
                what,
                format!(
                    "the subnet {} overlaps {}, leased to the container {owner:?}",
                    host.subnet(),
                    other.subnet()
                ),
            )
            .hint("give the pair other addresses, e.g. --net veth:10.0.1.1/24,10.0.1.2/24, or use --net bridge"));
        }
        self.entries.push((host, id.to_string()));
        self.save()
    }

    /// Returns every lease `keep` refuses; saves when one went.
    pub fn release_unless(&mut self, keep: impl Fn(&str) -> bool) -> Result<Vec<(Cidr, String)>> {
        let (kept, gone): (Vec<_>, Vec<_>) = self.entries.drain(..).partition(|(_, id)| keep(id));
        self.entries = kept;
        if !gone.is_empty() {
            self.save()?;
        }
        Ok(gone)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes the leases (write + rename), or removes the file when there are none.
    fn save(&self) -> Result<()> {
        let path = self.root.join(LEASES_FILE);
        if self.entries.is_empty() {
            return match fs::unlink(&c(&path)?) {
                Ok(()) | Err(Errno::ENOENT) => Ok(()),
                Err(e) => Err(Error::sys(format!("remove {path:?}"), e)),
            };
        }
        let tmp = c(&self.root.join(TMP_FILE))?;
        fs::replace_file(&tmp, &c(&path)?, &encode(&self.entries), 0o600)
            .ctx(|| format!("write {path:?} (through {TMP_FILE})"))
    }
}

fn parse(text: &[u8]) -> std::result::Result<Vec<(Cidr, String)>, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not text: not a lease file nsbox writes")?;
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lease = line.split_once(' ').and_then(|(addr, id)| {
            let addr = Cidr::parse(addr).ok()?;
            crate::spec::check_name("id", id).ok()?;
            Some((addr, id.to_string()))
        });
        match lease {
            Some(l) => entries.push(l),
            None => {
                return Err(format!(
                    "line {}: {line:?} is not an `ADDRESS/PREFIX ID` lease",
                    n + 1
                ));
            }
        }
    }
    Ok(entries)
}

fn encode(entries: &[(Cidr, String)]) -> Vec<u8> {
    let mut out = String::new();
    for (addr, id) in entries {
        out.push_str(&format!("{addr} {id}\n"));
    }
    out.into_bytes()
}

/// The lowest host address of `subnet` that is neither its own (the bridge's) nor leased.
fn lowest_free(subnet: Cidr, leased: &[(Cidr, String)]) -> Option<Ipv4Addr> {
    let mut taken: Vec<Ipv4Addr> = leased.iter().map(|(c, _)| c.addr).collect();
    taken.sort_unstable();
    subnet
        .hosts()
        .find(|a| *a != subnet.addr && taken.binary_search(a).is_err())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn leases_round_trip_and_refuse_foreign_text() {
        let entries = vec![
            (c("10.88.0.2/16"), "web".to_string()),
            (c("10.0.0.1/24"), "0a1b2c3d4e5f".to_string()),
        ];
        let text = encode(&entries);
        assert_eq!(text, b"10.88.0.2/16 web\n10.0.0.1/24 0a1b2c3d4e5f\n");
        assert_eq!(parse(&text).unwrap(), entries);
        assert_eq!(parse(b"").unwrap(), vec![]);
        assert!(parse(b"10.88.0.2/16\n").unwrap_err().contains("line 1"));
        assert!(parse(b"10.88.0.2 web\n").unwrap_err().contains("line 1"));
        let two = parse(b"10.88.0.2/16 web\nhello world\n").unwrap_err();
        assert!(two.contains("line 2"), "{two}");
        assert!(parse(b"10.88.0.2/16 ../etc\n").is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn the_lowest_free_address_skips_the_bridge_and_the_leased() {
        let subnet = c("10.88.0.1/16");
        assert_eq!(lowest_free(subnet, &[]), Some(Ipv4Addr::new(10, 88, 0, 2)));
        let leased = vec![
            (c("10.88.0.2/16"), "a".to_string()),
            (c("10.88.0.4/16"), "b".to_string()),
        ];
        let third = lowest_free(subnet, &leased);
        assert_eq!(third, Some(Ipv4Addr::new(10, 88, 0, 3)));
        // A /30 has two hosts: the bridge's and one container's.
        let small = c("10.77.0.1/30");
        let one = vec![(c("10.77.0.2/30"), "a".to_string())];
        assert_eq!(lowest_free(small, &[]), Some(Ipv4Addr::new(10, 77, 0, 2)));
        assert_eq!(lowest_free(small, &one), None);
        // The bridge need not be the first host.
        let mid = c("10.77.0.2/30");
        assert_eq!(lowest_free(mid, &[]), Some(Ipv4Addr::new(10, 77, 0, 1)));
    }
}

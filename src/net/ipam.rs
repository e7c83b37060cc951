//! Address leases: `ROOT/.leases`, one line per container: `bridge ADDRESS/PREFIX ID`, its
//! address on the bridge, or `veth ADDRESS/PREFIX ID`, a veth pair's host end, which claims the
//! whole subnet.
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
pub const TMP_FILE: &str = ".leases.tmp";

/// One lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// An address on the bridge (else a veth pair's subnet).
    pub bridge: bool,
    pub cidr: Cidr,
    pub id: String,
}

/// The leases, read under the lock; the lock goes when this is dropped.
pub struct Leases {
    root: PathBuf,
    _lock: OwnedFd,
    entries: Vec<Lease>,
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

    /// The veth pair whose subnet overlaps `subnet`, if one does.
    pub fn veth_overlapping(&self, subnet: Cidr) -> Option<&Lease> {
        self.entries
            .iter()
            .find(|l| !l.bridge && l.cidr.overlaps(subnet))
    }

    /// Leases the lowest free host address of the bridge's `subnet` (never the bridge's own)
    /// to `id`.
    pub fn take(&mut self, subnet: Cidr, id: &str) -> Result<Cidr> {
        if let Some(l) = self.veth_overlapping(subnet) {
            return Err(Error::new(
                format!("the network bridge:{subnet}"),
                format!(
                    "the subnet overlaps {}, leased to the veth pair of the container {:?}",
                    l.cidr.subnet(),
                    l.id
                ),
            )
            .hint("give the bridge another subnet, e.g. bridge:10.89.0.1/16"));
        }
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
        let cidr = subnet.with_addr(addr);
        self.entries.push(Lease {
            bridge: true,
            cidr,
            id: id.to_string(),
        });
        self.save()?;
        Ok(cidr)
    }

    /// Leases the whole subnet of a veth pair's host end `host` to `id`; refused when a lease
    /// overlaps it (`what`: the subject of that error).
    pub fn take_subnet(&mut self, host: Cidr, id: &str, what: &str) -> Result<()> {
        if let Some(other) = self.entries.iter().find(|l| l.cidr.overlaps(host)) {
            return Err(Error::new(
                what,
                format!(
                    "the subnet {} overlaps {}, leased to the container {:?}",
                    host.subnet(),
                    other.cidr.subnet(),
                    other.id
                ),
            )
            .hint("give the pair other addresses, e.g. veth:10.0.1.1/24,10.0.1.2/24, or use the bridge"));
        }
        self.entries.push(Lease {
            bridge: false,
            cidr: host,
            id: id.to_string(),
        });
        self.save()
    }

    /// Returns every lease `keep` refuses; saves when one went.
    pub fn release_unless(&mut self, keep: impl Fn(&str) -> bool) -> Result<Vec<Lease>> {
        let (kept, gone): (Vec<_>, Vec<_>) = self.entries.drain(..).partition(|l| keep(&l.id));
        self.entries = kept;
        if !gone.is_empty() {
            self.save()?;
        }
        Ok(gone)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes the temporary file of a writer killed between its write and its rename (gc);
    /// under the lock, no writer is at work. Returns whether there was one.
    pub fn remove_leftover(&self) -> Result<bool> {
        let tmp = self.root.join(TMP_FILE);
        match fs::unlink(&c(&tmp)?) {
            Ok(()) => Ok(true),
            Err(Errno::ENOENT) => Ok(false),
            Err(e) => Err(Error::sys(format!("remove {tmp:?}"), e)),
        }
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

fn parse(text: &[u8]) -> std::result::Result<Vec<Lease>, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not text: not a lease file nsbox writes")?;
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut words = line.split(' ');
        let lease = match (words.next(), words.next(), words.next(), words.next()) {
            (Some(kind @ ("bridge" | "veth")), Some(cidr), Some(id), None) => {
                match (Cidr::parse(cidr), crate::spec::check_name("id", id)) {
                    (Ok(cidr), Ok(())) => Some(Lease {
                        bridge: kind == "bridge",
                        cidr,
                        id: id.to_string(),
                    }),
                    _ => None,
                }
            }
            _ => None,
        };
        match lease {
            Some(l) => entries.push(l),
            None => {
                return Err(format!(
                    "line {}: {line:?} is not a `bridge|veth ADDRESS/PREFIX ID` lease",
                    n + 1
                ));
            }
        }
    }
    Ok(entries)
}

fn encode(entries: &[Lease]) -> Vec<u8> {
    let mut out = String::new();
    for l in entries {
        let kind = if l.bridge { "bridge" } else { "veth" };
        out.push_str(&format!("{kind} {} {}\n", l.cidr, l.id));
    }
    out.into_bytes()
}

/// The lowest host address of `subnet` that is neither its own (the bridge's) nor leased.
fn lowest_free(subnet: Cidr, leased: &[Lease]) -> Option<Ipv4Addr> {
    let mut taken: Vec<Ipv4Addr> = leased.iter().map(|l| l.cidr.addr).collect();
    crate::sort::sort(&mut taken);
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

    fn lease(bridge: bool, cidr: &str, id: &str) -> Lease {
        Lease {
            bridge,
            cidr: c(cidr),
            id: id.to_string(),
        }
    }

    #[test]
    fn leases_round_trip_and_refuse_foreign_text() {
        let entries = vec![
            lease(true, "10.88.0.2/16", "web"),
            lease(false, "10.0.0.1/24", "0a1b2c3d4e5f"),
        ];
        let text = encode(&entries);
        assert_eq!(
            text,
            b"bridge 10.88.0.2/16 web\nveth 10.0.0.1/24 0a1b2c3d4e5f\n"
        );
        assert_eq!(parse(&text).unwrap(), entries);
        assert_eq!(parse(b"").unwrap(), vec![]);
        assert!(
            parse(b"bridge 10.88.0.2/16\n")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(parse(b"10.88.0.2/16 web\n").unwrap_err().contains("line 1"));
        assert!(
            parse(b"wifi 10.88.0.2/16 web\n")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(
            parse(b"veth 10.0.0.1/24 web x\n")
                .unwrap_err()
                .contains("line 1")
        );
        let two = parse(b"bridge 10.88.0.2/16 web\nhello world\n").unwrap_err();
        assert!(two.contains("line 2"), "{two}");
        assert!(parse(b"bridge 10.88.0.2/16 ../etc\n").is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn the_lowest_free_address_skips_the_bridge_and_the_leased() {
        let subnet = c("10.88.0.1/16");
        assert_eq!(lowest_free(subnet, &[]), Some(Ipv4Addr::new(10, 88, 0, 2)));
        let leased = vec![
            lease(true, "10.88.0.2/16", "a"),
            lease(true, "10.88.0.4/16", "b"),
        ];
        let third = lowest_free(subnet, &leased);
        assert_eq!(third, Some(Ipv4Addr::new(10, 88, 0, 3)));
        // A /30 has two hosts: the bridge's and one container's.
        let small = c("10.77.0.1/30");
        let one = vec![lease(true, "10.77.0.2/30", "a")];
        assert_eq!(lowest_free(small, &[]), Some(Ipv4Addr::new(10, 77, 0, 2)));
        assert_eq!(lowest_free(small, &one), None);
        // The bridge need not be the first host.
        let mid = c("10.77.0.2/30");
        assert_eq!(lowest_free(mid, &[]), Some(Ipv4Addr::new(10, 77, 0, 1)));
    }
}

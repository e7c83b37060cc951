//! rtnetlink payloads, byte by byte: a fixed header (ifinfomsg, ifaddrmsg, rtmsg), then
//! attributes (`struct rtattr`: u16 length, u16 type, the value, padded to 4 bytes), nested
//! ones holding attributes of their own. neli frames them (nlmsghdr) and carries them; writing
//! them here keeps each message readable next to rtnetlink(7), and the binary small.

/// Attributes are aligned to 4 bytes (RTA_ALIGN).
const ALIGN: usize = 4;

fn pad(len: usize) -> usize {
    (len + ALIGN - 1) & !(ALIGN - 1)
}

/// A payload being written.
#[derive(Debug, Default, Clone)]
pub struct Message {
    bytes: Vec<u8>,
}

impl Message {
    /// `struct ifinfomsg`: family, padding, type, index, flags, change (16 bytes).
    pub fn ifinfo(index: i32, flags: u32, change: u32) -> Message {
        let mut m = Message::default();
        m.bytes.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
        m.bytes.extend_from_slice(&index.to_ne_bytes());
        m.bytes.extend_from_slice(&flags.to_ne_bytes());
        m.bytes.extend_from_slice(&change.to_ne_bytes());
        m
    }

    /// `struct ifaddrmsg` for IPv4: family, prefix length, flags, scope, index (8 bytes).
    pub fn ifaddr(prefix: u8, index: u32) -> Message {
        let mut m = Message::default();
        let scope = libc::RT_SCOPE_UNIVERSE;
        m.bytes
            .extend_from_slice(&[libc::AF_INET as u8, prefix, 0, scope]);
        m.bytes.extend_from_slice(&index.to_ne_bytes());
        m
    }

    /// `struct rtmsg` for an IPv4 route in the main table (12 bytes).
    pub fn rtmsg(dst_len: u8, protocol: u8, scope: u8, kind: u8) -> Message {
        let mut m = Message::default();
        m.bytes.extend_from_slice(&[
            libc::AF_INET as u8,
            dst_len,
            0, // src_len
            0, // tos
            libc::RT_TABLE_MAIN,
            protocol,
            scope,
            kind,
        ]);
        m.bytes.extend_from_slice(&0u32.to_ne_bytes()); // flags
        m
    }

    /// An attribute with `value`.
    pub fn attr(&mut self, kind: u16, value: &[u8]) -> &mut Self {
        let len = 4 + value.len();
        self.bytes.extend_from_slice(&(len as u16).to_ne_bytes());
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
        self.bytes.extend_from_slice(value);
        self.bytes.resize(pad(self.bytes.len()), 0);
        self
    }

    /// A string attribute (NUL-terminated, as the kernel reads names).
    pub fn str(&mut self, kind: u16, value: &str) -> &mut Self {
        let mut v = value.as_bytes().to_vec();
        v.push(0);
        self.attr(kind, &v)
    }

    pub fn u32(&mut self, kind: u16, value: u32) -> &mut Self {
        self.attr(kind, &value.to_ne_bytes())
    }

    /// A nested attribute (NLA_F_NESTED): `fill` writes what it holds (a header struct,
    /// attributes).
    pub fn nest(&mut self, kind: u16, fill: impl FnOnce(&mut Message)) -> &mut Self {
        let mut inner = Message::default();
        fill(&mut inner);
        self.attr(kind | libc::NLA_F_NESTED as u16, &inner.bytes)
    }

    /// Raw bytes (a header struct inside a nested attribute).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(bytes);
        self
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// The attributes that follow a header of `header` bytes in `payload`: (type, value) pairs.
/// A malformed length ends the walk (the kernel never sends one).
pub fn attrs(payload: &[u8], header: usize) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = payload.get(header..).unwrap_or_default();
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        // NLA_F_NESTED and NLA_F_NET_BYTEORDER live in the type's top bits.
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
        if len < 4 || len > rest.len() {
            return None;
        }
        let value = &rest[4..len];
        rest = rest.get(pad(len)..).unwrap_or_default();
        Some((kind, value))
    })
}

/// The text of a NUL-terminated attribute.
pub fn text(value: &[u8]) -> String {
    let end = value.iter().position(|b| *b == 0).unwrap_or(value.len());
    String::from_utf8_lossy(&value[..end]).into_owned()
}

/// A native-endian i32/u32 at `at`.
pub fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_nested_with_their_length() {
        let mut m = Message::ifinfo(0, libc::IFF_UP as u32, libc::IFF_UP as u32);
        m.str(libc::IFLA_IFNAME, "nsb1")
            .nest(libc::IFLA_LINKINFO, |li| {
                li.str(libc::IFLA_INFO_KIND, "veth");
            })
            .u32(libc::IFLA_MASTER, 7);
        let b = m.bytes();
        assert_eq!(b.len(), 16 + 12 + (4 + 12) + 8);
        assert_eq!(u32_at(b, 8), Some(libc::IFF_UP as u32));
        let got: Vec<(u16, Vec<u8>)> = attrs(b, 16).map(|(k, v)| (k, v.to_vec())).collect();
        assert_eq!(got[0], (libc::IFLA_IFNAME, b"nsb1\0".to_vec()));
        assert_eq!(got[1].0, libc::IFLA_LINKINFO);
        let inner: Vec<_> = attrs(&got[1].1, 0).collect();
        assert_eq!(inner, vec![(libc::IFLA_INFO_KIND, &b"veth\0"[..])]);
        assert_eq!(got[2], (libc::IFLA_MASTER, 7u32.to_ne_bytes().to_vec()));
        assert_eq!(text(&got[0].1), "nsb1");
    }

    #[test]
    fn a_bad_length_ends_the_walk() {
        let mut bytes = vec![0u8; 16];
        bytes.extend_from_slice(&[200, 0, 3, 0, b'x', 0, 0, 0]);
        assert_eq!(attrs(&bytes, 16).count(), 0);
        assert_eq!(attrs(&bytes, 64).count(), 0);
    }

    #[test]
    fn header_structs_have_the_kernels_sizes() {
        assert_eq!(Message::ifinfo(1, 0, 0).bytes().len(), 16);
        assert_eq!(Message::ifaddr(24, 2).bytes().len(), 8);
        assert_eq!(Message::rtmsg(0, 3, 0, 1).bytes().len(), 12);
        assert_eq!(u32_at(Message::ifaddr(24, 2).bytes(), 4), Some(2));
    }
}

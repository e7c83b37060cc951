//! The container's /etc/hosts and /etc/hostname: written in its state directory and
//! bind-mounted over the image's files, so the rootfs on disk is never changed.

use super::cidr::Cidr;

/// The files, by their name in the state directory and their path in the container.
pub const FILES: [(&str, &str); 2] = [("hosts", "/etc/hosts"), ("hostname", "/etc/hostname")];

/// `/etc/hosts`: localhost, and the container's name on its address.
pub fn hosts(hostname: &str, address: Cidr) -> String {
    format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{}\t{hostname}\n",
        address.addr
    )
}

/// `/etc/hostname`.
pub fn hostname(hostname: &str) -> String {
    format!("{hostname}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_names_the_container_on_its_address() {
        let a = Cidr::parse("10.88.0.7/16").unwrap();
        assert_eq!(
            hosts("web", a),
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.88.0.7\tweb\n"
        );
        assert_eq!(hostname("web"), "web\n");
    }
}

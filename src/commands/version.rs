//! `nsbox version`: the version, git revision, target and profile this binary was built from.

pub fn text() -> String {
    format!(
        "nsbox {} (git {}, {}, {} build)\n",
        env!("CARGO_PKG_VERSION"),
        env!("NSBOX_GIT_REV"),
        env!("NSBOX_TARGET"),
        env!("NSBOX_PROFILE")
    )
}

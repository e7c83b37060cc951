//! config.json (runtime-spec 1.0 to 1.2, Linux) into nsbox's Spec. Unknown members are
//! ignored, as the spec requires; a member nsbox knows and cannot honour is an error that names
//! it. The resources, mounts and seccomp parts have files of their own.

use super::field::Field;
use super::json;
use crate::error::{Error, Result};
use crate::process::caps::{self, Caps};
use crate::spec::{Extra, Net, Process, Rlimit, Rootfs, Security, Spec, User};
use std::path::{Path, PathBuf};

/// A bundle's config, as the runtime uses it.
pub struct Bundle {
    pub spec: Spec,
    /// The config's annotations (an object of strings), as written.
    pub annotations: json::Value,
    /// The config's hooks as written (kept in the record for `start` and `delete`).
    pub hooks: Option<json::Value>,
}

/// Reads `bundle/config.json` into a Spec for container `id`.
pub fn load(bundle: &Path, id: &str, state_root: &Path) -> Result<Bundle> {
    let path = bundle.join("config.json");
    let text = crate::sys::fs::read_file(&crate::sys::cpath(&path)?).map_err(|e| {
        Error::sys(format!("bundle {bundle:?}: cannot read config.json"), e).hint_on(
            syscalls::Errno::ENOENT,
            "a bundle is a directory with config.json and the rootfs: 'nsbox spec' writes a config.json",
        )
    })?;
    let doc = json::parse(&text).map_err(|e| {
        Error::new(
            format!("{path:?} line {} column {}", e.line, e.column),
            format!("not valid JSON: {}", e.why),
        )
    })?;
    let root = Field::root("config.json", &doc);
    from_config(&root, bundle, id, state_root)
}

pub fn from_config(c: &Field<'_>, bundle: &Path, id: &str, state_root: &Path) -> Result<Bundle> {
    let version = c.need("ociVersion")?;
    let v = version.str()?;
    if v.split('.').next() != Some("1") {
        return Err(version.error(format!("version {v:?} is not one nsbox reads (1.0 to 1.2)")));
    }
    for unsupported in ["solaris", "windows", "vm", "zos"] {
        if let Some(f) = c.get(unsupported) {
            return Err(f.unsupported("nsbox runs Linux containers only"));
        }
    }
    let root = c.need("root")?;
    let root_path = root.need("path")?;
    let rootfs = bundle.join(root_path.str()?);
    let read_only = match root.get("readonly") {
        Some(f) => f.bool()?,
        None => false,
    };
    let process = c.need("process")?;
    let mut extra = Extra {
        keep_ping_group_range: true,
        make_mount_points: true,
        image_etc: true,
        ..Extra::default()
    };
    let process = process_of(&process)?;
    let hostname = match c.get("hostname") {
        Some(f) => f.str()?.to_string(),
        None => String::new(),
    };
    if let Some(f) = c.get("domainname") {
        extra.domainname = Some(f.str()?.to_string());
    }
    let mut spec = Spec {
        id: id.to_string(),
        hostname,
        rootfs: Rootfs::Dir(rootfs),
        process,
        mounts: match c.get("mounts") {
            Some(m) => super::mounts::parse(&m)?,
            None => Vec::new(),
        },
        read_only,
        net: Net::Host,
        chroot: false,
        limits: Default::default(),
        masked_paths: Vec::new(),
        readonly_paths: Vec::new(),
        init: false,
        userns: None,
        // From `linux.namespaces`, below.
        namespaces: Vec::new(),
        state_root: state_root.to_path_buf(),
        extra,
    };
    let linux = c.need("linux")?;
    super::linux::apply(&linux, &mut spec)?;
    let annotations = match c.get("annotations") {
        Some(a) => {
            for (_, v) in a.members()? {
                v.str()?;
            }
            a.value.clone()
        }
        None => json::Value::Obj(Vec::new()),
    };
    let hooks = match c.get("hooks") {
        Some(h) => {
            spec.extra.hooks = super::hooks::parse(&h)?;
            spec.extra.hooks.as_ref().map(|_| h.value.clone())
        }
        None => None,
    };
    Ok(Bundle {
        spec,
        annotations,
        hooks,
    })
}

/// `process`: what runs, as whom, with which privileges.
pub fn process_of(p: &Field<'_>) -> Result<Process> {
    let terminal = match p.get("terminal") {
        Some(t) => t.bool()?,
        None => false,
    };
    let mut console_size = None;
    if terminal && let Some(size) = p.get("consoleSize") {
        let dim = |k| -> Result<u16> {
            let f = size.need(k)?;
            u16::try_from(f.u32()?).map_err(|_| f.error("must be under 65536"))
        };
        console_size = Some((dim("height")?, dim("width")?));
    }
    let args = p.need("args")?;
    let command: Vec<std::ffi::OsString> = args.strs()?.into_iter().map(Into::into).collect();
    if command.is_empty() {
        return Err(args.error("the process needs at least its program"));
    }
    let env = match p.get("env") {
        Some(e) => e.strs()?.into_iter().map(String::from).collect(),
        None => Vec::new(),
    };
    let cwd = p.need("cwd")?;
    let workdir = cwd.str()?.to_string();
    if !workdir.starts_with('/') {
        return Err(cwd.error("must be an absolute path"));
    }
    let mut user = User { uid: 0, gid: 0 };
    let (mut umask, mut groups) = (None, Vec::new());
    if let Some(u) = p.get("user") {
        if let Some(f) = u.get("uid") {
            user.uid = f.u32()?;
        }
        if let Some(f) = u.get("gid") {
            user.gid = f.u32()?;
        }
        if let Some(f) = u.get("umask") {
            umask = Some(f.u32()? & 0o777);
        }
        if let Some(f) = u.get("additionalGids") {
            groups = f.items()?.iter().map(|g| g.u32()).collect::<Result<_>>()?;
        }
        if let Some(f) = u.get("username") {
            return Err(f.unsupported("give uid and gid (nsbox does not read the image's passwd)"));
        }
    }
    for lsm in ["apparmorProfile", "selinuxLabel"] {
        if let Some(f) = p.get(lsm)
            && !f.str()?.is_empty()
        {
            return Err(f.unsupported("nsbox applies no LSM profile"));
        }
    }
    for other in ["scheduler", "ioPriority", "execCPUAffinity"] {
        if let Some(f) = p.get(other) {
            return Err(f.unsupported("nsbox does not set it"));
        }
    }
    let mut rlimits = Vec::new();
    if let Some(r) = p.get("rlimits") {
        for item in r.items()? {
            let kind = item.need("type")?;
            let resource = rlimit_number(kind.str()?)
                .ok_or_else(|| kind.error("not a resource limit Linux has"))?;
            rlimits.push(Rlimit {
                resource,
                soft: item.need("soft")?.u64()?,
                hard: item.need("hard")?.u64()?,
            });
        }
    }
    let mut oom_score_adj = None;
    if let Some(f) = p.get("oomScoreAdj") {
        let adj = f.i64()?;
        if !(-1000..=1000).contains(&adj) {
            return Err(f.error("must be from -1000 to 1000"));
        }
        oom_score_adj = Some(adj as i32);
    }
    let no_new_privs = match p.get("noNewPrivileges") {
        Some(f) => f.bool()?,
        None => false,
    };
    let caps = capabilities(p.get("capabilities").as_ref())?;
    Ok(Process {
        command,
        command_defaulted: false,
        env,
        workdir,
        user,
        names: None,
        groups,
        umask,
        security: Security {
            caps,
            named: Caps(0),
            no_new_privs,
        },
        seccomp: None,
        rlimits,
        oom_score_adj,
        personality: None,
        tty: terminal,
        console_size,
    })
}

/// The five sets (absent ones empty).
fn capabilities(c: Option<&Field<'_>>) -> Result<crate::spec::CapSets> {
    let Some(c) = c else {
        return Ok(crate::spec::CapSets::native(Caps(0), 0));
    };
    let set = |name: &str| -> Result<Caps> {
        let Some(f) = c.get(name) else {
            return Ok(Caps(0));
        };
        let mut caps = Caps(0);
        for (i, n) in f.strs()?.into_iter().enumerate() {
            let bare = n.strip_prefix("CAP_").unwrap_or(n);
            match caps::NAMES.iter().position(|x| *x == bare) {
                Some(bit) => caps = caps.with(bit as u32),
                None => return Err(f.error(format!("[{i}]: {n} is not a capability nsbox knows"))),
            }
        }
        Ok(caps)
    };
    Ok(crate::spec::CapSets {
        bounding: set("bounding")?,
        effective: set("effective")?,
        permitted: set("permitted")?,
        inheritable: set("inheritable")?,
        ambient: set("ambient")?,
    })
}

fn rlimit_number(name: &str) -> Option<u32> {
    const NAMES: [&str; 16] = [
        "RLIMIT_CPU",
        "RLIMIT_FSIZE",
        "RLIMIT_DATA",
        "RLIMIT_STACK",
        "RLIMIT_CORE",
        "RLIMIT_RSS",
        "RLIMIT_NPROC",
        "RLIMIT_NOFILE",
        "RLIMIT_MEMLOCK",
        "RLIMIT_AS",
        "RLIMIT_LOCKS",
        "RLIMIT_SIGPENDING",
        "RLIMIT_MSGQUEUE",
        "RLIMIT_NICE",
        "RLIMIT_RTPRIO",
        "RLIMIT_RTTIME",
    ];
    NAMES.iter().position(|n| *n == name).map(|i| i as u32)
}

/// The bundle's path, absolute (the caller's cwd when not given).
pub fn bundle_dir(given: Option<&PathBuf>, cwd: &Path) -> PathBuf {
    let joined = match given {
        Some(b) if b.is_absolute() => b.clone(),
        Some(b) => cwd.join(b),
        None => cwd.to_path_buf(),
    };
    // `/b/./x/` is `/b/x` (what `state` shows, and the hooks read); `..` stays as written.
    joined.components().collect()
}

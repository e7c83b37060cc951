//! The container's cgroup directories on the host: created with their limits before clone,
//! read for the out-of-memory count after the container ended, then removed with a bounded
//! retry. Each path is recorded in the state before it is created, so `nsbox gc` can remove
//! what a killed nsbox left.

use super::join::{Join, ViewMount};
use super::limits::{Controller, Limits, Version};
use super::plan::Planned;
use super::settings::Inherited;
use crate::error::{Context, Error, Result, Topic};
use crate::state::State;
use crate::sys::{self, fs, process};
use crate::trace;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;
use syscalls::Errno;

/// The parent of every container cgroup, below nsbox's own cgroup: shared by the containers
/// that run, removed by the last one to go.
const PARENT: &str = "nsbox";
/// How long teardown waits for a cgroup to empty before it gives up and says why.
const REMOVE_PATIENCE: Duration = Duration::from_secs(2);

/// The cgroups of one running container.
pub struct Cgroups {
    /// Created directories, in creation order.
    dirs: Vec<PathBuf>,
    /// The v2 directory, opened for clone3's CLONE_INTO_CGROUP.
    v2_dir: Option<OwnedFd>,
    /// Each v1 directory's `tasks` file, opened for the child to write "0" to.
    tasks: Vec<OwnedFd>,
    /// The memory limit and the file that counts out-of-memory kills.
    memory: Option<(u64, PathBuf)>,
    view: Vec<ViewMount>,
    /// The v2 directory's device rules, attached once the child is cloned (the verifier's
    /// work overlaps the child's; it runs nothing of the container's before the go).
    devices: Option<(PathBuf, Vec<(bool, String)>)>,
}

use crate::sys::cpath as c;

use crate::sys::read_text as read;

fn write(path: &Path, value: &str) -> std::result::Result<(), Errno> {
    let p = sys::cstr(path.as_os_str().as_encoded_bytes())?;
    fs::write_file_at(libc::AT_FDCWD, &p, value.as_bytes())
}

/// mkdir for a shared parent: one that exists already is fine.
fn ensure_dir(path: &Path) -> Result<()> {
    match fs::mkdirat(libc::AT_FDCWD, &c(path)?, 0o755) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(mkdir_error(path, e)),
    }
}

fn mkdir_error(path: &Path, e: Errno) -> Error {
    let hint = "the cgroup filesystem must be writable by nsbox: run it as root on the host, or inside a container give it a writable /sys/fs/cgroup";
    Error::sys(format!("create cgroup {path:?}"), e)
        .hint_on(Errno::EACCES, hint)
        .hint_on(Errno::EROFS, hint)
        .hint_on(Errno::EPERM, hint)
}

/// `+pids +memory`: what cgroup.subtree_control is given to enable the planned controllers.
fn enable_line(p: &Planned) -> String {
    let names: Vec<String> = p
        .controllers
        .iter()
        .filter(|c| **c != Controller::Devices)
        .map(|c| format!("+{}", c.v2_name()))
        .collect();
    names.join(" ")
}

/// The v2 parent: `<base>/nsbox`, with the needed controllers enabled in `<base>` and in it.
/// `<base>` is nsbox's own cgroup when v2 allows, else the nearest ancestor that does: v2
/// forbids enabling controllers in a cgroup that holds processes (nsbox's own always holds
/// nsbox, unless it is the root), and a controller can be enabled only where the parent
/// offers it. So the container stays as close to the caller's cgroup as the kernel permits.
fn v2_parent(p: &Planned) -> Result<PathBuf> {
    let h = &p.hierarchy;
    let enable = enable_line(p);
    let subtree = |dir: &Path| dir.join("cgroup.subtree_control");
    let mut base = h.own.clone();
    while !enable.is_empty() {
        match write(&subtree(&base), &enable) {
            Ok(()) => break,
            // EBUSY: it holds processes; ENOENT: its parent does not offer the controller.
            Err(e @ (Errno::EBUSY | Errno::ENOENT)) if base != h.mount => {
                trace::note(|| {
                    format!(
                        "cannot enable {enable} in {base:?} ({}); trying its parent",
                        crate::error::errno_text(e)
                    )
                });
                base.pop();
            }
            Err(e) => {
                return Err(
                    Error::sys(format!("enable {enable} in {:?}", subtree(&base)), e).hint_on(
                        Errno::EBUSY,
                        "this cgroup holds processes, and cgroup v2 allows controllers only for \
                         cgroups without any: move them into a leaf (mkdir leaf; echo PID > \
                         leaf/cgroup.procs) and run nsbox from there",
                    ),
                );
            }
        }
    }
    let parent = base.join(PARENT);
    ensure_dir(&parent)?;
    if !enable.is_empty() {
        write(&subtree(&parent), &enable)
            .map_err(|e| Error::sys(format!("enable {enable} in {:?}", subtree(&parent)), e))?;
    }
    Ok(parent)
}

/// A v1 cpuset's CPUs and memory nodes, as a new child copies them.
type Cpuset = [String; 2];

/// The v1 parent `<own>/nsbox`. Returns it and, in the cpuset hierarchy, its CPUs and memory
/// nodes (a new v1 cpuset starts with neither, and refuses tasks until both are set).
fn v1_parent(p: &Planned) -> Result<(PathBuf, Cpuset)> {
    let parent = p.hierarchy.own.join(PARENT);
    ensure_dir(&parent)?;
    let mut up = Cpuset::default();
    if p.controllers.contains(&Controller::Cpuset) {
        for (file, out) in ["cpuset.cpus", "cpuset.mems"].into_iter().zip(&mut up) {
            let mut value = read(&parent.join(file))?.trim().to_string();
            if value.is_empty() {
                value = read(&p.hierarchy.own.join(file))?.trim().to_string();
                write(&parent.join(file), &value).map_err(|e| {
                    Error::sys(format!("write {value:?} to {:?}", parent.join(file)), e)
                })?;
            }
            *out = value;
        }
    }
    Ok((parent, up))
}

/// The parent for an OCI `cgroupsPath` (`/libpod_parent/libpod-ID`: relative to each
/// hierarchy's root; a relative path is taken the same way, as runc does), made with its
/// ancestors as needed (they stay: they are the caller's, shared by its containers), with the
/// controllers enabled on the way down (v2) or the cpuset copied down (v1). Returns the parent
/// and the leaf's name.
fn placed_parent(p: &Planned, place: &Path) -> Result<(PathBuf, String, Cpuset)> {
    let rel = place.strip_prefix("/").unwrap_or(place);
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::new(format!("cgroup path {place:?}"), "it names no cgroup"))?;
    let mut dir = p.hierarchy.mount.clone();
    let enable = enable_line(p);
    let cpuset = p.controllers.contains(&Controller::Cpuset) && p.version == Version::V1;
    let mut up = Cpuset::default();
    let parts: Vec<_> = rel
        .parent()
        .map(|r| r.components().collect())
        .unwrap_or_default();
    for part in parts {
        if p.version == Version::V2 && !enable.is_empty() {
            let file = dir.join("cgroup.subtree_control");
            write(&file, &enable)
                .map_err(|e| Error::sys(format!("enable {enable} in {file:?}"), e))?;
        }
        dir.push(part);
        ensure_dir(&dir)?;
        if cpuset {
            for (file, out) in ["cpuset.cpus", "cpuset.mems"].into_iter().zip(&mut up) {
                let mut value = read(&dir.join(file))?.trim().to_string();
                if value.is_empty() {
                    let above = dir.parent().unwrap_or(&dir).join(file);
                    value = read(&above)?.trim().to_string();
                    write(&dir.join(file), &value).map_err(|e| {
                        Error::sys(format!("write {value:?} to {:?}", dir.join(file)), e)
                    })?;
                }
                *out = value;
            }
        }
    }
    if p.version == Version::V2 && !enable.is_empty() {
        let file = dir.join("cgroup.subtree_control");
        write(&file, &enable).map_err(|e| Error::sys(format!("enable {enable} in {file:?}"), e))?;
    }
    if cpuset && up[1].is_empty() {
        for (file, out) in ["cpuset.cpus", "cpuset.mems"].into_iter().zip(&mut up) {
            *out = read(&dir.join(file))?.trim().to_string();
        }
    }
    Ok((dir, name, up))
}

impl Cgroups {
    /// Creates the container's directories (`planned`, from `cgroup::prepare`), writes the
    /// limits, and opens what placing the child needs. On failure nothing stays behind.
    /// `place`: the OCI cgroupsPath, else each goes under nsbox's own cgroup, named `id`.
    pub fn create(
        planned: &[Planned],
        limits: &Limits,
        id: &str,
        place: Option<&Path>,
        state: &mut State,
    ) -> Result<Cgroups> {
        trace::step(|| {
            format!(
                "create the container's cgroups ({} directories)",
                planned.len()
            )
        });
        let mut parents = Vec::new();
        let mut paths = Vec::new();
        for p in planned {
            let (parent, name, up) = match (place, p.version) {
                (Some(place), _) => placed_parent(p, place)?,
                (None, Version::V2) => (v2_parent(p)?, id.to_string(), Cpuset::default()),
                (None, Version::V1) => {
                    let (parent, up) = v1_parent(p)?;
                    (parent, id.to_string(), up)
                }
            };
            paths.push(parent.join(name));
            parents.push((parent, up));
        }
        state.record_cgroups(&paths)?;
        let mut cgroups = Cgroups {
            dirs: Vec::new(),
            v2_dir: None,
            tasks: Vec::new(),
            memory: None,
            view: Vec::new(),
            devices: None,
        };
        for ((p, (_, up)), path) in planned.iter().zip(&parents).zip(paths) {
            let up = Inherited {
                cpus: &up[0],
                mems: &up[1],
            };
            if let Err(e) = cgroups.add(p, limits, up, path, place.is_some()) {
                if !cgroups.remove() {
                    state.keep(); // the record lets `nsbox gc` finish
                }
                return Err(e);
            }
        }
        Ok(cgroups)
    }

    fn add(
        &mut self,
        p: &Planned,
        limits: &Limits,
        up: Inherited,
        path: PathBuf,
        placed: bool,
    ) -> Result<()> {
        let cpath = c(&path)?;
        let mut made = fs::mkdirat(libc::AT_FDCWD, &cpath, 0o755);
        for _ in 0..3 {
            if made != Err(Errno::ENOENT) {
                break;
            }
            // The last container of another nsbox removed the shared parent meanwhile.
            match p.version {
                _ if placed => break,
                Version::V2 => drop(v2_parent(p)?),
                Version::V1 => drop(v1_parent(p)?),
            }
            made = fs::mkdirat(libc::AT_FDCWD, &cpath, 0o755);
        }
        made.map_err(|e| match e {
            Errno::EEXIST if fs::file_type(&cpath).ok() != Some(libc::S_IFDIR) => Error::new(
                format!("create cgroup {path:?}"),
                "the container id is the name of a cgroup control file",
            )
            .about(Topic::Name)
            .hint("choose another name"),
            Errno::EEXIST => Error::new(
                format!("create cgroup {path:?}"),
                "it exists already: a container with this id runs (from another state root) \
                 or crashed",
            )
            .about(Topic::Name)
            .hint(
                "choose another name; 'nsbox gc --root DIR' removes what crashed containers left",
            ),
            e => mkdir_error(&path, e),
        })?;
        self.dirs.push(path.clone());
        let enable = enable_line(p);
        if p.version == Version::V2 && !enable.is_empty() {
            // Enabled once more, now that our directory holds the parent: another nsbox may
            // have removed the parent (its last container) and made it anew without them.
            let file = path.with_file_name("cgroup.subtree_control");
            write(&file, &enable)
                .map_err(|e| Error::sys(format!("enable {enable} in {file:?}"), e))?;
        }
        for controller in &p.controllers {
            for s in limits.settings(*controller, p.version, up) {
                let mut written = write(&path.join(&s.file), &s.value);
                // v1 weights were CFQ's files; with BFQ (kernels since 5.0) they are its own.
                if written == Err(Errno::ENOENT) && s.file.starts_with("blkio.weight") {
                    let bfq = s.file.replacen("blkio.", "blkio.bfq.", 1);
                    written = write(&path.join(&bfq), &s.value);
                }
                match written {
                    Ok(()) => {}
                    Err(Errno::ENOENT) if s.optional => trace::note(|| {
                        format!(
                            "no {} here (swap accounting is off): swap is not limited",
                            s.file
                        )
                    }),
                    Err(e) => return Err(setting_error(&path, &s.file, &s.value, *controller, e)),
                }
            }
            if *controller == Controller::Memory {
                let events = match p.version {
                    Version::V2 => "memory.events",
                    Version::V1 => "memory.oom_control",
                };
                self.memory = limits.memory.map(|m| (m, path.join(events)));
            }
        }
        let dir_flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
        let (fstype, options) = match p.version {
            Version::V2 => {
                let fd = fs::openat(libc::AT_FDCWD, &cpath, dir_flags, 0)
                    .ctx(|| format!("open cgroup {path:?}"))?;
                if let (true, Some(rules)) = (
                    p.controllers.contains(&Controller::Devices),
                    &limits.devices,
                ) {
                    self.devices = Some((path.clone(), rules.clone()));
                }
                self.v2_dir = Some(fd);
                ("cgroup2", String::new())
            }
            Version::V1 => {
                let flags = libc::O_WRONLY | libc::O_CLOEXEC;
                let tasks = c(&path.join("tasks"))?;
                let fd = fs::openat(libc::AT_FDCWD, &tasks, flags, 0)
                    .ctx(|| format!("open {:?}", path.join("tasks")))?;
                self.tasks.push(fd);
                ("cgroup", p.hierarchy.controllers.clone())
            }
        };
        self.view.push(ViewMount {
            name: p.view_name(),
            fstype,
            options,
            source: path.clone(),
        });
        Ok(())
    }

    /// The v2 directory, for clone3's CLONE_INTO_CGROUP.
    pub fn v2_dir(&self) -> Option<&OwnedFd> {
        self.v2_dir.as_ref()
    }

    /// What the child needs to join its cgroups and show them.
    pub fn join<'a>(&'a self, limits: &'a Limits, namespace: bool) -> Join<'a> {
        Join {
            namespace,
            cpuset: limits.cpuset.as_deref(),
            tasks: self.tasks.iter().map(|f| f.as_raw_fd()).collect(),
            v2_dir: self.v2_dir.as_ref().map(|f| f.as_raw_fd()),
            view: &self.view,
        }
    }

    /// Once the child is cloned (and before it is released): closes what only the child
    /// needed (it has its own copies) and attaches the device rules.
    pub fn child_started(&mut self) -> Result<()> {
        self.close_tasks();
        match (self.devices.take(), &self.v2_dir) {
            (Some((path, rules)), Some(dir)) => attach_device_rules(dir, &path, &rules),
            _ => Ok(()),
        }
    }

    fn close_tasks(&mut self) {
        for fd in self.tasks.drain(..) {
            sys::close(fd);
        }
    }

    /// How many processes the kernel killed because the container reached its memory limit
    /// (not for a shortage of the whole machine), and the limit.
    pub fn oom_kills(&self) -> Option<(u64, u64)> {
        let (limit, file) = self.memory.as_ref()?;
        let text = read(file).ok()?;
        let field = |text: &str, key: &str| {
            text.lines().find_map(|l| {
                l.strip_prefix(key)
                    .and_then(|n| n.strip_prefix(' '))
                    .and_then(|n| n.trim().parse::<u64>().ok())
            })
        };
        let kills = field(&text, "oom_kill")?;
        // Did the limit cause them? v2 counts the OOMs the limit caused as `oom` in
        // memory.events; on v1 the usage's high-water mark reached the limit.
        let hit_limit = match field(&text, "oom") {
            Some(n) => n > 0,
            None => file
                .parent()
                .and_then(|dir| read(&dir.join("memory.max_usage_in_bytes")).ok())
                .and_then(|t| t.trim().parse::<u64>().ok())
                .is_some_and(|peak| peak.saturating_add(1 << 20) >= *limit),
        };
        Some((if hit_limit { kills } else { 0 }, *limit))
    }

    /// Removes the directories, newest first, each tried twice. Failures are reported; returns
    /// whether all are gone (if not, the state keeps their record for `nsbox gc`).
    pub fn remove(&mut self) -> bool {
        if let Some(fd) = self.v2_dir.take() {
            sys::close(fd);
        }
        self.close_tasks();
        let mut all = true;
        while let Some(path) = self.dirs.pop() {
            // One retry in place after a failed call (EIO, ENOMEM): a passing failure then
            // leaves nothing. Processes that stay have had their patience already.
            let removed = match remove_dir(&path) {
                Err(e) if e.errno.is_some() => remove_dir(&path),
                other => other,
            };
            match removed {
                Ok(()) => remove_parent_if_empty(&path),
                Err(e) => {
                    crate::report_warning(&e);
                    all = false;
                }
            }
        }
        all
    }
}

fn setting_error(path: &Path, file: &str, value: &str, c: Controller, e: Errno) -> Error {
    let err = Error::sys(
        format!("set {file} (write {value:?} to {:?})", path.join(file)),
        e,
    );
    match (c, e) {
        (Controller::Memory, Errno::EBUSY) => {
            err.hint("the cgroup already uses more memory than that: give a larger memory limit")
        }
        (_, Errno::EINVAL) | (_, Errno::ERANGE) => {
            err.hint("the kernel refused this value for the controller")
        }
        (Controller::Cpuset, Errno::ENOSPC) | (Controller::Cpuset, Errno::EACCES) => err.hint(
            "those CPUs or memory nodes are not allowed to nsbox's own cgroup (see its \
             cpuset.cpus.effective and cpuset.mems.effective)",
        ),
        (Controller::Blkio, Errno::ENOENT) => err.hint(
            "this kernel has no such file: I/O weights need the BFQ I/O scheduler on the device \
             (blkio.bfq.weight) or, on v2, io.weight (throttles need only the controller)",
        ),
        (Controller::Hugetlb, Errno::ENOENT) => {
            err.hint("this kernel has no huge pages of that size (see /sys/kernel/mm/hugepages)")
        }
        (Controller::Blkio, Errno::ENODEV) => {
            err.hint("no block device has that major:minor number on this host")
        }
        _ => err,
    }
}

/// Removes recorded cgroup directories (for `nsbox gc`), newest first.
pub fn remove_recorded(paths: &[PathBuf]) -> Result<()> {
    for path in paths.iter().rev() {
        remove_dir(path)?;
        remove_parent_if_empty(path);
    }
    Ok(())
}

/// rmdir of the shared `nsbox` parent of `path`: it fails (EBUSY) while another container
/// has its cgroup there, which is fine.
fn remove_parent_if_empty(path: &Path) {
    if let Some(parent) = path.parent().filter(|p| p.ends_with(PARENT))
        && let Ok(p) = c(parent)
    {
        let _ = fs::rmdir(&p);
    }
}

/// Removes the cgroup at `path` and every cgroup below it (the container's root may make
/// some), deepest first. While the kernel says EBUSY: kill what is still inside (`cgroup.kill`
/// on v2, which takes the whole subtree; else each pid of `cgroup.procs`), wait a little longer
/// each time (1 ms doubling, at most REMOVE_PATIENCE in all), and try again. When processes
/// stay (e.g. stuck in uninterruptible sleep), say which and in what state.
fn remove_dir(path: &Path) -> Result<()> {
    let cpath = c(path)?;
    let mut waited = Duration::ZERO;
    let mut delay = Duration::from_millis(1);
    loop {
        match fs::rmdir(&cpath) {
            Ok(()) | Err(Errno::ENOENT) => return Ok(()),
            Err(Errno::EBUSY) => {}
            Err(e) => return Err(Error::sys(format!("remove cgroup {path:?}"), e)),
        }
        if waited.is_zero() {
            remove_children(path)?;
        }
        let pids: Vec<i32> = read(&path.join("cgroup.procs"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        if waited >= REMOVE_PATIENCE {
            let left: Vec<String> = pids.iter().map(|p| describe(*p)).collect();
            return Err(Error::new(
                format!("remove cgroup {path:?}"),
                format!(
                    "still busy after {} ms; processes left: {}",
                    waited.as_millis(),
                    if left.is_empty() {
                        "none listed".into()
                    } else {
                        left.join(", ")
                    }
                ),
            )
            .hint("once they are gone, 'nsbox gc' removes it"));
        }
        if write(&path.join("cgroup.kill"), "1").is_err() {
            for pid in pids {
                let _ = process::kill(pid, libc::SIGKILL);
            }
        }
        process::sleep(delay);
        waited += delay;
        delay = (delay * 2).min(Duration::from_millis(100));
    }
}

/// Removes the cgroups below `path` (cgroupfs gives each entry's type: only directories are
/// child cgroups).
fn remove_children(path: &Path) -> Result<()> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    let Ok(dir) = fs::openat(libc::AT_FDCWD, &c(path)?, flags, 0) else {
        return Ok(());
    };
    let entries = fs::list_dir(&dir).unwrap_or_default();
    sys::close(dir);
    for (name, kind) in entries {
        if kind == libc::DT_DIR {
            let name = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&name);
            remove_dir(&path.join(name))?;
        }
    }
    Ok(())
}

/// `1234 (D)`: a pid and its state letter from /proc/PID/stat.
fn describe(pid: i32) -> String {
    let stat = read(Path::new(&format!("/proc/{pid}/stat"))).unwrap_or_default();
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("?");
    format!("{pid} ({state})")
}

/// The device rules of a v2 directory: loaded as a BPF program and attached to it. The
/// attachment holds the program; it goes with the directory.
fn attach_device_rules(dir: &OwnedFd, path: &Path, rules: &[(bool, String)]) -> Result<()> {
    let program = super::device_program::program(rules)?;
    trace::step(|| {
        format!(
            "load the device rules as a BPF program ({} rules, {} instructions) and attach it to {path:?}",
            rules.len(),
            program.len()
        )
    });
    let bytes: Vec<u8> = program.iter().flat_map(|i| i.bytes()).collect();
    let prog = crate::sys::bpf::load_device_program(&bytes).map_err(|(e, log)| {
        let err = Error::sys("load the device rules' BPF program (bpf BPF_PROG_LOAD)", e);
        match log.is_empty() {
            true => err,
            false => err.hint(format!("the verifier says: {log}")),
        }
    })?;
    crate::sys::bpf::attach_device_program(dir, &prog).map_err(|e| {
        Error::sys(format!("attach the device rules' BPF program to {path:?}"), e).hint_on(
            Errno::EPERM,
            "a program above it in the cgroup tree forbids others (attached without BPF_F_ALLOW_MULTI)",
        )
    })
}

//! An OCI container's record, `ROOT/ID/oci.json`, and its status as the runtime-spec defines
//! it: `created` while its first process waits on the FIFO, `running` once it has gone on,
//! `stopped` when that process is gone. Nothing is rewritten between them: the FIFO and the
//! process say it.

use super::field::Field;
use super::json::{self, Value};
use crate::error::{Error, Result};
use crate::state::record::Proc;
use std::path::{Path, PathBuf};

pub const FILE: &str = "oci.json";
pub const FIFO: &str = "exec.fifo";

#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub pid: Proc,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339, UTC.
    pub created: String,
    pub owner: String,
    /// An object of strings (checked when the config was read).
    pub annotations: Value,
    /// The cgroupsPath the container was given (what `delete` may remove).
    pub cgroups_path: Option<String>,
    /// The config's hooks, as written (poststart and poststop run from here).
    pub hooks: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

impl Record {
    pub fn status(&self, dir: &Path) -> Status {
        if !self.pid.alive() {
            return Status::Stopped;
        }
        if dir.join(FIFO).exists() {
            return Status::Created;
        }
        match super::control::is_frozen(dir) {
            true => Status::Paused,
            false => Status::Running,
        }
    }

    /// The state JSON of the runtime-spec (plus runc's rootfs, created and owner).
    pub fn state(&self, status: Status) -> Value {
        let pid = match status {
            Status::Stopped => 0,
            _ => self.pid.pid,
        };
        json::obj(vec![
            ("ociVersion", json::str(super::SPEC_VERSION)),
            ("id", json::str(self.id.as_str())),
            ("status", json::str(status.name())),
            ("pid", json::num(pid)),
            ("bundle", json::str(self.bundle.to_string_lossy())),
            ("rootfs", json::str(self.rootfs.to_string_lossy())),
            ("created", json::str(self.created.as_str())),
            ("owner", json::str(self.owner.as_str())),
            ("annotations", self.annotations.clone()),
        ])
    }

    fn file(&self) -> Value {
        let mut v = self.state(Status::Created);
        if let Value::Obj(m) = &mut v {
            m.push(("start".into(), json::num(self.pid.start)));
            if let Some(p) = &self.cgroups_path {
                m.push(("cgroupsPath".into(), json::str(p.as_str())));
            }
            if let Some(h) = &self.hooks {
                m.push(("hooks".into(), h.clone()));
            }
        }
        v
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let tmp = dir.join("oci.json.tmp");
        let path = dir.join(FILE);
        let text = self.file().text();
        crate::sys::fs::replace_file(
            &crate::sys::cpath(&tmp)?,
            &crate::sys::cpath(&path)?,
            text.as_bytes(),
            0o600,
        )
        .map_err(|e| Error::sys(format!("write {path:?}"), e))
    }

    /// The hooks the record keeps (`start` runs poststart, `delete` poststop).
    pub fn hooks(&self) -> Result<Option<Box<crate::container::hooks::Hooks>>> {
        match &self.hooks {
            Some(v) => super::hooks::parse(&Field::root(FILE, v)),
            None => Ok(None),
        }
    }

    /// The record in `dir`, or None where there is none (not an OCI container).
    pub fn load(dir: &Path) -> Result<Option<Record>> {
        let path = dir.join(FILE);
        let text = match crate::sys::fs::read_file(&crate::sys::cpath(&path)?) {
            Ok(t) => t,
            Err(syscalls::Errno::ENOENT) | Err(syscalls::Errno::ENOTDIR) => return Ok(None),
            Err(e) => return Err(Error::sys(format!("read {path:?}"), e)),
        };
        let doc = json::parse(&text).map_err(|e| {
            Error::new(
                format!("{path:?}"),
                format!("damaged ({} at line {})", e.why, e.line),
            )
        })?;
        let f = Field::root("oci.json", &doc);
        let s = |k: &str| -> Result<String> { Ok(f.need(k)?.str()?.to_string()) };
        let annotations = match f.get("annotations") {
            Some(a) => a.value.clone(),
            None => Value::Obj(Vec::new()),
        };
        Ok(Some(Record {
            id: s("id")?,
            pid: Proc {
                pid: f.need("pid")?.i64()? as i32,
                start: f.need("start")?.u64()?,
            },
            bundle: s("bundle")?.into(),
            rootfs: s("rootfs")?.into(),
            created: s("created")?,
            owner: s("owner")?,
            annotations,
            cgroups_path: f
                .get("cgroupsPath")
                .map(|p| p.str().map(String::from))
                .transpose()?,
            hooks: f.get("hooks").map(|h| h.value.clone()),
        }))
    }
}

//! The container's lifecycle on the parent's side, shared by both front ends: the image nsbox
//! re-executes from, the child's creation and the sync channel, the user namespace's maps, the
//! OCI hooks, the wait loop, and `run -d`'s supervisor.

pub mod detach;
pub mod hooks;
pub mod output;
pub mod sealed;
pub mod spawn;
pub mod supervise;
pub mod userns;

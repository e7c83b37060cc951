//! What the container's command starts with, set up by the child last: capabilities by name,
//! seccomp profiles and their BPF writer, the privileged steps in their order, and execve.

pub mod caps;
pub mod execve;
pub mod hardening;
pub mod seccomp;
pub mod seccomp_writer;
pub mod users;

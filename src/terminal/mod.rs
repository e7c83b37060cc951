//! `-t` and `process.terminal`: the container's pty, the caller's terminal, the relay.

pub mod console;
pub mod tty;

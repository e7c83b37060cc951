//! Parsing of `stop`, `wait` and `inspect`: commands that take one or more container ids.

use super::manage::{common, id_arg, parse_signal, root_of};
use super::{Command, Context, arg_name, lex, usage, value};
use crate::error::{Error, Result};
use lexopt::prelude::*;
use std::path::PathBuf;

/// `nsbox stop [-t SECONDS] [-s SIGNAL] ID...`.
#[derive(Debug, PartialEq, Eq)]
pub struct Stop {
    pub root: PathBuf,
    pub ids: Vec<String>,
    /// How long the container has to end after `signal` before it gets SIGKILL.
    pub grace_s: u32,
    pub signal: i32,
}

/// docker's grace period.
pub const DEFAULT_GRACE_S: u32 = 10;

pub fn parse_stop(mut p: lexopt::Parser, ctx: &Context<'_>) -> Result<Command> {
    let (mut root, mut ids) = (None, Vec::new());
    let (mut grace_s, mut signal) = (DEFAULT_GRACE_S, libc::SIGTERM);
    while let Some(arg) = p.next().map_err(|e| lex(e, "stop"))? {
        match arg {
            Short('t') | Long("time") | Long("timeout") => {
                let v = value(&mut p, "--time")?;
                grace_s = v.parse().map_err(|_| {
                    Error::new(format!("--time {v:?}"), "not a whole number of seconds")
                        .hint("give the grace period in seconds, e.g. -t 10 (0: SIGKILL at once)")
                })?;
            }
            Short('s') | Long("signal") => signal = parse_signal(&value(&mut p, "--signal")?)?,
            Value(v) => ids.push(id_arg(v, "stop")?),
            other => {
                if let Some(help) = common(arg_name(&other), &mut p, &mut root, "stop")? {
                    return Ok(help);
                }
            }
        }
    }
    let ids = need_ids(ids, "stop")?;
    Ok(Command::Stop(Stop {
        root: root_of(root, ctx)?,
        ids,
        grace_s,
        signal,
    }))
}

/// `nsbox wait ID...` and `nsbox inspect ID...`: `make` builds the command from the state
/// root and the ids.
pub fn parse_ids(
    mut p: lexopt::Parser,
    ctx: &Context<'_>,
    cmd: &str,
    make: fn(PathBuf, Vec<String>) -> Command,
) -> Result<Command> {
    let (mut root, mut ids) = (None, Vec::new());
    while let Some(arg) = p.next().map_err(|e| lex(e, cmd))? {
        match arg {
            Value(v) => ids.push(id_arg(v, cmd)?),
            other => {
                if let Some(help) = common(arg_name(&other), &mut p, &mut root, cmd)? {
                    return Ok(help);
                }
            }
        }
    }
    let ids = need_ids(ids, cmd)?;
    Ok(make(root_of(root, ctx)?, ids))
}

fn need_ids(ids: Vec<String>, cmd: &str) -> Result<Vec<String>> {
    match ids.is_empty() {
        true => Err(usage("at least one container id is needed", cmd)),
        false => Ok(ids),
    }
}

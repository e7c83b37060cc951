//! One module per subcommand.

pub mod container;
pub mod exec;
pub mod gc;
pub mod inspect;
pub mod kill;
pub mod logs;
pub mod ps;
pub mod rm;
pub mod run;
pub mod stop;
pub mod version;
pub mod wait;

use crate::error::{Error, Result};

/// Runs `one` for each id and hands what it gives to `ok`. With one id its error is the
/// command's; with more, each error is reported and the others still run.
pub fn each_then<T>(
    ids: &[String],
    cmd: &str,
    mut one: impl FnMut(&str) -> Result<T>,
    mut ok: impl FnMut(T),
) -> Result<u8> {
    let mut failed = 0;
    for id in ids {
        match one(id) {
            Ok(v) => ok(v),
            Err(e) if ids.len() == 1 => return Err(e),
            Err(e) => {
                crate::report_error(&e);
                failed += 1;
            }
        }
    }
    match failed {
        0 => Ok(0),
        n => Err(Error::new(
            cmd,
            format!("failed for {n} of {} containers (see above)", ids.len()),
        )),
    }
}

/// `each_then`, printing the line each gives.
pub fn each_printing(
    ids: &[String],
    cmd: &str,
    one: impl FnMut(&str) -> Result<String>,
) -> Result<u8> {
    each_then(ids, cmd, one, |line| {
        crate::sys::write_stdout(format!("{line}\n").as_bytes())
    })
}

/// `each_printing` for commands that print the id of each container they handled.
pub fn each(ids: &[String], cmd: &str, mut one: impl FnMut(&str) -> Result<()>) -> Result<u8> {
    each_printing(ids, cmd, |id| one(id).map(|()| id.to_string()))
}

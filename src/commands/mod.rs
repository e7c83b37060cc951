//! One module per subcommand.

pub mod container;
pub mod exec;
pub mod gc;
pub mod kill;
pub mod logs;
pub mod ps;
pub mod rm;
pub mod run;
pub mod version;

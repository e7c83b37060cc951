//! One module per subcommand.

pub mod gc;
pub mod run;
pub mod version;

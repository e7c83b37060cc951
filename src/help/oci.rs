//! `nsbox help oci`: the OCI front end (runc's command line over a bundle).

pub const OCI: &str = "\
nsbox as an OCI runtime - runc's command line over a runtime-spec bundle

Usage: nsbox [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND [OPTIONS] ID

  create [--bundle DIR] [--pid-file F] [--console-socket SOCK] [--no-pivot] [--no-new-keyring] ID
                          build the container from DIR/config.json up to its command's execve,
                          write F and exit; its first process waits, the caller's subreaper's;
                          with process.terminal its pty master goes to SOCK (SCM_RIGHTS)
  start ID                let a created container run its command
  exec --process FILE [--detach] [--pid-file F] [--console-socket SOCK] ID
  exec [--cwd DIR] [-e K=V] [-u UID[:GID]] [-t] ID CMD...
                          a process in its namespaces and cgroups (FILE: a process JSON);
                          --detach: leave it to the caller's subreaper, its pid in F
  state ID                the runtime-spec state JSON (created, running or stopped)
  ps [--format table|json] ID
                          the host pids of its cgroups
  pause ID; resume ID     freeze its cgroup, thaw it
  update [--resources FILE|-] [--memory N] [--pids-limit N] [--cpu-quota N] ... ID
                          new limits for its cgroups (none below what it uses)
  events [--stats] [--interval 5s] ID
                          its usage as runc's stats JSON: once, or every interval, and oom
  kill [--all] ID [SIGNAL]
                          signal its first process (--all: its cgroups'); default TERM
  delete [--force] ID     remove a stopped container (--force: kill it first)
  run [--bundle DIR] [--pid-file F] [--detach] ID
                          create and start; without --detach also wait and delete
  list [--format table|json]; spec [--rootless] [--bundle DIR]; features; --version

--root defaults to the native state root (/run/nsbox); --log gets each error too (a JSON line
with --log-format json); --debug is --trace; --systemd-cgroup is refused (nsbox manages
cgroupfs). What a config.json may hold, and what nsbox refuses by name: README.md, \"nsbox as
an OCI runtime\".

Example:
  nsbox spec && nsbox create --bundle . c1 && nsbox start c1 && nsbox delete --force c1
";

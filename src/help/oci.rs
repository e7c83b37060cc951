//! `nsbox help oci`: the OCI front end (runc's command line over a bundle).

pub const OCI: &str = "\
nsbox as an OCI runtime - runc's command line over a runtime-spec bundle

Usage: nsbox [GLOBAL OPTIONS] COMMAND [OPTIONS] ID

Global options (before COMMAND; --x=V and --x V both work):
  --root DIR              state directory (default /run/nsbox, shared with the native CLI)
  --log FILE              where errors go too; the file exists after every call
  --log-format text|json  json: one line {\"level\":\"error\",\"msg\":...,\"time\":...} per error
  --debug                 the --trace of the native CLI, on stderr
  --systemd-cgroup        refused: nsbox manages cgroupfs itself (no systemd driver)

Commands:
  create [--bundle DIR] [--pid-file F] [--no-pivot] [--no-new-keyring] ID
                          build the container from DIR/config.json (default: the current
                          directory) up to its command's execve, write F (the pid, no newline)
                          and exit; the container's first process waits for start, a child of
                          the caller's subreaper (conmon, containerd's shim)
  start ID                let a created container execve its command
  state ID                the runtime-spec state JSON (status created, running or stopped)
  kill [--all] ID [SIGNAL]
                          signal the first process (--all: every process of its cgroups);
                          SIGNAL by name (TERM, SIGKILL) or number; default TERM
  delete [--force] ID     remove a stopped container: its cgroups and state (--force kills a
                          created or running one first)
  run [--bundle DIR] [--pid-file F] [--detach] ID
                          create and start; without --detach wait, delete, and exit with the
                          command's code
  list [--format table|json]
                          the OCI containers under --root
  spec [--rootless] [--bundle DIR]
                          write a default config.json (never over one)
  features                what this nsbox reads and applies, as the runtime-spec's JSON
  --version               nsbox version, commit and runtime-spec version, as runc prints them

nsbox reads config.json of runtime-spec 1.0 to 1.2 and refuses, naming the field, what it cannot
honour (hooks, a terminal without --console-socket support, apparmor/selinux, time namespaces,
blockIO, hugepages, ...). Unknown members are ignored, as the spec says. See README.md, \"nsbox
as an OCI runtime\", for the fields and what each does.

Examples:
  mkdir b && cd b && nsbox spec && cp -a ../rootfs rootfs
  nsbox create --bundle . c1 && nsbox start c1 && nsbox state c1 && nsbox delete --force c1
  nsbox run --bundle . c2                     run it in the foreground, then delete it
";

//! `--net veth` and `--net bridge`: the pair, addresses, routes, the bridge and its leases, the
//! teardown, and the bad input. Every test runs nsbox inside a network namespace of its own
//! (held by `unshare --net sleep`, entered with nsenter), so nothing touches the machine's
//! own network; traffic goes only between the containers and their host side in there.
//! busybox's ping opens a raw socket, so the containers that ping get `--cap-add NET_RAW` (not in
//! the default set; a ping of ICMP datagram sockets needs none: tests/escape.rs).

mod common;

use common::{Fixture, NetNs, Out, can_run, nsbox_bin, rootfs, wait_until};
use std::process::{Child, Command, Stdio};

/// A test's fixture and network namespace together: containers a failed test left are removed
/// from inside the namespace (where their interfaces are) before the namespace goes.
struct Net {
    f: Fixture,
    ns: NetNs,
}

impl Net {
    /// None (the test is skipped, and says why) without root.
    fn new() -> Option<Net> {
        can_run().then(|| Net {
            f: Fixture::new(),
            ns: NetNs::new(),
        })
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(&self.f.state_root) {
            for e in entries.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                if !id.starts_with('.') {
                    let _ = self.ns.nsbox(&self.f, &["rm", "-f", &id]);
                }
            }
        }
    }
}

fn rootfs_arg() -> String {
    rootfs().display().to_string()
}

#[test]
fn veth_point_to_point_with_routes_hosts_file_and_tcp_both_ways() {
    let Some(net) = Net::new() else { return };
    let (f, ns) = (&net.f, &net.ns);
    let hosts_on_disk = std::fs::read(rootfs().join("etc/hosts")).unwrap();
    // What the container sees: eth0 with its address, the default route, ping to the host.
    let out = ns.nsbox(
        f,
        &[
            "run",
            "--name",
            "p2p",
            "--rootfs",
            &rootfs_arg(),
            "--cap-add",
            "NET_RAW",
            "--net",
            "veth",
            "--",
            "sh",
            "-c",
            "ip -4 -o addr show eth0; ip route; cat /etc/hostname /etc/hosts; \
             ping -c1 -W2 10.0.0.1 >/dev/null && echo ping-host-ok",
        ],
    );
    let text = out.ok();
    assert!(text.contains("eth0    inet 10.0.0.2/24"), "{text}");
    assert!(text.contains("default via 10.0.0.1 dev eth0"), "{text}");
    assert!(text.contains("10.0.0.0/24 dev eth0"), "{text}");
    assert!(text.contains("p2p\n127.0.0.1\tlocalhost\n"), "{text}");
    assert!(text.contains("10.0.0.2\tp2p\n"), "{text}");
    assert!(text.contains("ping-host-ok"), "{text}");
    assert_eq!(
        std::fs::read(rootfs().join("etc/hosts")).unwrap(),
        hosts_on_disk
    );
    ns.wait_links(&["lo"]);

    // The host side: its end has 10.0.0.1/24; it pings the container; TCP both ways.
    ns.detach(
        f,
        "srv",
        &[
            "--net",
            "veth",
            "--",
            "sh",
            "-c",
            "sleep 30 | nc -l -p 7000; sleep 60",
        ],
    );
    let host_end: Vec<String> = ns
        .links()
        .into_iter()
        .filter(|l| l.starts_with("nsb"))
        .collect();
    assert_eq!(host_end.len(), 1, "one host end: {host_end:?}");
    let addr = ns.sh(&format!("ip -4 -o addr show {}", host_end[0])).ok();
    assert!(addr.contains("inet 10.0.0.1/24"), "{addr}");
    let ps = ns.nsbox(f, &["ps"]).ok();
    assert!(ps.contains("10.0.0.2"), "ps shows the address: {ps}");
    ns.sh("busybox ping -c1 -W2 10.0.0.2").ok();
    wait_until("the container listens", 5, || {
        ns.sh("echo hello-from-host | busybox nc -w 2 10.0.0.2 7000")
            .code()
            == 0
    });
    wait_until("the container got the line", 5, || {
        ns.nsbox(f, &["logs", "srv"])
            .ok()
            .contains("hello-from-host")
    });
    // The host's side listens (its stdin kept open: busybox nc closes the connection when
    // its stdin ends) and writes what it got to a file.
    let got = f.scratch.join("got");
    let mut listener = ns
        .command("busybox")
        .args(["nc", "-l", "-p", "7001"])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&got).unwrap())
        .spawn()
        .unwrap();
    wait_until("the host's side got the line", 5, || {
        let sent = ns.nsbox(
            f,
            &[
                "exec",
                "srv",
                "sh",
                "-c",
                "echo hello-from-container | nc -w 2 10.0.0.1 7001",
            ],
        );
        sent.code() == 0
            && (0..100).any(|_| {
                std::thread::sleep(std::time::Duration::from_millis(10));
                std::fs::read_to_string(&got).unwrap_or_default() == "hello-from-container\n"
            })
    });
    let _ = listener.kill();
    let _ = listener.wait();

    ns.nsbox(f, &["rm", "-f", "srv"]).ok();
    ns.wait_links(&["lo"]);
    assert_eq!(
        ns.sh("ip -4 -o addr show").ok().lines().count(),
        1,
        "only lo's address"
    );
    f.assert_clean();
}

#[test]
fn back_to_back_runs_reuse_the_subnet_and_the_name() {
    let Some(net) = Net::new() else { return };
    let (f, ns) = (&net.f, &net.ns);
    // The previous pair may still be on its way out (the kernel deletes it with its namespace
    // a little later): its address is taken back at teardown, and its name is waited for.
    for _ in 0..5 {
        let out = ns.nsbox(
            f,
            &[
                "run",
                "--rootfs",
                &rootfs_arg(),
                "--net",
                "veth",
                "--",
                "true",
            ],
        );
        assert_eq!(out.code(), 0, "{}", out.stderr());
        let out = ns.nsbox(
            f,
            &[
                "run",
                "--name",
                "again",
                "--rootfs",
                &rootfs_arg(),
                "--net",
                "veth",
                "--",
                "true",
            ],
        );
        assert_eq!(out.code(), 0, "{}", out.stderr());
        // Whatever is left of the pair for now, its address went at teardown.
        let addrs = ns.sh("ip -4 -o addr show").ok();
        assert!(!addrs.contains("10.0.0.1"), "{addrs}");
    }
    ns.wait_links(&["lo"]);
    f.assert_clean();
}

#[test]
fn twenty_bridge_containers_started_at_once_get_distinct_addresses_and_reach_each_other() {
    let Some(net) = Net::new() else { return };
    let (f, ns) = (&net.f, &net.ns);
    const N: usize = 20;
    let starting: Vec<Child> = (0..N)
        .map(|i| {
            let name = format!("b{i}");
            ns.command(nsbox_bin())
                .args(["run", "--root"])
                .arg(&f.state_root)
                .args(["-d", "--name", &name, "--rootfs", &rootfs_arg()])
                .args([
                    "--cap-add",
                    "NET_RAW",
                    "--net",
                    "bridge",
                    "--",
                    "sleep",
                    "120",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in starting {
        let out = Out(c.wait_with_output().unwrap());
        out.ok();
    }
    let leases = std::fs::read_to_string(f.state_root.join(".leases")).unwrap();
    // `bridge ADDRESS/PREFIX ID` lines.
    let addr_in = |line: &str| line.split([' ', '/']).nth(1).unwrap().to_string();
    let mut addrs: Vec<String> = leases.lines().map(addr_in).collect();
    addrs.sort();
    addrs.dedup();
    assert_eq!(addrs.len(), N, "{N} distinct leases: {leases}");
    let addr_of = |i: usize| {
        addr_in(
            leases
                .lines()
                .find(|l| l.ends_with(&format!(" b{i}")))
                .unwrap(),
        )
    };
    let ps = ns.nsbox(f, &["ps"]).ok();
    for i in 0..N {
        assert!(ps.contains(&addr_of(i)), "ps shows b{i}'s address: {ps}");
        // Each pings the next one and the bridge.
        let next = addr_of((i + 1) % N);
        let line = format!("ping -c1 -W2 {next} && ping -c1 -W2 10.88.0.1");
        ns.nsbox(f, &["exec", &format!("b{i}"), "sh", "-c", &line])
            .ok();
    }
    // The host pings one of them.
    ns.sh(&format!("busybox ping -c1 -W2 {}", addr_of(7))).ok();
    let names: Vec<String> = (0..N).map(|i| format!("b{i}")).collect();
    let mut rm = vec!["rm", "-f"];
    rm.extend(names.iter().map(String::as_str));
    ns.nsbox(f, &rm).ok();
    assert!(
        !f.state_root.join(".leases").exists(),
        "every lease returned"
    );
    // The bridge stays until gc finds no container on it (the pairs the kernel is deleting
    // are waited for: gc would delete them itself, and say so).
    ns.wait_links(&["lo", "nsbox0"]);
    let gc = ns.nsbox(f, &["gc"]).ok();
    assert_eq!(gc, "bridge nsbox0\n");
    ns.wait_links(&["lo"]);
    f.assert_clean();
}

#[test]
fn concurrent_veth_runs_on_one_subnet_get_it_once() {
    let Some(net) = Net::new() else { return };
    let (f, ns) = (&net.f, &net.ns);
    let starting: Vec<Child> = (0..4)
        .map(|i| {
            ns.command(nsbox_bin())
                .args(["run", "--root"])
                .arg(&f.state_root)
                .args(["-d", "--name", &format!("v{i}"), "--rootfs", &rootfs_arg()])
                .args(["--net", "veth", "--", "sleep", "60"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Out> = starting
        .into_iter()
        .map(|c| Out(c.wait_with_output().unwrap()))
        .collect();
    let started = outs.iter().filter(|o| o.code() == 0).count();
    assert_eq!(started, 1, "exactly one gets 10.0.0.0/24");
    for o in outs.iter().filter(|o| o.code() != 0) {
        assert_eq!(o.code(), 125);
        let err = o.stderr();
        assert!(
            err.contains("the subnet 10.0.0.0/24 is in use on the host")
                || err.contains("overlaps 10.0.0.0/24, leased to the container"),
            "{err}"
        );
    }
    let addrs = ns.sh("ip -4 -o addr show").ok();
    assert_eq!(addrs.matches("10.0.0.1/24").count(), 1, "{addrs}");
    let running = ns.nsbox(f, &["ps", "-q"]).ok();
    ns.nsbox(f, &["rm", "-f", running.trim()]).ok();
    ns.wait_links(&["lo"]);
    f.assert_clean();
}

#[test]
fn runs_that_race_for_one_subnet_never_both_get_it() {
    let Some(net) = Net::new() else { return };
    let (f, ns) = (&net.f, &net.ns);
    let other = Fixture::new();
    let start = |f: &Fixture, name: &str, mode: &str| {
        ns.command(nsbox_bin())
            .args(["run", "--root"])
            .arg(&f.state_root)
            .args([
                "-d",
                "--name",
                name,
                "--rootfs",
                &rootfs_arg(),
                "--net",
                mode,
            ])
            .args(["--", "sleep", "60"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    for round in 0..8 {
        // A veth pair and a new bridge on overlapping subnets, in one state root; and the same
        // veth subnet from two state roots.
        let racers = [
            start(f, &format!("v{round}"), "veth:10.88.0.1/24,10.88.0.2/24"),
            start(f, &format!("b{round}"), "bridge"),
            start(
                &other,
                &format!("o{round}"),
                "veth:10.88.0.1/24,10.88.0.2/24",
            ),
        ];
        let codes: Vec<i32> = racers
            .into_iter()
            .map(|c| c.wait_with_output().unwrap().status.code().unwrap_or(-1))
            .collect();
        assert!(
            codes.iter().filter(|c| **c == 0).count() <= 1,
            "round {round}: two containers got 10.88.0.0: {codes:?}"
        );
        assert!(codes.iter().all(|c| *c == 0 || *c == 125), "{codes:?}");
        for (root, id) in [
            (f, format!("v{round}")),
            (f, format!("b{round}")),
            (&other, format!("o{round}")),
        ] {
            if root.state_root.join(&id).exists() {
                ns.nsbox(root, &["rm", "-f", &id]).ok();
            }
        }
        wait_until("the pairs are gone", 10, || {
            ns.links().iter().all(|l| l == "lo" || l == "nsbox0")
        });
        ns.nsbox(f, &["gc"]).ok();
    }
    ns.wait_links(&["lo"]);
    other.assert_clean();
    f.assert_clean();
}

#[test]
fn a_root_spelled_two_ways_a_long_root_and_a_half_made_bridge_work() {
    let Some(net) = Net::new() else { return };
    let (f, ns) = (&net.f, &net.ns);
    let r = rootfs_arg();
    // One root, spelled with and without a trailing slash.
    let slash = format!("{}/", f.state_root.display());
    let run_slash = Out(ns
        .command(nsbox_bin())
        .args(["run", "--root", &slash, "-d", "--name", "s", "--rootfs", &r])
        .args(["--net", "bridge", "--", "sleep", "60"])
        .output()
        .unwrap());
    assert_eq!(run_slash.ok(), "s\n");
    ns.nsbox(f, &["run", "--rootfs", &r, "--net", "bridge", "true"])
        .ok();
    ns.nsbox(f, &["rm", "-f", "s"]).ok();
    ns.wait_links(&["lo", "nsbox0"]);
    assert_eq!(ns.nsbox(f, &["gc"]).ok(), "bridge nsbox0\n");
    // A state root of 250 bytes: its aliases are cut, the roots still told apart.
    let long = f
        .scratch
        .join("r".repeat(250 - f.scratch.as_os_str().len() - 1));
    let out = Out(ns
        .command(nsbox_bin())
        .arg("run")
        .arg("--root")
        .arg(&long)
        .args([
            "--rootfs",
            &r,
            "--cap-add",
            "NET_RAW",
            "--net",
            "bridge",
            "--",
            "ping",
            "-c1",
            "-W2",
            "10.88.0.1",
        ])
        .output()
        .unwrap());
    assert_eq!(out.code(), 0, "{}", out.stderr());
    ns.wait_links(&["lo", "nsbox0"]);
    let gc = Out(ns
        .command(nsbox_bin())
        .arg("gc")
        .arg("--root")
        .arg(&long)
        .output()
        .unwrap());
    assert_eq!(gc.ok(), "bridge nsbox0\n");
    // A bridge nsbox made but could not name (killed in between): its MAC says it is nsbox's.
    ns.sh("ip link add nsbox0 address 02:6e:73:00:00:01 type bridge")
        .ok();
    ns.nsbox(f, &["run", "--rootfs", &r, "--net", "bridge", "true"])
        .ok();
    ns.wait_links(&["lo", "nsbox0"]);
    assert_eq!(ns.nsbox(f, &["gc"]).ok(), "bridge nsbox0\n");
    ns.wait_links(&["lo"]);
    f.assert_clean();
}

/// A writer of the leases killed between its write and its rename leaves `.leases.tmp`: gc
/// knows every file nsbox writes, and removes it.
#[test]
fn gc_removes_the_temporary_file_of_a_killed_lease_writer() {
    let Some(net) = Net::new() else { return };
    let (f, ns) = (&net.f, &net.ns);
    let tmp = f.state_root.join(".leases.tmp");
    std::fs::write(&tmp, "veth 10.0.0.1/24 half-writ").unwrap();
    assert_eq!(ns.nsbox(f, &["gc"]).ok(), "file .leases.tmp\n");
    assert!(!tmp.exists());
    // Under the lock, a run's own write goes through the file as before.
    ns.nsbox(
        f,
        &["run", "--rootfs", &rootfs_arg(), "--net", "veth", "true"],
    )
    .ok();
    assert!(!tmp.exists());
    f.assert_clean();
}

#[test]
fn a_namespace_kept_alive_keeps_no_address_and_gc_deletes_its_pair() {
    let Some(net) = Net::new() else { return };
    let (f, ns) = (&net.f, &net.ns);
    // a runs in the foreground: its nsbox removes its state when it ends.
    let mut a = ns
        .command(nsbox_bin())
        .args(["run", "--root"])
        .arg(&f.state_root)
        .args([
            "--name",
            "a",
            "--rootfs",
            &rootfs_arg(),
            "--net",
            "bridge",
            "--",
            "sleep",
            "60",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("a runs", 10, || {
        ns.nsbox(f, &["ps"]).ok().contains("10.88.0.2")
    });
    let a_end: Vec<String> = ns
        .links()
        .into_iter()
        .filter(|l| l.starts_with("nsb") && l != "nsbox0")
        .collect();
    assert_eq!(a_end.len(), 1);
    // Something outside keeps a's network namespace alive after a has ended.
    let pid = common::first_pid(&ns.nsbox(f, &["ps", "--json"]).ok());
    let mut keeper = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .args(["--", "sleep", "60"])
        .spawn()
        .unwrap();
    wait_until("the keeper is in a's namespace", 5, || {
        std::fs::read_link(format!("/proc/{}/ns/net", keeper.id()))
            .ok()
            .zip(std::fs::read_link(format!("/proc/{pid}/ns/net")).ok())
            .is_some_and(|(k, p)| k == p)
    });
    ns.nsbox(f, &["kill", "a"]).ok();
    assert_eq!(a.wait().unwrap().code(), Some(143));
    assert!(
        !f.state_root.join("a").exists(),
        "a's nsbox removed its state"
    );
    // a's pair lives on, but off the bridge: b gets a's address and the bridge sees b alone.
    assert!(ns.links().contains(&a_end[0]), "the pair lives on");
    let master = ns.sh(&format!("ip -o link show {}", a_end[0])).ok();
    assert!(!master.contains("master nsbox0"), "{master}");
    let b = ns.nsbox(
        f,
        &[
            "run",
            "--name",
            "b",
            "--rootfs",
            &rootfs_arg(),
            "--cap-add",
            "NET_RAW",
            "--net",
            "bridge",
            "--",
            "sh",
            "-c",
            "ip -4 -o addr show eth0; ping -c1 -W2 10.88.0.1 >/dev/null && echo ping-ok",
        ],
    );
    let text = b.ok();
    assert!(text.contains("inet 10.88.0.2/16"), "{text}");
    assert!(text.contains("ping-ok"), "{text}");
    // gc deletes the pair of the container that is gone, then the bridge.
    let gc = ns.nsbox(f, &["gc"]).ok();
    assert!(gc.contains(&format!("link {} of a\n", a_end[0])), "{gc}");
    assert!(gc.ends_with("bridge nsbox0\n"), "{gc}");
    let _ = keeper.kill();
    let _ = keeper.wait();
    ns.wait_links(&["lo"]);
    f.assert_clean();
}

#[test]
fn gc_running_all_along_never_breaks_a_run() {
    let Some(net) = Net::new() else { return };
    let (f, ns) = (&net.f, &net.ns);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = ns.nsbox(f, &["gc"]);
            }
        });
        for i in 0..15 {
            let out = ns.nsbox(
                f,
                &[
                    "run",
                    "--rootfs",
                    &rootfs_arg(),
                    "--cap-add",
                    "NET_RAW",
                    "--net",
                    "bridge",
                    "--",
                    "ping",
                    "-c1",
                    "-W2",
                    "10.88.0.1",
                ],
            );
            if out.code() != 0 {
                done.store(true, std::sync::atomic::Ordering::Relaxed);
                panic!("run {i} failed while gc ran: {}", out.stderr());
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    // The last gc may have removed the bridge already; one more does once the pairs are gone.
    wait_until("gc removed the bridge", 10, || {
        ns.nsbox(f, &["gc"]).ok();
        ns.links() == ["lo"]
    });
    f.assert_clean();
}

#[test]
fn a_bridge_nsbox_did_not_make_or_of_another_root_is_left_alone() {
    let Some(net) = Net::new() else { return };
    let (f, ns) = (&net.f, &net.ns);
    let r = rootfs_arg();
    let refused = |f: &Fixture, want: &str| {
        let out = ns.nsbox(f, &["run", "--rootfs", &r, "--net", "bridge", "true"]);
        assert_eq!(out.code(), 125, "{}", out.stderr());
        assert!(
            out.stderr().contains(want),
            "{:?} lacks {want:?}",
            out.stderr()
        );
    };
    // Not nsbox's: a bridge without nsbox's alias, and a veth named nsbox0.
    ns.sh("ip link add nsbox0 type bridge").ok();
    refused(
        f,
        "nsbox0 exists and is not nsbox's bridge (kind bridge, alias \"\")",
    );
    ns.sh("ip link del nsbox0 && ip link add nsbox0 type veth peer name nsboxpeer")
        .ok();
    refused(f, "nsbox0 exists and is not nsbox's bridge (kind veth");
    let addrs = ns.sh("ip -4 -o addr show").ok();
    assert!(
        !addrs.contains("10.88."),
        "nothing was added to it: {addrs}"
    );
    ns.sh("ip link del nsbox0").ok();
    // Another state root's bridge.
    ns.detach(f, "mine", &["--net", "bridge", "--", "sleep", "60"]);
    let other = Fixture::new();
    refused(&other, "the bridge nsbox0 belongs to another state root");
    // gc of the other root leaves the bridge, and the container on it, alone.
    assert_eq!(ns.nsbox(&other, &["gc"]).ok(), "");
    assert!(ns.nsbox(f, &["ps"]).ok().contains("10.88.0.2"));
    ns.nsbox(f, &["rm", "-f", "mine"]).ok();
    ns.wait_links(&["lo", "nsbox0"]);
    assert_eq!(ns.nsbox(f, &["gc"]).ok(), "bridge nsbox0\n");
    ns.wait_links(&["lo"]);
    other.assert_clean();
    f.assert_clean();
}

#[test]
fn a_failed_start_and_a_killed_supervisor_leave_no_lease_link_or_state() {
    let Some(net) = Net::new() else { return };
    let (f, ns) = (&net.f, &net.ns);
    let r = rootfs_arg();
    // The command is missing: the pair was made, the lease taken; both go.
    let out = ns.nsbox(
        f,
        &["run", "--rootfs", &r, "--net", "bridge", "--", "/nope"],
    );
    assert_eq!(out.code(), 127, "{}", out.stderr());
    // The child fails before the command (no such workdir), after the parent's network setup.
    let out = ns.nsbox(
        f,
        &[
            "run", "--rootfs", &r, "--net", "veth", "-w", "/nope", "true",
        ],
    );
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr()
            .contains("chdir to the working directory \"/nope\"")
    );
    assert!(!f.state_root.join(".leases").exists());
    ns.wait_links(&["lo", "nsbox0"]);

    // A supervisor killed with SIGKILL: its container dies; gc returns the lease and, once no
    // container is on it, removes the bridge.
    ns.detach(f, "k", &["--net", "bridge", "--", "sleep", "60"]);
    let ps = ns.nsbox(f, &["ps", "--json"]).ok();
    let record = std::fs::read_to_string(f.state_root.join("k/record")).unwrap();
    let supervisor = record
        .lines()
        .find_map(|l| l.strip_prefix("supervisor "))
        .and_then(|v| v.split(' ').next())
        .unwrap_or_else(|| panic!("a supervisor pid in the record: {record}"))
        .to_string();
    assert!(ps.contains("10.88.0.2"), "{ps}");
    common::signal(supervisor.parse().unwrap(), "KILL");
    wait_until("ps says dead", 10, || {
        ns.nsbox(f, &["ps", "-a"]).ok().contains("dead")
    });
    let gc = ns.nsbox(f, &["gc"]).ok();
    assert_eq!(gc, "k\nbridge nsbox0\n");
    assert!(!f.state_root.join(".leases").exists());
    ns.wait_links(&["lo"]);
    f.assert_clean();
}

#[test]
fn trace_shows_every_netlink_request_and_its_answer() {
    let Some(net) = Net::new() else { return };
    let (f, ns) = (&net.f, &net.ns);
    let out = ns.nsbox(
        f,
        &[
            "run",
            "--trace",
            "--rootfs",
            &rootfs_arg(),
            "--net",
            "veth:192.168.50.1/30,192.168.50.2/30",
            "true",
        ],
    );
    let trace = out.stderr();
    assert_eq!(out.code(), 0, "{trace}");
    for want in [
        "netlink(host): RTM_GETLINK \"nsb",
        "netlink(host): RTM_GETADDR (dump, IPv4) -> ",
        "netlink(host): RTM_NEWLINK veth \"nsb",
        "with peer \"eth0\" in the container's network namespace -> ",
        "netlink(host): RTM_NEWADDR 192.168.50.1/30 on \"nsb",
        "netlink(container): RTM_NEWADDR 192.168.50.2/30 on \"eth0\" -> ACK",
        "netlink(container): RTM_NEWLINK \"eth0\" up -> ACK",
        "netlink(container): RTM_NEWROUTE default via 192.168.50.1 dev \"eth0\" -> ACK",
    ] {
        assert!(trace.contains(want), "trace lacks {want:?}:\n{trace}");
    }
    ns.wait_links(&["lo"]);
    f.assert_clean();
}

#[test]
fn bad_network_input_is_refused_with_its_reason_and_nothing_is_made() {
    let Some(net) = Net::new() else { return };
    let (f, ns) = (&net.f, &net.ns);
    let r = rootfs_arg();
    let refused = |net: &str, want: &str| {
        let out = ns.nsbox(f, &["run", "--rootfs", &r, "--net", net, "true"]);
        assert_eq!(out.code(), 125, "--net {net}: {}", out.stderr());
        let err = out.stderr();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(want), "--net {net}: {err:?} lacks {want:?}");
    };
    refused(
        "veth:10.0.0.1,10.0.0.2/24",
        "expected an IPv4 address with its prefix length",
    );
    refused("veth:10.0.0.300/24,10.0.0.2/24", "is not an IPv4 address");
    refused(
        "veth:10.0.0.1/24,10.0.0.255/24",
        "10.0.0.255 is the broadcast address of 10.0.0.0/24",
    );
    refused(
        "veth:10.0.0.1/24,10.0.0.1/24",
        "the host and the container would both be 10.0.0.1",
    );
    refused("veth:10.0.0.1/24,10.0.1.2/24", "are not in one subnet");
    refused("veth:10.0.0.1/24", "expected veth:HOST_CIDR,CONTAINER_CIDR");
    refused(
        "bridge:10.88.0.1/33",
        "the prefix length \"33\" is not a number from 1 to 30",
    );
    refused("mesh", "expected none, host, veth");

    // An address in use on the host: a second point-to-point container on the same subnet.
    ns.detach(f, "first", &["--net", "veth", "--", "sleep", "60"]);
    refused(
        "veth",
        "the network veth:10.0.0.1/24,10.0.0.2/24 (--net): the subnet 10.0.0.0/24 is in use on the host: \"nsb",
    );
    refused("bridge:10.0.0.9/16", "is in use on the host");
    // The bridge's subnet is exhausted (a /30 has the bridge and one container).
    ns.detach(
        f,
        "only",
        &["--net", "bridge:10.77.0.1/30", "--", "sleep", "60"],
    );
    refused(
        "bridge:10.77.0.1/30",
        "lease an address in 10.77.0.0/30 (--net): the subnet is exhausted",
    );
    // The bridge exists with another subnet.
    refused(
        "bridge:10.99.0.1/16",
        "the bridge nsbox0 exists and has 10.77.0.1/30",
    );
    ns.nsbox(f, &["rm", "-f", "first", "only"]).ok();
    ns.wait_links(&["lo", "nsbox0"]);

    // The host end's name is taken (by an interface nsbox did not make): the name nsbox gives
    // the id "named" is read from a traced run first.
    let traced = ns.nsbox(
        f,
        &[
            "run", "--rootfs", &r, "--net", "veth", "--name", "named", "--trace", "true",
        ],
    );
    let name = traced
        .stderr()
        .lines()
        .find_map(|l| l.split("RTM_GETLINK \"").nth(1))
        .and_then(|l| l.split('"').next())
        .unwrap()
        .to_string();
    ns.wait_links(&["lo", "nsbox0"]);
    ns.sh(&format!("ip link add {name} type bridge")).ok();
    let out = ns.nsbox(
        f,
        &[
            "run", "--rootfs", &r, "--net", "veth", "--name", "named", "true",
        ],
    );
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr().contains(&format!(
            "the interface \"{name}\" (the host end nsbox names for \"named\") already exists"
        )),
        "{}",
        out.stderr()
    );
    ns.sh(&format!("ip link del {name}")).ok();
    assert_eq!(ns.nsbox(f, &["gc"]).ok(), "bridge nsbox0\n");
    ns.wait_links(&["lo"]);

    // Without root.
    let out = Out(ns
        .command("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            nsbox_bin(),
        ])
        .args(["run", "--root"])
        .arg(&f.state_root)
        .args(["--rootfs", &r, "--net", "veth", "true"])
        .output()
        .unwrap());
    assert_eq!(out.code(), 125);
    assert!(out.stderr().contains("root is needed"), "{}", out.stderr());
    f.assert_clean();
}

#[test]
fn net_ns_path_joins_a_prepared_namespace_for_run_and_exec() {
    let Some(net) = Net::new() else { return };
    let f = &net.f;
    // The prepared namespace (as `ip netns add` makes one): a throwaway one with a link of
    // its own, which nsbox must neither make nor remove.
    let prepared = NetNs::new();
    prepared
        .sh("ip link add prep0 type veth peer name prep1")
        .ok();
    let arg = format!("ns:{}", prepared.path());
    let script = "ip -o link | grep -c ' prep0@'; ls /sys/class/net | grep -c '^prep0$'";
    let out = f.run(&["--net", &arg, "--", "sh", "-c", script]);
    assert_eq!(
        out.ok(),
        "1\n1\n",
        "the joined namespace's link, in ip and /sys"
    );
    // A detached container, and a process exec'd into it: both in the joined namespace.
    f.detach("nsjoin", &["--net", &arg, "--", "sleep", "600"]);
    let pid1 = common::first_pid(&f.manage(&["ps", "--json"]).ok());
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid1}/ns/net")).unwrap(),
        std::fs::read_link(prepared.path()).unwrap()
    );
    let exec = f.manage(&["exec", "nsjoin", "sh", "-c", script]);
    assert_eq!(exec.ok(), "1\n1\n", "exec joins it too");
    f.manage(&["rm", "-f", "nsjoin"]).ok();
    assert_eq!(
        prepared.sh("ip -o link | grep -c ' prep0@'").ok(),
        "1\n",
        "the prepared namespace keeps its link"
    );
    // Bad input: one line, exit 125, nothing made.
    for (bad, why) in [
        ("ns:run/netns/x", "needs the absolute path"),
        (
            "ns:/nonexistent/netns",
            "open the namespace \"/nonexistent/netns\": ENOENT",
        ),
        ("ns:/proc/self/ns/uts", "EINVAL"),
    ] {
        let out = f.run(&["--net", bad, "--", "true"]);
        assert_eq!(out.code(), 125, "{bad}: {}", out.stderr());
        assert_eq!(out.stderr().lines().count(), 1, "{bad}: {}", out.stderr());
        assert!(out.stderr().contains(why), "{bad}: {}", out.stderr());
    }
    f.assert_clean();
}

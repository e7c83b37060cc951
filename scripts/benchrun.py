#!/usr/bin/env python3
"""benchrun.py: the measuring half of scripts/bench.sh.

Runs every command of a list in round-robin (alternating, so drift and noise hit all of them
alike), times each run with posix_spawn + wait4, and takes the peak RSS from wait4's rusage. Then
the scaling runs (1,000 sequential nsbox runs; N concurrent), the syscall counts (strace -f -c),
and writes docs/BENCHMARKS.md and docs/bench.svg.

Input: a JSON file from bench.sh: {"commands": [{"name", "argv", "note", "binary"}], ...}.
"{n}" in an argv is replaced by a run number (container ids must differ between runs).
"""
import json
import os
import statistics
import subprocess
import sys
import time


def spawn_wait(argv):
    """Runs argv with stdio on /dev/null; returns (seconds, exit code, ru_maxrss). The RSS here
    includes this Python process's pages (posix_spawn shares them until exec): see peak_rss."""
    devnull = os.open(os.devnull, os.O_RDWR)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    t1 = time.perf_counter_ns()
    os.close(devnull)
    return (t1 - t0) / 1e9, os.waitstatus_to_exitcode(status), usage.ru_maxrss


def peak_rss(launcher, argv, n):
    """The largest ru_maxrss (KiB) of 5 runs, measured by the static launcher."""
    best = 0
    for i in range(5):
        out = subprocess.run([launcher] + fill(argv, n + i), capture_output=True, text=True)
        best = max(best, int(out.stdout.strip() or 0))
    return best


def fill(argv, n):
    return [a.replace("{n}", str(n)) for a in argv]


def links():
    """The network interfaces of the benchmark's network namespace."""
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return len(out.splitlines())


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def syscalls(argv, n):
    out = f"/tmp/nsbox-bench-strace-{os.getpid()}"
    subprocess.run(["strace", "-f", "-c", "-o", out] + fill(argv, n), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    total = None
    with open(out) as f:
        for line in f:
            if line.strip().endswith("total"):
                # "% time  seconds  usecs/call  calls  [errors]  total": calls is the 4th field.
                total = int(line.split()[3])
    os.unlink(out)
    return total


def main():
    cfg = json.load(open(sys.argv[1]))
    cmds, rounds, out_md, out_svg = cfg["commands"], cfg["rounds"], cfg["markdown"], cfg["svg"]
    # A peer that cannot run on this host is left out, and the report says why.
    runnable = []
    for i, c in enumerate(cmds):
        probe = subprocess.run(fill(c["argv"], 3 * 10**6 + i), capture_output=True, text=True)
        if probe.returncode == 0:
            runnable.append(c)
        elif c["name"] in (cfg["reference"], cfg["floor"]):
            sys.exit(f"bench: {c['name']} does not run here: {probe.stderr.strip()}")
        else:
            why = (probe.stderr.strip().splitlines() or [f"exit {probe.returncode}"])[-1]
            cfg.setdefault("notes", []).append(f"{c['name']} could not run on this host and is left out: {why}")
    cmds = runnable
    times = {c["name"]: [] for c in cmds}
    failures = {c["name"]: 0 for c in cmds}
    n = 0
    for warm in range(cfg["warmup"]):
        for c in cmds:
            n += 1
            spawn_wait(fill(c["argv"], n))
    for r in range(rounds):
        order = cmds[r % len(cmds):] + cmds[:r % len(cmds)]
        for c in order:
            n += 1
            secs, code, _ = spawn_wait(fill(c["argv"], n))
            if code != 0:
                failures[c["name"]] += 1
            times[c["name"]].append(secs)
    for c in cmds:
        if failures[c["name"]]:
            sys.exit(f"bench: {c['name']} failed {failures[c['name']]} of {rounds} runs: {' '.join(c['argv'])}")

    # Scaling: sequential runs must not get slower; N at once.
    # The floor runs alternately with nsbox: if both drift, it is the machine, not nsbox.
    nsbox = next(c for c in cmds if c["name"] == cfg["reference"])
    floor_cmd = next(c for c in cmds if c["name"] == cfg["floor"])
    seq, seq_floor = [], []
    for i in range(cfg["sequential"]):
        n += 1
        secs, code, _ = spawn_wait(fill(nsbox["argv"], n))
        assert code == 0, "nsbox failed during the sequential run"
        seq.append(secs)
        seq_floor.append(spawn_wait(floor_cmd["argv"])[0])
    # Commands whose sequential runs are watched too (networking: the kernel's asynchronous
    # cleanup of network namespaces must not pile up); and links left right after, and 1 s later.
    seq_also = {}
    for name, runs in cfg.get("sequential_also", {}).items():
        c = next(c for c in cmds if c["name"] == name)
        ts = []
        for i in range(runs):
            n += 1
            secs, code, _ = spawn_wait(fill(c["argv"], n))
            assert code == 0, f"{name} failed during the sequential run"
            ts.append(secs)
        left_now = links()
        time.sleep(1)
        seq_also[name] = (ts, left_now, links())
    concurrent = {}
    for width in cfg["concurrency"]:
        batches = []
        for _ in range(cfg["batches"]):
            devnull = os.open(os.devnull, os.O_RDWR)
            t0 = time.perf_counter_ns()
            pids = []
            for _ in range(width):
                n += 1
                argv = fill(nsbox["argv"], n)
                pids.append(os.posix_spawn(argv[0], argv, os.environ,
                                           file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]))
            for pid in pids:
                _, status = os.waitpid(pid, 0)
                assert os.waitstatus_to_exitcode(status) == 0, "nsbox failed in a concurrent batch"
            batches.append((time.perf_counter_ns() - t0) / 1e9)
            os.close(devnull)
        concurrent[width] = statistics.median(batches)

    counts = {c["name"]: syscalls(c["argv"], 10**6 + i) for i, c in enumerate(cmds)}
    rss = {c["name"]: peak_rss(cfg["maxrss"], c["argv"], 2 * 10**6 + 10 * i) for i, c in enumerate(cmds)}
    sizes = {c["name"]: (os.path.getsize(c["binary"]) if c.get("binary") and os.path.exists(c["binary"]) else None) for c in cmds}
    med = {k: statistics.median(v) for k, v in times.items()}
    ref = med[cfg["reference"]]
    floor = med.get(cfg["floor"])

    rows = []
    for c in cmds:
        k = c["name"]
        rows.append((k, med[k] * 1e3, pct(times[k], 90) * 1e3, med[k] / ref, med[k] / floor if floor else None,
                     counts[k], rss[k], sizes[k], c.get("note", "")))
    lines = [
        "# nsbox benchmarks",
        "",
        "Generated by `scripts/bench.sh` (do not edit by hand). Start-up of `/bin/true` in a busybox rootfs:",
        f"{rounds} rounds, each command once per round in rotating order, timed with posix_spawn + wait4.",
        "",
        f"- date: {cfg['date']}",
        f"- machine: {cfg['machine']}",
        f"- kernel: {cfg['kernel']}",
        f"- cgroups: {cfg['cgroups']}",
        "",
        "| command | median ms | p90 ms | x nsbox | x floor | syscalls | peak RSS KiB | binary KiB | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for k, m, p90, rn, rf, sc, r, size, note in rows:
        lines.append(f"| {k} | {m:.2f} | {p90:.2f} | {rn:.2f} | {rf:.2f} | {sc if sc is not None else '?'} | {r} | "
                     f"{size // 1024 if size else '-'} | {note} |")
    first, last = statistics.median(seq[:100]), statistics.median(seq[-100:])
    ffirst, flast = statistics.median(seq_floor[:100]), statistics.median(seq_floor[-100:])
    lines += [
        "",
        "`x nsbox` is the ratio of a command's median to nsbox's (below 1: faster than nsbox).",
        "",
        f"## Scaling ({cfg['reference']})",
        "",
        f"- {len(seq)} sequential runs: median of the first 100 {first * 1e3:.2f} ms, of the last 100 {last * 1e3:.2f} ms "
        f"(last/first {last / first:.2f}); the floor, run alternately: {ffirst * 1e3:.2f} ms and {flast * 1e3:.2f} ms "
        f"(last/first {flast / ffirst:.2f})",
    ]
    for name, (ts, left_now, left_later) in seq_also.items():
        k = len(ts) // 10
        a, b = statistics.median(ts[:k]), statistics.median(ts[-k:])
        lines.append(f"- {len(ts)} sequential runs of {name}: median of the first {k} {a * 1e3:.2f} ms, of the last {k} "
                     f"{b * 1e3:.2f} ms (last/first {b / a:.2f}); links in the namespace right after: {left_now}, 1 s later: {left_later}")
    for name, base in cfg.get("added", []):
        lines.append(f"- {name} adds {(med[name] - med[base]) * 1e3:.2f} ms to the median of {base}")
    for width, secs in concurrent.items():
        lines.append(f"- {width} at once: {secs * 1e3:.1f} ms for the batch (median of {cfg['batches']}), "
                     f"{width / secs:.0f} containers/s")
    lines += ["", "![medians](bench.svg)", ""]
    for note in cfg.get("notes", []):
        lines.append(f"- {note}")
    with open(out_md, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(out_svg, "w") as f:
        f.write(svg([(k, m) for k, m, *_ in rows], cfg["reference"]))
    print("\n".join(lines))


def svg(bars, highlight):
    """A horizontal bar chart of the medians, drawn by hand."""
    width, left, row, top = 760, 250, 26, 40
    top_ms = max(m for _, m in bars) * 1.1
    height = top + row * len(bars) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">',
           f'<text x="{left}" y="22" font-weight="bold">median start-up of /bin/true (ms)</text>']
    for i, (name, ms) in enumerate(bars):
        y = top + i * row
        w = (width - left - 70) * ms / top_ms
        color = "#d9534f" if name == highlight else "#5b8def"
        out.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{name}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{row - 8}" fill="{color}"/>')
        out.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}">{ms:.2f}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Link benchmark: ripgrep, linked from the same inputs by rlink, ld.lld, mold and GNU ld.

Builds ripgrep from the crates registry once per profile (cargo install, release and/or debug)
with a stand-in linker that records rustc's link line and keeps the objects, then links those
inputs repeatedly with each linker — the runs interleaved, so a machine that slows down slows
every linker alike — and prints the median wall time, peak memory (max RSS) and the ratio to
ld.lld. With --compare, a second rlink build (say, the last commit before a change) is timed in
the same run and the new/old ratios are printed. Every linked rg must run and find a known
line. Not a test: figures vary with the machine.

    python3 bench/link_ripgrep.py [--runs N] [--work DIR] [--rlink PATH] [--compare OLD_RLINK]
                                  [--profile release|debug|both] [--no-peers]

Needs: cargo (network access to the crates registry for the first build), cc, ld.lld, mold, ld.bfd.
"""

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RECORDER = r"""#!/bin/sh
# Records the final rg link, keeping its objects, then links normally so cargo succeeds.
out=""
prev=""
for a in "$@"; do
  if [ "$prev" = "-o" ]; then out="$a"; fi
  prev="$a"
done
case "$(basename "$out")" in
  rg-*|rg)
    mkdir -p "$RLINK_RECORD"
    : > "$RLINK_RECORD/args"
    for a in "$@"; do
      case "$a" in
        *.o) cp "$a" "$RLINK_RECORD/"; printf '%s\n' "$RLINK_RECORD/$(basename "$a")" >> "$RLINK_RECORD/args" ;;
        *) printf '%s\n' "$a" >> "$RLINK_RECORD/args" ;;
      esac
    done
    ;;
esac
exec cc "$@"
"""


def build_corpus(work, profile):
    record = os.path.join(work, f"record-{profile}")
    if os.path.exists(os.path.join(record, "args")):
        return record
    recorder = os.path.join(work, "record.sh")
    with open(recorder, "w") as f:
        f.write(RECORDER)
    os.chmod(recorder, 0o755)
    env = dict(os.environ, RLINK_RECORD=record)
    env["CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER"] = recorder
    print(f"building ripgrep once (cargo install, {profile})...", flush=True)
    debug = ["--debug"] if profile == "debug" else []
    subprocess.run(
        ["cargo", "install", "--quiet", "--force", "ripgrep", *debug,
         "--root", os.path.join(work, f"install-{profile}"),
         "--target-dir", os.path.join(work, f"target-{profile}")],
        env=env, check=True)
    return record


def read_args(record):
    with open(os.path.join(record, "args")) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def host_driver_args(args):
    """rustc's cc line minus the linker choice, and with -o left for us."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a.startswith("-fuse-ld=") or a.startswith("-B"):
            continue
        out.append(a)
    return out


def direct_linker_command(linker_binary, fuse, cc, out, work):
    """The exact command the C driver would run for this linker (from `cc -###`), so each
    linker is timed alone, without the driver's start-up in its figure."""
    probe = subprocess.run(["cc", "-###", f"-fuse-ld={fuse}", "-o", out] + cc,
                           capture_output=True, text=True, cwd=work)
    lines = [l for l in probe.stderr.splitlines() if "collect2" in l]
    if not lines:
        sys.exit(f"cc -### printed no collect2 line for -fuse-ld={fuse}:\n{probe.stderr}")
    words = shlex.split(lines[-1])
    return [linker_binary] + [w for w in words[1:] if not w.startswith("-fuse-ld=")]


def rlink_args(args):
    return [a for a in args if a.endswith(".o") or a.endswith(".rlib") or a.startswith("-l")]


def timed(cmd):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"link failed: {' '.join(cmd[:3])} ...\n{stderr}")
    return elapsed, usage.ru_maxrss


def check_rg(path, work):
    corpus = os.path.join(work, "haystack.txt")
    with open(corpus, "w") as f:
        for i in range(20000):
            f.write(f"line {i} nothing here\n")
        f.write("the needle rlink-was-here sits on this line\n")
    out = subprocess.run([path, "-n", "rlink-was-[a-z]+", corpus], capture_output=True, text=True)
    if out.returncode != 0 or "20001:the needle rlink-was-here" not in out.stdout:
        sys.exit(f"{path} did not search correctly: {out.returncode} {out.stdout!r} {out.stderr!r}")


def bench_corpus(opts, profile, rlinks):
    record = build_corpus(opts.work, profile)
    args = read_args(record)
    cc = host_driver_args(args)
    linkers = {}
    for name, binary in rlinks.items():
        linkers[name] = (lambda b: lambda out: [b, "-linkmode=internal", "-o", out] + rlink_args(args))(binary)
    if not opts.no_peers:
        tools = {"ld.lld": ("ld.lld", "lld"), "mold": ("mold", "mold"), "GNU ld": ("ld.bfd", "bfd")}
        for name, (binary, fuse) in tools.items():
            path = shutil.which(binary)
            if path is None:
                sys.exit(f"{binary} not found (apt-get install lld mold binutils)")
            linkers[name] = (lambda p, f: lambda out: direct_linker_command(p, f, cc, out, opts.work))(path, fuse)
    inputs = rlink_args(args)
    size = sum(os.path.getsize(a) for a in inputs if os.path.exists(a))
    print(f"\ncorpus: ripgrep {profile}, {len(inputs)} inputs, {size / 1e6:.1f} MB of objects and rlibs; "
          f"{opts.runs} runs each, interleaved")
    commands, outs = {}, {}
    for name, cmd in linkers.items():
        outs[name] = os.path.join(opts.work, f"rg-{profile}-" + name.replace(" ", "-").replace(".", "-")
                                  .replace("(", "").replace(")", ""))
        commands[name] = cmd(outs[name])
        timed(commands[name])  # warm the page cache
    times = {name: [] for name in linkers}
    rss = {name: [] for name in linkers}
    for _ in range(opts.runs):
        for name in linkers:
            t, m = timed(commands[name])
            times[name].append(t)
            rss[name].append(m)
    results = {}
    for name in linkers:
        check_rg(outs[name], opts.work)
        results[name] = (statistics.median(times[name]), max(rss[name]), os.path.getsize(outs[name]))
    base = results.get("ld.lld", results["rlink"])[0]
    base_name = "lld" if "ld.lld" in results else "rlink"
    print(f"{'linker':<16} {'median s':>9} {'vs ' + base_name:>9} {'peak MB':>8} {'output MB':>10}")
    for name, (t, m, sz) in results.items():
        print(f"{name:<16} {t:>9.3f} {t / base:>9.2f} {m / 1024:>8.1f} {sz / 1e6:>10.1f}")
    if "ld.lld" in results:
        print(f"rlink/lld ratio: {results['rlink'][0] / base:.2f}")
    if "rlink (before)" in results:
        (t_new, m_new, _), (t_old, m_old, _) = results["rlink"], results["rlink (before)"]
        print(f"rlink new/old: time {t_new / t_old:.3f}, peak RSS {m_new / m_old:.3f} "
              f"({m_new / 1024:.1f} MB vs {m_old / 1024:.1f} MB)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "rlink-bench-ripgrep"))
    ap.add_argument("--rlink", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "rlink"))
    ap.add_argument("--compare", help="another rlink build to time in the same run")
    ap.add_argument("--profile", choices=["release", "debug", "both"], default="release")
    ap.add_argument("--no-peers", action="store_true", help="time rlink builds only")
    opts = ap.parse_args()
    os.makedirs(opts.work, exist_ok=True)
    rlinks = {"rlink": os.path.abspath(opts.rlink)}
    if opts.compare:
        rlinks["rlink (before)"] = os.path.abspath(opts.compare)
    for name, path in rlinks.items():
        if not os.path.exists(path):
            sys.exit(f"{path} not found: run `cargo build --release` first")
    profiles = ["release", "debug"] if opts.profile == "both" else [opts.profile]
    for profile in profiles:
        bench_corpus(opts, profile, rlinks)


if __name__ == "__main__":
    main()

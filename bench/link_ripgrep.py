#!/usr/bin/env python3
"""Link benchmark: ripgrep, linked from the same inputs by rlink, ld.lld, mold and GNU ld.

Builds ripgrep from the crates registry once (cargo install, release) with a stand-in linker
that records rustc's link line and keeps the objects, then links those inputs repeatedly with
each linker and prints the median wall time, peak memory (max RSS) and the ratio to ld.lld.
Every linked rg must run and find a known line. Not a test: figures vary with the machine.

    python3 bench/link_ripgrep.py [--runs N] [--work DIR] [--rlink PATH]

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


def build_corpus(work):
    record = os.path.join(work, "record")
    if os.path.exists(os.path.join(record, "args")):
        return record
    recorder = os.path.join(work, "record.sh")
    with open(recorder, "w") as f:
        f.write(RECORDER)
    os.chmod(recorder, 0o755)
    env = dict(os.environ, RLINK_RECORD=record)
    env["CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER"] = recorder
    print("building ripgrep once (cargo install, release)...", flush=True)
    subprocess.run(
        ["cargo", "install", "--quiet", "--force", "ripgrep", "--root", os.path.join(work, "install"),
         "--target-dir", os.path.join(work, "target")],
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "rlink-bench-ripgrep"))
    ap.add_argument("--rlink", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "rlink"))
    opts = ap.parse_args()
    os.makedirs(opts.work, exist_ok=True)
    rlink = os.path.abspath(opts.rlink)
    if not os.path.exists(rlink):
        sys.exit(f"{rlink} not found: run `cargo build --release` first")
    record = build_corpus(opts.work)
    args = read_args(record)
    cc = host_driver_args(args)
    tools = {"ld.lld": ("ld.lld", "lld"), "mold": ("mold", "mold"), "GNU ld": ("ld.bfd", "bfd")}
    linkers = {"rlink": lambda out: [rlink, "-linkmode=internal", "-o", out] + rlink_args(args)}
    for name, (binary, fuse) in tools.items():
        path = shutil.which(binary)
        if path is None:
            sys.exit(f"{binary} not found (apt-get install lld mold binutils)")
        linkers[name] = (lambda p, f: lambda out: direct_linker_command(p, f, cc, out, opts.work))(path, fuse)
    inputs = rlink_args(args)
    size = sum(os.path.getsize(a) for a in inputs if os.path.exists(a))
    print(f"corpus: ripgrep, {len(inputs)} inputs, {size / 1e6:.1f} MB of objects and rlibs; {opts.runs} runs each")
    results = {}
    for name, cmd in linkers.items():
        out = os.path.join(opts.work, "rg-" + name.replace(" ", "-").replace(".", "-"))
        times, rss = [], []
        command = cmd(out)
        timed(command)  # warm the page cache
        for _ in range(opts.runs):
            t, m = timed(command)
            times.append(t)
            rss.append(m)
        check_rg(out, opts.work)
        results[name] = (statistics.median(times), max(rss), os.path.getsize(out))
    lld = results["ld.lld"][0]
    print(f"{'linker':<8} {'median s':>9} {'vs lld':>7} {'peak MB':>8} {'output MB':>10}")
    for name, (t, m, sz) in results.items():
        print(f"{name:<8} {t:>9.3f} {t / lld:>7.2f} {m / 1024:>8.1f} {sz / 1e6:>10.1f}")
    print(f"rlink/lld ratio: {results['rlink'][0] / lld:.2f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Link benchmark: the std hello of testdata/programs for arm64 macOS (Mach-O) against the same
program for x86-64 Linux (ELF).

Each target's link line is recorded once from rustc (release, std's debug info stripped as
cargo's release profile does), then linked repeatedly, the runs interleaved: rlink for both,
ld64.lld for the Mach-O one (given a libSystem .tbd made from rlink's bundled manifest) and
ld.lld for the ELF one. Prints the median wall time and peak memory of each, and rlink's
Mach-O/ELF ratio. The ELF output must run and print its line; the Mach-O one cannot run here
and is only read back by llvm-objdump. Not a test: figures vary with the machine.

    python3 bench/link_macho.py [--runs N] [--work DIR] [--rlink PATH] [--no-peers]

Needs what bench/link_aarch64.py needs (Debian's rustc-web with its std source, which builds
std for aarch64-apple-darwin on the first run), plus ld64.lld-16 and ld.lld for the peers.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import link_aarch64 as common  # noqa: E402  (the recorder, std builds and timing)

MACHO = "aarch64-apple-darwin"
ELF = "x86_64-unknown-linux-gnu"


def libsystem_tbd(work):
    """A TAPI v4 .tbd listing the names rlink's arm64 manifest lists, for ld64.lld."""
    manifest = os.path.join(common.REPO, "linker/macho/manifests/libSystem-arm64.directives")
    names = [l.split(" ")[1] for l in open(manifest) if l.split(" ")[1] != "_"]
    d = os.path.join(work, "tbd")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "libSystem.tbd"), "w") as f:
        f.write("--- !tapi-tbd\ntbd-version: 4\ntargets: [ arm64-macos ]\n"
                "install-name: '/usr/lib/libSystem.B.dylib'\ncurrent-version: 1351\nexports:\n"
                "  - targets: [ arm64-macos ]\n    symbols: [ "
                + ", ".join(f"'{n}'" for n in names) + " ]\n...\n")
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "rlink-bench-macho"))
    ap.add_argument("--rlink", default=os.path.join(common.REPO, "target", "release", "rlink"))
    ap.add_argument("--no-peers", action="store_true")
    opts = ap.parse_args()
    common.OPTS = opts
    rlink = os.path.abspath(opts.rlink)
    if not os.path.exists(rlink):
        sys.exit(f"{rlink} not found: run `cargo build --release` first")
    work = opts.work
    os.makedirs(work, exist_ok=True)
    # link_aarch64 builds std from source for every triple but its X86_64 one.
    common.X86_64 = ELF
    commands = {}
    for triple in (ELF, MACHO):
        args = common.read_args(common.build_hello(work, triple))
        out = os.path.join(work, f"hello-{triple}-rlink")
        commands[(triple, "rlink")] = [rlink] + common.without_output(args) + ["-o", out]
        if opts.no_peers:
            continue
        if triple == ELF:
            commands[(triple, "ld.lld")] = common.peer_command(
                triple, "lld", args, os.path.join(work, f"hello-{triple}-lld"), work)
        else:
            lld = shutil.which("ld64.lld-16") or sys.exit("ld64.lld-16 not found (apt-get install lld-16)")
            inputs = [a for a in common.without_output(args)
                      if a.endswith(".o") or a.endswith(".rlib")]
            commands[(triple, "ld64.lld")] = [
                lld, "-arch", "arm64", "-platform_version", "macos", "11.0", "11.0",
                "-dead_strip", "-o", os.path.join(work, f"hello-{triple}-lld"), *inputs,
                "-L", libsystem_tbd(work), "-lSystem"]
    for key, cmd in commands.items():
        common.timed(cmd, work)  # warm the page cache
    common.check_output("hello", ELF, commands[(ELF, "rlink")][-1])
    check = subprocess.run(["llvm-objdump-16" if shutil.which("llvm-objdump-16") else "llvm-objdump-22",
                            "--macho", "--private-headers", commands[(MACHO, "rlink")][-1]],
                           capture_output=True, text=True)
    if check.returncode != 0 or check.stderr:
        sys.exit(f"the Mach-O output does not read back: {check.stderr}")
    times = {k: [] for k in commands}
    rss = {k: [] for k in commands}
    for _ in range(opts.runs):
        for key, cmd in commands.items():
            t, m = common.timed(cmd, work)
            times[key].append(t)
            rss[key].append(m)
    print(f"\n{opts.runs} runs of each link, interleaved; median wall time, peak RSS")
    print(f"{'target':<27} {'linker':<9} {'median ms':>10} {'peak MB':>8}")
    for (triple, name), ts in times.items():
        print(f"{triple:<27} {name:<9} {statistics.median(ts) * 1e3:>10.1f} "
              f"{max(rss[(triple, name)]) / 1024:>8.1f}")
    m = statistics.median(times[(MACHO, "rlink")])
    e = statistics.median(times[(ELF, "rlink")])
    print(f"\nrlink Mach-O arm64 / ELF x86-64 (std hello): {m / e:.2f}")


if __name__ == "__main__":
    main()

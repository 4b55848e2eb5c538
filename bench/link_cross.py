#!/usr/bin/env python3
"""Cross-link benchmark: the std hello of testdata/programs for every target rlink links,
each linked by rlink and by zig cc (cargo-zigbuild's engine; `pip install ziglang`) from the
same objects and rlibs, in one run.

Each target's link line is recorded once from rustc (release, std's debug info stripped), then
linked repeatedly, the runs interleaved. Prints per target the median wall time and the output
size of both, and rlink's time as a fraction of zig's. Every output is checked: the Linux ones
run (natively, or under qemu-aarch64), the Windows ones under wine, the macOS ones read back
with llvm-objdump. zig cannot link x86_64-pc-windows-msvc (it has no MSVC import libraries or
CRT), so that row has rlink alone. Not a test: figures vary with the machine.

    python3 bench/link_cross.py [--runs N] [--work DIR] [--rlink PATH] [--targets T,T,...]

Needs Debian's rustc-web with its std source (std for the other targets is built from source
on the first run, as the tests build it), ziglang from PyPI, qemu-user, wine64 and llvm.
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

TARGETS = {
    # triple: zig's target (None: zig cannot link it)
    "x86_64-unknown-linux-gnu": "x86_64-linux-gnu",
    "aarch64-unknown-linux-gnu": "aarch64-linux-gnu",
    "x86_64-apple-darwin": "x86_64-macos",
    "aarch64-apple-darwin": "aarch64-macos",
    "x86_64-pc-windows-gnu": "x86_64-windows-gnu",
    "x86_64-pc-windows-msvc": None,
}
# Libraries rustc names that zig's own runtime replaces: its libunwind for libgcc's unwinder,
# its compiler_rt and mingw for the rest.
ZIG_SWAPS = {"-lgcc_s": "-lunwind", "-lgcc_eh": "-lunwind"}
ZIG_DROPS = {"-lgcc", "-lmsvcrt", "-l:libpthread.a", "-lmingwex", "-lmingw32", "-lssp_nonshared", "-lssp"}


def rlink_command(rlink, args, out):
    if any(a.startswith("/OUT:") for a in args):  # rustc's link.exe line
        return [rlink] + [a for a in args if not a.startswith("/OUT:")] + [f"/OUT:{out}"]
    return [rlink] + common.without_output(args) + ["-o", out]


def zig_command(zig_target, args, out):
    inputs = [a for a in common.without_output(args)
              if a.endswith(".o") or a.endswith(".rlib") or a.startswith("-l")]
    swapped = []
    for a in inputs:
        a = ZIG_SWAPS.get(a, a)
        if a not in ZIG_DROPS and not (a == "-lunwind" and a in swapped):
            swapped.append(a)
    inputs = swapped
    return [sys.executable, "-m", "ziglang", "cc", "-target", zig_target, "-o", out, *inputs]


def check(triple, path, work):
    want = "hello from rlink\n"
    if triple.endswith("apple-darwin"):
        tool = shutil.which("llvm-objdump-16") or shutil.which("llvm-objdump-22") or "llvm-objdump"
        r = subprocess.run([tool, "--macho", "--private-headers", path], capture_output=True,
                           text=True)
        ok = r.returncode == 0 and "LC_MAIN" in r.stdout
    else:
        if triple.startswith("aarch64"):
            cmd = ["qemu-aarch64", "-L", common.ARM_SYSROOT, path]
        elif "windows" in triple:
            cmd = ["wine", path]
        else:
            cmd = [path]
        env = dict(os.environ, WINEDEBUG="-all", WINEPREFIX=os.path.join(work, "wineprefix"),
                   DISPLAY="")
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
        ok = r.returncode == 0 and r.stdout == want
    if not ok:
        sys.exit(f"{path} ({triple}) is not right: {r.returncode} {r.stdout!r} {r.stderr[-400:]!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "rlink-bench-cross"))
    ap.add_argument("--rlink", default=os.path.join(common.REPO, "target", "release", "rlink"))
    ap.add_argument("--targets", default=",".join(TARGETS))
    opts = ap.parse_args()
    common.OPTS = opts
    rlink = os.path.abspath(opts.rlink)
    if not os.path.exists(rlink):
        sys.exit(f"{rlink} not found: run `cargo build --release` first")
    if subprocess.run([sys.executable, "-c", "import ziglang"]).returncode != 0:
        sys.exit("ziglang is not installed (python3 -m pip install ziglang)")
    work = opts.work
    os.makedirs(work, exist_ok=True)
    # The windows-gnu std imports ProcessPrng, which wine 8 lacks: rlink links the stand-in.
    dll = os.path.join(work, "bcryptprimitives.dll")
    if not os.path.exists(dll):
        obj = os.path.join(work, "bcryptprimitives.o")
        subprocess.run(["clang", "--target=x86_64-pc-windows-msvc", "-O1", "-c",
                        os.path.join(common.REPO, "testdata/pe/bcryptprimitives.c"), "-o", obj],
                       check=True)
        subprocess.run([rlink, "-flavor", "link", "/DLL", f"/OUT:{dll}", obj, "advapi32.lib"],
                       check=True)
    # link_aarch64 builds std from source for every triple but its X86_64 one.
    common.X86_64 = "x86_64-unknown-linux-gnu"
    commands = {}
    for triple in opts.targets.split(","):
        args = common.read_args(common.build_hello(work, triple))
        ext = ".exe" if "windows" in triple else ""
        commands[(triple, "rlink")] = rlink_command(
            rlink, args, os.path.join(work, f"hello-{triple}-rlink{ext}"))
        zig_target = TARGETS[triple]
        if zig_target:
            commands[(triple, "zig cc")] = zig_command(
                zig_target, args, os.path.join(work, f"hello-{triple}-zig{ext}"))
    for key, cmd in commands.items():
        common.timed(cmd, work)  # warm the page cache (and zig's own cache)
        out = cmd[cmd.index("-o") + 1] if "-o" in cmd else cmd[-1][len("/OUT:"):]
        check(key[0], out, work)
    times = {k: [] for k in commands}
    for _ in range(opts.runs):
        for key, cmd in commands.items():
            t, _ = common.timed(cmd, work)
            times[key].append(t)
    print(f"\n{opts.runs} runs of each link, interleaved; median wall time, output size")
    print(f"{'target':<27} {'linker':<7} {'median ms':>10} {'size KB':>9} {'rlink/zig':>10}")
    for (triple, name), ts in times.items():
        cmd = commands[(triple, name)]
        out = cmd[cmd.index("-o") + 1] if "-o" in cmd else cmd[-1][len("/OUT:"):]
        size = os.path.getsize(out) / 1024
        ratio = ""
        if name == "rlink" and (triple, "zig cc") in times:
            ratio = f"{statistics.median(ts) / statistics.median(times[(triple, 'zig cc')]):.2f}"
        print(f"{triple:<27} {name:<7} {statistics.median(ts) * 1e3:>10.1f} {size:>9.0f} "
              f"{ratio:>10}")


if __name__ == "__main__":
    main()

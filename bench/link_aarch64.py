#!/usr/bin/env python3
"""Link benchmark: the same programs linked for aarch64 and for x86-64.

Two corpora, each built once per target with a stand-in linker that records rustc's cc-style
link line and keeps its objects: the std hello of testdata/programs, and the cargo project of
testdata/cargo-project (regex, serde_json, a C helper from the cc crate), both in release.
Each recorded line is then linked repeatedly — rlink reading rustc's line exactly as it does as
cargo's linker, and, with the peers, ld.lld and mold given the command the C driver would run
for them — the runs interleaved so a machine that slows down slows every link alike. Prints
the median wall time and peak memory of each link, each linker's ratio to lld for the same
target, and rlink's aarch64/x86-64 ratio per corpus. Every output is run (natively, or under
qemu-aarch64) and its output checked. Not a test: figures vary with the machine.

    python3 bench/link_aarch64.py [--runs N] [--work DIR] [--rlink PATH] [--no-peers]

Needs: /usr/bin/rustc and /usr/bin/cargo (Debian's rustc-web and cargo-web, whose rust-web-src
builds std for aarch64 here), qemu-aarch64 and Debian's arm64 glibc, aarch64-linux-gnu-gcc (the
cc crate's compiler for the C helper), gcc; for the peers ld.lld and mold. The first run builds
std for aarch64 (a few minutes) into target/cross-sysroot, where the tests keep theirs.
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

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
AARCH64 = "aarch64-unknown-linux-gnu"
X86_64 = "x86_64-unknown-linux-gnu"
TARGETS = [X86_64, AARCH64]
RUSTC = "/usr/bin/rustc"
CARGO = "/usr/bin/cargo"
ARM_SYSROOT = "/usr/aarch64-linux-gnu"
DRIVER = {X86_64: "gcc", AARCH64: "aarch64-linux-gnu-gcc"}

# Records the link of the program we want (its -o names it), keeping its objects (rustc's are in
# a temporary directory that is gone when it exits), then reports success without linking.
RECORDER = r"""#!/bin/sh
out=""
prev=""
for a in "$@"; do
  if [ "$prev" = "-o" ]; then out="$a"; fi
  case "$a" in /OUT:*) out="${a#/OUT:}" ;; esac
  prev="$a"
done
case "$(basename "$out")" in
  "$RLINK_WANT"|"$RLINK_WANT"-*)
    mkdir -p "$RLINK_RECORD"
    : > "$RLINK_RECORD/args.tmp"
    n=0
    for a in "$@"; do
      case "$a" in
        *.o) n=$((n+1)); cp "$a" "$RLINK_RECORD/$n-$(basename "$a")"
             printf '%s\n' "$RLINK_RECORD/$n-$(basename "$a")" >> "$RLINK_RECORD/args.tmp" ;;
        *) printf '%s\n' "$a" >> "$RLINK_RECORD/args.tmp" ;;
      esac
    done
    mv "$RLINK_RECORD/args.tmp" "$RLINK_RECORD/args"
    : > "$out"
    exit 0
    ;;
esac
exec "$RLINK_REAL_LINKER" "$@"
"""


def sysroot_for(triple):
    """std for `triple`: the host's own for x86-64; for aarch64 the one the tests build, built
    here the same way when it is missing."""
    if triple == X86_64:
        return None
    root = os.path.join(REPO, "target/cross-sysroot", triple)
    if os.path.exists(os.path.join(root, "complete-std-panic_abort-test")):
        return root
    print(f"building std for {triple} once (-Zbuild-std)...", flush=True)
    builder = os.path.join(REPO, "target/cross-std/builder")
    os.makedirs(os.path.join(builder, "src"), exist_ok=True)
    with open(os.path.join(builder, "Cargo.toml"), "w") as f:
        f.write('[package]\nname = "std-builder"\nversion = "0.0.0"\nedition = "2021"\n\n[workspace]\n')
    open(os.path.join(builder, "src/lib.rs"), "w").close()
    target_dir = os.path.join(REPO, "target/cross-std/target", triple)
    shutil.rmtree(target_dir, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    env = dict(os.environ, RUSTC=RUSTC, RUSTC_BOOTSTRAP="1", PATH="/usr/bin:" + os.environ["PATH"])
    env.pop("RUSTFLAGS", None)
    env.pop("CARGO_ENCODED_RUSTFLAGS", None)
    subprocess.run([CARGO, "build", "--release", "-Zbuild-std=std,panic_abort,test",
                    "--target", triple, "--target-dir", target_dir],
                   cwd=builder, env=env, check=True)
    lib = os.path.join(root, "lib/rustlib", triple, "lib")
    os.makedirs(lib)
    deps = os.path.join(target_dir, triple, "release/deps")
    for name in os.listdir(deps):
        if name.endswith(".rlib"):
            shutil.copy(os.path.join(deps, name), lib)
    open(os.path.join(root, "complete-std-panic_abort-test"), "w").close()
    return root


def recorder(work):
    path = os.path.join(work, "record.sh")
    with open(path, "w") as f:
        f.write(RECORDER)
    os.chmod(path, 0o755)
    return path


def record_env(work, triple, record, want):
    return dict(os.environ, RLINK_RECORD=record, RLINK_WANT=want,
                RLINK_REAL_LINKER=os.path.abspath(OPTS.rlink), RUSTC=RUSTC,
                RUSTC_BOOTSTRAP="1", PATH="/usr/bin:" + os.environ["PATH"])


def build_hello(work, triple):
    record = os.path.join(work, f"hello-{triple}")
    if os.path.exists(os.path.join(record, "args")):
        return record
    # As cargo's release profile: std's debug info is stripped (Debian's x86-64 std carries it,
    # the aarch64 one built here does not; linking it would compare different inputs).
    cmd = [RUSTC, "--edition=2021", "--target", triple, "-C", "opt-level=2", "-C", "strip=debuginfo",
           "-C", f"linker={recorder(work)}", os.path.join(REPO, "testdata/programs/hello.rs"),
           "-o", os.path.join(work, f"hello-{triple}.unused")]
    sysroot = sysroot_for(triple)
    if sysroot:
        cmd[1:1] = ["--sysroot", sysroot]
    subprocess.run(cmd, env=record_env(work, triple, record, f"hello-{triple}.unused"),
                   check=True, cwd=work)
    return record


def build_project(work, triple):
    record = os.path.join(work, f"project-{triple}")
    if os.path.exists(os.path.join(record, "args")):
        return record
    print(f"building the cargo project for {triple} once...", flush=True)
    project = os.path.join(work, "project")
    if not os.path.exists(project):
        shutil.copytree(os.path.join(REPO, "testdata/cargo-project"), project,
                        ignore=shutil.ignore_patterns("target"))
    env = record_env(work, triple, record, "rlink_cargo_fixture")
    upper = triple.upper().replace("-", "_")
    env[f"CARGO_TARGET_{upper}_LINKER"] = recorder(work)
    if triple != X86_64:
        # Build scripts are host programs: rlink links them, unrecorded.
        env["CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER"] = os.path.abspath(OPTS.rlink)
    sysroot = sysroot_for(triple)
    if sysroot:
        env["RUSTFLAGS"] = f"--sysroot={sysroot}"
    else:
        env.pop("RUSTFLAGS", None)
    env.pop("CARGO_TARGET_DIR", None)
    env.pop("CARGO_ENCODED_RUSTFLAGS", None)
    subprocess.run([CARGO, "build", "--locked", "--release", "--target", triple,
                    "--target-dir", os.path.join(work, f"project-target-{triple}")],
                   cwd=project, env=env, check=True)
    return record


def read_args(record):
    with open(os.path.join(record, "args")) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def without_output(args):
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a == "-o":
            skip = True
        else:
            out.append(a)
    return out


def peer_command(triple, fuse, args, out, work):
    """The command the target's C driver runs for `-fuse-ld=fuse` (from `-###`), so the peer
    is timed alone, without the driver's start-up."""
    cc = [a for a in without_output(args) if not a.startswith("-fuse-ld=") and not a.startswith("-B")]
    probe = subprocess.run([DRIVER[triple], "-###", f"-fuse-ld={fuse}", "-o", out] + cc,
                           capture_output=True, text=True, cwd=work)
    lines = [l for l in probe.stderr.splitlines() if "collect2" in l]
    if not lines:
        sys.exit(f"{DRIVER[triple]} -### printed no collect2 line for -fuse-ld={fuse}:\n{probe.stderr}")
    words = shlex.split(lines[-1])
    binary = shutil.which("ld.lld" if fuse == "lld" else "mold")
    return [binary] + [w for w in words[1:] if not w.startswith("-fuse-ld=")]


def timed(cmd, cwd):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"link failed: {' '.join(cmd[:4])} ...\n{stderr}")
    return elapsed, usage.ru_maxrss


def check_output(corpus, triple, path):
    cmd = [path] if triple == X86_64 else ["qemu-aarch64", "-L", ARM_SYSROOT, path]
    if corpus == "hello":
        want = "hello from rlink\n"
    else:
        cmd.append("n7 m8")
        want = '{"input":"n7 m8","sum":48}\n'
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0 or out.stdout != want:
        sys.exit(f"{path} did not run correctly: {out.returncode} {out.stdout!r} {out.stderr!r}")


def main():
    global OPTS
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "rlink-bench-aarch64"))
    ap.add_argument("--rlink", default=os.path.join(REPO, "target", "release", "rlink"))
    ap.add_argument("--no-peers", action="store_true", help="time rlink only")
    OPTS = ap.parse_args()
    if not os.path.exists(OPTS.rlink):
        sys.exit(f"{OPTS.rlink} not found: run `cargo build --release` first")
    rlink = os.path.abspath(OPTS.rlink)
    work = OPTS.work
    os.makedirs(work, exist_ok=True)

    # (corpus, target, linker) -> command
    commands, outs = {}, {}
    for corpus, build in [("hello", build_hello), ("project", build_project)]:
        for triple in TARGETS:
            args = read_args(build(work, triple))
            linkers = {"rlink": None} if OPTS.no_peers else {"rlink": None, "ld.lld": "lld", "mold": "mold"}
            for name, fuse in linkers.items():
                out = os.path.join(work, f"out-{corpus}-{triple}-{name}")
                if fuse is None:
                    cmd = [rlink] + without_output(args) + ["-o", out]
                else:
                    if shutil.which("ld.lld" if fuse == "lld" else "mold") is None:
                        sys.exit(f"{name} not found (apt-get install lld mold), or pass --no-peers")
                    cmd = peer_command(triple, fuse, args, out, work)
                key = (corpus, triple, name)
                commands[key], outs[key] = cmd, out
                timed(cmd, work)  # warm the page cache
                check_output(corpus, triple, out)

    times = {k: [] for k in commands}
    rss = {k: [] for k in commands}
    for _ in range(OPTS.runs):
        for key, cmd in commands.items():
            t, m = timed(cmd, work)
            times[key].append(t)
            rss[key].append(m)

    print(f"\n{OPTS.runs} runs of each link, interleaved; median wall time, peak RSS")
    print(f"{'corpus':<9} {'target':<27} {'linker':<8} {'median ms':>10} {'vs lld':>7} {'peak MB':>8}")
    for key in commands:
        corpus, triple, name = key
        t = statistics.median(times[key])
        lld = (corpus, triple, "ld.lld")
        ratio = f"{t / statistics.median(times[lld]):.2f}" if lld in times else "-"
        print(f"{corpus:<9} {triple:<27} {name:<8} {t * 1e3:>10.1f} {ratio:>7} {max(rss[key]) / 1024:>8.1f}")
    print("(mold links in a child process it forks; its peak RSS is the parent's only)\n")
    for corpus in ["hello", "project"]:
        a = statistics.median(times[(corpus, AARCH64, "rlink")])
        x = statistics.median(times[(corpus, X86_64, "rlink")])
        print(f"rlink aarch64/x86-64 ({corpus}): {a / x:.2f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Links the same inputs with two rlink binaries and compares the outputs byte for byte.

    python3 bench/compare_outputs.py OLD_RLINK NEW_RLINK [--keep DIR]

For a refactoring that must not change what rlink writes: every test program of
testdata/programs (release and debug, PIE and -buildmode=exe, -s), the no_std program linked
from directives alone, C programs through gcc's ld door (PIE, non-PIE, -static, a -shared
library), and rlink itself, each at -threads=1 and -threads=2. Prints one line per output and
a summary; exits 1 if any pair differs (only .comment and the build id may differ, and only
when the version string changed, which this script reports as a difference too).
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROGRAMS = REPO / "testdata" / "programs"

RECORDER = """#!/bin/sh
mkdir -p "$RLINK_RECORD"
: > "$RLINK_RECORD/args"
for a in "$@"; do
  case "$a" in
    *.o) cp "$a" "$RLINK_RECORD/"; printf '%s\\n' "$RLINK_RECORD/$(basename "$a")" >> "$RLINK_RECORD/args" ;;
    *) printf '%s\\n' "$a" >> "$RLINK_RECORD/args" ;;
  esac
done
"""


def run(cmd, cwd=None, env=None):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{r.stderr}")
    return r.stdout


def recorded_inputs(work, name, compile_cmd, env_extra=None):
    """Runs a rustc/cargo command with a recording linker; returns rlink's inputs."""
    rec_dir = work / f"rec-{name}"
    recorder = work / "record.sh"
    if not recorder.exists():
        recorder.write_text(RECORDER)
        recorder.chmod(0o755)
    env = dict(os.environ, RLINK_RECORD=str(rec_dir))
    env.update(env_extra or {})
    run(compile_cmd(recorder), cwd=work, env=env)
    args = (rec_dir / "args").read_text().splitlines()
    return [a for a in args if a.endswith(".o") or a.endswith(".rlib") or a.startswith("-l")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--keep", help="keep the work directory here")
    opts = ap.parse_args()
    old, new = Path(opts.old).resolve(), Path(opts.new).resolve()
    work = Path(opts.keep or tempfile.mkdtemp(prefix="rlink-compare-"))
    work.mkdir(parents=True, exist_ok=True)

    # (name, rlink arguments before the output)
    links = []
    stubs = work / "stubs"
    stubs.mkdir(exist_ok=True)
    run(["rustc", "--edition=2021", "--crate-type=rlib", "--crate-name=rlink_runtime_stubs",
         "-Copt-level=2", "--out-dir", str(stubs), str(REPO / "runtime-stubs/src/lib.rs")])
    c_calls = work / "c_calls.o"
    run(["cc", "-O2", "-c", "-o", str(c_calls), str(PROGRAMS / "c_calls.c")])
    for src in sorted(PROGRAMS.glob("*.rs")):
        prog = src.stem
        if prog == "nostd_directives":
            continue
        for mode, flags in [("release", ["-C", "opt-level=2"]),
                            ("debug", ["-C", "opt-level=0", "-C", "debuginfo=2"])]:
            extra = []
            if prog == "system_stack":
                extra = ["--extern", f"rlink_runtime_stubs={stubs / 'librlink_runtime_stubs.rlib'}"]
            inputs = recorded_inputs(
                work, f"{prog}-{mode}",
                lambda rec: ["rustc", "--edition=2021", "-C", f"linker={rec}", *flags, *extra,
                             str(src), "-o", str(work / "unused")])
            if prog == "c_calls":
                inputs.append(str(c_calls))
            links.append((f"{prog} {mode}", inputs))
            if mode == "release":
                links.append((f"{prog} {mode} exe", ["-buildmode=exe", *inputs]))
                links.append((f"{prog} {mode} -s", ["-s", *inputs]))

    nsd = work / "nsd.o"
    run(["rustc", "--edition=2021", "-Cpanic=abort", "-Copt-level=2", "--emit=obj",
         "--crate-type=bin", "-o", str(nsd), str(PROGRAMS / "nostd_directives.rs")])
    links.append(("no_std from directives", [str(nsd)]))

    rlink_inputs = recorded_inputs(
        work, "rlink",
        lambda rec: ["cargo", "rustc", "--release", "--quiet", "--bin", "rlink",
                     "--manifest-path", str(REPO / "Cargo.toml"), "--target-dir",
                     str(work / "self-target"), "--", "-C", f"linker={rec}"])
    links.append(("rlink itself", rlink_inputs))

    results = []
    for name, args in links:
        for threads in ("1", "2"):
            outs = []
            for tag, binary in (("old", old), ("new", new)):
                out = work / f"{name.replace(' ', '_')}.{threads}.{tag}"
                run([str(binary), "-linkmode=internal", f"-threads={threads}", "-o", str(out), *args])
                outs.append(out)
            results.append((f"{name} (-threads={threads})", outs[0], outs[1]))

    # C programs through gcc -B DIR, where DIR/ld runs the rlink under test.
    c_src = work / "c_prog.c"
    c_src.write_text(
        "#include <stdio.h>\n#include <math.h>\nstatic __thread int t = 3;\n"
        "__attribute__((constructor)) static void init(void) { t++; }\n"
        "int main(int argc, char **argv) { printf(\"%d %f\\n\", t + argc, sqrt(2.0)); return 0; }\n")
    lib_src = work / "c_lib.c"
    lib_src.write_text("int lib_value = 7;\n__thread int lib_tls;\nint lib_get(void) { return lib_value + lib_tls++; }\n")
    for tag, binary in (("old", old), ("new", new)):
        bindir = work / f"ld-{tag}"
        bindir.mkdir(exist_ok=True)
        ld = bindir / "ld"
        if ld.exists() or ld.is_symlink():
            ld.unlink()
        ld.symlink_to(binary)
    for name, gcc_args in [("C PIE", ["-pie", "-fPIE"]), ("C non-PIE", ["-no-pie", "-fno-pie"]),
                           ("C static", ["-static"]), ("C shared library", ["-shared", "-fPIC"])]:
        outs = []
        for tag in ("old", "new"):
            out = work / f"{name.replace(' ', '_')}.{tag}"
            src = lib_src if "shared" in name else c_src
            run(["gcc", "-B", str(work / f"ld-{tag}"), "-O1", *gcc_args, "-o", str(out), str(src), "-lm"])
            outs.append(out)
        results.append((name, outs[0], outs[1]))

    differ = 0
    for name, a, b in results:
        da, db = a.read_bytes(), b.read_bytes()
        same = da == db
        differ += not same
        digest = hashlib.sha256(da).hexdigest()[:12]
        print(f"{'identical' if same else 'DIFFERENT':9}  {len(da):>10} bytes  {digest}  {name}")
    print(f"\n{len(results)} outputs compared: {len(results) - differ} identical, {differ} different")
    if not opts.keep:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()

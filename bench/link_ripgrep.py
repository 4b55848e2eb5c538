#!/usr/bin/env python3
"""Link benchmark: ripgrep (and a bigger program), linked from the same inputs by rlink, wild,
ld.lld, mold and GNU ld.

Each corpus is a Rust program built from the crates registry once (cargo install) with a
stand-in linker that records rustc's link line and keeps the objects; the script then links
those inputs repeatedly with each linker — the runs interleaved, so a machine that slows down
slows every linker alike, in an order shuffled afresh each round (the same shuffles every time
the script runs): on the benchmark VM the first link after another program is some 5-10%
slower than the next, so a fixed order would charge that to whichever linker comes first and
favour the ones that follow a run of their own variants — and prints, per linker, the median wall time, the peak memory (max
RSS) and the output's size, the ratios of rlink's time to each peer's, and how rlink (and wild)
scale from 1 to 2 threads. Every linked program must run and do a small real task. Not a test:
figures vary with the machine.

Corpora (--corpus, repeatable; default ripgrep-release):
    ripgrep-release  ripgrep, cargo install (release profile)
    ripgrep-debug    ripgrep, cargo install --debug
    big              cargo-nextest 0.9.151 (pinned, --locked), release: ~330 crates (tokio, clap,
                     serde, rustls with aws-lc's C, zstd's C), ~380 MB of inputs
    all              the three above
--profile release|debug|both is kept as a shorthand for the ripgrep corpora.

Timing runs use each linker as a user would (rlink, mold and wild fork: the parent exits when
the output is written, leaving the child to clean up); the script waits for that child before
the next link starts, so no link is slowed by the one before it. The peak RSS of a forking linker is not
seen by its parent's wait, so it is measured in separate runs with --no-fork (rlink's -no-fork). With --compare, a
second rlink build (say, the last commit before a change) is timed in the same run and the
new/old ratios are printed.

    python3 bench/link_ripgrep.py [--runs N] [--work DIR] [--rlink PATH] [--compare OLD_RLINK]
                                  [--corpus ripgrep-release|ripgrep-debug|big|all ...]
                                  [--profile release|debug|both] [--wild PATH]
                                  [--no-peers] [--no-scaling]

Needs: cargo (network access to the crates registry for each corpus's first build, which takes
minutes — the builds are kept in --work and reused), cc (GCC's driver), ld.lld, mold, ld.bfd;
wild if it is to be timed (--wild PATH, else /work/bench-tools/bin/wild, else PATH; skipped
with a note when absent; `cargo install wild-linker@0.10.0 --locked --root /work/bench-tools`
installs it — 0.11 needs a newer rustc than 1.95).
"""

import argparse
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

# Records the final link of one program, keeping its objects, then links normally so cargo
# succeeds. The program is named by its crate name ($RLINK_RECORD_BIN), as rustc names the
# output in target/*/deps/NAME-HASH; build scripts and proc macros do not match.
RECORDER = r"""#!/bin/sh
out=""
prev=""
for a in "$@"; do
  if [ "$prev" = "-o" ]; then out="$a"; fi
  prev="$a"
done
case "$(basename "$out")" in
  "$RLINK_RECORD_BIN"-*|"$RLINK_RECORD_BIN")
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

MB = 1e6  # decimal megabytes throughout: inputs, outputs and RSS alike
DEFAULT_WILD = "/work/bench-tools/bin/wild"


# --- checks: each linked program must run and do a small real task --------------------------

def check_rg(path, work):
    """Returns None if the rg at path finds a known line, else what went wrong."""
    haystack = os.path.join(work, "haystack.txt")
    with open(haystack, "w") as f:
        for i in range(20000):
            f.write(f"line {i} nothing here\n")
        f.write("the needle rlink-was-here sits on this line\n")
    out = subprocess.run([path, "-n", "rlink-was-[a-z]+", haystack],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0 or "20001:the needle rlink-was-here" not in out.stdout:
        return f"did not search correctly: {out.returncode} {out.stdout!r} {out.stderr!r}"
    return None


NEXTEST_PROJECT = {
    "Cargo.toml": '[package]\nname = "rlink_check"\nversion = "0.1.0"\nedition = "2021"\n',
    "src/lib.rs": "#[test]\nfn rlink_was_here() {\n    assert_eq!(2 + 2, 4);\n}\n\n"
                  "#[test]\nfn rlink_was_here_too() {\n    assert!(\"rlink\".starts_with('r'));\n}\n",
}


def check_nextest(path, work):
    """Returns None if the cargo-nextest at path runs a tiny crate's two tests, else what went
    wrong. This drives most of the program: clap, cargo metadata and JSON parsing (serde),
    the tokio runner spawning the test binary and reading its output, the reporter."""
    project = os.path.join(work, "nextest-check")
    for rel, text in NEXTEST_PROJECT.items():
        os.makedirs(os.path.dirname(os.path.join(project, rel)), exist_ok=True)
        with open(os.path.join(project, rel), "w") as f:
            f.write(text)
    version = subprocess.run([path, "nextest", "--version"], capture_output=True, text=True, timeout=60)
    if version.returncode != 0 or not version.stdout.startswith("cargo-nextest"):
        return f"--version failed: {version.returncode} {version.stdout!r} {version.stderr!r}"
    # The test crate is built by the host's cargo with its usual linker, not a recorder.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARGO_TARGET_")}
    env["CARGO_TARGET_DIR"] = os.path.join(project, "target")
    env["NO_COLOR"] = "1"
    run = subprocess.run([path, "nextest", "run", "--manifest-path", os.path.join(project, "Cargo.toml")],
                         capture_output=True, text=True, timeout=300, env=env, cwd=project)
    if run.returncode != 0 or "2 passed" not in run.stderr or "rlink_was_here_too" not in run.stderr:
        return f"nextest run failed: {run.returncode} {run.stdout[-2000:]!r} {run.stderr[-2000:]!r}"
    return None


@dataclass
class Corpus:
    name: str            # what --corpus calls it
    crate: str           # what cargo install installs (crate, or crate@version)
    binary: str          # the program's crate name, as rustc names its output (deps/NAME-HASH)
    profile: str         # release or debug
    key: str             # suffix of its directories in --work ("release"/"debug" are the
                         # names earlier versions of this script used, so old builds are reused)
    check: Callable[[str, str], Optional[str]]
    locked: bool = False


CORPORA = {
    "ripgrep-release": Corpus("ripgrep-release", "ripgrep", "rg", "release", "release", check_rg),
    "ripgrep-debug": Corpus("ripgrep-debug", "ripgrep", "rg", "debug", "debug", check_rg),
    # Pinned and --locked so the corpus stays the same (and keeps building on Rust 1.95).
    "big": Corpus("big", "cargo-nextest@0.9.151", "cargo_nextest", "release", "big", check_nextest,
                  locked=True),
}


# --- building and reading a corpus ---------------------------------------------------------

def build_corpus(work, corpus):
    record = os.path.join(work, f"record-{corpus.key}")
    if os.path.exists(os.path.join(record, "args")):
        return record
    recorder = os.path.join(work, "record.sh")
    with open(recorder, "w") as f:
        f.write(RECORDER)
    os.chmod(recorder, 0o755)
    env = dict(os.environ, RLINK_RECORD=record, RLINK_RECORD_BIN=corpus.binary)
    env["CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER"] = recorder
    print(f"building {corpus.crate} once (cargo install, {corpus.profile}); this takes minutes...",
          flush=True)
    debug = ["--debug"] if corpus.profile == "debug" else []
    locked = ["--locked"] if corpus.locked else []
    subprocess.run(
        ["cargo", "install", "--quiet", "--force", corpus.crate, *debug, *locked,
         "--root", os.path.join(work, f"install-{corpus.key}"),
         "--target-dir", os.path.join(work, f"target-{corpus.key}")],
        env=env, check=True)
    if not os.path.exists(os.path.join(record, "args")):
        sys.exit(f"the build of {corpus.crate} did not link a program named {corpus.binary}-*")
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


# rustc's strip requests (on by default for release builds: `strip = "debuginfo"`) in rlink's
# spelling, so rlink writes what the peers, which get the same -Wl, flags, write.
RLINK_STRIP = {"-Wl,--strip-debug": "-w", "-Wl,-S": "-w", "-Wl,--strip-all": "-s", "-Wl,-s": "-s"}


def rlink_inputs(args):
    return [a for a in args if a.endswith(".o") or a.endswith(".rlib") or a.startswith("-l")]


def rlink_args(args):
    """rlink's line: its strip flags, then the objects, rlibs and -l libraries of rustc's."""
    strip = list(dict.fromkeys(RLINK_STRIP[a] for a in args if a in RLINK_STRIP))
    return strip + rlink_inputs(args)


def rlink_rss_flags(binary):
    """rlink forks like mold and wild (the parent exits once the output is written): its peak
    memory is measured with -no-fork. Builds from before that change neither fork nor know
    the flag."""
    help_text = subprocess.run([binary, "-help"], capture_output=True, text=True).stdout
    return ["-no-fork"] if "-no-fork" in help_text else None


# --- running links -------------------------------------------------------------------------

class LinkFailed(Exception):
    pass


def become_subreaper():
    """Makes this process the parent of its descendants' orphans (Linux's
    PR_SET_CHILD_SUBREAPER), so that a forking linker's background child can be waited for."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def wait_for_orphans():
    """Waits until every descendant has exited: a forking linker (rlink, mold, wild) returns
    when its output is written and leaves a child to unmap and free, which would otherwise run
    on into the next link and slow it. Each link is timed on a machine left as it found it."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def timed(cmd):
    """Wall time and max RSS (KiB) of one link. wait4's figure covers the process and every
    descendant it waited for (the largest of them), so it is the peak of the process tree —
    unless the linker forks and exits before its child, which is why forking linkers are
    measured again with --no-fork. The time stops when the process started exits; its
    background child, if any, is then waited for before the next link starts."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    wait_for_orphans()
    if os.waitstatus_to_exitcode(status) != 0:
        raise LinkFailed(f"{' '.join(cmd[:3])} ... exited {os.waitstatus_to_exitcode(status)}:\n{stderr[-3000:]}")
    return elapsed, usage.ru_maxrss


@dataclass
class Linker:
    name: str
    command: list
    out: str
    # Extra flags for the runs that measure peak RSS; None when the timing runs' RSS is the
    # whole tree's already (the linker does not fork).
    rss_flags: Optional[list] = None
    # For a thread-count variant: the linker it varies and its thread count. Variants are timed
    # (for the scaling figure) but their RSS and ratios are not reported.
    variant_of: Optional[str] = None
    threads: Optional[int] = None
    times: list = field(default_factory=list)
    rss_kib: list = field(default_factory=list)
    failed: Optional[str] = None


def out_path(work, corpus, name):
    safe = "".join(c if c.isalnum() else "-" for c in name).strip("-")
    return os.path.join(work, f"out-{corpus.key}-{safe}")


def linkers_for(opts, corpus, args, rlinks, wild):
    cc = host_driver_args(args)
    rlink_line = rlink_args(args)
    linkers = []

    def add(name, cmd_of_out, **kw):
        out = out_path(opts.work, corpus, name)
        linkers.append(Linker(name, cmd_of_out(out), out, **kw))

    for name, binary in rlinks.items():
        add(name, lambda out, b=binary: [b, "-linkmode=internal", "-o", out] + rlink_line,
            rss_flags=rlink_rss_flags(binary))
    if not opts.no_scaling:
        # rlink's own flag syntax (one or two dashes; a GNU ld line spells it --threads=N).
        for n in (1, 2):
            add(f"rlink t{n}", lambda out, n=n: [rlinks["rlink"], "-linkmode=internal", f"-threads={n}",
                                                 "-o", out] + rlink_line, variant_of="rlink", threads=n)
    if opts.no_peers:
        return linkers
    tools = {"ld.lld": ("ld.lld", "lld", None), "mold": ("mold", "mold", ["--no-fork"]),
             "GNU ld": ("ld.bfd", "bfd", None)}
    for name, (binary, fuse, rss_flags) in tools.items():
        path = shutil.which(binary)
        if path is None:
            sys.exit(f"{binary} not found (apt-get install lld mold binutils)")
        add(name, lambda out, p=path, f=fuse: direct_linker_command(p, f, cc, out, opts.work),
            rss_flags=rss_flags)
    if wild:
        # GCC 12's driver knows no -fuse-ld=wild (and has no --ld-path=), but the line collect2
        # passes on is the same GNU ld line whichever linker is chosen: take bfd's, run wild.
        add("wild", lambda out: direct_linker_command(wild, "bfd", cc, out, opts.work),
            rss_flags=["--no-fork"])
        if not opts.no_scaling:
            for n in (1, 2):
                add(f"wild t{n}", lambda out, n=n: direct_linker_command(wild, "bfd", cc, out, opts.work)
                    + [f"--threads={n}"], rss_flags=["--no-fork"], variant_of="wild", threads=n)
    return linkers


def try_link(linker, cmd):
    try:
        return timed(cmd)
    except LinkFailed as e:
        linker.failed = f"link failed: {e}"
        print(f"  {linker.name}: {linker.failed}", flush=True)
        return None


def try_check(linker, corpus, work):
    problem = corpus.check(linker.out, work)
    if problem:
        linker.failed = f"linked program {problem}"
        print(f"  {linker.name}: {linker.failed}", flush=True)


def bench_corpus(opts, corpus, rlinks, wild):
    record = build_corpus(opts.work, corpus)
    args = read_args(record)
    linkers = linkers_for(opts, corpus, args, rlinks, wild)
    inputs = rlink_inputs(args)
    size = sum(os.path.getsize(a) for a in inputs if os.path.exists(a))
    print(f"\ncorpus {corpus.name}: {corpus.crate} ({corpus.profile}), {len(inputs)} inputs, "
          f"{size / MB:.1f} MB of objects and rlibs; {opts.runs} runs each, interleaved", flush=True)
    # One link each to warm the page cache, then a check of its output, so a linker whose
    # output does not run is dropped before minutes are spent timing it. Each starts from no
    # output, as in a clean build: a file left by an earlier run keeps the page cache it was
    # given then (4 KiB pages or large folios, by how it was written), and later links over it
    # run faster or slower for it — the figures would depend on the work directory's past.
    for l in linkers:
        if os.path.lexists(l.out):
            os.unlink(l.out)
        if try_link(l, l.command) is not None:
            try_check(l, corpus, opts.work)
    live = [l for l in linkers if not l.failed]
    order = random.Random(corpus.key)
    for _ in range(opts.runs):
        for l in order.sample(live, len(live)):
            if l.failed:
                continue
            r = try_link(l, l.command)
            if r is not None:
                l.times.append(r[0])
                if l.rss_flags is None:
                    l.rss_kib.append(r[1])
    # Forking linkers' peak memory, from runs that keep the work in the waited-for process.
    # Max RSS hardly varies between runs, so a few suffice.
    for _ in range(min(opts.runs, 3)):
        for l in live:
            if l.rss_flags is not None and l.variant_of is None and not l.failed:
                r = try_link(l, l.command + l.rss_flags)
                if r is not None:
                    l.rss_kib.append(r[1])
    # The last link of each (after every timed run) must still give a working program.
    for l in live:
        if not l.failed:
            try_check(l, corpus, opts.work)
    return report_corpus(corpus, size, linkers)


@dataclass
class Result:
    ms: Optional[float]
    rss_mb: Optional[float]
    out_mb: Optional[float]


def report_corpus(corpus, input_bytes, linkers):
    results = {}
    for l in linkers:
        if l.failed or not l.times:
            results[l.name] = Result(None, None, None)
            continue
        results[l.name] = Result(statistics.median(l.times) * 1000,
                                 max(l.rss_kib) * 1024 / MB if l.rss_kib else None,
                                 os.path.getsize(l.out) / MB)
    base_name = "ld.lld" if results.get("ld.lld", Result(None, None, None)).ms else "rlink"
    base = results[base_name].ms
    print(f"{'linker':<16} {'median ms':>10} {'vs ' + base_name:>10} {'peak RSS MB':>12} {'output MB':>10}")
    for l in linkers:
        r = results[l.name]
        if r.ms is None:
            print(f"{l.name:<16} {'FAILED':>10}")
            continue
        vs = f"{r.ms / base:.2f}" if base else "-"
        print(f"{l.name:<16} {r.ms:>10.1f} {vs:>10} {fmt(r.rss_mb, 12, 1)} {r.out_mb:>10.1f}")
    summary = {"input_mb": input_bytes / MB, "results": results, "ratios": {}, "scaling": {}}
    rl = results.get("rlink")
    for peer in ("wild", "mold", "ld.lld", "GNU ld"):
        p = results.get(peer)
        if rl and p and rl.ms and p.ms:
            summary["ratios"][peer] = rl.ms / p.ms
    if summary["ratios"]:
        print("rlink time / peer's: " + ", ".join(f"rlink/{p} {v:.2f}" for p, v in summary["ratios"].items()))
    for base_linker in ("rlink", "wild"):
        t1, t2 = results.get(f"{base_linker} t1"), results.get(f"{base_linker} t2")
        if t1 and t2 and t1.ms and t2.ms:
            summary["scaling"][base_linker] = t1.ms / t2.ms
    if summary["scaling"]:
        print("1 to 2 threads (t1/t2): " + ", ".join(f"{n} {v:.2f}x" for n, v in summary["scaling"].items()))
    if "rlink (before)" in results:
        new, old = results["rlink"], results["rlink (before)"]
        if new.ms and old.ms:
            print(f"rlink new/old: time {new.ms / old.ms:.3f}, peak RSS {new.rss_mb / old.rss_mb:.3f} "
                  f"({new.rss_mb:.1f} MB vs {old.rss_mb:.1f} MB)")
    return summary


def fmt(v, width, digits):
    return f"{v:>{width}.{digits}f}" if v is not None else f"{'-':>{width}}"


def print_summary(summaries, linker_names):
    """One compact table: a column per corpus, a row per figure."""
    names = list(summaries)
    width = max(16, *(len(n) + 2 for n in names))
    rows = [("input MB", lambda s: s["input_mb"], 1)]
    for kind, attr, digits in (("output MB", "out_mb", 1), ("median ms", "ms", 1), ("peak RSS MB", "rss_mb", 1)):
        for n in linker_names:
            rows.append((f"{kind} {n}",
                         lambda s, n=n, a=attr: getattr(s["results"][n], a) if n in s["results"] else None,
                         digits))
    for peer in ("wild", "mold", "ld.lld", "GNU ld"):
        rows.append((f"rlink/{peer} time", lambda s, p=peer: s["ratios"].get(p), 2))
    for n in ("rlink", "wild"):
        rows.append((f"{n} t1/t2", lambda s, n=n: s["scaling"].get(n), 2))
    label_width = max(len(r[0]) for r in rows) + 2
    print("\nsummary (MB = 10^6 bytes; ratios below 1 mean rlink is faster; t1/t2 is the speed-up "
          "from 1 to 2 threads)")
    print(f"{'':<{label_width}}" + "".join(f"{n:>{width}}" for n in names))
    for label, get, digits in rows:
        values = [get(s) for s in summaries.values()]
        if all(v is None for v in values):
            continue  # a linker or figure absent from every corpus (say, wild not installed)
        print(f"{label:<{label_width}}" + "".join(fmt(v, width, digits) for v in values))


def find_wild(opts):
    if opts.wild:
        if not os.path.exists(opts.wild):
            sys.exit(f"--wild {opts.wild}: not found")
        return os.path.abspath(opts.wild)
    if os.path.exists(DEFAULT_WILD):
        return DEFAULT_WILD
    path = shutil.which("wild")
    if path is None:
        print(f"note: wild not found (--wild, {DEFAULT_WILD} or PATH): not timed. "
              "Install: cargo install wild-linker@0.10.0 --locked --root /work/bench-tools")
    return path


def main():
    become_subreaper()
    ap = argparse.ArgumentParser(description="Link benchmark: rlink against wild, ld.lld, mold and GNU ld.")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "rlink-bench-ripgrep"),
                    help="where corpora are built (and kept: later runs reuse them) and outputs written")
    ap.add_argument("--rlink", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "rlink"))
    ap.add_argument("--compare", help="another rlink build to time in the same run")
    ap.add_argument("--corpus", action="append", choices=[*CORPORA, "all"],
                    help="corpus to link (repeatable; default ripgrep-release)")
    ap.add_argument("--profile", choices=["release", "debug", "both"],
                    help="shorthand for the ripgrep corpora: ripgrep-release, ripgrep-debug or both")
    ap.add_argument("--wild", help=f"the wild linker (default {DEFAULT_WILD}, else wild on PATH)")
    ap.add_argument("--no-peers", action="store_true", help="time rlink builds only")
    ap.add_argument("--no-scaling", action="store_true", help="skip the 1- and 2-thread runs")
    opts = ap.parse_args()
    opts.work = os.path.abspath(opts.work)
    os.makedirs(opts.work, exist_ok=True)
    rlinks = {"rlink": os.path.abspath(opts.rlink)}
    if opts.compare:
        rlinks["rlink (before)"] = os.path.abspath(opts.compare)
    for name, path in rlinks.items():
        if not os.path.exists(path):
            sys.exit(f"{path} not found: run `cargo build --release` first")
    wild = None if opts.no_peers else find_wild(opts)

    chosen = []
    for c in opts.corpus or []:
        chosen += list(CORPORA) if c == "all" else [c]
    if opts.profile:
        chosen += {"release": ["ripgrep-release"], "debug": ["ripgrep-debug"],
                   "both": ["ripgrep-release", "ripgrep-debug"]}[opts.profile]
    chosen = list(dict.fromkeys(chosen or ["ripgrep-release"]))  # in order, once each

    summaries, names = {}, []
    for c in chosen:
        summaries[c] = bench_corpus(opts, CORPORA[c], rlinks, wild)
        for n in summaries[c]["results"]:
            if n not in names and not n.endswith((" t1", " t2")):
                names.append(n)
    print_summary(summaries, names)
    failed = [(c, n) for c, s in summaries.items() for n, r in s["results"].items() if r.ms is None]
    if failed:
        sys.exit("failed: " + ", ".join(f"{n} on {c}" for c, n in failed))


if __name__ == "__main__":
    main()

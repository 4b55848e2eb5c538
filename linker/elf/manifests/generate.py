#!/usr/bin/env python3
"""Writes rlink's bundled glibc manifests: what the libraries of Debian's glibc export, per
CPU, so that rlink links Linux programs for a CPU whose libraries are not on the machine.

One line per exported name of each library:

    LIBRARY NAME KIND[:SIZE] VERSION...

KIND is F (function, IFUNCs included), O (data object, with its size, for copy relocations)
or T (thread-local). VERSION lists every version node the name is exported under, oldest
first; the default one (`name@@VER`) is prefixed with `@`. glibc keeps every old node in its
libraries, so one modern library tells which names existed at any older release: a link with
a glibc floor binds each name to the newest version not newer than the floor.
GLIBC_PRIVATE names are left out.

Reads the export tables with llvm-readelf (`--dyn-syms`). Usage:

    python3 linker/elf/manifests/generate.py [--x86_64 DIR] [--aarch64 DIR] [--out DIR]

(defaults: /lib/x86_64-linux-gnu with /lib64, and /usr/aarch64-linux-gnu/lib, from Debian's
libc6, libgcc-s1 and their arm64 cross packages).
"""

import argparse
import os
import re
import subprocess
import sys

LIBRARIES = [
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libgcc_s.so.1",
]
LOADERS = {"x86_64": "ld-linux-x86-64.so.2", "aarch64": "ld-linux-aarch64.so.1"}

LINE = re.compile(
    r"^\s*\d+:\s+[0-9a-f]+\s+(\d+|0x[0-9a-f]+)\s+(\w+)\s+(\w+)\s+(\w+)\s+(\w+)\s+(\S+)(?:\s|$)"
)


def exports(path):
    out = subprocess.run(
        ["llvm-readelf", "--dyn-syms", "-W", path], check=True, capture_output=True, text=True
    ).stdout
    names = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        size, kind, bind, vis, ndx, name = m.groups()
        # ABS entries are the version nodes themselves.
        if ndx in ("UND", "ABS") or bind not in ("GLOBAL", "WEAK") or vis not in ("DEFAULT", "PROTECTED"):
            continue
        if "@" not in name:
            # Unversioned.
            base, version, default = name, None, True
        else:
            default = "@@" in name
            base, version = name.split("@@" if default else "@", 1)
        if version == "GLIBC_PRIVATE" or not base:
            continue
        k = {"FUNC": "F", "IFUNC": "F", "OBJECT": "O", "TLS": "T"}.get(kind)
        if k is None:
            continue
        size = int(size, 0)
        entry = names.setdefault(base, {"kind": k, "size": size, "versions": []})
        if k == "O":
            entry["size"] = max(entry["size"], size)
        if version is not None and (version, default) not in entry["versions"]:
            entry["versions"].append((version, default))
    return names


def version_key(v):
    m = re.match(r"^[A-Z_]+?_?(\d+(?:\.\d+)*)$", v)
    return tuple(int(x) for x in m.group(1).split(".")) if m else (0,)


def write(cpu, directory, out_dir):
    lines = []
    for lib in LIBRARIES + [LOADERS[cpu]]:
        path = os.path.join(directory, lib)
        if not os.path.exists(path) and lib.startswith("ld-linux-x86-64"):
            path = os.path.join("/lib64", lib)
        names = exports(path)
        for name in sorted(names):
            e = names[name]
            kind = f"O:{e['size']}" if e["kind"] == "O" else e["kind"]
            versions = sorted(e["versions"], key=lambda vd: version_key(vd[0]))
            words = [("@" if d else "") + v for v, d in versions]
            lines.append(" ".join([lib, name, kind] + words))
        print(f"{cpu}: {lib}: {len(names)} names", file=sys.stderr)
    target = os.path.join(out_dir, f"glibc-{cpu}.txt")
    with open(target, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--x86_64", default="/lib/x86_64-linux-gnu")
    p.add_argument("--aarch64", default="/usr/aarch64-linux-gnu/lib")
    p.add_argument("--out", default=here)
    a = p.parse_args()
    write("x86_64", a.x86_64, a.out)
    write("aarch64", a.aarch64, a.out)


if __name__ == "__main__":
    main()

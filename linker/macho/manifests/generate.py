#!/usr/bin/env python3
"""Generates the bundled libSystem import manifests from a libSystem .tbd (TAPI v4).

    python3 linker/macho/manifests/generate.py PATH/TO/libSystem.tbd

A .tbd lists, for each dylib libSystem is made of, the names it exports per target. rlink
needs only that fact: which names a program may import from /usr/lib/libSystem.B.dylib (dyld
finds each in the sub-library that re-exports it). This writes one manifest per CPU in the
directives grammar, one `cgo_import_dynamic NAME NAME "/usr/lib/libSystem.B.dylib"` line per
exported name, sorted, plus the line that makes libSystem needed. Any libSystem.tbd will do;
the one in the `ziglang` package (ziglang/lib/libc/darwin/libSystem.tbd) is what the
committed manifests were made from.
"""

import os
import re
import sys

LIBSYSTEM = "/usr/lib/libSystem.B.dylib"
# The list keys of an export entry and how a name in each becomes a symbol.
KINDS = {
    "symbols": "{}",
    "weak-symbols": "{}",
    "thread-local-symbols": "{}",
    "objc-classes": "_OBJC_CLASS_$_{}|_OBJC_METACLASS_$_{}",
    "objc-eh-types": "_OBJC_EHTYPE_$_{}",
    "objc-ivars": "_OBJC_IVAR_$_{}",
}
CPUS = {"x86_64": ("x86_64-macos",), "arm64": ("arm64-macos", "arm64e-macos")}


def lists(text):
    """Every `key: [ a, 'b', ... ]` of a document, with the brackets spanning lines."""
    for m in re.finditer(r"([a-z-]+):\s*\[([^\]]*)\]", text, re.S):
        items = [i.strip().strip("'\"") for i in m.group(2).replace("\n", " ").split(",")]
        yield m.group(1), [i for i in items if i]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    text = open(sys.argv[1]).read()
    docs = re.split(r"^--- !tapi-tbd.*$", text, flags=re.M)
    names = {cpu: set() for cpu in CPUS}
    for doc in docs:
        if "install-name:" not in doc:
            continue
        umbrella = "umbrella:" in doc and re.search(r"umbrella:\s*System\b", doc)
        is_libsystem = LIBSYSTEM in doc.split("install-name:")[1].splitlines()[0]
        if not (umbrella or is_libsystem):
            continue
        section = doc.split("exports:", 1)
        if len(section) < 2:
            continue
        targets = ()
        for key, items in lists(section[1]):
            if key == "targets":
                targets = items
                continue
            if key not in KINDS:
                continue
            for cpu, spellings in CPUS.items():
                if not any(t in spellings for t in targets):
                    continue
                for item in items:
                    for form in KINDS[key].split("|"):
                        names[cpu].add(form.format(item))
    here = os.path.dirname(os.path.abspath(__file__))
    for cpu, found in names.items():
        path = os.path.join(here, f"libSystem-{cpu}.directives")
        with open(path, "w") as f:
            f.write(f'cgo_import_dynamic _ _ "{LIBSYSTEM}"\n')
            for n in sorted(found):
                f.write(f'cgo_import_dynamic {n} {n} "{LIBSYSTEM}"\n')
        print(f"{path}: {len(found)} names")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generates the bundled Windows import manifests from the export tables of PE DLLs.

    python3 linker/pe/manifests/generate.py [--dlls DIR] [--mingw DIR] [--out DIR]

rlink links Windows programs without import libraries: the names a program may import from a
DLL come from a manifest in the directives grammar, one
`cgo_import_dynamic NAME NAME "LIBRARY"` line per name the DLL exports, sorted by name, where
LIBRARY is the DLL's name as its own export directory spells it (what the loader is asked for).

Where the facts come from:
- the DLLs of DLLS below: their PE export directories (PE32+ or PE32), parsed here. Forwarded
  exports are kept (kernel32's HeapAlloc is a forwarder to ntdll's RtlAllocateHeap, still a name
  kernel32 exports); exports by ordinal only have no name and are left out. The committed
  manifests were made from Wine 8.0's DLLs (--dlls defaults to wine64's directory); a directory
  of real Windows DLLs (System32) does as well. With no arguments it reads wine64's DLLs and
  mingw-w64's libraries at their Debian paths and writes next to this script.
- the API sets of APISETS (api-ms-win-crt-*-l1-1-0, api-ms-win-core-synch-l1-2-0): from
  DIR/<name>.dll when DIR has it (the UCRT's forwarder DLLs); Wine 8.0 has no such files (its loader maps
  them through apisetschema.dll), so then from mingw-w64's import libraries of those API sets
  (libucrt.a, libsynchronization.a under --mingw), each import naming the DLL and the name.
  When DIR has apisetschema.dll, the names are checked against the API set's host DLL there.
- msvcrt-lib.directives, what MSVC's msvcrt.lib + vcruntime.lib + ucrt.lib bind with the
  dynamic CRT (/MD): every name vcruntime140.dll exports, bound to vcruntime140.dll, then every
  other name of the CRT API sets, bound to the first in CRT_LIBRARY_ORDER that exports it.

A name is left out (and counted) when the directives parser would not read it back as the same
name: with a space, tab, '"' or control character (split or rejected by the tokenizer), with '#'
or '@' (the remote name is split there into name and symbol version, so every C++ mangled name
is among these), `_` (the needed-library marker), or not UTF-8. Wine's own extensions
(`wine_*`, `__wine_*`), which Windows does not have, are left out too.

mingw-w64's import libraries (--mingw; skipped when absent) are also read to cross-check each
DLL's names; the differences are printed, never fatal. Output is deterministic: the same inputs
give byte-identical files. Python 3 standard library only.
"""

import argparse
import os
import struct
import sys
import unicodedata

WINE_DLLS = "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows"
MINGW_LIB = "/usr/x86_64-w64-mingw32/lib"

# DLLs with a manifest each, read from their own export tables; with the mingw import library
# each is cross-checked against (and the DLL that library names, when it is not the same one).
DLLS = {
    "kernel32": ("libkernel32.a", None),
    "ntdll": ("libntdll.a", None),
    "advapi32": ("libadvapi32.a", None),
    "userenv": ("libuserenv.a", None),
    "ws2_32": ("libws2_32.a", None),
    "dbghelp": ("libdbghelp.a", None),
    "bcrypt": ("libbcrypt.a", None),
    "shell32": ("libshell32.a", None),
    "ole32": ("libole32.a", None),
    "user32": ("libuser32.a", None),
    "msvcrt": ("libmsvcrt.a", None),
    "ucrtbase": ("libucrtbase.a", None),
    # mingw-w64 has only the Store variant's import library; its exports are the same names.
    "vcruntime140": ("libvcruntime140_app.a", "vcruntime140_app"),
}

# The UCRT's API sets, in the order msvcrt-lib.directives binds a name to the first that has it.
# private gets a manifest but is not in that order: it holds the CRT's internal entry points
# (the `_o_*` names, the vcruntime functions ucrtbase repeats), not what a program imports.
CRT_LIBRARY_ORDER = [
    "runtime", "heap", "string", "stdio", "math", "convert", "environment", "filesystem",
    "locale", "time", "utility", "process", "multibyte", "conio",
]
CRT_APISETS = [f"api-ms-win-crt-{part}-l1-1-0" for part in CRT_LIBRARY_ORDER + ["private"]]
# API sets with a manifest each, and the mingw import library that lists their names.
APISETS = {name: "libucrt.a" for name in CRT_APISETS}
APISETS["api-ms-win-core-synch-l1-2-0"] = "libsynchronization.a"

VCRUNTIME = "vcruntime140"
MSVCRT_LIB = "msvcrt-lib"


class Error(Exception):
    pass


def u16(data, at):
    return struct.unpack_from("<H", data, at)[0]


def u32(data, at):
    return struct.unpack_from("<I", data, at)[0]


def cstring(data, at):
    end = data.find(b"\0", at)
    if end < 0:
        raise Error(f"unterminated string at {at:#x}")
    return data[at:end]


class PeImage:
    """A PE image's sections, enough to read its export directory and its .apiset section."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = data = f.read()
        if data[:2] != b"MZ":
            raise Error(f"{path}: not a PE image (no MZ)")
        pe = u32(data, 0x3C)
        if data[pe:pe + 4] != b"PE\0\0":
            raise Error(f"{path}: not a PE image (no PE signature)")
        coff = pe + 4
        sections = u16(data, coff + 2)
        optional_size = u16(data, coff + 16)
        optional = coff + 20
        magic = u16(data, optional)
        if magic == 0x20B:  # PE32+
            directories = optional + 112
            count = u32(data, optional + 108)
        elif magic == 0x10B:  # PE32
            directories = optional + 96
            count = u32(data, optional + 92)
        else:
            raise Error(f"{path}: unknown optional header magic {magic:#x}")
        self.directories = [
            struct.unpack_from("<II", data, directories + 8 * i) for i in range(min(count, 16))
        ]
        self.sections = []
        table = optional + optional_size
        for i in range(sections):
            at = table + 40 * i
            name = data[at:at + 8].rstrip(b"\0").decode("latin-1")
            vsize, vaddr, raw_size, raw_at = struct.unpack_from("<IIII", data, at + 8)
            self.sections.append((name, vaddr, max(vsize, raw_size), raw_size, raw_at))

    def offset(self, rva):
        for _, vaddr, size, raw_size, raw_at in self.sections:
            if vaddr <= rva < vaddr + size:
                if rva - vaddr >= raw_size:
                    raise Error(f"{self.path}: RVA {rva:#x} is in uninitialized data")
                return raw_at + rva - vaddr
        raise Error(f"{self.path}: RVA {rva:#x} is in no section")

    def section(self, name):
        for section_name, _, _, raw_size, raw_at in self.sections:
            if section_name == name:
                return self.data[raw_at:raw_at + raw_size]
        return None

    def exports(self):
        """(library name as bytes, {name bytes: forwarder bytes or None}, ordinal-only count)."""
        if not self.directories or self.directories[0][1] == 0:
            raise Error(f"{self.path}: no export directory")
        dir_rva, dir_size = self.directories[0]
        data, at = self.data, self.offset(dir_rva)
        (name_rva, _base, functions, names,
         functions_rva, names_rva, ordinals_rva) = struct.unpack_from("<IIIIIII", data, at + 12)
        library = cstring(data, self.offset(name_rva))
        table = [u32(data, self.offset(functions_rva) + 4 * i) for i in range(functions)]
        named = set()
        found = {}
        for i in range(names):
            name = cstring(data, self.offset(u32(data, self.offset(names_rva) + 4 * i)))
            index = u16(data, self.offset(ordinals_rva) + 2 * i)
            if index >= functions:
                raise Error(f"{self.path}: export {name!r} has function index {index}, "
                            f"beyond the {functions} functions")
            named.add(index)
            rva = table[index]
            forwarder = None
            if dir_rva <= rva < dir_rva + dir_size:
                forwarder = cstring(data, self.offset(rva))
            found[name] = forwarder
        ordinal_only = sum(1 for i, rva in enumerate(table) if rva and i not in named)
        return library, found, ordinal_only


def apiset_hosts(path):
    """API set schema (version 6, Windows 10's): {api set name without its last version number
    (lowercase, no .dll): default host DLL}. The loader matches a name on that much only (the
    schema's hashed length), so api-ms-win-core-synch-l1-2-0 is the schema's ...-l1-2-1."""
    data = PeImage(path).section(".apiset")
    if data is None:
        raise Error(f"{path}: no .apiset section")
    version, _size, _flags, count, entries = struct.unpack_from("<IIIII", data, 0)
    if version != 6:
        raise Error(f"{path}: API set schema version {version}, only 6 is read")

    def text(at, length):
        return data[at:at + length].decode("utf-16-le")

    hosts = {}
    for i in range(count):
        _flags, name_at, name_len, _hashed, values_at, values = struct.unpack_from(
            "<IIIIII", data, entries + 24 * i)
        name = text(name_at, name_len).lower()
        default = None
        for j in range(values):
            _flags, _import_at, import_len, value_at, value_len = struct.unpack_from(
                "<IIIII", data, values_at + 20 * j)
            if import_len == 0:  # the default host, for every importer
                default = text(value_at, value_len)
        hosts[name.rsplit("-", 1)[0]] = default
    return hosts


def ar_members(path):
    """The members of an ar archive (GNU or BSD names; the index and name tables skipped)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"!<arch>\n":
        raise Error(f"{path}: not an ar archive")
    at = 8
    while at + 60 <= len(data):
        header = data[at:at + 60]
        name = header[:16].rstrip(b" ")
        size = int(header[48:58].strip() or b"0")
        body = data[at + 60:at + 60 + size]
        at += 60 + size + (size & 1)
        if name.startswith(b"#1/"):  # BSD: the name is the start of the body
            length = int(name[3:])
            body = body[length:]
        if name in (b"/", b"//", b"/SYM64/", b"__.SYMDEF", b"__.SYMDEF SORTED"):
            continue
        yield body


def coff_object(body):
    """(sections {name: bytes}, symbols [(name, section number, value)]) of a COFF object."""
    _machine, sections, _time, symtab, symbols, optional_size, _chars = struct.unpack_from(
        "<HHIIIHH", body, 0)
    strings_at = symtab + 18 * symbols

    def long_name(raw):
        if raw[:4] == b"\0\0\0\0":
            return cstring(body, strings_at + u32(raw, 4))
        return raw.rstrip(b"\0")

    found = {}
    by_number = []
    for i in range(sections):
        at = 20 + optional_size + 40 * i
        raw = body[at:at + 8].rstrip(b"\0")
        if raw.startswith(b"/") and raw[1:].isdigit():
            raw = cstring(body, strings_at + int(raw[1:]))
        size, data_at = struct.unpack_from("<II", body, at + 16)
        contents = body[data_at:data_at + size] if data_at else b""
        by_number.append(contents)
        found.setdefault(raw, contents)
    table = []
    i = 0
    while i < symbols:
        at = symtab + 18 * i
        name = long_name(body[at:at + 8])
        value, section = struct.unpack_from("<Ih", body, at + 8)
        table.append((name, section, value))
        i += 1 + body[at + 17]
    return found, table, by_number


def import_library(path):
    """{dll name lowercase: (dll spelling, set of import names)} of a COFF import library, in
    either form: short import members (llvm-dlltool, link.exe) or GNU dlltool's objects (a
    function member's .idata$6 hint/name, whose .idata$7 refers to a head object, which refers
    to the tail object whose .idata$7 spells the DLL)."""
    libraries = {}

    def add(dll, name):
        entry = libraries.setdefault(dll.lower(), (dll, set()))
        entry[1].add(name)

    inames = {}  # tail: symbol → DLL spelling
    heads = {}  # head: symbol → the tail symbol it refers to
    functions = []  # (name, head symbols the member refers to)
    for body in ar_members(path):
        if len(body) >= 20 and u16(body, 0) == 0 and u16(body, 2) == 0xFFFF:
            # Short import: sig1, sig2, version, machine, time, size, ordinal/hint, type.
            kind = u16(body, 18)
            name_type = (kind >> 2) & 7
            symbol = cstring(body, 20)
            dll = cstring(body, 21 + len(symbol))
            if name_type == 0:  # by ordinal
                continue
            name = symbol
            if name_type == 2:  # NOPREFIX
                name = symbol[1:] if symbol[:1] in (b"?", b"@", b"_") else symbol
            elif name_type == 3:  # UNDECORATE
                name = (symbol[1:] if symbol[:1] in (b"?", b"@", b"_") else symbol).split(b"@")[0]
            elif name_type == 4:  # EXPORTAS
                name = cstring(body, 22 + len(symbol) + len(dll))
            add(dll.decode("latin-1"), name)
            continue
        try:
            sections, symbols, by_number = coff_object(body)
        except (struct.error, Error):
            continue  # not an object this reads (e.g. LTO bitcode); no imports
        defined = [(n, s, v) for n, s, v in symbols if s > 0]
        undefined = [n for n, s, _ in symbols if s == 0]
        for name, section, value in defined:
            if name.endswith(b"_iname") and section <= len(by_number):
                inames[name] = cstring(by_number[section - 1], value).decode("latin-1")
            elif name.startswith(b"_head_"):
                heads[name] = [u for u in undefined if u.endswith(b"_iname")]
        hint_name = sections.get(b".idata$6")
        if hint_name and len(hint_name) > 2:
            refs = [u for u in undefined if u.startswith(b"_head_")]
            functions.append((cstring(hint_name, 2), refs))
    for name, refs in functions:
        for head in refs:
            for iname in heads.get(head, []):
                if iname in inames:
                    add(inames[iname], name)
    return libraries


def rejection(raw):
    """Why the directives parser would not give `raw` back as one name, or None."""
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8"
    if name == "":
        return name, "empty"
    if name == "_":
        return name, "'_' (the needed-library marker)"
    if name.startswith("wine_") or name.startswith("__wine_"):
        return name, "Wine's own extension"
    if any(c in " \t" for c in name):
        return name, "space or tab (splits the field)"
    if '"' in name:
        return name, "'\"' (rejected)"
    if any(unicodedata.category(c) == "Cc" for c in name):
        return name, "control character (rejected)"
    if "#" in name or "@" in name:
        return name, "'#' or '@' (split off as a symbol version)"
    return name, None


class Manifest:
    def __init__(self, stem, library, names, source):
        self.stem = stem  # file name without .directives
        self.library = library  # LIBRARY as written
        self.names = names  # set of names written
        self.source = source
        self.skipped = {}  # reason → sorted names
        self.forwarded = 0
        self.ordinal_only = 0


def filtered(stem, library, raw_names, source):
    manifest = Manifest(stem, library, set(), source)
    for raw in raw_names:
        name, why = rejection(raw)
        if why:
            manifest.skipped.setdefault(why, []).append(name if name is not None else repr(raw))
        else:
            manifest.names.add(name)
    for names in manifest.skipped.values():
        names.sort()
    return manifest


def write(out, manifest):
    path = os.path.join(out, f"{manifest.stem}.directives")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for name in sorted(manifest.names):
            f.write(f'cgo_import_dynamic {name} {name} "{manifest.library}"\n')
    return path


def examples(names, limit=6):
    names = sorted(names)
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dlls", default=WINE_DLLS, help=f"DLL directory (default {WINE_DLLS})")
    parser.add_argument("--mingw", default=MINGW_LIB,
                        help=f"mingw-w64 import libraries (default {MINGW_LIB})")
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)),
                        help="where to write the manifests (default: this script's directory)")
    args = parser.parse_args()

    files = {}
    if os.path.isdir(args.dlls):
        files = {f.lower(): os.path.join(args.dlls, f) for f in sorted(os.listdir(args.dlls))}
    mingw_cache = {}

    def mingw(archive):
        if archive not in mingw_cache:
            path = os.path.join(args.mingw, archive)
            mingw_cache[archive] = import_library(path) if os.path.isfile(path) else None
        return mingw_cache[archive]

    manifests = {}
    raw_exports = {}  # stem → every exported name (bytes), for the cross-checks
    for stem in list(DLLS) + list(APISETS):
        path = files.get(f"{stem}.dll")
        if path:
            library, exports, ordinal_only = PeImage(path).exports()
            manifest = filtered(stem, library.decode("latin-1"), exports, path)
            manifest.forwarded = sum(1 for f in exports.values() if f is not None)
            manifest.ordinal_only = ordinal_only
            raw_exports[stem] = set(exports)
        elif stem in APISETS:
            found = (mingw(APISETS[stem]) or {}).get(f"{stem}.dll")
            if not found:
                sys.exit(f"{stem}.dll is neither in {args.dlls} nor in "
                         f"{os.path.join(args.mingw, APISETS[stem])}")
            manifest = filtered(stem, found[0], found[1], os.path.join(args.mingw, APISETS[stem]))
        else:
            sys.exit(f"{stem}.dll is not in {args.dlls}")
        manifests[stem] = manifest

    # What msvcrt.lib + vcruntime.lib + ucrt.lib bind with the dynamic CRT.
    owners = [VCRUNTIME] + [f"api-ms-win-crt-{part}-l1-1-0" for part in CRT_LIBRARY_ORDER]
    bound = {}
    for stem in owners:
        for name in manifests[stem].names:
            bound.setdefault(name, stem)
    os.makedirs(args.out, exist_ok=True)
    written = []
    for stem, manifest in manifests.items():
        written.append((write(args.out, manifest), manifest))
    lib_path = os.path.join(args.out, f"{MSVCRT_LIB}.directives")
    with open(lib_path, "w", encoding="utf-8", newline="\n") as f:
        for name in sorted(bound):
            f.write(f'cgo_import_dynamic {name} {name} "{manifests[bound[name]].library}"\n')

    # Report.
    for path, m in written:
        extra = f", {m.forwarded} forwarded" if m.forwarded else ""
        extra += f"; {m.ordinal_only} exports by ordinal only" if m.ordinal_only else ""
        print(f"{os.path.basename(path)}: {len(m.names)} names for \"{m.library}\"{extra}"
              f" (from {m.source})")
        for why, names in sorted(m.skipped.items()):
            print(f"    skipped {len(names)}, {why}: {examples(names)}")
    print(f"{os.path.basename(lib_path)}: {len(bound)} names")
    for stem in owners:
        count = sum(1 for s in bound.values() if s == stem)
        print(f"    {count} to \"{manifests[stem].library}\"")
    private = "api-ms-win-crt-private-l1-1-0"
    unbound = manifests[private].names - set(bound)
    print(f"    not bound: {len(unbound)} names only {private} has: {examples(unbound)}")

    print("the exported names (before skipping) against mingw-w64's import libraries"
          + ("" if os.path.isdir(args.mingw) else f": {args.mingw} is absent"))
    for stem, (archive, dll) in DLLS.items():
        libraries = mingw(archive)
        if libraries is None:
            print(f"    {stem}: no {archive}")
            continue
        found = libraries.get(f"{dll or stem}.dll")
        if not found:
            print(f"    {stem}: {archive} has no imports from {dll or stem}.dll")
            continue
        spelled, names = found
        theirs = {n.decode("utf-8", "replace") for n in names}
        ours = {n.decode("utf-8", "replace") for n in raw_exports[stem]}
        note = "" if spelled == manifests[stem].library else f"; it spells the DLL \"{spelled}\""
        print(f"    {stem} vs {archive}: {len(ours & theirs)} in both{note}")
        if theirs - ours:
            print(f"        only mingw: {examples(theirs - ours)}")
        if ours - theirs:
            print(f"        only the DLL: {examples(ours - theirs)}")

    schema = files.get("apisetschema.dll")
    if schema:
        hosts = apiset_hosts(schema)
        print(f"API set names against their hosts in {schema}")
        for stem in APISETS:
            if stem in raw_exports:
                continue
            host = hosts.get(stem.rsplit("-", 1)[0])
            path = files.get((host or "").lower())
            if not path:
                print(f"    {stem}: host {host!r} not in {args.dlls}")
                continue
            _, exports, _ = PeImage(path).exports()
            hosted = {n.decode("utf-8", "replace") for n in exports}
            missing = manifests[stem].names - hosted
            print(f"    {stem} -> {host}: {len(manifests[stem].names) - len(missing)} of "
                  f"{len(manifests[stem].names)} exported there"
                  + (f"; not: {examples(missing)}" if missing else ""))
        ucrt = {n.decode("utf-8", "replace") for n in raw_exports.get("ucrtbase", ())}
        crt = set().union(*(manifests[s].names for s in CRT_APISETS))
        rest = {n for n in ucrt - crt if rejection(n.encode())[1] is None}
        print(f"    ucrtbase names in no CRT API set: {examples(rest)}")


if __name__ == "__main__":
    try:
        main()
    except (Error, OSError, struct.error) as error:
        sys.exit(f"generate.py: {error}")

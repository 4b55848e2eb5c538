#!/bin/sh
# Builds the test binaries of rlink-dynimport into OUT (default: this directory).
# The crate's tests run this into a temporary directory when the tools are present, and
# otherwise use the committed copies. Each part is skipped when its tools are missing.
#
#   ELF:    gcc (Debian 12), binutils ld
#   PE:     clang 14, lld-link 14, llvm-dlltool 14
#   Mach-O: clang 14, ld64.lld 14 (ld64.lld-14), the .tbd stubs here
#
# The golden *.go.txt files are `go tool cgo -dynimport FILE` (go1.19.8), e.g.
#   go tool cgo -dynimport hello_elf > hello_elf.go.txt
#   go tool cgo -dynlinker -dynpackage foo -dynimport hello_elf > hello_elf.dynlinker.go.txt
set -eu
SRC=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$SRC}
mkdir -p "$OUT"
have() { command -v "$1" >/dev/null 2>&1; }
first_of() { for t in "$@"; do if have "$t"; then echo "$t"; return 0; fi; done; return 1; }

if have gcc; then
    gcc -Os -s -Wl,--build-id=none -Wl,-z,noseparate-code \
        -o "$OUT/hello_elf" "$SRC/hello_elf.c" -lm
    gcc -shared -fPIC -Os -s -Wl,--build-id=none -Wl,-z,noseparate-code \
        -Wl,--version-script="$SRC/libvers.map" -Wl,-soname,libvers.so.1 \
        -o "$OUT/libvers.so" "$SRC/libvers.c"
fi

LLD_LINK=$(first_of lld-link lld-link-14 || true)
DLLTOOL=$(first_of llvm-dlltool llvm-dlltool-14 || true)
if have clang && [ -n "$LLD_LINK" ] && [ -n "$DLLTOOL" ]; then
    T=$(mktemp -d)
    "$DLLTOOL" -m i386:x86-64 -d "$SRC/kernel32.def" -l "$T/kernel32.lib"
    "$DLLTOOL" -m i386:x86-64 -d "$SRC/msvcrt.def" -l "$T/msvcrt.lib"
    clang --target=x86_64-pc-windows-msvc -Os -c "$SRC/pe_imports.c" -o "$T/pe.obj"
    "$LLD_LINK" /nologo /brepro /entry:mainCRTStartup /subsystem:console /nodefaultlib \
        /out:"$OUT/pe_imports.exe" "$T/pe.obj" "$T/kernel32.lib" "$T/msvcrt.lib"
    "$DLLTOOL" -m i386 -d "$SRC/kernel32_x86.def" -l "$T/kernel32_x86.lib"
    clang --target=i686-pc-windows-msvc -Os -c "$SRC/pe32_imports.c" -o "$T/pe32.obj"
    "$LLD_LINK" /nologo /brepro /machine:x86 /entry:mainCRTStartup /subsystem:console \
        /nodefaultlib /out:"$OUT/pe32_imports.exe" "$T/pe32.obj" "$T/kernel32_x86.lib"
    clang --target=x86_64-pc-windows-msvc -Os -c "$SRC/libexp.c" -o "$T/libexp.obj"
    "$LLD_LINK" /nologo /brepro /dll /noentry /nodefaultlib /out:"$OUT/libexp.dll" \
        /implib:"$T/libexp.lib" "$T/libexp.obj"
    rm -rf "$T"
fi

LD64=$(first_of ld64.lld ld64.lld-14 || true)
if have clang && [ -n "$LD64" ]; then
    T=$(mktemp -d)
    clang --target=x86_64-apple-macos11 -Os -c "$SRC/macho_imports.c" -o "$T/macho.o"
    "$LD64" -arch x86_64 -platform_version macos 11.0 11.0 -o "$OUT/macho_imports" \
        "$T/macho.o" "$SRC/libSystem.tbd" "$SRC/libz.tbd"
    clang --target=x86_64-apple-macos11 -Os -c "$SRC/libexp.c" -o "$T/libexp.o"
    "$LD64" -arch x86_64 -platform_version macos 11.0 11.0 -dylib \
        -install_name /usr/local/lib/libexp.1.dylib -o "$OUT/libexp.dylib" \
        "$T/libexp.o" "$SRC/libSystem.tbd"
    rm -rf "$T"
fi

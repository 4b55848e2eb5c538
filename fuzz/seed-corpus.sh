#!/usr/bin/env bash
# Builds a starting corpus for each fuzz target from real inputs: objects from rustc, gcc and
# clang (ELF, Mach-O, COFF), an archive, a shared library, linker scripts, directive files and
# response files. Usage: fuzz/seed-corpus.sh (writes fuzz/corpus/TARGET/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
src="$top/testdata/malformed"
gcc -O1 -fcommon -c "$src/main.c" -o main.o
gcc -O1 -fno-pie -c "$src/main.c" -o main-nopie.o
gcc -O1 -c "$src/lib.c" -o lib.o
gcc -O1 -fPIC -c "$src/lib.c" -o lib-pic.o
ar rcs libseed.a lib.o main.o
gcc -shared -o libseed.so lib-pic.o
rustc --edition=2021 -Cpanic=abort -Copt-level=2 --emit=obj --crate-type=bin -o nsd.o \
  "$top/testdata/programs/nostd_directives.rs"
clang --target=x86_64-apple-macos10.12 -c "$src/lib.c" -o lib.macho.o
clang --target=arm64-apple-macos11 -c "$src/lib.c" -o lib.arm64.o
clang --target=x86_64-pc-windows-msvc -c "$src/lib.c" -o lib.obj
seed() { local t=$1; shift; mkdir -p "$here/corpus/$t"; cp "$@" "$here/corpus/$t/"; }
seed elf_object main.o main-nopie.o lib-pic.o nsd.o
seed link_object nsd.o
seed archive libseed.a
seed shared_library libseed.so /lib/x86_64-linux-gnu/libm.so.6
seed directives "$src/imports.txt" nsd.o
seed macho lib.macho.o lib.arm64.o
seed coff lib.obj
mkdir -p "$here/corpus/linker_script"
cp /usr/lib/x86_64-linux-gnu/libc.so "$here/corpus/linker_script/libc.so" 2>/dev/null || true
printf 'GROUP ( libseed.a AS_NEEDED ( libseed.so -lm ) )\nINPUT(x.o)\nOUTPUT_FORMAT(elf64-x86-64)\n' \
  > "$here/corpus/linker_script/group.ld"
mkdir -p "$here/corpus/response_file"
printf -- '-o\nout\\ file\n--hash-style gnu\n-O 1\n-z now\n-l c\n"quoted arg"\n@inner\n' \
  > "$here/corpus/response_file/ld.rsp"
printf -- '-m64\n-Wl,--as-needed\n-nodefaultlibs\n-lc\n-o\nx\n' > "$here/corpus/response_file/cc.rsp"
echo "corpus written to $here/corpus"

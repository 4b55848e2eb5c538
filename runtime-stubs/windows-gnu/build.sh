#!/bin/sh
# Rebuilds gcc_seh.o from gcc_seh.c (tests/pe.rs checks that the checked-in object is what this
# gives). Freestanding: no headers, no C library; -ffunction-sections makes each function a
# COMDAT, so a link keeps only what it calls.
set -e
cd "$(dirname "$0")"
clang --target=x86_64-w64-windows-gnu -O2 -ffreestanding -fno-builtin -fno-stack-protector \
    -ffunction-sections -fasynchronous-unwind-tables -fno-ident -c gcc_seh.c -o gcc_seh.o

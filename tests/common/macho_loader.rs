//! A small Mach-O loader for the tests: macOS programs cannot run on Linux, but an x86_64 one
//! that imports only a few libSystem functions can run inside the test process. The loader
//! maps the image's segments at some address, walks its chained fixups — rebasing pointers by
//! the slide and binding imports to Linux functions with the same calling convention (System
//! V on both) — and calls the entry `LC_MAIN` names in a forked child, whose output and exit
//! status it returns. It is written from the format's description, independently of rlink's
//! writer, so it checks the layout and every fixup end to end.

use std::collections::BTreeMap;

/// What the child printed on stdout and its exit status.
pub struct Ran {
    pub stdout: String,
    pub status: i32,
}

fn u16_at(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(d[at..at + 2].try_into().unwrap())
}
fn u32_at(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}
fn u64_at(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}

#[derive(Debug)]
struct Segment {
    name: String,
    vmaddr: u64,
    vmsize: u64,
    fileoff: u64,
    filesize: u64,
    initprot: u32,
}

extern "C" fn shim_exit(code: i32) -> ! {
    unsafe { libc::_exit(code) }
}

/// The Linux functions that stand in for libSystem's.
fn shims() -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    m.insert("_write", libc::write as *const () as usize);
    m.insert("_exit", shim_exit as *const () as usize);
    m.insert("_memcpy", libc::memcpy as *const () as usize);
    m.insert("_memmove", libc::memmove as *const () as usize);
    m.insert("_memset", libc::memset as *const () as usize);
    m.insert("_memcmp", libc::memcmp as *const () as usize);
    m.insert("_bcmp", libc::memcmp as *const () as usize);
    m.insert("_abort", libc::abort as *const () as usize);
    m
}

/// Loads the x86_64 Mach-O executable `data` and runs it; panics on anything it cannot load.
pub fn run(data: &[u8]) -> Ran {
    assert_eq!(u32_at(data, 0), 0xfeed_facf, "MH_MAGIC_64");
    assert_eq!(u32_at(data, 4), 0x0100_0007, "CPU_TYPE_X86_64");
    assert_eq!(u32_at(data, 12), 2, "MH_EXECUTE");
    let ncmds = u32_at(data, 16) as usize;
    let mut at = 32;
    let mut segments = Vec::new();
    let mut entryoff = None;
    let mut fixups = None;
    for _ in 0..ncmds {
        let cmd = u32_at(data, at);
        let size = u32_at(data, at + 4) as usize;
        match cmd {
            0x19 => {
                let name = String::from_utf8_lossy(&data[at + 8..at + 24])
                    .trim_end_matches('\0')
                    .to_string();
                segments.push(Segment {
                    name,
                    vmaddr: u64_at(data, at + 24),
                    vmsize: u64_at(data, at + 32),
                    fileoff: u64_at(data, at + 40),
                    filesize: u64_at(data, at + 48),
                    initprot: u32_at(data, at + 60),
                });
            }
            0x8000_0028 => entryoff = Some(u64_at(data, at + 8)),
            0x8000_0034 => {
                fixups = Some((
                    u32_at(data, at + 8) as usize,
                    u32_at(data, at + 12) as usize,
                ))
            }
            _ => {}
        }
        at += size;
    }
    let entryoff = entryoff.expect("LC_MAIN");
    let (fix_off, fix_size) = fixups.expect("LC_DYLD_CHAINED_FIXUPS");
    let mapped: Vec<&Segment> = segments.iter().filter(|s| s.name != "__PAGEZERO").collect();
    let lo = mapped.iter().map(|s| s.vmaddr).min().unwrap();
    let hi = mapped.iter().map(|s| s.vmaddr + s.vmsize).max().unwrap();
    let len = (hi - lo) as usize;
    // SAFETY: a fresh private anonymous mapping, ours alone.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(base, libc::MAP_FAILED);
    let base = base as usize;
    let image = unsafe { std::slice::from_raw_parts_mut(base as *mut u8, len) };
    for s in &mapped {
        let to = (s.vmaddr - lo) as usize;
        let from = s.fileoff as usize;
        image[to..to + s.filesize as usize]
            .copy_from_slice(&data[from..from + s.filesize as usize]);
    }

    // Chained fixups.
    let f = &data[fix_off..fix_off + fix_size];
    assert_eq!(u32_at(f, 0), 0, "fixups_version");
    let starts_offset = u32_at(f, 4) as usize;
    let imports_offset = u32_at(f, 8) as usize;
    let symbols_offset = u32_at(f, 12) as usize;
    let imports_count = u32_at(f, 16) as usize;
    assert_eq!(u32_at(f, 20), 1, "DYLD_CHAINED_IMPORT");
    let shims = shims();
    let mut import_values = Vec::new();
    for i in 0..imports_count {
        let e = u32_at(f, imports_offset + 4 * i);
        let weak = (e >> 8) & 1 == 1;
        let name_off = (e >> 9) as usize;
        let name_end = f[symbols_offset + name_off..]
            .iter()
            .position(|&b| b == 0)
            .unwrap();
        let name = std::str::from_utf8(
            &f[symbols_offset + name_off..symbols_offset + name_off + name_end],
        )
        .unwrap();
        let value = match shims.get(name) {
            Some(&v) => v,
            None if weak => 0,
            None => panic!("the test loader has no stand-in for {name}"),
        };
        import_values.push(value);
    }
    let seg_count = u32_at(f, starts_offset) as usize;
    let mut fixed = 0;
    for i in 0..seg_count {
        let info = u32_at(f, starts_offset + 4 + 4 * i) as usize;
        if info == 0 {
            continue;
        }
        let s = starts_offset + info;
        let page_size = u16_at(f, s + 4) as u64;
        // rlink writes DYLD_CHAINED_PTR_64_OFFSET (6: rebases hold offsets from the image);
        // ld64 and ld64.lld write DYLD_CHAINED_PTR_64 (2: they hold addresses).
        let pointer_format = u16_at(f, s + 6);
        assert!(
            matches!(pointer_format, 2 | 6),
            "pointer format {pointer_format}"
        );
        let segment_offset = u64_at(f, s + 8);
        let page_count = u16_at(f, s + 20) as u64;
        for page in 0..page_count {
            let start = u16_at(f, s + 22 + 2 * page as usize);
            if start == 0xffff {
                continue;
            }
            let mut off = (segment_offset + page * page_size + u64::from(start)) as usize;
            loop {
                let raw = u64::from_le_bytes(image[off..off + 8].try_into().unwrap());
                let next = (raw >> 51) & 0xfff;
                let value = if raw >> 63 == 1 {
                    let ordinal = (raw & 0xff_ffff) as usize;
                    let addend = (raw >> 24) & 0xff;
                    import_values[ordinal] as u64 + addend
                } else {
                    let target = raw & 0xf_ffff_ffff;
                    let high8 = (raw >> 36) & 0xff;
                    let offset = if pointer_format == 2 {
                        target - lo
                    } else {
                        target
                    };
                    (high8 << 56) | (base as u64 + offset)
                };
                image[off..off + 8].copy_from_slice(&value.to_le_bytes());
                fixed += 1;
                if next == 0 {
                    break;
                }
                off += 4 * next as usize;
            }
        }
    }
    assert!(fixed > 0, "an image with no fixups cannot call libSystem");
    for s in &mapped {
        let prot = (if s.initprot & 1 != 0 {
            libc::PROT_READ
        } else {
            0
        }) | (if s.initprot & 2 != 0 {
            libc::PROT_WRITE
        } else {
            0
        }) | (if s.initprot & 4 != 0 {
            libc::PROT_EXEC
        } else {
            0
        });
        let r = unsafe {
            libc::mprotect(
                (base + (s.vmaddr - lo) as usize) as *mut _,
                s.vmsize as usize,
                prot,
            )
        };
        assert_eq!(r, 0, "mprotect {}", s.name);
    }

    // Run main(argc, argv, envp, apple) in a child; its stdout goes to a pipe.
    let mut pipe = [0i32; 2];
    assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
    let entry: extern "C" fn(i32, *const *const u8, *const *const u8, *const *const u8) -> i32 =
        unsafe { std::mem::transmute(base + entryoff as usize) };
    let argv: [*const u8; 2] = [c"prog".as_ptr().cast(), std::ptr::null()];
    let empty: [*const u8; 1] = [std::ptr::null()];
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe {
            libc::dup2(pipe[1], 1);
            libc::close(pipe[0]);
            let status = entry(1, argv.as_ptr(), empty.as_ptr(), empty.as_ptr());
            libc::_exit(status);
        }
    }
    unsafe { libc::close(pipe[1]) };
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = unsafe { libc::read(pipe[0], chunk.as_mut_ptr().cast(), chunk.len()) };
        if n <= 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n as usize]);
    }
    unsafe { libc::close(pipe[0]) };
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    unsafe { libc::munmap(base as *mut _, len) };
    assert!(
        libc::WIFEXITED(status),
        "the program died (signal {})",
        libc::WTERMSIG(status)
    );
    Ran {
        stdout: String::from_utf8_lossy(&out).into_owned(),
        status: libc::WEXITSTATUS(status),
    }
}

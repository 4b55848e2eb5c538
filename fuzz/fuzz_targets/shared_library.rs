//! The shared-library reader: `.dynsym`, versions, the soname and every lookup path.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(lib) = rlink_elf::shared::parse(data, "libfuzz.so") {
        for e in lib.exports.iter().take(64) {
            let _ = lib.lookup(e.name);
            if let Some(v) = e.version {
                let _ = lib.lookup_version(e.name, v);
            }
        }
    }
});

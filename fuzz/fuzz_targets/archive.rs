//! The archive reader: member headers, sizes, long names and the symbol table.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(members) = rlink_linker::input::archive_members(data) {
        for m in members {
            let _ = rlink_linker::input::FileKind::identify(m.data);
        }
    }
});

//! The ELF relocatable-object loader: every section, symbol, relocation, group and
//! `.eh_frame` of hostile bytes is checked at load, never trusted later.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(view) = rlink_elf::object::load("fuzz.o".to_string(), data) {
        // What later phases do with a loaded object must hold for every object that loads.
        for relocs in &view.relocations {
            for r in relocs.iter() {
                assert!((r.symbol as usize) < view.symbols.len());
            }
        }
        let _ = view.is_from_rustc();
    }
});

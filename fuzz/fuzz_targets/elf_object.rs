//! The ELF relocatable-object loader: every section, symbol, relocation, group and
//! `.eh_frame` of hostile bytes is checked at load, never trusted later.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = rlink_elf::object::InputObject::parse("fuzz.o".to_string(), data);
});

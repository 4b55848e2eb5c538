//! The GNU linker-script reader (GROUP, INPUT, AS_NEEDED, … and everything it refuses).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rlink_linker::script::looks_like_script(text);
        let _ = rlink_linker::script::parse_script(text);
    }
});

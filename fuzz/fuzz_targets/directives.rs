//! The directive parser, as text and as the sections objects carry it.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = rlink_directives::parse_bytes(data);
    let _ = rlink_directives::directives_in_file(data);
});

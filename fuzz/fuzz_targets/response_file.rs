//! Response-file splitting, then the three command-line dialects reading the words.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(words) = rlink_linker::args::split_response_text(text) else { return };
    let _ = rlink_linker::args::parse_link_command(&words);
    let mut quiet = |_: String| {};
    let _ = rlink_linker::gnu_args::parse_ld(&words, &mut quiet);
    let ld = rlink_linker::gnu_args::cc_to_ld(&words, &mut quiet);
    let _ = rlink_linker::gnu_args::parse_ld(&ld, &mut quiet);
});

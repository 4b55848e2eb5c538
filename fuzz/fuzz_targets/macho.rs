//! The Mach-O reader behind `rlink inspect` and `rlink dynimport`.
#![no_main]
use rlink_linker::format::Format as _;
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let opts = rlink_linker::inspect::InspectOptions { addresses: true };
    if let Ok(report) = rlink_macho::MachO.inspect(data, &opts) {
        let _ = report.render(&opts);
    }
});

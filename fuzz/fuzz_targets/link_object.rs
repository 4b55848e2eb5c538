//! A whole internal link of one object, in memory: load, resolve, collect garbage, lay out,
//! relocate and write. The output is `/dev/null`, which rlink writes in place (it never
//! renames over a non-regular file), so nothing reaches the disk.
#![no_main]
use rlink_linker::format::Format as _;
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut args = rlink_linker::args::LinkArgs::new();
    args.output = "/dev/null".into();
    args.inputs = vec![rlink_linker::args::InputArg::Path("fuzz.o".into())];
    let Ok(plan) = rlink_linker::plan::from_memory(args, vec![("fuzz.o".into(), data.to_vec())]) else {
        return;
    };
    let _ = rlink_elf::Elf.link(&plan);
});

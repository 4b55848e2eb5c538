//! The LLVM tools the Mach-O tests read outputs with.

use std::path::Path;
use std::process::Command;

/// An LLVM tool of version 16 or later (llvm-objdump reads chained fixups from 16 on).
pub fn llvm_tool(tool: &str) -> String {
    for v in (16..=30).rev() {
        let name = format!("{tool}-{v}");
        if Command::new(&name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return name;
        }
    }
    panic!("{tool}-16 or later is needed (package llvm-16; .ci/run installs it)");
}

pub fn objdump() -> String {
    llvm_tool("llvm-objdump")
}

/// Runs llvm-objdump on a Mach-O file; wants success and silence on stderr.
pub fn dump(path: &Path, flags: &[&str]) -> String {
    let mut all = vec!["--macho"];
    all.extend_from_slice(flags);
    read("llvm-objdump", path, &all)
}

/// Runs an LLVM tool (16 or later) on a file with `flags`; wants success and silence on
/// stderr.
pub fn read(tool: &str, path: &Path, flags: &[&str]) -> String {
    let out = Command::new(llvm_tool(tool))
        .args(flags)
        .arg(path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "{}: {stderr}",
        path.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

//! Running Windows programs under wine: one `WINEPREFIX` per test binary, made once (the
//! first start of a fresh prefix takes seconds); when the binary exits, its wineserver is
//! stopped and the prefix (some 700 MB of wine's DLLs) deleted, so runs do not pile them up.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

static PREFIX: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn stop_wineserver() {
    if let Some(prefix) = PREFIX.get() {
        let _ = Command::new("wineserver")
            .arg("-k")
            .env("WINEPREFIX", prefix)
            .status();
        let _ = std::fs::remove_dir_all(prefix);
    }
}

/// The test binary's wine prefix, made on first use.
pub fn prefix() -> &'static Path {
    PREFIX.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("wineprefix-{}", std::process::id()));
        let status = Command::new("wineboot")
            .arg("-i")
            .env("WINEPREFIX", &dir)
            .env("WINEDEBUG", "-all")
            .env("DISPLAY", "")
            .output()
            .expect("wineboot (package wine64; .ci/run installs it) runs");
        assert!(
            status.status.success(),
            "wineboot: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        // SAFETY: registering a plain function to run at exit.
        unsafe { libc::atexit(stop_wineserver) };
        dir
    })
}

/// What a program run under wine printed and its exit status.
pub struct Ran {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
}

pub fn run(exe: &Path, args: &[&str]) -> Ran {
    run_with(exe, args, &[])
}

/// As [`run`], with environment variables for the program (wine passes the Unix environment
/// on).
pub fn run_with(exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let out = Command::new("wine")
        .arg(exe)
        .args(args)
        .envs(env.iter().copied())
        .env("WINEPREFIX", prefix())
        .env("WINEDEBUG", "-all")
        .env("DISPLAY", "")
        .output()
        .expect("wine runs");
    Ran {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        status: out.status.code().unwrap_or(-1),
    }
}

/// A Unix directory as a Windows path list entry for `WINEPATH` (wine's drive `Z:` is `/`).
pub fn windows_path(dir: &Path) -> String {
    format!("Z:{}", dir.display()).replace('/', "\\")
}

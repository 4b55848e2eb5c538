// Files and std::process::Command (fork/exec/pipes through libc; CreateProcess on Windows).
use std::io::{Read, Write};

fn main() {
    let dir = std::env::temp_dir().join(format!("rlink-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("data.txt");
    std::fs::File::create(&path).unwrap().write_all(b"line one\nline two\n").unwrap();
    let mut text = String::new();
    std::fs::File::open(&path).unwrap().read_to_string(&mut text).unwrap();
    println!("read {} lines", text.lines().count());
    #[cfg(not(windows))]
    let out = std::process::Command::new("sh").arg("-c").arg("echo child says hi; exit 7").output().unwrap();
    #[cfg(windows)]
    let out = std::process::Command::new("cmd").args(["/c", "echo child says hi& exit 7"]).output().unwrap();
    println!("child stdout: {}", String::from_utf8_lossy(&out.stdout).trim());
    println!("child status: {:?}", out.status.code());
    std::fs::remove_dir_all(&dir).unwrap();
}

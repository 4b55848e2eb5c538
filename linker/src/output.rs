//! Writing outputs so that a failed or interrupted link never leaves a half-written file at
//! the output path: the bytes go to a temporary file in the same directory (same file
//! system, so the final rename is atomic) that is deleted unless the write completes.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use crate::diag::{Error, Result};

/// Writes `bytes` to `path` atomically with the given permission bits.
pub fn write_file_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    write_mapped_atomically(path, bytes.len() as u64, mode, |out| {
        out.copy_from_slice(bytes);
        Ok(())
    })
}

/// Creates a `size`-byte temporary file beside `path`, maps it, lets `fill` write it (in
/// parallel if it likes: the map is plain memory), then renames it to `path` with `mode`.
/// When `fill` or anything else fails, the temporary file is removed and `path` is untouched.
pub fn write_mapped_atomically(
    path: &Path,
    size: u64,
    mode: u32,
    fill: impl FnOnce(&mut [u8]) -> Result<()>,
) -> Result<()> {
    let name = path.display();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".rlink-")
        .tempfile_in(dir)
        .map_err(|e| {
            Error::new(format!(
                "{name}: cannot create a temporary file in {}: {e}",
                dir.display()
            ))
        })?;
    let io = |e: std::io::Error| Error::new(format!("{name}: {e}"));
    tmp.as_file().set_len(size).map_err(io)?;
    if size > 0 {
        // SAFETY: the file is a fresh private temporary; nothing else maps or truncates it
        // before it is renamed.
        let mut map = unsafe { memmap2::MmapMut::map_mut(tmp.as_file()) }
            .map_err(|e| Error::new(format!("{name}: cannot map: {e}")))?;
        fill(&mut map)?;
        // No msync: the pages are in the page cache, which is what readers of the file see;
        // forcing them to disk would only make every link wait for the disk.
    } else {
        fill(&mut [])?;
    }
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(io)?;
    // Dropping `tmp` on any error above deletes it; `persist` renames it into place.
    tmp.persist(path)
        .map_err(|e| Error::new(format!("{name}: {}", e.error)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_with_mode_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        write_file_atomically(&out, b"hello", 0o755).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"hello");
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out")]);
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_output() {
        let e = write_file_atomically(Path::new("/nonexistent-dir/out"), b"x", 0o644).unwrap_err();
        assert!(e.message().starts_with("/nonexistent-dir/out: "), "{e}");
    }
}

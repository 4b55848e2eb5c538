//! Writing outputs so that a failed or interrupted link never leaves a half-written file at
//! the output path, and never harms what is already there. Every output is assembled in
//! anonymous memory first, so the link's own errors all come before any file is touched.
//!
//! - A new path, or an existing regular file: the bytes go to a temporary file in the same
//!   directory (same file system, so the final rename is atomic) that is deleted unless the
//!   write completes — also when the process is stopped by SIGINT, SIGTERM or SIGHUP.
//! - An existing executable of this machine that nothing else can see change (a regular file
//!   of ours with one name, not running): overwritten in place through a map of it, reusing
//!   its blocks and pages ([`Reuse::Executable`]); a failure once it is opened deletes it, so
//!   a failed link leaves no output, as GNU ld, mold and wild leave none.
//! - An existing path that is not a regular file (`/dev/null`, a FIFO, a socket, a terminal):
//!   it is opened and written in place, as GNU ld and lld do. Renaming over it would replace
//!   the device node: `-o /dev/null` run as root would turn `/dev/null` into an executable
//!   and break every program on the machine that reads it.

use std::ffi::CString;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Once;

use crate::diag::{Error, Result};
use crate::par::PerItem as _;

/// Writes `bytes` to `path` safely with the given permission bits.
pub fn write_file_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    write_mapped_atomically(path, bytes.len() as u64, mode, |out| {
        out.copy_from_slice(bytes);
        Ok(())
    })
}

/// How an output path is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Absent or a regular file: a temporary file beside it, renamed over it.
    Replace,
    /// Exists and is not a regular file: opened and written in place, mode untouched.
    InPlace,
}

/// Decides how `path` is written; a directory (or anything that cannot be examined) is an
/// error naming the output.
pub fn output_kind(path: &Path) -> Result<OutputKind> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(Error::new(format!(
            "{}: cannot write the output: is a directory",
            path.display()
        ))),
        Ok(m) if m.is_file() => Ok(OutputKind::Replace),
        Ok(_) => Ok(OutputKind::InPlace),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(OutputKind::Replace),
        Err(e) => Err(Error::new(format!("{}: {e}", path.display()))),
    }
}

/// Creates a `size`-byte output, lets `fill` write it (in parallel if it likes: the buffer is
/// plain memory), then puts it at `path` as [`OutputKind`] says. When `fill` or anything else
/// fails, nothing is left behind and a regular file at `path` is untouched.
pub fn write_mapped_atomically(
    path: &Path,
    size: u64,
    mode: u32,
    fill: impl FnOnce(&mut [u8]) -> Result<()>,
) -> Result<()> {
    write_mapped_atomically_then(path, size, mode, fill, |_| Ok(None))
}

/// What a last pass over a written output replaces: the bytes from `keep` on become `tail`
/// (the file grows or shrinks to fit).
pub type Rewrite = Option<(u64, Vec<u8>)>;

/// [`write_mapped_atomically`], with a last pass (`rewrite`) that sees the whole output once
/// `fill` is done and may patch it and replace its tail: sections compressed after they were
/// relocated, an index built from the relocated debug information.
pub fn write_mapped_atomically_then(
    path: &Path,
    size: u64,
    mode: u32,
    fill: impl FnOnce(&mut [u8]) -> Result<()>,
    rewrite: impl FnOnce(&mut [u8]) -> Result<Rewrite>,
) -> Result<()> {
    write_output(path, size, mode, Reuse::Never, fill, rewrite)
}

/// Whether an existing output may be overwritten in place rather than replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse<'w> {
    Never,
    /// An executable for this machine's own CPU: the kernel refuses to open it for writing
    /// while it runs (ETXTBSY), so a running copy is never changed under it. (A program for
    /// another CPU runs under an emulator that merely maps it: it is always replaced.)
    ///
    /// `written`: byte ranges (start, end), in order and not overlapping, that `fill` writes
    /// every byte of whenever it succeeds. Only the rest of the old file is zeroed before
    /// `fill` runs: the sections copied from the inputs (most of a program, all of its debug
    /// information) are then touched once, when they are written — after the inputs copied
    /// before them were handed back — rather than zeroed ahead with every input resident.
    Executable {
        written: &'w [(u64, u64)],
    },
}

/// Writes an output of `size` bytes that `fill` (then `rewrite`) produce.
///
/// An executable that already exists is filled in place when nothing else can see the change
/// (`reusable`, `fill_in_place`), as wild does: its blocks and cached pages are reused,
/// where a new file's are allocated, journalled and the old file's freed (on this project's
/// benchmark machine, a tenth of new-file writes stalled for tens of milliseconds).
///
/// Otherwise the bytes are assembled in anonymous memory (huge pages where the kernel has
/// them) and written in one stream to a temporary file beside the output, its blocks allocated
/// up front, which is renamed over it: every error of the link comes before the file is
/// touched, and filling a fresh file through a shared mapping would cost a page fault and a
/// block reservation per 4 KiB page, several times the cost of the copy.
pub fn write_output(
    path: &Path,
    size: u64,
    mode: u32,
    reuse: Reuse<'_>,
    fill: impl FnOnce(&mut [u8]) -> Result<()>,
    rewrite: impl FnOnce(&mut [u8]) -> Result<Rewrite>,
) -> Result<()> {
    let name = path.display();
    let len = usize::try_from(size)
        .map_err(|_| Error::new(format!("{name}: output of {size} bytes is too large")))?;
    if output_kind(path)? == OutputKind::InPlace {
        return write_in_place(path, len, fill, rewrite);
    }
    let timer = std::time::Instant::now();
    if let (Reuse::Executable { written }, true) = (reuse, len > 0) {
        if let Some(file) = reusable(path, size) {
            return fill_in_place(path, file, len, written, mode, fill, rewrite);
        }
    }
    let mut memory = OutputMemory::new(len).map_err(|e| e.at(&name))?;
    fill(memory.bytes())?;
    tracing::debug!(elapsed = ?timer.elapsed(), "output: filled");
    let rewritten = if len == 0 {
        None
    } else {
        rewrite(memory.bytes())?
    };
    let (head, tail) = split_rewritten(memory.bytes(), &rewritten);
    let dir = parent_dir(path);
    install_signal_cleanup();
    let tmp = tempfile::Builder::new()
        .prefix(".rlink-")
        .tempfile_in(dir)
        .map_err(|e| {
            Error::new(format!(
                "{name}: cannot create a temporary file in {}: {e}",
                dir.display()
            ))
        })?;
    let _guard = CleanupGuard::register(tmp.path());
    let io = |e: std::io::Error| Error::new(format!("{name}: {e}"));
    let file = tmp.as_file();
    allocate(file, (head.len() + tail.len()) as u64);
    use std::os::unix::fs::FileExt as _;
    file.write_all_at(head, 0).map_err(io)?;
    file.write_all_at(tail, head.len() as u64).map_err(io)?;
    // No fsync: the pages are in the page cache, which is what readers of the file see;
    // forcing them to disk would only make every link wait for the disk.
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(io)?;
    // The output being replaced stays open until the process ends, so that freeing its blocks
    // happens then: after the parent has exited, when rlink finishes in the background.
    let replaced = std::fs::File::open(path).ok();
    // Dropping `tmp` on any error above deletes it; `persist` renames it into place.
    tmp.persist(path)
        .map_err(|e| Error::new(format!("{name}: {}", e.error)))?;
    crate::background::drop_late(replaced);
    crate::background::drop_late(memory);
    tracing::debug!(elapsed = ?timer.elapsed(), "output: renamed into place");
    Ok(())
}

/// The existing output at `path`, opened to be overwritten in place, when that is safe: it
/// is a regular file of ours (not a symbolic link, which would be written through), with no
/// other name (a hard link elsewhere — an installed copy, a build cache's — must keep the old
/// bytes), that the kernel lets us open for writing (not a running program), and whose blocks
/// for the new size can be allocated (so the writes cannot run out of space half-way). `None`,
/// having changed nothing, when it is not.
fn reusable(path: &Path, size: u64) -> Option<std::fs::File> {
    use std::os::fd::AsRawFd as _;
    use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    // SAFETY: geteuid cannot fail.
    let ours = meta.uid() == unsafe { libc::geteuid() };
    if !meta.is_file() || meta.nlink() != 1 || !ours {
        return None;
    }
    // SAFETY: a plain system call on an open descriptor; the size is kept, so the file is
    // unchanged when this fails.
    let allocated = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_KEEP_SIZE,
            0,
            size as libc::off_t,
        )
    };
    (allocated == 0).then_some(file)
}

/// Fills an existing output in place, through a shared map of it: its blocks and cached pages
/// are reused, where a new file's are allocated, journalled and the old file's freed, and the
/// bytes are written once, where assembling them in anonymous memory first writes them twice
/// and zero-fills fresh pages. What `fill` does not write whole (`written`) is zeroed first, so
/// the output does not depend on what the file held. From the moment the file is resized the
/// old output is gone: a failure (or a signal) deletes the file, so no output is left rather
/// than a broken one — as GNU ld, mold and wild leave none.
fn fill_in_place(
    path: &Path,
    file: std::fs::File,
    len: usize,
    written: &[(u64, u64)],
    mode: u32,
    fill: impl FnOnce(&mut [u8]) -> Result<()>,
    rewrite: impl FnOnce(&mut [u8]) -> Result<Rewrite>,
) -> Result<()> {
    use std::os::unix::fs::FileExt as _;
    let name = path.display();
    install_signal_cleanup();
    let guard = CleanupGuard::register(path);
    let io = |e: std::io::Error| Error::new(format!("{name}: {e}"));
    let timer = std::time::Instant::now();
    let result = (|| -> Result<()> {
        file.set_len(len as u64).map_err(io)?;
        // SAFETY: the file is ours alone (one name, not running, checked by `reusable`); a
        // process that maps it behind our back sees it change, as with any linker writing in
        // place.
        let mut map = unsafe { memmap2::MmapMut::map_mut(&file) }
            .map_err(|e| Error::new(format!("{name}: cannot map: {e}")))?;
        // Pages of the file not in the page cache (the file grew, or its pages were
        // evicted) are made by the writers' faults, which hit the file in no order: the
        // kernel's read-around then gives up and caches each as a 4 KiB page, and every
        // later link that reuses the file takes a fault per 4 KiB rather than per large
        // folio — on release ripgrep, 14 400 faults instead of 7 900 and a write phase of
        // 30-34 ms instead of 18-22. Asked for huge pages, the kernel caches such pages in
        // large folios. (A hint: nothing changes where it is refused.)
        let _ = map.advise(memmap2::Advice::HugePage);
        zero_except(&mut map, written);
        tracing::debug!(elapsed = ?timer.elapsed(), "output: mapped in place, gaps zeroed");
        fill(&mut map)?;
        tracing::debug!(elapsed = ?timer.elapsed(), "output: filled");
        match rewrite(&mut map)? {
            Some((keep, tail)) => {
                drop(map);
                file.set_len(keep).map_err(io)?;
                file.write_all_at(&tail, keep).map_err(io)?;
            }
            // Unmapped now, not late: a writable shared map of the file (like an open
            // descriptor for writing) makes the kernel refuse to run it ("text file busy")
            // until it goes, and the caller runs the output as soon as rlink exits.
            None => drop(map),
        }
        tracing::debug!(elapsed = ?timer.elapsed(), "output: unmapped");
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    drop(guard);
    drop(file);
    result
}

/// Zeroes `buf` but for the `written` ranges (in order, not overlapping; clipped to `buf`), in
/// pieces of at most 1 MiB spread over the threads.
fn zero_except(buf: &mut [u8], written: &[(u64, u64)]) {
    use rayon::prelude::*;
    const PIECE: usize = 1 << 20;
    let len = buf.len();
    let mut gaps: Vec<(usize, usize)> = Vec::new();
    let mut at = 0usize;
    for &(start, end) in written {
        let (start, end) = ((start as usize).min(len), (end as usize).min(len));
        if start > at {
            gaps.push((at, start));
        }
        at = at.max(end);
    }
    gaps.push((at, len));
    let mut pieces: Vec<&mut [u8]> = Vec::new();
    let mut rest = buf;
    let mut consumed = 0;
    for (start, end) in gaps {
        if end <= start {
            continue;
        }
        let (_, tail) = std::mem::take(&mut rest).split_at_mut(start - consumed);
        let (gap, after) = tail.split_at_mut(end - start);
        pieces.extend(gap.chunks_mut(PIECE));
        rest = after;
        consumed = end;
    }
    pieces.into_par_iter().per_item().for_each(|p| p.fill(0));
}

/// The whole output in anonymous memory, zero-filled by the kernel as it is touched.
pub struct OutputMemory(Option<memmap2::MmapMut>);

impl OutputMemory {
    pub fn new(len: usize) -> Result<OutputMemory> {
        if len == 0 {
            return Ok(OutputMemory(None));
        }
        let map = memmap2::MmapMut::map_anon(len)
            .map_err(|e| Error::new(format!("cannot allocate {len} bytes: {e}")))?;
        // Huge pages: a fault per 2 MiB rather than per 4 KiB (a hint; fine if refused).
        let _ = map.advise(memmap2::Advice::HugePage);
        Ok(OutputMemory(Some(map)))
    }

    pub fn bytes(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Some(map) => map,
            None => &mut [],
        }
    }
}

/// The bytes to write once the last pass is done: the kept head, then the new tail.
fn split_rewritten<'m>(bytes: &'m [u8], rewritten: &'m Rewrite) -> (&'m [u8], &'m [u8]) {
    match rewritten {
        Some((keep, tail)) => (&bytes[..(*keep as usize).min(bytes.len())], tail),
        None => (bytes, &[]),
    }
}

/// Reserves a file's blocks in one request (a hint: file systems without `fallocate` get the
/// blocks as they are written).
fn allocate(file: &std::fs::File, len: u64) {
    use std::os::fd::AsRawFd as _;
    if len == 0 {
        return;
    }
    // SAFETY: a plain system call on an open descriptor.
    unsafe {
        libc::fallocate(file.as_raw_fd(), 0, 0, len as libc::off_t);
    }
}

/// A raw view of an output buffer that lets threads write disjoint ranges at once.
#[derive(Clone, Copy)]
pub struct OutBuf {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: every writer takes only the byte ranges it owns (each input section and each
// linker-made section has its own range in the layout), so no two threads touch one byte.
unsafe impl Send for OutBuf {}
unsafe impl Sync for OutBuf {}

impl OutBuf {
    pub fn new(buf: &mut [u8]) -> OutBuf {
        OutBuf {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes `offset..offset + len`.
    ///
    /// # Safety
    /// The caller must be the only one using this range for the slice's lifetime, and the
    /// buffer `new` was given must outlive it.
    pub unsafe fn range<'o>(self, offset: u64, len: u64) -> Result<&'o mut [u8]> {
        let end = offset
            .checked_add(len)
            .filter(|&end| end <= self.len as u64);
        let Some(end) = end else {
            return Err(Error::new("write past the end of the output (linker bug)"));
        };
        let start = offset as usize;
        Ok(unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), end as usize - start) })
    }
}

/// The directory a temporary file for `path` goes in.
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The bytes are built in anonymous memory, then written to the open file in one stream.
fn write_in_place(
    path: &Path,
    len: usize,
    fill: impl FnOnce(&mut [u8]) -> Result<()>,
    rewrite: impl FnOnce(&mut [u8]) -> Result<Rewrite>,
) -> Result<()> {
    let name = path.display();
    let mut memory = OutputMemory::new(len).map_err(|e| e.at(&name))?;
    fill(memory.bytes())?;
    let rewritten = if len == 0 {
        None
    } else {
        rewrite(memory.bytes())?
    };
    let (head, tail) = split_rewritten(memory.bytes(), &rewritten);
    let mut file = open_in_place(path)?;
    file.write_all(head)
        .and_then(|_| file.write_all(tail))
        .and_then(|_| file.flush())
        .map_err(|e| Error::new(format!("{name}: {e}")))?;
    crate::background::drop_late(memory);
    Ok(())
}

/// Opens an existing non-regular output for writing, without creating or truncating it.
fn open_in_place(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::new(format!("{}: {e}", path.display())))
}

/// Puts a file another program wrote (the host linker's output, staged beside the real
/// output) at `path`: renamed over a regular file, copied into anything else.
pub fn install_staged(staged: &Path, path: &Path) -> Result<()> {
    let name = path.display();
    match output_kind(path)? {
        OutputKind::Replace => {
            std::fs::rename(staged, path).map_err(|e| Error::new(format!("{name}: {e}")))?
        }
        OutputKind::InPlace => {
            let mut from = std::fs::File::open(staged)
                .map_err(|e| Error::new(format!("{}: {e}", staged.display())))?;
            let mut to = open_in_place(path)?;
            std::io::copy(&mut from, &mut to).map_err(|e| Error::new(format!("{name}: {e}")))?;
            let _ = std::fs::remove_file(staged);
        }
    }
    Ok(())
}

/// The temporary output file of the link in progress, for the signal handler to remove. One
/// output is written at a time per process. Names are leaked, never freed, so a handler
/// running on another thread can never read freed memory.
static PENDING_TEMP: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

/// Registers a temporary file for removal on SIGINT/SIGTERM/SIGHUP while it lives.
pub struct CleanupGuard(());

impl CleanupGuard {
    pub fn register(path: &Path) -> CleanupGuard {
        install_signal_cleanup();
        let c = CString::new(path.as_os_str().as_bytes()).unwrap_or_default();
        PENDING_TEMP.store(c.into_raw(), Ordering::SeqCst);
        CleanupGuard(())
    }

    /// The registered path, for tests.
    pub fn pending() -> Option<PathBuf> {
        let p = PENDING_TEMP.load(Ordering::SeqCst);
        if p.is_null() {
            return None;
        }
        // SAFETY: registered names are leaked CStrings, valid for the life of the process.
        let c = unsafe { std::ffi::CStr::from_ptr(p) };
        Some(PathBuf::from(std::ffi::OsStr::from_bytes(c.to_bytes())))
    }
}

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        PENDING_TEMP.store(std::ptr::null_mut(), Ordering::SeqCst);
    }
}

extern "C" fn remove_pending_and_die(signal: libc::c_int) {
    let p = PENDING_TEMP.swap(std::ptr::null_mut(), Ordering::SeqCst);
    // SAFETY: unlink, signal and raise are async-signal-safe; `p` is null or a leaked CString.
    unsafe {
        if !p.is_null() {
            libc::unlink(p);
        }
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

/// Installs the handlers once per process. SIGXFSZ (a file-size limit reached while sizing
/// the output) is ignored, so the write fails with EFBIG and the link ends with an error and
/// removes its temporary file instead of being killed with the file left behind. Signals the
/// parent asked to ignore (`nohup`) stay ignored.
fn install_signal_cleanup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: installing handlers that only call async-signal-safe functions.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                let old = libc::signal(
                    sig,
                    remove_pending_and_die as extern "C" fn(libc::c_int) as libc::sighandler_t,
                );
                if old == libc::SIG_IGN {
                    libc::signal(sig, libc::SIG_IGN);
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tests that register temporary files run one at a time: the registry is per process.
    static REGISTRY: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn writes_with_mode_and_leaves_nothing_else() {
        let _one = REGISTRY.lock().unwrap();
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

    #[test]
    fn a_directory_is_not_an_output() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_file_atomically(dir.path(), b"x", 0o644).unwrap_err();
        assert!(e.message().ends_with("is a directory"), "{e}");
    }

    #[test]
    fn a_failed_fill_leaves_nothing_and_keeps_the_old_file() {
        let _one = REGISTRY.lock().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::write(&out, b"old").unwrap();
        let e = write_output(
            &out,
            10,
            0o755,
            Reuse::Never,
            |_| {
                // The bytes are assembled in memory: no file is touched until they are
                // complete.
                assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
                Err(Error::new("no"))
            },
            |_| Ok(None),
        )
        .unwrap_err();
        assert_eq!(e.message(), "no");
        assert_eq!(CleanupGuard::pending(), None);
        assert_eq!(std::fs::read(&out).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn only_what_fill_does_not_write_is_zeroed() {
        let mut buf = vec![0xaau8; (3 << 20) + 100];
        let len = buf.len() as u64;
        // Ranges in order, one past the end (clipped), one empty.
        let written = [
            (10, 20),
            (20, 30),
            (1 << 20, (2 << 20) + 7),
            (len - 5, len + 50),
        ];
        zero_except(&mut buf, &written);
        let kept = |i: u64| written.iter().any(|&(s, e)| (s..e).contains(&i));
        for (i, &b) in buf.iter().enumerate() {
            let want = if kept(i as u64) { 0xaa } else { 0 };
            assert_eq!(b, want, "byte {i}");
        }
        let mut all = vec![1u8; 5000];
        zero_except(&mut all, &[]);
        assert!(all.iter().all(|&b| b == 0));
    }

    #[test]
    fn old_bytes_in_place_are_zeroed_but_where_written() {
        let _one = REGISTRY.lock().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::write(&out, [0xffu8; 64]).unwrap();
        write_output(
            &out,
            16,
            0o755,
            Reuse::Executable { written: &[(4, 8)] },
            |bytes| {
                // The promised range still holds the old bytes until written; the rest is zero.
                assert_eq!(&bytes[4..8], &[0xff; 4]);
                assert_eq!(&bytes[..4], &[0; 4]);
                assert_eq!(&bytes[8..], &[0; 8]);
                bytes[4..8].copy_from_slice(b"abcd");
                Ok(())
            },
            |_| Ok(None),
        )
        .unwrap();
        assert_eq!(
            std::fs::read(&out).unwrap(),
            b"\0\0\0\0abcd\0\0\0\0\0\0\0\0"
        );
    }

    #[test]
    fn a_failed_fill_in_place_leaves_no_output() {
        let _one = REGISTRY.lock().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::write(&out, b"old").unwrap();
        let e = write_output(
            &out,
            10,
            0o755,
            Reuse::Executable { written: &[] },
            |bytes| {
                // Written in place, zeroed first: the old bytes are gone, and a signal now
                // would delete the file.
                assert_eq!(bytes, &[0; 10]);
                assert_eq!(CleanupGuard::pending().as_deref(), Some(out.as_path()));
                Err(Error::new("no"))
            },
            |_| Ok(None),
        )
        .unwrap_err();
        assert_eq!(e.message(), "no");
        assert_eq!(CleanupGuard::pending(), None);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no output left"
        );
    }

    #[test]
    fn an_executable_of_ours_is_overwritten_in_place() {
        use std::os::unix::fs::MetadataExt as _;
        let _one = REGISTRY.lock().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::write(&out, b"an old and longer output").unwrap();
        let inode = std::fs::metadata(&out).unwrap().ino();
        let write = |reuse| {
            write_output(
                &out,
                5,
                0o755,
                reuse,
                |b| {
                    b.copy_from_slice(b"hello");
                    Ok(())
                },
                |_| Ok(None),
            )
        };
        write(Reuse::Executable { written: &[] }).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"hello");
        let meta = std::fs::metadata(&out).unwrap();
        assert_eq!(meta.ino(), inode, "overwritten in place");
        assert_eq!(meta.permissions().mode() & 0o777, 0o755);
        write(Reuse::Never).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"hello");
        assert_ne!(std::fs::metadata(&out).unwrap().ino(), inode, "replaced");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_terminating_signal_removes_the_temporary_file() {
        let _one = REGISTRY.lock().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join(".rlink-pending");
        std::fs::write(&tmp, b"half").unwrap();
        let guard = CleanupGuard::register(&tmp);
        // SAFETY: the child only raises a signal (async-signal-safe) and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe {
                libc::raise(libc::SIGTERM);
                libc::_exit(0);
            }
        }
        drop(guard);
        let mut status = 0;
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFSIGNALED(status), "status {status:#x}");
        assert_eq!(libc::WTERMSIG(status), libc::SIGTERM);
        assert!(!tmp.exists(), "the handler removed the temporary file");
    }

    #[test]
    fn non_regular_outputs_are_written_in_place() {
        assert_eq!(
            output_kind(Path::new("/dev/null")).unwrap(),
            OutputKind::InPlace
        );
        // A FIFO: a reader on the other end gets the bytes; the FIFO stays a FIFO.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_file_atomically(&fifo, b"through the pipe", 0o755).unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        use std::os::unix::fs::FileTypeExt as _;
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

//! Finishing in the background, as mold and wild do: the `rlink` command forks before the link
//! starts; the child links, and the moment the output is complete and in place it tells the
//! parent, which exits with success at once. What is left — unmapping the inputs, freeing the
//! link's memory, releasing the blocks of the output that was replaced — happens in the child
//! after the caller (make, cargo, a shell) has moved on.
//!
//! The child lets go of the caller's standard input, output and error when it says "done", as
//! wild does: a caller reading the linker's output through a pipe (cargo, rustc) sees it end
//! with the parent, not after the clean-up.
//!
//! Failures are the child's ordinary exit: it prints its error and exits non-zero without
//! saying "done"; the parent, seeing the pipe close, waits for it and exits the same way
//! (killed by a signal: killed by the same signal). A parent killed before the link is done
//! takes the child with it (`PR_SET_PDEATHSIG`), whose signal handler removes the temporary
//! output.
//!
//! Only the `rlink` binary forks (library callers, tests among them, link in-process), and
//! only when `-no-fork` (`--no-fork` on a GNU ld line) is not given: a forking linker's own
//! peak memory is invisible to the parent's `wait`, which is what `-no-fork` is for.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Set by the binary's `main`: this process may fork for its link.
static MAY_FORK: AtomicBool = AtomicBool::new(false);
/// In the forked child: the pipe's write end, on which the child says "done" (-1: not a
/// forked child).
static DONE_FD: AtomicI32 = AtomicI32::new(-1);

/// Lets the link of this process run in a forked child (the `rlink` binary's `main` only: a
/// process that may have other threads must not fork).
pub fn allow_fork() {
    BINARY.store(true, Ordering::SeqCst);
    MAY_FORK.store(true, Ordering::SeqCst);
}

/// Set by the binary's `main` (with [`allow_fork`]) and never cleared: this process is the
/// `rlink` command, which links once.
static BINARY: AtomicBool = AtomicBool::new(false);

/// Whether this process is the `rlink` command (see [`allow_fork`]), not a library caller.
pub fn is_binary() -> bool {
    BINARY.load(Ordering::SeqCst)
}

/// Whether this is the forked child of a link, which may leave its clean-up to after
/// [`link_complete`].
pub fn in_child() -> bool {
    DONE_FD.load(Ordering::SeqCst) >= 0
}

/// Forks if [`allow_fork`] was called, before any thread of the link exists. Returns in the
/// child (or without forking); the parent never returns: it exits as the child's link ends.
pub fn fork_for_link() {
    if !MAY_FORK.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two descriptors it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return;
    }
    let [read_end, write_end] = fds;
    let parent = unsafe { libc::getpid() };
    // SAFETY: the process has one thread here (`allow_fork` is called by main, before any
    // thread pool exists), so the child may run ordinary code.
    match unsafe { libc::fork() } {
        -1 => unsafe {
            // No child: link in this process.
            libc::close(read_end);
            libc::close(write_end);
        },
        0 => unsafe {
            libc::close(read_end);
            // A parent killed before the link is done takes the child with it; the check
            // after it covers a parent that died before the request was made.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong);
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            DONE_FD.store(write_end, Ordering::SeqCst);
        },
        child => unsafe {
            libc::close(write_end);
            wait_for_child(read_end, child)
        },
    }
}

/// The parent's side: exits 0 when the child says its output is done, else as the child
/// exits.
fn wait_for_child(read_end: libc::c_int, child: libc::pid_t) -> ! {
    let mut byte = 0u8;
    loop {
        // SAFETY: reading one byte into a local.
        let n = unsafe { libc::read(read_end, (&mut byte as *mut u8).cast(), 1) };
        if n == 1 && byte == DONE {
            // SAFETY: nothing of the parent's needs cleaning up.
            unsafe { libc::_exit(0) }
        }
        if n == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break;
    }
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(child, &mut status, 0) };
        if r == child {
            break;
        }
        if r == -1 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            unsafe { libc::_exit(1) }
        }
    }
    if libc::WIFEXITED(status) {
        unsafe { libc::_exit(libc::WEXITSTATUS(status)) }
    }
    if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        // SAFETY: dying of the child's signal, as a shell would report it.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
            libc::_exit(128 + signal)
        }
    }
    unsafe { libc::_exit(1) }
}

const DONE: u8 = b'0';

/// The link's output is complete and in place. In a forked child this tells the parent, then
/// ends the process without dropping anything (the kernel frees it all at once); otherwise
/// it does nothing.
pub fn link_complete() {
    let fd = DONE_FD.load(Ordering::SeqCst);
    if fd < 0 {
        return;
    }
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: plain system calls on our own descriptors.
    unsafe {
        // The caller's pipes (cargo and rustc read the linker's output until it ends) are let
        // go now, so that they end with the parent rather than after the clean-up.
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        for fd in [libc::STDIN_FILENO, libc::STDOUT_FILENO, libc::STDERR_FILENO] {
            if null >= 0 {
                libc::dup2(null, fd);
            } else {
                libc::close(fd);
            }
        }
        // The parent exits now; a SIGTERM on its exit must not kill the clean-up.
        libc::prctl(libc::PR_SET_PDEATHSIG, 0 as libc::c_ulong);
        libc::write(fd, (&DONE as *const u8).cast(), 1);
        libc::close(fd);
        libc::_exit(0)
    }
}

/// Keeps `value` alive until the process ends when this is a forked child (its drop —
/// unmapping, closing a replaced output, which frees its blocks — then happens after the
/// parent has gone); otherwise drops it now. Only for drops that cost system calls: heap
/// data a phase is done with is better freed at once, since the heap then reuses its pages
/// for what later phases build rather than faulting in fresh ones.
pub fn drop_late<T>(value: T) {
    if in_child() {
        std::mem::forget(value);
    } else {
        drop(value);
    }
}

//! Faults in the guard pages of the system stacks (Linux and macOS).
//!
//! C code that overflows a system stack runs into the no-access page below it. Without help
//! that is a bare SIGSEGV; Go's runtime/cgo says what happened, and so does this: the stacks'
//! guard ranges are registered here, and a SIGSEGV/SIGBUS handler — installed once, when the
//! first system stack is made, on an alternate signal stack (a fault on an overflowed stack
//! has no stack left to run a handler on) — writes one line naming the thread and the stack's
//! size, puts the default action back and returns, so the fault repeats and the process ends
//! with the usual signal status. Any other fault goes to the handler installed before (Rust's
//! own stack-overflow handler, or the program's), or gets the default action.
//!
//! The handler only reads atomics and calls `write` and `sigaction`, which are
//! async-signal-safe. The structures are declared here, per OS, so the crate needs no
//! dependency.

use std::ffi::c_void;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Once;

const SLOTS: usize = 256;
const NAME: usize = 48;

/// Guard ranges: start (0 = free), end, stack size; the thread's name beside.
static STARTS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static ENDS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static SIZES: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static NAMES: [[AtomicU8; NAME]; SLOTS] = [const { [const { AtomicU8::new(0) }; NAME] }; SLOTS];
/// A slot being filled.
const BUSY: usize = usize::MAX;

/// Registers a system stack's guard page; returns its slot (None when all are taken: the
/// fault is then reported as a plain SIGSEGV).
pub fn register(start: usize, end: usize, size: usize) -> Option<usize> {
    install();
    let name = std::thread::current()
        .name()
        .unwrap_or("<unnamed>")
        .to_string();
    for slot in 0..SLOTS {
        if STARTS[slot]
            .compare_exchange(0, BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            ENDS[slot].store(end, Ordering::Relaxed);
            SIZES[slot].store(size, Ordering::Relaxed);
            let bytes = name.as_bytes();
            for (i, cell) in NAMES[slot].iter().enumerate() {
                cell.store(bytes.get(i).copied().unwrap_or(0), Ordering::Relaxed);
            }
            STARTS[slot].store(start, Ordering::Release);
            return Some(slot);
        }
    }
    None
}

pub fn unregister(slot: usize) {
    STARTS[slot].store(0, Ordering::Release);
}

/// The registered guard page holding `addr`, if any.
fn guard_of(addr: usize) -> Option<usize> {
    (0..SLOTS).find(|&slot| {
        let start = STARTS[slot].load(Ordering::Acquire);
        start != 0 && start != BUSY && addr >= start && addr < ENDS[slot].load(Ordering::Relaxed)
    })
}

#[cfg(target_os = "linux")]
mod sys {
    pub const SIGBUS: i32 = 7;
    pub const SA_SIGINFO: i32 = 4;
    pub const SA_ONSTACK: i32 = 0x0800_0000;
    pub const SS_DISABLE: i32 = 2;
    pub const SI_ADDR: usize = 16;

    #[repr(C)]
    pub struct SigAction {
        pub handler: usize,
        pub mask: [u64; 16],
        pub flags: i32,
        pub restorer: usize,
    }

    #[repr(C)]
    pub struct Stack {
        pub sp: *mut core::ffi::c_void,
        pub flags: i32,
        pub size: usize,
    }
}

#[cfg(target_vendor = "apple")]
mod sys {
    pub const SIGBUS: i32 = 10;
    pub const SA_SIGINFO: i32 = 0x40;
    pub const SA_ONSTACK: i32 = 1;
    pub const SS_DISABLE: i32 = 4;
    pub const SI_ADDR: usize = 24;

    #[repr(C)]
    pub struct SigAction {
        pub handler: usize,
        pub mask: u32,
        pub flags: i32,
    }

    #[repr(C)]
    pub struct Stack {
        pub sp: *mut core::ffi::c_void,
        pub size: usize,
        pub flags: i32,
    }
}

use sys::{SigAction, Stack};

const SIGSEGV: i32 = 11;
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;

extern "C" {
    fn sigaction(sig: i32, new: *const SigAction, old: *mut SigAction) -> i32;
    fn sigaltstack(new: *const Stack, old: *mut Stack) -> i32;
    fn write(fd: i32, buf: *const c_void, n: usize) -> isize;
}

/// The actions in place before ours, per signal (written once, before ours is installed).
struct Previous(std::cell::UnsafeCell<[SigAction; 2]>);
// SAFETY: written once inside `install`'s `Once`, before the handler that reads it can run.
unsafe impl Sync for Previous {}

static PREVIOUS: Previous = Previous(std::cell::UnsafeCell::new([empty(), empty()]));

const fn empty() -> SigAction {
    // SAFETY: an all-zero sigaction is SIG_DFL with no flags.
    unsafe { std::mem::zeroed() }
}

fn index(sig: i32) -> usize {
    usize::from(sig != SIGSEGV)
}

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for sig in [SIGSEGV, sys::SIGBUS] {
            let mut action = empty();
            action.handler = on_fault as *const () as usize;
            action.flags = sys::SA_SIGINFO | sys::SA_ONSTACK;
            // SAFETY: the previous action is written into our own static before any fault can
            // reach the new handler through this signal.
            unsafe {
                let previous = &mut (*PREVIOUS.0.get())[index(sig)];
                sigaction(sig, &action, previous);
            }
        }
    });
}

/// An alternate signal stack for this thread when it has none (Rust gives its own threads
/// one; threads C starts may not): returns the mapping to free when the thread's system stack
/// goes.
pub fn ensure_signal_stack() -> Option<(*mut c_void, usize)> {
    // SAFETY: queries this thread's alternate stack.
    let mut current: Stack = unsafe { std::mem::zeroed() };
    if unsafe { sigaltstack(std::ptr::null(), &mut current) } != 0
        || current.flags & sys::SS_DISABLE == 0
    {
        return None;
    }
    let size = 64 << 10;
    let base = crate::stack::map_pages(size)?;
    let mut stack: Stack = unsafe { std::mem::zeroed() };
    stack.sp = base;
    stack.size = size;
    // SAFETY: installs memory this thread owns until `release_signal_stack`.
    unsafe { sigaltstack(&stack, std::ptr::null_mut()) };
    Some((base, size))
}

/// Turns this thread's alternate signal stack off before its memory goes.
pub fn release_signal_stack() {
    let mut off: Stack = unsafe { std::mem::zeroed() };
    off.flags = sys::SS_DISABLE;
    // SAFETY: disables this thread's alternate stack.
    unsafe { sigaltstack(&off, std::ptr::null_mut()) };
}

fn put(text: &[u8]) {
    // SAFETY: writes our own bytes to stderr.
    unsafe { write(2, text.as_ptr().cast(), text.len()) };
}

extern "C" fn on_fault(sig: i32, info: *mut c_void, context: *mut c_void) {
    // SAFETY: the kernel passes a siginfo_t, whose fault address sits at SI_ADDR.
    let addr = unsafe { *(info.cast::<u8>().add(sys::SI_ADDR).cast::<usize>()) };
    if let Some(slot) = guard_of(addr) {
        put(b"rlink runtime: C code overflowed the ");
        let mib = SIZES[slot].load(Ordering::Relaxed) >> 20;
        let mut digits = [0u8; 20];
        let mut n = mib;
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        put(&digits[at..]);
        put(b" MiB system stack of thread '");
        let mut name = [0u8; NAME];
        let mut len = 0;
        for (i, cell) in NAMES[slot].iter().enumerate() {
            name[i] = cell.load(Ordering::Relaxed);
            if name[i] != 0 {
                len = i + 1;
            }
        }
        put(&name[..len]);
        put(b"' (set_system_stack_size)\n");
        default_action(sig);
        return;
    }
    // SAFETY: written once before this handler was installed.
    let previous = unsafe { &(*PREVIOUS.0.get())[index(sig)] };
    match previous.handler {
        SIG_DFL => default_action(sig),
        SIG_IGN => {}
        h if previous.flags & sys::SA_SIGINFO != 0 => {
            // SAFETY: the handler the program or std installed, called as it asked.
            let f: extern "C" fn(i32, *mut c_void, *mut c_void) = unsafe { std::mem::transmute(h) };
            f(sig, info, context)
        }
        h => {
            // SAFETY: as above, a plain handler.
            let f: extern "C" fn(i32) = unsafe { std::mem::transmute(h) };
            f(sig)
        }
    }
}

/// The default action back: returning from the handler repeats the fault, which then ends
/// the process with the signal's status.
fn default_action(sig: i32) {
    let action = empty();
    // SAFETY: restores SIG_DFL for the signal.
    unsafe { sigaction(sig, &action, std::ptr::null_mut()) };
}

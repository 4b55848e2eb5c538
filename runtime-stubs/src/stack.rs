//! The per-thread system stack, the switch onto it, and callbacks from C.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(target_arch = "aarch64")]
use crate::arch::aarch64::rlink_stub_switch_call;
#[cfg(all(target_arch = "x86_64", windows))]
use crate::arch::windows_x86_64::rlink_stub_switch_call;
#[cfg(all(target_arch = "x86_64", not(windows)))]
use crate::arch::x86_64::rlink_stub_switch_call;

/// The switch onto a stack spanning `low`..`top` (Windows records the bounds in the TEB; the
/// other systems need only the top).
///
/// # Safety
/// As `rlink_stub_switch_call`.
unsafe fn switch_call(arg: *mut c_void, f: CFunction, top: *mut u8, low: *mut u8) -> *mut c_void {
    #[cfg(windows)]
    // SAFETY: as promised by the caller.
    unsafe {
        rlink_stub_switch_call(arg, f, top, low)
    }
    #[cfg(not(windows))]
    // SAFETY: as promised by the caller.
    unsafe {
        let _ = low;
        rlink_stub_switch_call(arg, f, top)
    }
}

/// A C function taking and returning one pointer, the shape `call_c` runs.
pub type CFunction = unsafe extern "C" fn(*mut c_void) -> *mut c_void;

/// 8 MiB, glibc's default main-thread stack limit: what C code is written to expect.
pub const DEFAULT_SYSTEM_STACK_SIZE: usize = 8 << 20;

static STACK_SIZE: AtomicUsize = AtomicUsize::new(DEFAULT_SYSTEM_STACK_SIZE);

/// Sets the size of system stacks allocated from now on (threads that already have one keep
/// it). Rounded up to whole pages.
pub fn set_system_stack_size(bytes: usize) {
    STACK_SIZE.store(bytes.max(64 << 10), Ordering::Relaxed);
}

const PAGE: usize = 4096;

/// One thread's system stack: `guard` bytes of PROT_NONE at the low end, then `size` usable
/// bytes. Freed when the thread exits.
struct SystemStack {
    base: *mut u8,
    guard: usize,
    size: usize,
    /// Where its guard page is registered for the fault report (Linux, macOS).
    #[cfg(not(windows))]
    guard_slot: Option<usize>,
    /// An alternate signal stack made for this thread, to free with it.
    #[cfg(not(windows))]
    signal_stack: Option<(*mut c_void, usize)>,
}

impl SystemStack {
    fn new() -> SystemStack {
        let size = STACK_SIZE.load(Ordering::Relaxed).next_multiple_of(PAGE);
        let total = size + PAGE;
        let Some(base) = os::map_stack(total) else {
            // Out of address space: there is no stack to run C on and no way to report it to
            // C. Abort as a stack overflow would.
            eprintln!("rlink-runtime-stubs: cannot map a {size}-byte system stack");
            std::process::abort();
        };
        #[cfg(not(windows))]
        let (guard_slot, signal_stack) = (
            crate::guard::register(base as usize, base as usize + PAGE, size),
            crate::guard::ensure_signal_stack(),
        );
        SystemStack {
            base: base.cast(),
            guard: PAGE,
            size,
            #[cfg(not(windows))]
            guard_slot,
            #[cfg(not(windows))]
            signal_stack,
        }
    }

    fn top(&self) -> *mut u8 {
        // SAFETY: one past the end of our mapping.
        unsafe { self.base.add(self.guard + self.size) }
    }

    fn contains(&self, addr: usize) -> bool {
        let start = self.base as usize + self.guard;
        addr >= start && addr <= start + self.size
    }
}

impl Drop for SystemStack {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `new` mapped; no frame runs on it any more (the
        // thread is exiting or never switched).
        unsafe { os::unmap_stack(self.base.cast(), self.guard + self.size) };
        #[cfg(not(windows))]
        {
            if let Some(slot) = self.guard_slot {
                crate::guard::unregister(slot);
            }
            if let Some((base, len)) = self.signal_stack {
                crate::guard::release_signal_stack();
                // SAFETY: the alternate stack mapped for this thread, now disabled.
                unsafe { os::unmap_stack(base, len) };
            }
        }
    }
}

thread_local! {
    static STACK: RefCell<Option<SystemStack>> = const { RefCell::new(None) };
    /// A panic caught in a callback, waiting to resume when the enclosing `call_c` returns.
    static PENDING: RefCell<Option<Box<dyn Any + Send>>> = const { RefCell::new(None) };
    /// How many `call_c` calls are under way on this thread.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// `len` bytes of fresh read-write memory (an alternate signal stack).
#[cfg(not(windows))]
pub(crate) fn map_pages(len: usize) -> Option<*mut c_void> {
    os::map_pages(len)
}

/// This thread's system stack as (lowest usable address, top), allocating it if needed.
pub fn system_stack_range() -> (usize, usize) {
    STACK.with(|s| {
        let mut s = s.borrow_mut();
        let stack = s.get_or_insert_with(SystemStack::new);
        (stack.base as usize + stack.guard, stack.top() as usize)
    })
}

fn current_sp() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Runs `f(arg)` with the stack pointer at `stack_top` (any stack the caller owns: a
/// coroutine's, for instance) and returns its result on the caller's stack.
///
/// # Safety
/// `stack_top` must be the top of mapped, writable memory large enough for `f`, used by
/// nothing else while `f` runs; `f` must be safe to call with `arg` and must not unwind.
pub unsafe fn call_on_stack(f: CFunction, arg: *mut c_void, stack_top: *mut u8) -> *mut c_void {
    // A caller's stack has no known lower end: the TEB's limit (Windows) becomes 0.
    // SAFETY: as promised by the caller.
    unsafe { switch_call(arg, f, stack_top, std::ptr::null_mut()) }
}

/// Runs `f(arg)` on this thread's system stack and returns its result.
///
/// Callee-saved registers and the caller's stack are restored when `f` returns, and the stack
/// is aligned as the ABI requires. Already on the system stack (C called back into Rust, which
/// calls C again), `f` runs right there. A panic raised in a callback during `f` (see
/// [`rlink_crosscall`]) resumes here, after `f` has returned.
///
/// # Safety
/// `f` must be safe to call with `arg`; it must not unwind (C functions do not).
pub unsafe fn call_c(f: CFunction, arg: *mut c_void) -> *mut c_void {
    let sp = current_sp();
    let top = STACK.with(|s| {
        let mut s = s.borrow_mut();
        let stack = s.get_or_insert_with(SystemStack::new);
        if stack.contains(sp) {
            None
        } else {
            // SAFETY: the lowest usable byte of our own mapping, above the guard page.
            Some((stack.top(), unsafe { stack.base.add(stack.guard) }))
        }
    });
    DEPTH.with(|d| d.set(d.get() + 1));
    // SAFETY: the caller vouches for `f(arg)`; `top` is the top of a mapped stack that nothing
    // else is using (a thread's system stack is only entered from that thread, and re-entry
    // takes the branch that does not switch).
    let result = unsafe {
        match top {
            Some((top, low)) => switch_call(arg, f, top, low),
            None => f(arg),
        }
    };
    DEPTH.with(|d| d.set(d.get() - 1));
    if let Some(payload) = PENDING.with(|p| p.borrow_mut().take()) {
        std::panic::resume_unwind(payload);
    }
    result
}

/// The entry by which C code calls a Rust function: `callback(frame)`.
///
/// C declaration: `void rlink_crosscall(void (*callback)(void *), void *frame);`
///
/// A panic in `callback` is caught here and resumes in Rust when the enclosing [`call_c`]
/// returns; until then further callbacks on this thread are skipped (C can ask with
/// [`rlink_panic_pending`] and stop early). Outside any `call_c`, a panic has nowhere to go and
/// the process aborts, as an unwind into C would.
///
/// # Safety
/// `callback` must be safe to call with `frame`.
#[no_mangle]
pub unsafe extern "C" fn rlink_crosscall(
    callback: unsafe extern "C-unwind" fn(*mut c_void),
    frame: *mut c_void,
) {
    if PENDING.with(|p| p.borrow().is_some()) {
        return;
    }
    // SAFETY: the caller vouches for `callback(frame)`.
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { callback(frame) }));
    if let Err(payload) = result {
        if DEPTH.with(|d| d.get()) == 0 {
            // A thread C started (or C called back with no `call_c` below): nothing to resume
            // the panic in, and unwinding into C is undefined.
            let thread = std::thread::current();
            eprintln!(
                "rlink-runtime-stubs: a Rust callback panicked on thread {} ({:?}) with no Rust \
                 caller to resume in; aborting",
                thread.name().unwrap_or("<unnamed>"),
                thread.id()
            );
            std::process::abort();
        }
        PENDING.with(|p| *p.borrow_mut() = Some(payload));
    }
}

/// Non-zero while a callback's panic waits to resume: C code may stop calling back.
///
/// C declaration: `int rlink_panic_pending(void);`
#[no_mangle]
pub extern "C" fn rlink_panic_pending() -> i32 {
    PENDING.with(|p| p.borrow().is_some()) as i32
}

/// Stack memory from the operating system: `len` bytes, committed and writable but for a
/// guard page at the low end that turns an overflow into a clean fault instead of silent
/// corruption. The calls are declared here so the crate needs no dependency.
#[cfg(not(windows))]
mod os {
    use std::ffi::c_void;

    const PROT_NONE: i32 = 0;
    const PROT_READ: i32 = 1;
    const PROT_WRITE: i32 = 2;
    const MAP_PRIVATE: i32 = 0x02;
    #[cfg(target_vendor = "apple")]
    const MAP_ANONYMOUS: i32 = 0x1000;
    #[cfg(not(target_vendor = "apple"))]
    const MAP_ANONYMOUS: i32 = 0x20;
    /// Linux marks thread stacks for the kernel; macOS has no such flag.
    #[cfg(target_vendor = "apple")]
    const MAP_STACK: i32 = 0;
    #[cfg(not(target_vendor = "apple"))]
    const MAP_STACK: i32 = 0x20000;
    const MAP_FAILED: *mut c_void = !0usize as *mut c_void;

    extern "C" {
        fn mmap(
            addr: *mut c_void,
            len: usize,
            prot: i32,
            flags: i32,
            fd: i32,
            off: i64,
        ) -> *mut c_void;
        fn mprotect(addr: *mut c_void, len: usize, prot: i32) -> i32;
        fn munmap(addr: *mut c_void, len: usize) -> i32;
    }

    /// `len` bytes of fresh read-write memory.
    pub fn map_pages(len: usize) -> Option<*mut c_void> {
        // SAFETY: a fresh private anonymous mapping; the result is checked.
        let base = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        (base != MAP_FAILED).then_some(base)
    }

    pub fn map_stack(len: usize) -> Option<*mut c_void> {
        // SAFETY: a fresh private anonymous mapping; the result is checked.
        let base = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                -1,
                0,
            )
        };
        if base == MAP_FAILED {
            return None;
        }
        // SAFETY: the first page of our own mapping.
        unsafe { mprotect(base, super::PAGE, PROT_NONE) };
        Some(base)
    }

    /// # Safety
    /// `base`, `len` must be a mapping `map_stack` returned, no longer in use.
    pub unsafe fn unmap_stack(base: *mut c_void, len: usize) {
        // SAFETY: as promised by the caller.
        unsafe { munmap(base, len) };
    }
}

#[cfg(windows)]
mod os {
    use std::ffi::c_void;

    const MEM_COMMIT: u32 = 0x1000;
    const MEM_RESERVE: u32 = 0x2000;
    const MEM_RELEASE: u32 = 0x8000;
    const PAGE_NOACCESS: u32 = 0x01;
    const PAGE_READWRITE: u32 = 0x04;

    #[link(name = "kernel32")]
    extern "system" {
        fn VirtualAlloc(addr: *mut c_void, size: usize, kind: u32, protect: u32) -> *mut c_void;
        fn VirtualProtect(addr: *mut c_void, size: usize, protect: u32, old: *mut u32) -> i32;
        fn VirtualFree(addr: *mut c_void, size: usize, kind: u32) -> i32;
    }

    pub fn map_stack(len: usize) -> Option<*mut c_void> {
        // Committed whole: the TEB's limit is set to the bottom while C runs on it, so no
        // guard-page growth is needed (or would happen).
        // SAFETY: a fresh allocation; the result is checked.
        let base = unsafe {
            VirtualAlloc(
                std::ptr::null_mut(),
                len,
                MEM_RESERVE | MEM_COMMIT,
                PAGE_READWRITE,
            )
        };
        if base.is_null() {
            return None;
        }
        let mut old = 0;
        // SAFETY: the first page of our own allocation.
        unsafe { VirtualProtect(base, super::PAGE, PAGE_NOACCESS, &mut old) };
        Some(base)
    }

    /// # Safety
    /// `base` must be an allocation `map_stack` returned, no longer in use.
    pub unsafe fn unmap_stack(base: *mut c_void, _len: usize) {
        // SAFETY: as promised by the caller.
        unsafe { VirtualFree(base, 0, MEM_RELEASE) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" fn where_am_i(_: *mut c_void) -> *mut c_void {
        current_sp() as *mut c_void
    }

    #[test]
    fn runs_on_the_system_stack_with_the_stack_aligned() {
        let sp = unsafe { call_c(where_am_i, std::ptr::null_mut()) } as usize;
        let (low, top) = system_stack_range();
        assert!(sp > low && sp < top, "{sp:#x} not in {low:#x}..{top:#x}");
        assert!(top - sp < 4096, "the callee starts near the top");
    }
}

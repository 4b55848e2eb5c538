// Signals delivered while the main thread runs C code on the runtime stubs' system stack
// (SIGINT, SIGTERM, SIGUSR1, each sent by another thread to this one) reach the program's
// handlers as they would on the normal stack; the handler sees itself on the system stack.
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rlink_runtime_stubs::{call_c, system_stack_range};

extern "C" {
    fn signal(sig: i32, handler: usize) -> usize;
    fn pthread_self() -> usize;
    fn pthread_kill(thread: usize, sig: i32) -> i32;
}

static SEEN: AtomicI32 = AtomicI32::new(0);
static ON_SYSTEM_STACK: AtomicBool = AtomicBool::new(false);
static LOW: AtomicUsize = AtomicUsize::new(0);
static HIGH: AtomicUsize = AtomicUsize::new(0);
static WAITING: AtomicBool = AtomicBool::new(false);

extern "C" fn handler(sig: i32) {
    let here = 0u8;
    let sp = &here as *const u8 as usize;
    let inside = sp >= LOW.load(Ordering::SeqCst) && sp < HIGH.load(Ordering::SeqCst);
    ON_SYSTEM_STACK.store(inside, Ordering::SeqCst);
    SEEN.store(sig, Ordering::SeqCst);
}

/// "C" code: waits (up to 10 s) for a signal.
unsafe extern "C" fn wait_for_signal(_: *mut c_void) -> *mut c_void {
    WAITING.store(true, Ordering::SeqCst);
    let start = Instant::now();
    while SEEN.load(Ordering::SeqCst) == 0 && start.elapsed() < Duration::from_secs(10) {
        std::hint::spin_loop();
    }
    WAITING.store(false, Ordering::SeqCst);
    std::ptr::null_mut()
}

fn main() {
    let (low, high) = system_stack_range();
    LOW.store(low, Ordering::SeqCst);
    HIGH.store(high, Ordering::SeqCst);
    let me = unsafe { pthread_self() };
    for (name, sig) in [("SIGINT", 2), ("SIGTERM", 15), ("SIGUSR1", 10)] {
        SEEN.store(0, Ordering::SeqCst);
        unsafe { signal(sig, handler as *const () as usize) };
        let sender = std::thread::spawn(move || {
            while !WAITING.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            unsafe { pthread_kill(me, sig) };
        });
        unsafe { call_c(wait_for_signal, std::ptr::null_mut()) };
        sender.join().unwrap();
        println!(
            "{name}: handled {}, on the system stack {}",
            SEEN.load(Ordering::SeqCst) == sig,
            ON_SYSTEM_STACK.load(Ordering::SeqCst)
        );
    }
}

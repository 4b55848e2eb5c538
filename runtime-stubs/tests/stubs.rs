//! The transition stubs against real C: C needing a big stack, called from a 16 KiB
//! coroutine-like stack; C calling back into Rust (nested, panicking); eight threads at once;
//! and the AArch64 routine assembled for its target.

use std::ffi::{c_char, c_void, CStr};
use std::path::PathBuf;
use std::process::Command;

use rlink_runtime_stubs::{
    call_c, call_on_stack, rlink_crosscall, rlink_panic_pending, system_stack_range, CFunction,
};

extern "C" {
    fn dlopen(name: *const c_char, flags: i32) -> *mut c_void;
    fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
    fn dlerror() -> *const c_char;
    fn mmap(addr: *mut c_void, len: usize, prot: i32, flags: i32, fd: i32, off: i64)
        -> *mut c_void;
    fn mprotect(addr: *mut c_void, len: usize, prot: i32) -> i32;
}

/// Builds tests/c/helpers.c into a shared library (cc is required; CI installs it) and opens it.
fn helpers() -> *mut c_void {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("stubs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lib = dir.join("libhelpers.so");
    if !lib.exists() {
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/c/helpers.c");
        let tmp = dir.join(format!("libhelpers-{:?}.so", std::thread::current().id()));
        let status = Command::new("cc")
            .args(["-O1", "-shared", "-fPIC", "-o"])
            .arg(&tmp)
            .arg(&src)
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "cc is required to build the C helpers"
        );
        std::fs::rename(&tmp, &lib).unwrap();
    }
    let name = std::ffi::CString::new(lib.to_str().unwrap()).unwrap();
    let handle = unsafe { dlopen(name.as_ptr(), 2) };
    assert!(!handle.is_null(), "dlopen: {:?}", unsafe {
        CStr::from_ptr(dlerror())
    });
    handle
}

fn symbol(handle: *mut c_void, name: &CStr) -> *mut c_void {
    let p = unsafe { dlsym(handle, name.as_ptr()) };
    assert!(!p.is_null(), "{name:?} missing");
    p
}

fn c_function(handle: *mut c_void, name: &CStr) -> CFunction {
    unsafe { std::mem::transmute::<*mut c_void, CFunction>(symbol(handle, name)) }
}

/// A 16 KiB stack with a guard page below it, as a coroutine library would allocate.
fn small_stack() -> *mut u8 {
    const SMALL: usize = 16 << 10;
    unsafe {
        let base = mmap(std::ptr::null_mut(), SMALL + 4096, 3, 0x22, -1, 0);
        assert_ne!(base as isize, -1);
        mprotect(base, 4096, 0);
        base.cast::<u8>().add(SMALL + 4096)
    }
}

struct SmallStackCall {
    deep: CFunction,
    through_stub: bool,
}

/// Runs on the small stack: calls the deep C function through the stub, or directly.
unsafe extern "C" fn on_small_stack(arg: *mut c_void) -> *mut c_void {
    let call = unsafe { &*(arg as *const SmallStackCall) };
    if call.through_stub {
        unsafe { call_c(call.deep, std::ptr::without_provenance_mut(1)) }
    } else {
        unsafe { (call.deep)(std::ptr::without_provenance_mut(1)) }
    }
}

#[test]
fn big_c_stack_from_a_small_stack_through_the_stub() {
    let deep = c_function(helpers(), c"deep_stack");
    let mut call = SmallStackCall {
        deep,
        through_stub: true,
    };
    let r = unsafe {
        call_on_stack(
            on_small_stack,
            (&mut call as *mut SmallStackCall).cast(),
            small_stack(),
        )
    };
    assert_eq!(
        r as usize, 2,
        "the C function ran to completion and returned its value"
    );
}

/// The same call made directly overflows the small stack: checked in a child process.
#[test]
fn big_c_stack_from_a_small_stack_directly_dies_with_sigsegv() {
    if std::env::var_os("RLINK_STUBS_CHILD").is_some() {
        let deep = c_function(helpers(), c"deep_stack");
        let mut call = SmallStackCall {
            deep,
            through_stub: false,
        };
        unsafe {
            call_on_stack(
                on_small_stack,
                (&mut call as *mut SmallStackCall).cast(),
                small_stack(),
            )
        };
        return; // not reached: the guard page stops it
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "big_c_stack_from_a_small_stack_directly_dies_with_sigsegv",
            "--nocapture",
        ])
        .env("RLINK_STUBS_CHILD", "1")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt as _;
    assert_eq!(
        out.status.signal(),
        Some(11),
        "expected SIGSEGV, got {:?}",
        out.status
    );
}

#[repr(C)]
struct CallbackArgs {
    crosscall: unsafe extern "C" fn(unsafe extern "C-unwind" fn(*mut c_void), *mut c_void),
    panic_pending: extern "C" fn() -> i32,
    callback: unsafe extern "C-unwind" fn(*mut c_void),
    frame: *mut c_void,
    rounds: i32,
    cleanup_done: i32,
}

struct Frame {
    calls: u32,
    nested_address: usize,
    stack_address: CFunction,
    panic_on: u32,
}

unsafe extern "C-unwind" fn callback(frame: *mut c_void) {
    let f = unsafe { &mut *(frame as *mut Frame) };
    f.calls += 1;
    if f.calls == 2 {
        // The callback calls C again: already on the system stack, it runs right there.
        f.nested_address = unsafe { call_c(f.stack_address, std::ptr::null_mut()) } as usize;
    }
    if f.calls == f.panic_on {
        panic!("callback {} panicked", f.calls);
    }
}

fn callback_args(frame: &mut Frame, rounds: i32) -> CallbackArgs {
    CallbackArgs {
        crosscall: rlink_crosscall,
        panic_pending: rlink_panic_pending,
        callback,
        frame: (frame as *mut Frame).cast(),
        rounds,
        cleanup_done: 0,
    }
}

#[test]
fn c_calls_back_into_rust_and_again_into_c() {
    let lib = helpers();
    let call_back = c_function(lib, c"call_back");
    let mut frame = Frame {
        calls: 0,
        nested_address: 0,
        stack_address: c_function(lib, c"stack_address"),
        panic_on: 0,
    };
    let mut args = callback_args(&mut frame, 5);
    unsafe { call_c(call_back, (&mut args as *mut CallbackArgs).cast()) };
    assert_eq!(frame.calls, 5);
    assert_eq!(args.cleanup_done, 1);
    let (low, top) = system_stack_range();
    assert!(
        frame.nested_address > low && frame.nested_address < top,
        "nested C call ran on the system stack"
    );
}

#[test]
fn a_panic_in_a_callback_resumes_after_the_c_frame_returned() {
    let lib = helpers();
    let call_back = c_function(lib, c"call_back");
    let mut frame = Frame {
        calls: 0,
        nested_address: 0,
        stack_address: c_function(lib, c"stack_address"),
        panic_on: 3,
    };
    let mut args = callback_args(&mut frame, 10);
    let args_ptr: *mut CallbackArgs = &mut args;
    let result = std::panic::catch_unwind(|| unsafe { call_c(call_back, args_ptr.cast()) });
    let payload = result.expect_err("the callback's panic reaches the Rust caller");
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("callback 3 panicked")
    );
    assert_eq!(
        frame.calls, 3,
        "C stopped calling back once the panic was pending"
    );
    assert_eq!(
        args.cleanup_done, 1,
        "the C function's cleanup ran before the panic resumed"
    );
    assert_eq!(rlink_panic_pending(), 0, "nothing is left pending");
    // The thread is usable again.
    let mut frame = Frame {
        calls: 0,
        nested_address: 0,
        stack_address: c_function(lib, c"stack_address"),
        panic_on: 0,
    };
    let mut args = callback_args(&mut frame, 2);
    unsafe { call_c(call_back, (&mut args as *mut CallbackArgs).cast()) };
    assert_eq!(frame.calls, 2);
}

#[test]
fn eight_threads_each_use_their_own_system_stack() {
    let lib = helpers() as usize;
    // All eight stay alive until all have run, so their stacks exist at the same time.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let deep = c_function(lib as *mut c_void, c"deep_stack");
                let where_ = c_function(lib as *mut c_void, c"stack_address");
                let mut results = Vec::new();
                for _ in 0..50 {
                    assert_eq!(
                        unsafe { call_c(deep, std::ptr::without_provenance_mut(1)) } as usize,
                        2
                    );
                    results.push(unsafe { call_c(where_, std::ptr::null_mut()) } as usize);
                }
                barrier.wait();
                (system_stack_range(), results)
            })
        })
        .collect();
    let mut ranges = Vec::new();
    for h in handles {
        let ((low, top), addresses) = h.join().unwrap();
        assert!(
            addresses.iter().all(|&a| a > low && a < top),
            "every call ran on the thread's own stack"
        );
        ranges.push((low, top));
    }
    ranges.sort();
    assert!(
        ranges.windows(2).all(|w| w[0].1 <= w[1].0),
        "stacks do not overlap: {ranges:?}"
    );
}

// Rust called back from threads C created (testdata/programs/c_threads.c): thread-locals are
// made and destroyed per thread, std's I/O and allocation work there. With `panic`, one
// callback panics: there is no Rust frame on that thread to resume in, so the runtime stubs
// report it with the thread and abort.
use std::cell::Cell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

extern "C" {
    fn run_c_threads(n: i32, first_id: isize) -> i32;
}

static CALLS: AtomicUsize = AtomicUsize::new(0);
static MADE: AtomicUsize = AtomicUsize::new(0);
static DESTROYED: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

struct PerThread(Cell<usize>);

impl Drop for PerThread {
    fn drop(&mut self) {
        assert_eq!(self.0.get(), 1000);
        DESTROYED.fetch_add(1, Ordering::SeqCst);
    }
}

thread_local! {
    static COUNT: PerThread = {
        MADE.fetch_add(1, Ordering::SeqCst);
        PerThread(Cell::new(0))
    };
}

#[no_mangle]
pub extern "C-unwind" fn rust_callback(frame: *mut c_void) {
    let id = unsafe { *(frame as *const isize) };
    if id == 99 {
        panic!("callback panic on a C thread");
    }
    let text = format!("thread {id} call");
    BYTES.fetch_add(text.len(), Ordering::Relaxed);
    COUNT.with(|c| {
        c.0.set(c.0.get() + 1);
        if c.0.get() == 1000 {
            // std's I/O from a thread C started.
            use std::io::Write;
            writeln!(std::io::stderr(), "C thread {id}: 1000 callbacks").unwrap();
        }
    });
    CALLS.fetch_add(1, Ordering::Relaxed);
}

fn main() {
    // The C half calls the runtime stubs' entry: make sure their crate is linked.
    std::hint::black_box(rlink_runtime_stubs::rlink_crosscall as *const ());
    if std::env::args().nth(1).as_deref() == Some("panic") {
        unsafe { run_c_threads(1, 99) };
        println!("not reached");
        return;
    }
    let r = unsafe { run_c_threads(8, 0) };
    println!(
        "status {r}, callbacks {}, thread-locals made {}, destroyed {}, formatted {}",
        CALLS.load(Ordering::SeqCst),
        MADE.load(Ordering::SeqCst),
        DESTROYED.load(Ordering::SeqCst),
        BYTES.load(Ordering::SeqCst) > 0
    );
}

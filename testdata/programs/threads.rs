// Threads, thread_local! with destructors (TLS relaxations and __cxa_thread_atexit_impl),
// channels and a mutex.
use std::cell::RefCell;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

struct Noisy(u32, mpsc::Sender<String>);

impl Drop for Noisy {
    fn drop(&mut self) {
        let _ = self.1.send(format!("tls destructor {}", self.0));
    }
}

thread_local! {
    static COUNTER: RefCell<u64> = const { RefCell::new(0) };
    static NOISY: RefCell<Option<Noisy>> = const { RefCell::new(None) };
}

fn main() {
    let (tx, rx) = mpsc::channel();
    let total = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..4u32)
        .map(|i| {
            let tx = tx.clone();
            let total = Arc::clone(&total);
            std::thread::spawn(move || {
                NOISY.with(|n| *n.borrow_mut() = Some(Noisy(i, tx.clone())));
                for k in 0..=100u64 {
                    COUNTER.with(|c| *c.borrow_mut() += k);
                }
                let mine = COUNTER.with(|c| *c.borrow());
                *total.lock().unwrap() += mine;
                tx.send(format!("thread {i} counted {mine}")).unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    drop(tx);
    let mut lines: Vec<String> = rx.iter().collect();
    lines.sort();
    for l in lines {
        println!("{l}");
    }
    println!("main counter {}", COUNTER.with(|c| *c.borrow()));
    println!("total {}", total.lock().unwrap());
}

//! Running one blocking job per partition log on a few threads at once, for
//! the manager's work over every log (opening them at startup, closing them
//! at shutdown).
//!
//! Opening a log is a dozen small system calls and closing one may be an
//! fsync: overlapping them pays even on 2 cores (an fsync waits on the disk,
//! and a thread in one system call leaves the CPU to another), while a bound
//! keeps 10,000 partitions from meaning 10,000 threads.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Threads working at once, the caller's included.
pub const THREADS: usize = 8;

/// `f` of every item, in the items' order, computed on up to [`THREADS`]
/// threads that take the next item as they finish one. The calling thread
/// works too, so the work gets done even when no thread can be started. A
/// panic in `f` is passed on to the caller, as if `f` ran on its thread.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = THREADS.min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let at = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(at) else { return done };
            done.push((at, f(item)));
        }
    };
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (1..threads)
            .filter_map(|_| match std::thread::Builder::new().name("strom-log-io".into()).spawn_scoped(scope, work) {
                Ok(worker) => Some(worker),
                Err(error) => {
                    tracing::debug!(%error, "cannot start a log I/O thread: fewer work at once");
                    None
                }
            })
            .collect();
        let mut done = work();
        for worker in workers {
            done.extend(worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        done
    });
    done.sort_unstable_by_key(|&(at, _)| at);
    done.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Mutex;

    #[test]
    fn results_keep_the_items_order_and_the_work_is_shared() {
        let items: Vec<u64> = (0..1000).collect();
        let workers = Mutex::new(HashSet::new());
        let taken = AtomicUsize::new(0);
        let squares = map(&items, |&i| {
            taken.fetch_add(1, Ordering::SeqCst);
            workers.lock().unwrap().insert(std::thread::current().id());
            if i == 0 {
                // The first item waits until another thread took one (bounded).
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                while taken.load(Ordering::SeqCst) < 2 && std::time::Instant::now() < deadline {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
            i * i
        });
        assert_eq!(squares, items.iter().map(|i| i * i).collect::<Vec<_>>());
        let workers = workers.lock().unwrap().len();
        assert!((2..=THREADS).contains(&workers), "{workers} threads");
        assert_eq!(map(&[] as &[u64], |&i| i), Vec::<u64>::new());
        assert_eq!(map(&[7u64], |&i| i + 1), vec![8]);
    }

    #[test]
    fn a_panic_reaches_the_caller() {
        let items: Vec<u32> = (0..50).collect();
        let caught = std::panic::catch_unwind(|| map(&items, |&i| assert_ne!(i, 33, "boom")));
        assert!(caught.is_err());
    }
}

//! The tokio runtime the layer owns, and the guard that keeps callbacks from blocking on
//! themselves.

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;

use tokio::runtime::Handle;

use super::EmbedError;

/// Where a callback runs, as far as blocking is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackKind {
    /// On a blocking-pool thread (decisions and connection events): the callback may block and
    /// may call blocking functions, except stopping or freeing the server that called it.
    Blocking,
    /// On a runtime worker thread (media, metadata, stats, logs): the callback must return
    /// quickly and may not call anything that blocks.
    NonBlocking,
}

thread_local! {
    static CALLBACK: Cell<Option<CallbackKind>> = const { Cell::new(None) };
}

/// The kind of callback this thread is running now, if any.
pub fn in_callback() -> Option<CallbackKind> {
    CALLBACK.with(Cell::get)
}

/// Runs `f` marked as a callback of `kind`: blocking calls made inside see the mark (and
/// refuse what would deadlock). Nested scopes restore the outer mark, also on panic.
pub fn callback_scope<R>(kind: CallbackKind, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<CallbackKind>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CALLBACK.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CALLBACK.with(|c| c.replace(Some(kind))));
    f()
}

/// A multi-threaded tokio runtime shared by servers and clients; cloning shares it. The last
/// clone shuts it down: from a plain thread it waits for the workers and for callbacks still
/// running, from inside a runtime or callback it lets them finish in the background.
#[derive(Clone, Debug)]
pub struct Runtime {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            if in_callback().is_some() || Handle::try_current().is_ok() {
                runtime.shutdown_background();
            } else {
                drop(runtime);
            }
        }
    }
}

impl Runtime {
    /// A runtime with `worker_threads` workers (at least one), threads named `rtmp-rs`.
    pub fn new(worker_threads: usize) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads.max(1))
            .thread_name("rtmp-rs")
            // A peer that closes its socket must not kill a C or Python host with SIGPIPE (Rust
            // programs ignore it, hosts usually do not): writes then fail with EPIPE instead.
            .on_thread_start(sigpipe::block_in_this_thread)
            .enable_all()
            .build()?;
        Ok(Self { inner: Arc::new(Inner { runtime: Some(runtime) }) })
    }

    /// The tokio handle, to spawn tasks.
    pub fn handle(&self) -> &Handle {
        self.inner.runtime.as_ref().expect("runtime lives until Inner drops").handle()
    }

    /// Runs `future` to completion from synchronous code.
    ///
    /// Refused inside a [`CallbackKind::NonBlocking`] callback. On a thread that is inside some
    /// other async context (where tokio forbids blocking), the future runs on a helper thread.
    pub fn block_on<F>(&self, what: &'static str, future: F) -> Result<F::Output, EmbedError>
    where
        F: Future + Send,
        F::Output: Send,
    {
        match in_callback() {
            Some(CallbackKind::NonBlocking) => Err(EmbedError::InCallback(what)),
            Some(CallbackKind::Blocking) => Ok(self.handle().block_on(future)),
            None if Handle::try_current().is_ok() => std::thread::scope(|scope| {
                scope.spawn(|| self.handle().block_on(future)).join().map_err(|_| EmbedError::Panic)
            }),
            None => {
                // The future may write to a socket on this (the host's) thread, e.g. a connect.
                let _sigpipe = sigpipe::Blocked::new();
                Ok(self.handle().block_on(future))
            }
        }
    }
}

/// Waits until the watched flag is true (or its sender is gone). Unlike `wait_for`, it keeps no
/// guard across an await, so futures using it stay `Send`.
pub(crate) async fn until_true(flag: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = flag.wait_for(|value| *value).await;
}

/// SIGPIPE kept away from the host process: blocked in the runtime's threads, and blocked (then
/// drained) around blocking calls on the host's threads.
#[cfg(unix)]
mod sigpipe {
    use std::mem::MaybeUninit;
    use std::ptr;

    fn sigpipe_set() -> libc::sigset_t {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the set; sigaddset adds a valid signal to it.
        unsafe {
            libc::sigemptyset(set.as_mut_ptr());
            libc::sigaddset(set.as_mut_ptr(), libc::SIGPIPE);
            set.assume_init()
        }
    }

    pub(super) fn block_in_this_thread() {
        let set = sigpipe_set();
        // SAFETY: changes only the calling thread's mask.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, ptr::null_mut()) };
    }

    /// Blocks SIGPIPE on this thread until dropped; a SIGPIPE raised meanwhile is discarded.
    pub(super) struct Blocked {
        old: libc::sigset_t,
        was_blocked: bool,
    }

    impl Blocked {
        pub(super) fn new() -> Self {
            let set = sigpipe_set();
            let mut old = MaybeUninit::<libc::sigset_t>::uninit();
            // SAFETY: changes only the calling thread's mask and stores the previous one.
            let old = unsafe {
                libc::pthread_sigmask(libc::SIG_BLOCK, &set, old.as_mut_ptr());
                old.assume_init()
            };
            // SAFETY: `old` is an initialised set.
            let was_blocked = unsafe { libc::sigismember(&old, libc::SIGPIPE) } == 1;
            Self { old, was_blocked }
        }
    }

    impl Drop for Blocked {
        fn drop(&mut self) {
            if self.was_blocked {
                return;
            }
            let set = sigpipe_set();
            let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            // SAFETY: waits (without blocking) for a pending SIGPIPE of this thread, then restores
            // the mask saved in `new`.
            unsafe {
                while libc::sigtimedwait(&set, ptr::null_mut(), &zero) == libc::SIGPIPE {}
                libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, ptr::null_mut());
            }
        }
    }
}

#[cfg(not(unix))]
mod sigpipe {
    pub(super) fn block_in_this_thread() {}

    pub(super) struct Blocked;

    impl Blocked {
        pub(super) fn new() -> Self {
            Self
        }
    }
}

//! The application's `void *userdata` and its optional destructor (after hyper's
//! `hyper_userdata_drop`).

use std::ffi::c_void;

/// Frees userdata: called exactly once, when the last object holding it is freed, on the thread
/// that frees it (see each registration function).
pub type rtmp_userdata_drop = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// Userdata handed to callbacks on any thread: the application promises it is thread-safe.
pub(crate) struct Userdata {
    pub(crate) ptr: *mut c_void,
    drop: rtmp_userdata_drop,
}

// SAFETY: the header documents that userdata is used from several threads at once; making it
// safe to share is the application's part of the contract.
unsafe impl Send for Userdata {}
// SAFETY: as above.
unsafe impl Sync for Userdata {}

impl Userdata {
    pub(crate) fn new(ptr: *mut c_void, drop: rtmp_userdata_drop) -> Self {
        Self { ptr, drop }
    }

    /// The pointer (a method, so that closures capture the whole `Userdata`, which is `Send`).
    pub(crate) fn get(&self) -> *mut c_void {
        self.ptr
    }
}

impl Drop for Userdata {
    fn drop(&mut self) {
        if let Some(drop) = self.drop {
            // SAFETY: the application's destructor for its own pointer, called once.
            unsafe { drop(self.ptr) }
        }
    }
}

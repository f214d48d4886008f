//! Typed ownership of the opaque C handles (after rustls-ffi's `Castable`) and the pointer
//! checks every function starts with.

use std::sync::Arc;

/// Ties an opaque C type to the Rust type behind its pointers and to how it is owned.
pub(crate) trait Castable {
    /// The Rust value a pointer of this C type points to.
    type RustType;
    /// [`OwnershipBox`], [`OwnershipArc`] or [`OwnershipRef`].
    type Ownership;
}

/// Made by `Box::into_raw`, freed by its `_free`.
pub(crate) struct OwnershipBox;
/// Made by `Arc::into_raw`, counted by retain/release.
pub(crate) struct OwnershipArc;
/// Borrowed for the duration of a callback; never freed by C.
pub(crate) struct OwnershipRef;

pub(crate) fn try_ref<'a, C: Castable>(ptr: *const C) -> Option<&'a C::RustType> {
    // SAFETY: the C caller promises a pointer this library handed out (or NULL).
    unsafe { ptr.cast::<C::RustType>().as_ref() }
}

pub(crate) fn try_mut<'a, C: Castable>(ptr: *mut C) -> Option<&'a mut C::RustType> {
    // SAFETY: as above, and not used from two threads at once (documented per type).
    unsafe { ptr.cast::<C::RustType>().as_mut() }
}

pub(crate) fn to_box_ptr<C: Castable<Ownership = OwnershipBox>>(value: C::RustType) -> *mut C {
    Box::into_raw(Box::new(value)).cast()
}

pub(crate) fn free_box<C: Castable<Ownership = OwnershipBox>>(ptr: *mut C) {
    if !ptr.is_null() {
        // SAFETY: made by `to_box_ptr` and not freed before (documented: free once).
        drop(unsafe { Box::from_raw(ptr.cast::<C::RustType>()) });
    }
}

pub(crate) fn to_arc_ptr<C: Castable<Ownership = OwnershipArc>>(value: Arc<C::RustType>) -> *const C {
    Arc::into_raw(value).cast()
}

/// One more reference to an Arc handle.
pub(crate) fn retain_arc<C: Castable<Ownership = OwnershipArc>>(ptr: *const C) {
    if !ptr.is_null() {
        // SAFETY: made by `Arc::into_raw` (or borrowed from a live Arc during a callback).
        unsafe { Arc::increment_strong_count(ptr.cast::<C::RustType>()) }
    }
}

/// Drops one reference to an Arc handle.
pub(crate) fn release_arc<C: Castable<Ownership = OwnershipArc>>(ptr: *const C) {
    if !ptr.is_null() {
        // SAFETY: the caller owns one reference (from `to_arc_ptr` or a retain).
        unsafe { Arc::decrement_strong_count(ptr.cast::<C::RustType>()) }
    }
}

/// Takes back the reference a pointer owns.
pub(crate) fn arc_from_ptr<C: Castable<Ownership = OwnershipArc>>(ptr: *const C) -> Arc<C::RustType> {
    // SAFETY: the caller owns one reference.
    unsafe { Arc::from_raw(ptr.cast::<C::RustType>()) }
}

/// `let x = try_ref!(ptr);`: NULL returns `RTMP_RESULT_NULL_PARAMETER` (or 0/NULL/false/empty
/// for functions that return a value) and records the argument's name as the last error.
macro_rules! try_ref {
    ($ptr:expr) => {
        match $crate::ffi::try_ref($ptr) {
            Some(value) => value,
            None => return $crate::error::null_parameter(stringify!($ptr)),
        }
    };
}

macro_rules! try_mut {
    ($ptr:expr) => {
        match $crate::ffi::try_mut($ptr) {
            Some(value) => value,
            None => return $crate::error::null_parameter(stringify!($ptr)),
        }
    };
}

/// An out-pointer that must not be NULL.
macro_rules! try_out {
    ($ptr:expr) => {
        // SAFETY: a non-NULL out-pointer points to writable memory (C caller's promise).
        match unsafe { $ptr.as_mut() } {
            Some(out) => out,
            None => return $crate::error::null_parameter(stringify!($ptr)),
        }
    };
}

/// A NUL-terminated UTF-8 input string.
macro_rules! try_cstr {
    ($ptr:expr) => {
        match $crate::slice::cstr_arg($ptr, stringify!($ptr)) {
            Ok(text) => text,
            Err(result) => return $crate::panic::Fallback::from_result(result),
        }
    };
}

/// A `(pointer, length)` input byte slice; NULL is allowed only with length 0.
macro_rules! try_slice {
    ($ptr:expr, $len:expr) => {
        match $crate::slice::slice_arg($ptr, $len, stringify!($ptr)) {
            Ok(bytes) => bytes,
            Err(result) => return $crate::panic::Fallback::from_result(result),
        }
    };
}

//! The panic boundary: no panic unwinds into C.

use std::any::Any;

use crate::error::rtmp_result;
use crate::slice::{rtmp_bytes, rtmp_str};

/// What a function returns when a pointer argument is NULL or its body panicked.
pub(crate) trait Fallback: Sized {
    fn null_parameter() -> Self;
    fn panicked() -> Self;
    /// A failed argument check: the result itself, or the type's zero value.
    fn from_result(result: rtmp_result) -> Self {
        let _ = result;
        Self::null_parameter()
    }
}

impl Fallback for rtmp_result {
    fn null_parameter() -> Self {
        rtmp_result::NullParameter
    }
    fn panicked() -> Self {
        rtmp_result::Panic
    }
    fn from_result(result: rtmp_result) -> Self {
        result
    }
}

macro_rules! zero_fallback {
    ($($ty:ty => $value:expr),* $(,)?) => {$(
        impl Fallback for $ty {
            fn null_parameter() -> Self { $value }
            fn panicked() -> Self { $value }
        }
    )*};
}

zero_fallback! {
    () => (),
    bool => false,
    u8 => 0,
    u16 => 0,
    u32 => 0,
    u64 => 0,
    i32 => 0,
    usize => 0,
    f64 => 0.0,
    rtmp_str<'_> => rtmp_str::empty(),
    rtmp_bytes<'_> => rtmp_bytes::empty(),
}

impl<T> Fallback for *const T {
    fn null_parameter() -> Self {
        std::ptr::null()
    }
    fn panicked() -> Self {
        std::ptr::null()
    }
}

impl<T> Fallback for *mut T {
    fn null_parameter() -> Self {
        std::ptr::null_mut()
    }
    fn panicked() -> Self {
        std::ptr::null_mut()
    }
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic")
}

/// Runs the body under `catch_unwind`; a panic sets the last error and returns
/// `Fallback::panicked()` (`RTMP_RESULT_PANIC`, NULL, 0, false or an empty view).
macro_rules! ffi_panic_boundary {
    ($($body:tt)*) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| { $($body)* })) {
            Ok(value) => value,
            Err(payload) => {
                $crate::error::set_last_error(format!(
                    "panic: {}",
                    $crate::panic::panic_message(&*payload)
                ));
                $crate::panic::Fallback::panicked()
            }
        }
    };
}

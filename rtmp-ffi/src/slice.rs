//! Borrowed strings and byte slices crossing the boundary.

use std::ffi::{CStr, c_char};
use std::marker::PhantomData;

use crate::error::{fail, null_parameter, rtmp_result};

/// A borrowed UTF-8 string: `len` bytes at `data`, **not** NUL-terminated (print it with
/// `printf("%.*s", (int)s.len, s.data)`). `data` is never NULL (an empty string points to a
/// static empty string). Valid only for as long as the function that produced it says: for
/// the duration of a callback, or while the object it came from lives.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtmp_str<'a> {
    /// The first byte.
    pub data: *const c_char,
    /// The number of bytes.
    pub len: usize,
    _marker: PhantomData<&'a str>,
}

impl<'a> rtmp_str<'a> {
    /// A view of `text`.
    pub fn borrow(text: &'a str) -> Self {
        Self { data: text.as_ptr().cast(), len: text.len(), _marker: PhantomData }
    }

    /// `""`.
    pub fn empty() -> Self {
        Self::borrow("")
    }

    /// Back to Rust, for tests and callbacks written in Rust.
    ///
    /// # Safety
    /// The view must be valid (as produced by this library, within its lifetime).
    pub unsafe fn as_str(&self) -> &'a str {
        // SAFETY: produced from a &str by `borrow`.
        unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(self.data.cast(), self.len)) }
    }
}

impl<'a> From<&'a str> for rtmp_str<'a> {
    fn from(text: &'a str) -> Self {
        Self::borrow(text)
    }
}

/// Borrowed bytes: `len` bytes at `data` (never NULL). Valid as its producer documents: for the
/// duration of a callback, or while the frame it came from is retained.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtmp_bytes<'a> {
    /// The first byte.
    pub data: *const u8,
    /// The number of bytes.
    pub len: usize,
    _marker: PhantomData<&'a [u8]>,
}

impl<'a> rtmp_bytes<'a> {
    /// A view of `bytes`.
    pub fn from_slice(bytes: &'a [u8]) -> Self {
        Self { data: bytes.as_ptr(), len: bytes.len(), _marker: PhantomData }
    }

    /// No bytes.
    pub fn empty() -> Self {
        Self::from_slice(&[])
    }

    /// Back to Rust.
    ///
    /// # Safety
    /// The view must be valid (as produced by this library, within its lifetime).
    pub unsafe fn as_slice(&self) -> &'a [u8] {
        // SAFETY: produced from a slice by `from_slice`.
        unsafe { std::slice::from_raw_parts(self.data, self.len) }
    }
}

/// A NUL-terminated UTF-8 argument.
pub(crate) fn cstr_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, rtmp_result> {
    if ptr.is_null() {
        return Err(null_parameter(name));
    }
    // SAFETY: non-NULL, and the C caller promises a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str().map_err(|_| fail(rtmp_result::InvalidArgument, format!("{name} is not valid UTF-8")))
}

/// A `(pointer, length)` argument; NULL only with length 0.
pub(crate) fn slice_arg<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8], rtmp_result> {
    if ptr.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(null_parameter(name)) };
    }
    // SAFETY: the C caller promises `len` readable bytes at `ptr`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

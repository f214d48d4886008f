//! The C ABI of rtmp-rs. The full API (server, client, callbacks) arrives with its own issue;
//! for now the library exports its version so that linking can be checked.

use std::ffi::c_char;

/// The library version as a NUL-terminated string, e.g. `"0.1.0"`. Static; never free it.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_is_cargo_version() {
        let v = unsafe { std::ffi::CStr::from_ptr(super::rtmp_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}

//! Small raw N-API helpers for what the typed API makes awkward: calling a function and catching
//! whatever it throws, telling promises apart, errors with a `code`, and Buffers that borrow the
//! library's memory.

use std::ffi::c_void;
use std::ptr;

use bytes::Bytes;
use napi::bindgen_prelude::Unknown;
use napi::{Error, Result, Status, sys};

/// A JS value of the current callback scope.
pub(crate) type Value = sys::napi_value;

fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(Status::from(status), format!("{what} failed")))
    }
}

/// The N-API type of `value`.
pub(crate) fn type_of(env: sys::napi_env, value: Value) -> Result<sys::napi_valuetype> {
    let mut kind = 0;
    check(unsafe { sys::napi_typeof(env, value, &mut kind) }, "napi_typeof")?;
    Ok(kind)
}

/// Whether `value` is a native Promise.
pub(crate) fn is_promise(env: sys::napi_env, value: Value) -> bool {
    let mut yes = false;
    let status = unsafe { sys::napi_is_promise(env, value, &mut yes) };
    status == sys::Status::napi_ok && yes
}

/// Whether `value` is an array.
pub(crate) fn is_array(env: sys::napi_env, value: Value) -> bool {
    let mut yes = false;
    let status = unsafe { sys::napi_is_array(env, value, &mut yes) };
    status == sys::Status::napi_ok && yes
}

/// `undefined`.
pub(crate) fn undefined(env: sys::napi_env) -> Result<Value> {
    let mut value = ptr::null_mut();
    check(unsafe { sys::napi_get_undefined(env, &mut value) }, "napi_get_undefined")?;
    Ok(value)
}

/// `null`.
pub(crate) fn null(env: sys::napi_env) -> Result<Value> {
    let mut value = ptr::null_mut();
    check(unsafe { sys::napi_get_null(env, &mut value) }, "napi_get_null")?;
    Ok(value)
}

/// A JS string.
pub(crate) fn string(env: sys::napi_env, text: &str) -> Result<Value> {
    let mut value = ptr::null_mut();
    check(
        unsafe { sys::napi_create_string_utf8(env, text.as_ptr().cast(), text.len() as isize, &mut value) },
        "napi_create_string_utf8",
    )?;
    Ok(value)
}

/// Calls `function` with `args` (`this` undefined: hooks are bound to their handler object).
/// `Err` carries what the function threw, already cleared from the environment.
pub(crate) fn call(
    env: sys::napi_env,
    function: Value,
    args: &[Value],
) -> Result<std::result::Result<Value, Value>> {
    let this = undefined(env)?;
    let mut result = ptr::null_mut();
    let status =
        unsafe { sys::napi_call_function(env, this, function, args.len(), args.as_ptr(), &mut result) };
    if status == sys::Status::napi_pending_exception {
        let mut exception = ptr::null_mut();
        check(
            unsafe { sys::napi_get_and_clear_last_exception(env, &mut exception) },
            "clearing an exception",
        )?;
        return Ok(Err(exception));
    }
    check(status, "calling a hook")?;
    Ok(Ok(result))
}

/// An `Error` (or `TypeError`) object with a `code` property.
pub(crate) fn error(env: sys::napi_env, code: &str, message: &str, type_error: bool) -> Result<Value> {
    let code = string(env, code)?;
    let message = string(env, message)?;
    let mut value = ptr::null_mut();
    let status = if type_error {
        unsafe { sys::napi_create_type_error(env, code, message, &mut value) }
    } else {
        unsafe { sys::napi_create_error(env, code, message, &mut value) }
    };
    check(status, "napi_create_error")?;
    Ok(value)
}

/// Sets `object[key] = value`.
pub(crate) fn set(env: sys::napi_env, object: Value, key: &str, value: Value) -> Result<()> {
    let key = string(env, key)?;
    check(unsafe { sys::napi_set_property(env, object, key, value) }, "napi_set_property")
}

/// `object[key]`.
pub(crate) fn get(env: sys::napi_env, object: Value, key: &str) -> Result<Value> {
    let key = string(env, key)?;
    let mut value = ptr::null_mut();
    check(unsafe { sys::napi_get_property(env, object, key, &mut value) }, "napi_get_property")?;
    Ok(value)
}

/// A `napi::Error` that, thrown or rejected on the JS thread, is exactly `value` (with its
/// `code`, `cause`, stack).
pub(crate) fn to_napi_error(env: sys::napi_env, value: Value) -> Error {
    Error::from_unknown_without_coercion(unsafe { Unknown::from_raw_unchecked(env, value) })
}

/// The reason text of a thrown or rejected value: an error's `message`, a string itself, or
/// `fallback` (read without running user code: no `toString`, no getters).
pub(crate) fn reason(env: sys::napi_env, value: Value, fallback: &str) -> String {
    let reason = to_napi_error(env, value).reason;
    if reason.is_empty() { fallback.to_owned() } else { reason }
}

unsafe extern "C" fn release_bytes(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    drop(unsafe { Box::from_raw(hint.cast::<Bytes>()) });
}

/// A Node `Buffer` over the memory of `bytes`, without copying: the Buffer holds a reference
/// on the shared allocation, released when the Buffer is collected.
pub(crate) fn external_buffer(env: sys::napi_env, bytes: &Bytes) -> Result<Value> {
    let mut value = ptr::null_mut();
    if bytes.is_empty() {
        let mut data = ptr::null_mut();
        check(unsafe { sys::napi_create_buffer(env, 0, &mut data, &mut value) }, "napi_create_buffer")?;
        return Ok(value);
    }
    let hint = Box::into_raw(Box::new(bytes.clone()));
    // The data pointer stays valid while `hint` keeps the allocation alive. JS may write into
    // it (Buffers are mutable); the docs ask callers not to.
    let status = unsafe {
        sys::napi_create_external_buffer(
            env,
            bytes.len(),
            bytes.as_ptr().cast_mut().cast(),
            Some(release_bytes),
            hint.cast(),
            &mut value,
        )
    };
    if status != sys::Status::napi_ok {
        drop(unsafe { Box::from_raw(hint) });
        check(status, "napi_create_external_buffer")?;
    }
    Ok(value)
}

/// The data pointer of a Buffer or typed array (diagnostics: tells whether two views share
/// memory).
pub(crate) fn buffer_address(env: sys::napi_env, value: Value) -> Result<usize> {
    let mut data = ptr::null_mut();
    let mut len = 0;
    check(unsafe { sys::napi_get_buffer_info(env, value, &mut data, &mut len) }, "napi_get_buffer_info")?;
    Ok(data as usize)
}

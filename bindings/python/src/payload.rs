//! Zero-copy payloads: a small exporter type that lends a frame's bytes through the buffer
//! protocol, wrapped in a read-only `memoryview`.
//!
//! pyo3 offers `__getbuffer__` only for the limited API of Python 3.11+, and this package is an
//! abi3 wheel for 3.9+. CPython accepts buffer slots in `PyType_FromSpec` since 3.9 and exports
//! `PyBuffer_FillInfo` in every version, so the type is built here from those two pieces.
//! The exporter holds a reference to the frame (`Arc`), so the memory stays valid as long as any
//! view or slice of it lives, whatever happens to the `Frame` object.

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3::ffi;
use pyo3::prelude::*;
use rtmp_embed::Frame;

/// `Py_bf_getbuffer` (not exposed by pyo3-ffi for the 3.9 limited API; the slot number is stable).
const PY_BF_GETBUFFER: c_int = 1;

unsafe extern "C" {
    // In the limited API since 3.11, exported by every CPython 3.x.
    fn PyBuffer_FillInfo(
        view: *mut c_void,
        exporter: *mut ffi::PyObject,
        buf: *mut c_void,
        len: ffi::Py_ssize_t,
        readonly: c_int,
        flags: c_int,
    ) -> c_int;
}

#[repr(C)]
struct PayloadObject {
    ob_base: ffi::PyObject,
    /// `Arc::into_raw` of the frame that owns the bytes.
    owner: *const Frame,
    data: *const u8,
    len: ffi::Py_ssize_t,
}

static TYPE: AtomicPtr<ffi::PyTypeObject> = AtomicPtr::new(ptr::null_mut());

unsafe extern "C" fn getbuffer(exporter: *mut ffi::PyObject, view: *mut c_void, flags: c_int) -> c_int {
    let this = exporter.cast::<PayloadObject>();
    // SAFETY: `exporter` is a live PayloadObject (CPython calls the slot of its own type);
    // FillInfo refuses writable requests and takes its own reference to the exporter.
    unsafe { PyBuffer_FillInfo(view, exporter, (*this).data as *mut c_void, (*this).len, 1, flags) }
}

unsafe extern "C" fn dealloc(object: *mut ffi::PyObject) {
    let this = object.cast::<PayloadObject>();
    // SAFETY: called once by CPython when the last reference goes; `owner` came from
    // `Arc::into_raw`; the type is a heap type whose instances own a reference to it.
    unsafe {
        let owner = std::mem::replace(&mut (*this).owner, ptr::null());
        if !owner.is_null() {
            drop(Arc::from_raw(owner));
        }
        let tp = ffi::Py_TYPE(object);
        let free = ffi::PyType_GetSlot(tp, ffi::Py_tp_free);
        if !free.is_null() {
            let free: ffi::freefunc = std::mem::transmute(free);
            free(object.cast());
        }
        ffi::Py_DECREF(tp.cast());
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    if !TYPE.load(Ordering::Acquire).is_null() {
        return Ok(());
    }
    let slots = Box::leak(Box::new([
        ffi::PyType_Slot { slot: PY_BF_GETBUFFER, pfunc: getbuffer as *mut c_void },
        ffi::PyType_Slot { slot: ffi::Py_tp_dealloc, pfunc: dealloc as *mut c_void },
        ffi::PyType_Slot {
            slot: ffi::Py_tp_doc,
            pfunc: c"The read-only memory of a frame, lent to memoryviews (zero copy).".as_ptr()
                as *mut c_void,
        },
        ffi::PyType_Slot { slot: 0, pfunc: ptr::null_mut() },
    ]));
    let spec = Box::leak(Box::new(ffi::PyType_Spec {
        name: c"rtmp_rs._native.Payload".as_ptr(),
        basicsize: std::mem::size_of::<PayloadObject>() as c_int,
        itemsize: 0,
        flags: ffi::Py_TPFLAGS_DEFAULT as _,
        slots: slots.as_mut_ptr(),
    }));
    // SAFETY: a valid spec with 'static strings and slots.
    let tp = unsafe { ffi::PyType_FromSpec(spec) };
    if tp.is_null() {
        return Err(PyErr::fetch(m.py()));
    }
    // SAFETY: `tp` is a new reference to a type object; the module keeps one reference, the
    // static another (never released: the type lives as long as the process).
    let ty = unsafe { Bound::from_borrowed_ptr(m.py(), tp) };
    TYPE.store(tp.cast(), Ordering::Release);
    m.add("Payload", ty)?;
    Ok(())
}

/// A read-only memoryview of `len` bytes at `data`, which `owner` keeps alive.
pub(crate) fn memoryview<'py>(
    py: Python<'py>,
    owner: &Arc<Frame>,
    data: &[u8],
) -> PyResult<Bound<'py, PyAny>> {
    let tp = TYPE.load(Ordering::Acquire);
    assert!(!tp.is_null(), "rtmp_rs._native is initialised");
    // SAFETY: allocation of our own type; every field is set before anyone can see the object.
    unsafe {
        let object = ffi::PyType_GenericAlloc(tp, 0);
        if object.is_null() {
            return Err(PyErr::fetch(py));
        }
        let this = object.cast::<PayloadObject>();
        (*this).owner = Arc::into_raw(Arc::clone(owner));
        (*this).data = data.as_ptr();
        (*this).len = data.len() as ffi::Py_ssize_t;
        let exporter = Bound::from_owned_ptr(py, object);
        let view = ffi::PyMemoryView_FromObject(exporter.as_ptr());
        if view.is_null() {
            return Err(PyErr::fetch(py));
        }
        Ok(Bound::from_owned_ptr(py, view))
    }
}

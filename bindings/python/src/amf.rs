//! AMF0 values to and from Python: numbers are floats, objects and ECMA arrays dicts (in order),
//! strict arrays lists, null and undefined None, dates floats (ms since the epoch).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use rtmp_core::proto::amf::{Amf0Value, AmfObject};

/// Deepest nesting converted from Python (cycles and runaway structures fail cleanly).
const MAX_DEPTH: usize = 64;

pub(crate) fn object_to_py<'py>(py: Python<'py>, object: &AmfObject) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in object.iter() {
        if !dict.contains(key)? {
            dict.set_item(key, value_to_py(py, value)?)?;
        }
    }
    Ok(dict)
}

pub(crate) fn value_to_py<'py>(py: Python<'py>, value: &Amf0Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Amf0Value::Number(n) => PyFloat::new(py, *n).into_any(),
        Amf0Value::Boolean(b) => PyBool::new(py, *b).to_owned().into_any(),
        Amf0Value::String(s) | Amf0Value::XmlDocument(s) => PyString::new(py, s).into_any(),
        Amf0Value::Object(o) | Amf0Value::EcmaArray(o) => object_to_py(py, o)?.into_any(),
        Amf0Value::TypedObject { properties, .. } => object_to_py(py, properties)?.into_any(),
        Amf0Value::StrictArray(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(value_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Amf0Value::Date { millis, .. } => PyFloat::new(py, *millis).into_any(),
        _ => py.None().into_bound(py),
    })
}

/// A Python mapping as an AMF object (for metadata).
pub(crate) fn dict_to_object(dict: &Bound<'_, PyDict>, depth: usize) -> PyResult<AmfObject> {
    let mut object = AmfObject::new();
    for (key, value) in dict.iter() {
        let key: String = key.extract().map_err(|_| PyTypeError::new_err("AMF object keys must be str"))?;
        object.insert(key, py_to_value(&value, depth + 1)?);
    }
    Ok(object)
}

pub(crate) fn py_to_value(value: &Bound<'_, PyAny>, depth: usize) -> PyResult<Amf0Value> {
    if depth > MAX_DEPTH {
        return Err(PyTypeError::new_err("AMF value nested too deeply"));
    }
    if value.is_none() {
        return Ok(Amf0Value::Null);
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Amf0Value::Boolean(b.is_true()));
    }
    if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>() {
        return Ok(Amf0Value::Number(value.extract::<f64>()?));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Amf0Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = value.cast::<PyDict>() {
        return Ok(Amf0Value::EcmaArray(dict_to_object(d, depth)?));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for item in value.try_iter()? {
            items.push(py_to_value(&item?, depth + 1)?);
        }
        return Ok(Amf0Value::StrictArray(items));
    }
    Err(PyTypeError::new_err(format!(
        "cannot encode {} as AMF0 (use None, bool, int, float, str, dict, list)",
        value.get_type().name()?
    )))
}

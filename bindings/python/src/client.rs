//! `Player` and `Publisher`: clients on the process-wide client runtime, usable from plain
//! threads (blocking calls release the GIL) and from asyncio (awaitables).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use pyo3::exceptions::{PyStopAsyncIteration, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyMemoryView};
use rtmp_core::client::{ClientConfig, ReconnectPolicy, TlsOptions};
use rtmp_core::flv::FlvTag;
use rtmp_core::options::TimeUnit;
use rtmp_core::proto::message::type_id;
use rtmp_embed::{EmbeddedPlayer, EmbeddedPublisher, Frame as EmbedFrame, PlayerItem, Received};

use crate::awaitable::{future_into_py, ready};
use crate::errors::{ClosedError, RtmpError, TlsError, embed_error};
use crate::{amf, client_runtime, types};

/// A client connected by an awaitable, on its way to Python. It becomes a `Player` or `Publisher`
/// only with the GIL: one dropped undelivered (the awaitable was cancelled, the interpreter exits)
/// must not enter Python from a library thread.
struct Connected<T>(T);

impl<'py> IntoPyObject<'py> for Connected<EmbeddedPlayer> {
    type Target = Player;
    type Output = Bound<'py, Player>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        Bound::new(py, Player::wrap(self.0))
    }
}

impl<'py> IntoPyObject<'py> for Connected<EmbeddedPublisher> {
    type Target = Publisher;
    type Output = Bound<'py, Publisher>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        Bound::new(py, Publisher::wrap(self.0))
    }
}

/// How long a blocking wait sleeps between checks for Ctrl-C.
const SIGNAL_SLICE: Duration = Duration::from_millis(100);

fn seconds(key: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| PyValueError::new_err(format!("{key} must be a non-negative number of seconds")))
}

/// The client options (keyword arguments of `Player` and `Publisher`, durations in seconds):
/// the plain values through the option schema, then the structured ones (`reconnect*`, `tls_*`).
fn client_config(options: Option<&Bound<'_, PyDict>>) -> PyResult<ClientConfig> {
    let mut config = ClientConfig::default();
    let Some(options) = options else { return Ok(config) };
    let mut reconnect = false;
    let mut policy = ReconnectPolicy::default();
    let mut tls = TlsOptions::default();
    for (key, value) in options.iter() {
        let key: String = key.extract()?;
        let k = key.as_str();
        if value.is_none() && k != "reconnect_max_attempts" {
            continue;
        }
        match k {
            "reconnect" => reconnect = value.extract()?,
            "reconnect_initial_delay" => policy.initial_delay = seconds(k, value.extract()?)?,
            "reconnect_max_delay" => policy.max_delay = seconds(k, value.extract()?)?,
            "reconnect_max_attempts" => policy.max_attempts = value.extract()?,
            "tls_ca_file" => {
                let path: PathBuf = value.extract()?;
                tls = tls.add_roots_pem(&path).map_err(|e| TlsError::new_err(e.to_string()))?;
            }
            "tls_insecure_skip_verify" => tls.insecure_skip_verify = value.extract()?,
            _ => config
                .set_option(k, &crate::server::to_value(&value), TimeUnit::Seconds)
                .map_err(|e| crate::server::option_error(&e))?,
        }
    }
    config.reconnect = reconnect.then_some(policy);
    config.tls = tls;
    Ok(config)
}

/// Bytes from a bytes-like object (bytes, bytearray, memoryview, any buffer).
pub(crate) fn to_bytes(data: &Bound<'_, PyAny>) -> PyResult<Bytes> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(Bytes::copy_from_slice(b.as_bytes()));
    }
    if let Ok(b) = data.cast::<PyByteArray>() {
        return Ok(Bytes::from(b.to_vec()));
    }
    if let Ok(frame) = data.cast::<types::Frame>() {
        return Ok(frame.get().inner.payload().clone());
    }
    // Through memoryview: any buffer is taken, anything else is a TypeError (bytes(42) would be
    // 42 zero bytes).
    let bytes = PyMemoryView::from(data)?.call_method0("tobytes")?;
    Ok(Bytes::copy_from_slice(bytes.cast::<PyBytes>()?.as_bytes()))
}

/// A player item as its Python object.
struct Item(PlayerItem);

impl<'py> IntoPyObject<'py> for Item {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self.0 {
            PlayerItem::Frame(frame) => Bound::new(py, types::Frame::new(frame))?.into_any(),
            PlayerItem::StreamBegin => Bound::new(py, types::PlayerEvent::simple("stream_begin"))?.into_any(),
            PlayerItem::StreamEnd => Bound::new(py, types::PlayerEvent::simple("stream_end"))?.into_any(),
            PlayerItem::Reconnected => Bound::new(py, types::PlayerEvent::simple("reconnected"))?.into_any(),
            PlayerItem::Status { level, code, description } => {
                Bound::new(py, types::PlayerEvent::status(level, code, description))?.into_any()
            }
        })
    }
}

/// Plays one stream: iterate it (`for item in player`, `async for item in player`) to get
/// `Frame`s (audio, video, data, metadata) and `PlayerEvent`s, until the connection closes.
#[pyclass(frozen, module = "rtmp_rs._native")]
pub(crate) struct Player {
    inner: Mutex<Option<Arc<EmbeddedPlayer>>>,
}

impl Player {
    fn get(&self) -> PyResult<Arc<EmbeddedPlayer>> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| ClosedError::new_err("the player is closed"))
    }

    fn wrap(player: EmbeddedPlayer) -> Self {
        Self { inner: Mutex::new(Some(Arc::new(player))) }
    }
}

#[pymethods]
impl Player {
    /// Connects and starts playing (blocks until the server sent Play.Start).
    #[new]
    #[pyo3(signature = (url, **options))]
    fn new(py: Python<'_>, url: &str, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let config = client_config(options)?;
        let runtime = client_runtime()?;
        let rt = runtime.clone();
        let player = py
            .detach(|| {
                runtime.block_on("connecting a player", EmbeddedPlayer::connect_async(rt, url, config))
            })
            .map_err(embed_error)?
            .map_err(embed_error)?;
        Ok(Self::wrap(player))
    }

    /// Awaitable: connects and starts playing without blocking the event loop.
    #[staticmethod]
    #[pyo3(signature = (url, **options))]
    fn connect<'py>(
        py: Python<'py>,
        url: String,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let config = client_config(options)?;
        let runtime = client_runtime()?;
        future_into_py(py, async move {
            let rt = runtime.clone();
            let task =
                runtime.handle().spawn(async move { EmbeddedPlayer::connect_async(rt, &url, config).await });
            let player = task.await.map_err(|_| RtmpError::new_err("connect task failed"))?;
            Ok(Connected(player?))
        })
    }

    /// The next item, waiting up to `timeout` seconds (None: forever); None when the time ran
    /// out. Raises `ClosedError` once the connection closed and every item was read.
    #[pyo3(signature = (timeout=None))]
    fn read<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let player = self.get()?;
        let mut left = timeout.map(|t| seconds("timeout", t)).transpose()?;
        loop {
            let slice = left.map_or(SIGNAL_SLICE, |l| l.min(SIGNAL_SLICE));
            match py.detach(|| player.next(Some(slice))).map_err(embed_error)? {
                Received::Item(item) => return Ok(Some(Item(item).into_pyobject(py)?)),
                Received::Closed => return Err(ClosedError::new_err("the stream ended")),
                Received::Timeout => {}
            }
            py.check_signals()?;
            if let Some(l) = left.as_mut() {
                *l = l.saturating_sub(slice);
                if l.is_zero() {
                    return Ok(None);
                }
            }
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.read(py, None) {
            Ok(item) => Ok(item),
            Err(e) if e.is_instance_of::<ClosedError>(py) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let player = self.get();
        future_into_py(py, async move {
            let Ok(player) = player else { return Err(PyStopAsyncIteration::new_err(()).into()) };
            match player.next_async().await? {
                Some(item) => Ok(Item(item)),
                None => Err(PyStopAsyncIteration::new_err(()).into()),
            }
        })
    }

    /// Pauses (`paused=True`) or resumes the stream at `position` ms.
    #[pyo3(signature = (paused=true, position=0.0))]
    fn pause(&self, py: Python<'_>, paused: bool, position: f64) -> PyResult<()> {
        let player = self.get()?;
        py.detach(|| player.pause(paused, position)).map_err(embed_error)
    }

    /// Stops playing and closes the connection (waits up to 5 s for the goodbye). Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let player = self.inner.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(player) = player {
            py.detach(move || player.close()).map_err(embed_error)?;
        }
        Ok(())
    }

    /// `close()` as an awaitable.
    fn close_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let player = self.inner.lock().unwrap_or_else(|e| e.into_inner()).take();
        future_into_py(py, async move {
            if let Some(player) = player {
                tokio::task::spawn_blocking(move || player.close())
                    .await
                    .map_err(|_| RtmpError::new_err("close task failed"))??;
            }
            Ok(())
        })
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).is_none()
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        ready(slf.py(), slf.into_any())
    }

    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _args: &Bound<'py, pyo3::types::PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.close_async(py)
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        if let Some(player) = self.inner.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            Python::attach(|py| py.detach(move || drop(player)));
        }
    }
}

/// Publishes one stream: metadata, audio, video, data and raw FLV tags, or a whole FLV file.
/// Sends wait while the connection's queue is full (TCP backpressure).
#[pyclass(frozen, module = "rtmp_rs._native")]
pub(crate) struct Publisher {
    inner: Mutex<Option<Arc<EmbeddedPublisher>>>,
}

fn metadata_payload(metadata: &Bound<'_, PyDict>) -> PyResult<Bytes> {
    let object = amf::dict_to_object(metadata, 0)?;
    Ok(EmbedFrame::from_metadata(None, 0, &object).payload().clone())
}

impl Publisher {
    fn wrap(publisher: EmbeddedPublisher) -> Self {
        Self { inner: Mutex::new(Some(Arc::new(publisher))) }
    }

    fn get(&self) -> PyResult<Arc<EmbeddedPublisher>> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| ClosedError::new_err("the publisher is closed"))
    }

    fn send(&self, py: Python<'_>, tag_type: u8, timestamp: u32, data: Bytes) -> PyResult<()> {
        let publisher = self.get()?;
        let tag = FlvTag { tag_type, timestamp, data };
        let runtime = client_runtime()?;
        py.detach(|| runtime.block_on("sending", publisher.send_tag_async(&tag)))
            .map_err(embed_error)?
            .map_err(embed_error)
    }

    fn send_async<'py>(
        &self,
        py: Python<'py>,
        tag_type: u8,
        timestamp: u32,
        data: Bytes,
    ) -> PyResult<Bound<'py, PyAny>> {
        let publisher = self.get()?;
        future_into_py(py, async move {
            let tag = FlvTag { tag_type, timestamp, data };
            Ok(publisher.send_tag_async(&tag).await?)
        })
    }
}

pub(crate) fn check_tag_type(tag_type: u8) -> PyResult<u8> {
    match tag_type {
        type_id::AUDIO | type_id::VIDEO | type_id::DATA_AMF0 => Ok(tag_type),
        other => Err(PyValueError::new_err(format!("FLV tag type must be 8, 9 or 18, not {other}"))),
    }
}

fn frame_tag(frame: &EmbedFrame) -> (u8, u32, Bytes) {
    (frame.flv_tag_type(), frame.timestamp(), frame.payload().clone())
}

#[pymethods]
impl Publisher {
    /// Connects and starts publishing (blocks until the server sent Publish.Start).
    #[new]
    #[pyo3(signature = (url, **options))]
    fn new(py: Python<'_>, url: &str, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let config = client_config(options)?;
        let runtime = client_runtime()?;
        let rt = runtime.clone();
        let publisher = py
            .detach(|| {
                runtime.block_on("connecting a publisher", EmbeddedPublisher::connect_async(rt, url, config))
            })
            .map_err(embed_error)?
            .map_err(embed_error)?;
        Ok(Self::wrap(publisher))
    }

    /// Awaitable: connects and starts publishing without blocking the event loop.
    #[staticmethod]
    #[pyo3(signature = (url, **options))]
    fn connect<'py>(
        py: Python<'py>,
        url: String,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let config = client_config(options)?;
        let runtime = client_runtime()?;
        future_into_py(py, async move {
            let rt = runtime.clone();
            let task = runtime
                .handle()
                .spawn(async move { EmbeddedPublisher::connect_async(rt, &url, config).await });
            let publisher = task.await.map_err(|_| RtmpError::new_err("connect task failed"))?;
            Ok(Connected(publisher?))
        })
    }

    /// Sends `onMetaData` with `metadata` (a dict of AMF0-encodable values).
    #[pyo3(signature = (metadata, timestamp=0))]
    fn send_metadata(&self, py: Python<'_>, metadata: &Bound<'_, PyDict>, timestamp: u32) -> PyResult<()> {
        self.send(py, type_id::DATA_AMF0, timestamp, metadata_payload(metadata)?)
    }

    /// Sends an FLV video tag body (legacy or Enhanced RTMP, any codec).
    fn send_video(&self, py: Python<'_>, timestamp: u32, data: &Bound<'_, PyAny>) -> PyResult<()> {
        self.send(py, type_id::VIDEO, timestamp, to_bytes(data)?)
    }

    /// Sends an FLV audio tag body.
    fn send_audio(&self, py: Python<'_>, timestamp: u32, data: &Bound<'_, PyAny>) -> PyResult<()> {
        self.send(py, type_id::AUDIO, timestamp, to_bytes(data)?)
    }

    /// Sends an AMF0 data message (an FLV script tag body).
    fn send_data(&self, py: Python<'_>, timestamp: u32, data: &Bound<'_, PyAny>) -> PyResult<()> {
        self.send(py, type_id::DATA_AMF0, timestamp, to_bytes(data)?)
    }

    /// Sends a raw FLV tag: type 8 (audio), 9 (video) or 18 (data), timestamp, body.
    fn send_tag(
        &self,
        py: Python<'_>,
        tag_type: u8,
        timestamp: u32,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.send(py, check_tag_type(tag_type)?, timestamp, to_bytes(data)?)
    }

    /// Sends a frame received by a `Player` or a hook (relaying), without copying it.
    fn send_frame(&self, py: Python<'_>, frame: &types::Frame) -> PyResult<()> {
        let (tag_type, timestamp, data) = frame_tag(&frame.inner);
        self.send(py, tag_type, timestamp, data)
    }

    /// Publishes an FLV file at real-time pace; returns the number of tags sent.
    #[pyo3(signature = (path, repeat=false))]
    fn publish_flv(&self, py: Python<'_>, path: PathBuf, repeat: bool) -> PyResult<u64> {
        let publisher = self.get()?;
        py.detach(|| publisher.publish_flv(&path, repeat)).map_err(embed_error)
    }

    /// `send_metadata()` as an awaitable.
    #[pyo3(signature = (metadata, timestamp=0))]
    fn send_metadata_async<'py>(
        &self,
        py: Python<'py>,
        metadata: &Bound<'py, PyDict>,
        timestamp: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.send_async(py, type_id::DATA_AMF0, timestamp, metadata_payload(metadata)?)
    }

    /// `send_video()` as an awaitable.
    fn send_video_async<'py>(
        &self,
        py: Python<'py>,
        timestamp: u32,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.send_async(py, type_id::VIDEO, timestamp, to_bytes(data)?)
    }

    /// `send_audio()` as an awaitable.
    fn send_audio_async<'py>(
        &self,
        py: Python<'py>,
        timestamp: u32,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.send_async(py, type_id::AUDIO, timestamp, to_bytes(data)?)
    }

    /// `send_data()` as an awaitable.
    fn send_data_async<'py>(
        &self,
        py: Python<'py>,
        timestamp: u32,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.send_async(py, type_id::DATA_AMF0, timestamp, to_bytes(data)?)
    }

    /// `send_tag()` as an awaitable.
    fn send_tag_async<'py>(
        &self,
        py: Python<'py>,
        tag_type: u8,
        timestamp: u32,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.send_async(py, check_tag_type(tag_type)?, timestamp, to_bytes(data)?)
    }

    /// `send_frame()` as an awaitable.
    fn send_frame_async<'py>(&self, py: Python<'py>, frame: &types::Frame) -> PyResult<Bound<'py, PyAny>> {
        let (tag_type, timestamp, data) = frame_tag(&frame.inner);
        self.send_async(py, tag_type, timestamp, data)
    }

    /// `publish_flv()` as an awaitable.
    #[pyo3(signature = (path, repeat=false))]
    fn publish_flv_async<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        repeat: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let publisher = self.get()?;
        future_into_py(py, async move {
            Ok(tokio::task::spawn_blocking(move || publisher.publish_flv(&path, repeat))
                .await
                .map_err(|_| RtmpError::new_err("publish task failed"))??)
        })
    }

    /// Unpublishes and closes the connection. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let publisher = self.inner.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(publisher) = publisher {
            py.detach(move || publisher.close()).map_err(embed_error)?;
        }
        Ok(())
    }

    /// `close()` as an awaitable.
    fn close_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let publisher = self.inner.lock().unwrap_or_else(|e| e.into_inner()).take();
        future_into_py(py, async move {
            if let Some(publisher) = publisher {
                publisher.close_async().await?;
            }
            Ok(())
        })
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).is_none()
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        ready(slf.py(), slf.into_any())
    }

    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _args: &Bound<'py, pyo3::types::PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.close_async(py)
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        if let Some(publisher) = self.inner.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            Python::attach(|py| py.detach(move || drop(publisher)));
        }
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Player>()?;
    m.add_class::<Publisher>()?;
    Ok(())
}

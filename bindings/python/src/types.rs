//! The objects handed to hooks and returned by calls: sessions, parameters, requests, frames,
//! statistics. All are immutable snapshots (`frozen`), safe to keep and to share across threads.

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rtmp_core::proto::message::StreamName as CoreStreamName;
use rtmp_core::server::{
    DisconnectReason as CoreReason, ForwardStats as CoreForward, PlayParams as CorePlay,
    PublishParams as CorePublish, PullStats as CorePull, ServerStats as CoreStats, StreamInfo as CoreInfo,
    StreamKey as CoreKey,
};
use rtmp_embed::{self as embed, FrameKind, RequestKind};

use crate::amf;
use crate::payload;

fn query_dict<'py>(py: Python<'py>, query: &[(String, String)]) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in query {
        // The first value wins, as in `query_param`.
        if !dict.contains(key)? {
            dict.set_item(key, value)?;
        }
    }
    Ok(dict)
}

/// A stream: app and name (without query). `str(key)` is `"app/name"`.
#[pyclass(frozen, eq, hash, module = "rtmp_rs._native")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct StreamKey {
    #[pyo3(get)]
    app: String,
    #[pyo3(get)]
    name: String,
}

impl StreamKey {
    pub(crate) fn from_core(key: &CoreKey) -> Self {
        Self { app: key.app.clone(), name: key.name.clone() }
    }

    /// A key argument: a `StreamKey` or `"app/name"`.
    pub(crate) fn from_arg(key: &Bound<'_, PyAny>) -> PyResult<CoreKey> {
        if let Ok(k) = key.cast::<StreamKey>() {
            let k = k.get();
            return Ok(CoreKey::new(k.app.clone(), k.name.clone()));
        }
        let text: String = key.extract().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err("a stream key is a StreamKey or an \"app/name\" str")
        })?;
        embed::parse_stream_key(&text).map_err(crate::errors::embed_error)
    }
}

#[pymethods]
impl StreamKey {
    #[new]
    fn new(app: String, name: String) -> Self {
        Self { app, name }
    }

    fn __str__(&self) -> String {
        format!("{}/{}", self.app, self.name)
    }

    fn __repr__(&self) -> String {
        format!("StreamKey(app={:?}, name={:?})", self.app, self.name)
    }
}

/// A stream name as sent (`cam?token=abc`): `name` without the query, `query` parsed, `raw`.
#[pyclass(frozen, module = "rtmp_rs._native")]
pub(crate) struct StreamName {
    inner: CoreStreamName,
}

impl StreamName {
    pub(crate) fn from_core(name: &CoreStreamName) -> Self {
        Self { inner: name.clone() }
    }
}

#[pymethods]
impl StreamName {
    /// The name without its query.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    /// The name exactly as received.
    #[getter]
    fn raw(&self) -> &str {
        &self.inner.raw
    }

    /// The query parameters (the first value of each key).
    #[getter]
    fn query<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        query_dict(py, &self.inner.query)
    }

    /// The first value of query parameter `key`.
    fn query_param(&self, key: &str) -> Option<&str> {
        self.inner.param(key)
    }

    fn __str__(&self) -> &str {
        &self.inner.raw
    }

    fn __repr__(&self) -> String {
        format!("StreamName({:?})", self.inner.raw)
    }
}

/// The parameters of `connect`.
#[pyclass(frozen, module = "rtmp_rs._native")]
pub(crate) struct ConnectParams {
    session: embed::Session,
}

impl ConnectParams {
    fn params(&self) -> &rtmp_core::proto::message::ConnectParams {
        self.session.connect().expect("built only for sessions with connect params")
    }
}

#[pymethods]
impl ConnectParams {
    /// The application, without query and trailing `/`.
    #[getter]
    fn app(&self) -> &str {
        &self.params().app
    }

    /// The URL the client connected to, as sent.
    #[getter]
    fn tc_url(&self) -> Option<&str> {
        self.params().tc_url.as_deref()
    }

    /// The client's version string.
    #[getter]
    fn flash_ver(&self) -> Option<&str> {
        self.params().flash_ver.as_deref()
    }

    /// The SWF URL, if sent.
    #[getter]
    fn swf_url(&self) -> Option<&str> {
        self.params().swf_url.as_deref()
    }

    /// The page URL, if sent.
    #[getter]
    fn page_url(&self) -> Option<&str> {
        self.params().page_url.as_deref()
    }

    /// 0 for AMF0, 3 for AMF3.
    #[getter]
    fn object_encoding(&self) -> f64 {
        self.params().object_encoding
    }

    /// Query parameters from the app or the tcUrl (the first value of each key).
    #[getter]
    fn query<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        query_dict(py, &self.params().query)
    }

    /// Enhanced RTMP `fourCcList`: the codecs the client can receive.
    #[getter]
    fn fourcc_list(&self) -> Vec<String> {
        self.params().fourcc_list.clone()
    }

    /// Enhanced RTMP `capsEx` bits.
    #[getter]
    fn caps_ex(&self) -> u32 {
        self.params().caps_ex.0
    }

    /// The whole command object as received.
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        amf::object_to_py(py, &self.params().properties)
    }

    /// The first value of query parameter `key`.
    fn query_param(&self, key: &str) -> Option<&str> {
        self.session.query_param(key)
    }

    fn __repr__(&self) -> String {
        format!("ConnectParams(app={:?}, tc_url={:?})", self.app(), self.tc_url())
    }
}

/// One connection, as it was when the event was raised.
#[pyclass(frozen, module = "rtmp_rs._native")]
pub(crate) struct Session {
    inner: embed::Session,
}

impl Session {
    pub(crate) fn new(inner: embed::Session) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl Session {
    /// Unique per server run; 0 before the session exists (`on_connection`).
    #[getter]
    fn id(&self) -> u64 {
        self.inner.id()
    }

    /// The client's address, `"127.0.0.1:50000"` or `"[::1]:50000"`.
    #[getter]
    fn peer_addr(&self) -> &str {
        self.inner.peer_addr_text()
    }

    /// The connect app; `""` before connect.
    #[getter]
    fn app(&self) -> &str {
        self.inner.app()
    }

    /// The connect `tcUrl`, if sent.
    #[getter]
    fn tc_url(&self) -> Option<&str> {
        self.inner.tc_url()
    }

    /// The connect `flashVer`, if sent.
    #[getter]
    fn flash_ver(&self) -> Option<&str> {
        self.inner.flash_ver()
    }

    /// The connect parameters, once connect arrived.
    #[getter]
    fn connect(&self) -> Option<ConnectParams> {
        self.inner.connect().map(|_| ConnectParams { session: self.inner.clone() })
    }

    /// The first value of `key` in the connect query.
    fn query_param(&self, key: &str) -> Option<&str> {
        self.inner.query_param(key)
    }

    /// The user name the connection logged in as (`publish_auth="adobe"`, the password from
    /// `on_credentials`); None when it did not log in.
    #[getter]
    fn user(&self) -> Option<&str> {
        self.inner.user()
    }

    fn __repr__(&self) -> String {
        match self.user() {
            Some(user) => format!(
                "Session(id={}, peer_addr={:?}, app={:?}, user={:?})",
                self.id(),
                self.peer_addr(),
                self.app(),
                user
            ),
            None => {
                format!("Session(id={}, peer_addr={:?}, app={:?})", self.id(), self.peer_addr(), self.app())
            }
        }
    }
}

/// The parameters of `publish`.
#[pyclass(frozen, module = "rtmp_rs._native")]
pub(crate) struct PublishParams {
    inner: CorePublish,
}

impl PublishParams {
    pub(crate) fn new(inner: CorePublish) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl PublishParams {
    /// The stream key (app and name without query).
    #[getter]
    fn key(&self) -> StreamKey {
        StreamKey::from_core(&self.inner.key)
    }

    /// The app.
    #[getter]
    fn app(&self) -> &str {
        &self.inner.key.app
    }

    /// The stream name without its query.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.key.name
    }

    /// The name as sent, with its query.
    #[getter]
    fn stream_name(&self) -> StreamName {
        StreamName::from_core(&self.inner.stream_name)
    }

    /// The stream name's query parameters.
    #[getter]
    fn query<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        query_dict(py, &self.inner.stream_name.query)
    }

    /// `live`, `record` or `append`.
    #[getter]
    fn publish_type(&self) -> &str {
        &self.inner.publish_type
    }

    /// The message stream id.
    #[getter]
    fn stream_id(&self) -> u32 {
        self.inner.stream_id
    }

    /// The first value of query parameter `key` of the stream name.
    fn query_param(&self, key: &str) -> Option<&str> {
        self.inner.stream_name.param(key)
    }

    fn __repr__(&self) -> String {
        format!("PublishParams(key={:?}, publish_type={:?})", self.inner.key.to_string(), self.publish_type())
    }
}

/// The parameters of `play`.
#[pyclass(frozen, module = "rtmp_rs._native")]
pub(crate) struct PlayParams {
    inner: CorePlay,
}

impl PlayParams {
    pub(crate) fn new(inner: CorePlay) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl PlayParams {
    /// The stream key (app and name without query).
    #[getter]
    fn key(&self) -> StreamKey {
        StreamKey::from_core(&self.inner.key)
    }

    /// The app.
    #[getter]
    fn app(&self) -> &str {
        &self.inner.key.app
    }

    /// The stream name without its query.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.key.name
    }

    /// The name as sent, with its query.
    #[getter]
    fn stream_name(&self) -> StreamName {
        StreamName::from_core(&self.inner.stream_name)
    }

    /// The stream name's query parameters.
    #[getter]
    fn query<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        query_dict(py, &self.inner.stream_name.query)
    }

    /// Start position (seconds; -2 live or recorded, -1 live only).
    #[getter]
    fn start(&self) -> f64 {
        self.inner.start
    }

    /// Duration (seconds; -1 until the end).
    #[getter]
    fn duration(&self) -> f64 {
        self.inner.duration
    }

    /// Whether to flush earlier playlists.
    #[getter]
    fn reset(&self) -> bool {
        self.inner.reset
    }

    /// The message stream id.
    #[getter]
    fn stream_id(&self) -> u32 {
        self.inner.stream_id
    }

    /// The first value of query parameter `key` of the stream name.
    fn query_param(&self, key: &str) -> Option<&str> {
        self.inner.stream_name.param(key)
    }

    fn __repr__(&self) -> String {
        format!("PlayParams(key={:?})", self.inner.key.to_string())
    }
}

/// Why a connection ended: `kind` is one of `client_closed`, `timeout`, `protocol`,
/// `rejected`, `replaced`, `shutdown`, `io`; `message` the details; `str()` both.
#[pyclass(frozen, module = "rtmp_rs._native")]
pub(crate) struct DisconnectReason {
    inner: CoreReason,
}

impl DisconnectReason {
    pub(crate) fn new(inner: CoreReason) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl DisconnectReason {
    /// The kind of reason.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.inner {
            CoreReason::ClientClosed => "client_closed",
            CoreReason::Timeout(_) => "timeout",
            CoreReason::Protocol(_) => "protocol",
            CoreReason::Rejected(_) => "rejected",
            CoreReason::Replaced => "replaced",
            CoreReason::Shutdown => "shutdown",
            CoreReason::Io(_) => "io",
        }
    }

    /// The details: what timed out, the protocol error, the reject reason, the socket error.
    #[getter]
    fn message(&self) -> String {
        match &self.inner {
            CoreReason::Timeout(what) => (*what).to_owned(),
            CoreReason::Protocol(text) | CoreReason::Rejected(text) | CoreReason::Io(text) => text.clone(),
            _ => String::new(),
        }
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self) -> String {
        format!("DisconnectReason(kind={:?}, message={:?})", self.kind(), self.message())
    }
}

/// A decision waiting for an answer (connection, connect, publish, play, locate, credentials).
/// The package answers it from the hook's result; answer it yourself only when you took it from
/// a raw event.
#[pyclass(frozen, module = "rtmp_rs._native")]
pub(crate) struct Request {
    inner: embed::Request,
}

impl Request {
    pub(crate) fn new(inner: embed::Request) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl Request {
    /// Unique per server run, counting from 1.
    #[getter]
    fn id(&self) -> u64 {
        self.inner.id()
    }

    /// `connection`, `connect`, `publish`, `play`, `locate` or `credentials`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.inner.kind() {
            RequestKind::Connection => "connection",
            RequestKind::Connect => "connect",
            RequestKind::Publish => "publish",
            RequestKind::Play => "play",
            RequestKind::Locate => "locate",
            RequestKind::Credentials => "credentials",
        }
    }

    /// Whether the server still waits for the answer.
    #[getter]
    fn is_pending(&self) -> bool {
        self.inner.is_pending()
    }

    /// Accepts. Returns False when the request was answered before or expired.
    fn accept(&self) -> bool {
        self.inner.accept().is_ok()
    }

    /// Accepts a play with `latency_budget` (seconds; None: no limit but the queue's length) as
    /// its player's budget instead of the server's. Returns False when the request was answered
    /// before or expired; raises ValueError for a negative or non-finite budget.
    fn accept_with_latency_budget(&self, latency_budget: Option<f64>) -> PyResult<bool> {
        let budget = latency_budget
            .map(|secs| {
                std::time::Duration::try_from_secs_f64(secs)
                    .map_err(|_| PyValueError::new_err(format!("latency_budget: {secs} is not a duration")))
            })
            .transpose()?;
        Ok(self.inner.accept_with_latency_budget(budget).is_ok())
    }

    /// Accepts a publish and forwards the stream to `urls` too (RTMP or RTMPS), beside the
    /// server's `forward` rules; other requests just accept. Returns False when the request was
    /// answered before or expired; raises `UrlError` (answering nothing) for a URL that is not
    /// RTMP.
    fn accept_with_forward(&self, urls: Vec<String>) -> PyResult<bool> {
        answered(self.inner.accept_with_forward(urls))
    }

    /// Answers a locate with the upstream URLs to pull from, tried in order (empty: the server's
    /// `pull` rules); other requests: accepts when `urls` is not empty, rejects otherwise.
    /// Returns False when the request was answered before or expired; raises `UrlError`
    /// (answering nothing) for a URL that is not RTMP.
    fn locate(&self, urls: Vec<String>) -> PyResult<bool> {
        answered(self.inner.locate(urls))
    }

    /// Answers a credentials request with the user's password (None: no such user); other
    /// requests: accepts when `password` is given, rejects otherwise. Returns False when the
    /// request was answered before or expired.
    #[pyo3(signature = (password))]
    fn credentials(&self, password: Option<String>) -> bool {
        self.inner.credentials(password).is_ok()
    }

    /// Rejects with `reason` (the status description the client sees; a locate rejected names
    /// no upstream: the server's `pull` rules apply; a credentials request rejected answers "no
    /// such user"). Returns False when the request was answered before or expired.
    fn reject(&self, reason: &str) -> bool {
        self.inner.reject(reason).is_ok()
    }

    fn __repr__(&self) -> String {
        format!("Request(id={}, kind={:?})", self.id(), self.kind())
    }
}

/// A data message other than metadata (`onTextData`, `onCuePoint`, `onCaption`, ...), as
/// `on_data` gets it: its name and its AMF0 values as Python values (numbers float, objects and
/// ECMA arrays dict, strict arrays list, null and undefined None).
#[pyclass(frozen, get_all, module = "rtmp_rs._native")]
pub(crate) struct DataMessage {
    /// The handler name (`"onTextData"`); `@setDataFrame` is taken off already.
    name: String,
    /// The values after the name (`onTextData`: one dict, `{"type": "Text", "text": ...}`).
    values: Py<PyList>,
}

impl DataMessage {
    pub(crate) fn from_core(py: Python<'_>, data: &rtmp_core::proto::message::DataMessage) -> PyResult<Self> {
        let values = PyList::empty(py);
        for value in &data.values {
            values.append(crate::amf::value_to_py(py, value)?)?;
        }
        Ok(Self { name: data.name.clone(), values: values.unbind() })
    }
}

#[pymethods]
impl DataMessage {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("DataMessage(name={:?}, values={})", self.name, self.values.bind(py).repr()?))
    }
}

/// One media message: audio, video, data or metadata. The payload is shared with the library
/// (a read-only memoryview, no copy).
#[pyclass(frozen, module = "rtmp_rs._native")]
pub(crate) struct Frame {
    pub(crate) inner: Arc<embed::Frame>,
}

impl Frame {
    pub(crate) fn new(inner: Arc<embed::Frame>) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl Frame {
    /// `audio`, `video`, `data` or `metadata`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.inner.kind() {
            FrameKind::Audio => "audio",
            FrameKind::Video => "video",
            FrameKind::Data => "data",
            FrameKind::Metadata => "metadata",
        }
    }

    /// Timestamp in ms.
    #[getter]
    fn timestamp(&self) -> u32 {
        self.inner.timestamp()
    }

    /// The codec: a FourCC where there is one (`avc1`, `hvc1`, `av01`, `mp4a`, `Opus`, …),
    /// else a legacy name (`h263`, `vp6`, `pcm`, …); `""` when unknown or not media.
    #[getter]
    fn codec(&self) -> &str {
        self.inner.codec()
    }

    /// A video keyframe with a picture (not a sequence header or command frame).
    #[getter]
    fn is_keyframe(&self) -> bool {
        self.inner.is_keyframe()
    }

    /// A decoder configuration (AVC/HEVC/AV1 sequence header, AAC AudioSpecificConfig).
    #[getter]
    fn is_sequence_header(&self) -> bool {
        self.inner.is_sequence_header()
    }

    /// The composition time offset of a video frame in ms (0 otherwise).
    #[getter]
    fn composition_time(&self) -> i32 {
        self.inner.composition_time()
    }

    /// The Enhanced RTMP track id of the (first) track; 0 for single-track media and data.
    #[getter]
    fn track(&self) -> u8 {
        match (self.inner.video_tag(), self.inner.audio_tag()) {
            (Some(v), _) => v.track_id(),
            (_, Some(a)) => a.track_id(),
            _ => 0,
        }
    }

    /// The number of tracks (multitrack media); 1 for single-track media, 0 for data.
    #[getter]
    fn track_count(&self) -> usize {
        match (self.inner.video_tag(), self.inner.audio_tag()) {
            (Some(v), _) => v.track_count(),
            (_, Some(a)) => a.track_count(),
            _ => 0,
        }
    }

    /// The stream's app (frames raised by a server; `""` for client frames).
    #[getter]
    fn app(&self) -> &str {
        self.inner.app()
    }

    /// The stream's name (frames raised by a server; `""` for client frames).
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// The stream key of a frame raised by a server, else None.
    #[getter]
    fn key(&self) -> Option<StreamKey> {
        (!self.inner.app().is_empty() || !self.inner.name().is_empty())
            .then(|| StreamKey { app: self.inner.app().to_owned(), name: self.inner.name().to_owned() })
    }

    /// The whole message body (FLV tag body for audio and video, AMF0 for data) as a read-only
    /// memoryview over the library's memory: no copy.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        payload::memoryview(py, &self.inner, self.inner.payload())
    }

    /// The codec data of the first track (after the FLV / Enhanced RTMP header), read-only, no
    /// copy; the whole payload for data frames and media that did not parse.
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        payload::memoryview(py, &self.inner, self.inner.body())
    }

    /// The metadata of a metadata frame as a dict, else None.
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.inner.metadata().map(|m| amf::object_to_py(py, m)).transpose()
    }

    /// The handler name of a data or metadata frame (`onMetaData`, `onTextData`, …), else None.
    #[getter]
    fn data_name(&self) -> Option<&str> {
        self.inner.data_message().map(|d| d.name.as_str())
    }

    /// The values of a data or metadata frame, else None.
    #[getter]
    fn data_values<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        let Some(message) = self.inner.data_message() else { return Ok(None) };
        let list = PyList::empty(py);
        for value in &message.values {
            list.append(amf::value_to_py(py, value)?)?;
        }
        Ok(Some(list))
    }

    fn __len__(&self) -> usize {
        self.inner.payload().len()
    }

    fn __bytes__(&self) -> Vec<u8> {
        self.inner.payload().to_vec()
    }

    fn __repr__(&self) -> String {
        format!(
            "Frame(kind={:?}, timestamp={}, codec={:?}, is_keyframe={}, len={})",
            self.kind(),
            self.timestamp(),
            self.codec(),
            self.is_keyframe(),
            self.inner.payload().len()
        )
    }
}

/// One player of a stream.
#[pyclass(frozen, get_all, module = "rtmp_rs._native")]
pub(crate) struct PlayerStats {
    /// The player's session id.
    session_id: u64,
    /// The player's address.
    peer_addr: String,
    /// Media bytes sent to it.
    bytes_out: u64,
    /// Video messages dropped for it (slow reader).
    dropped_video: u64,
    /// Audio messages dropped for it (its link could not carry audio alone).
    dropped_audio: u64,
    /// Gaps in its sound: runs of dropped audio.
    audio_gaps: u64,
    /// How far behind live it is now, in seconds.
    behind_live: f64,
    /// Messages waiting in its queue now.
    queue_depth: usize,
    /// `rtmp` (a network player), `local` (a `Subscription`, whose `peer_addr` is `0.0.0.0:0`)
    /// or `forward` (a forward of the stream to another server).
    kind: &'static str,
}

#[pymethods]
impl PlayerStats {
    fn __repr__(&self) -> String {
        format!(
            "PlayerStats(session_id={}, kind={:?}, peer_addr={:?})",
            self.session_id, self.kind, self.peer_addr
        )
    }
}

/// An answer's outcome as the Python methods return it: whether it was taken, or `UrlError`.
fn answered(result: Result<(), embed::AnswerError>) -> PyResult<bool> {
    match result {
        Err(embed::AnswerError::BadUrl(why)) => Err(crate::errors::UrlError::new_err(why)),
        result => Ok(result.is_ok()),
    }
}

/// One forward of a stream to another server (a `forward` rule, an `Accept(forward=...)` of
/// `on_publish`, or `Server.add_forward`), as `StreamStats.forwards` and `on_forward` see it.
#[pyclass(frozen, get_all, module = "rtmp_rs._native")]
pub(crate) struct ForwardStats {
    /// The destination URL.
    url: String,
    /// `connecting`, `live` (publishing to it) or `backoff` (waiting to try again).
    state: &'static str,
    /// Media payload bytes sent to the destination, over all its connections.
    bytes_out: u64,
    /// Connections lost or refused so far.
    reconnects: u64,
    /// Why the last connection failed or ended, if one did.
    last_error: Option<String>,
    /// Video frames dropped because the destination did not keep up.
    dropped_video: u64,
}

impl ForwardStats {
    pub(crate) fn from_core(f: &CoreForward) -> Self {
        Self {
            url: f.url.clone(),
            state: f.state.as_str(),
            bytes_out: f.bytes_out,
            reconnects: f.reconnects,
            last_error: f.last_error.clone(),
            dropped_video: f.dropped_video,
        }
    }
}

#[pymethods]
impl ForwardStats {
    fn __repr__(&self) -> String {
        format!(
            "ForwardStats(url={:?}, state={:?}, bytes_out={}, reconnects={})",
            self.url, self.state, self.bytes_out, self.reconnects
        )
    }
}

/// The pull of a stream from an upstream server (a `pull` rule or `on_locate`), as
/// `StreamStats.pull` and `on_pull` see it.
#[pyclass(frozen, get_all, module = "rtmp_rs._native")]
pub(crate) struct PullStats {
    /// The upstream URL it uses or tries now.
    url: String,
    /// `connecting` (or waiting for the first media), `live` or `backoff`.
    state: &'static str,
    /// Media payload bytes received from upstreams.
    bytes_in: u64,
    /// Upstream connections that failed or ended so far.
    reconnects: u64,
    /// Why the last one failed or ended, if one did.
    last_error: Option<String>,
}

impl PullStats {
    pub(crate) fn from_core(p: &CorePull) -> Self {
        Self {
            url: p.url.clone(),
            state: p.state.as_str(),
            bytes_in: p.bytes_in,
            reconnects: p.reconnects,
            last_error: p.last_error.clone(),
        }
    }
}

#[pymethods]
impl PullStats {
    fn __repr__(&self) -> String {
        format!(
            "PullStats(url={:?}, state={:?}, bytes_in={}, reconnects={})",
            self.url, self.state, self.bytes_in, self.reconnects
        )
    }
}

/// One stream (with a publisher or players).
#[pyclass(frozen, get_all, module = "rtmp_rs._native")]
pub(crate) struct StreamStats {
    /// The stream key.
    key: StreamKey,
    /// The publisher's address; None when nobody publishes (`0.0.0.0:0` for a local one).
    publisher_addr: Option<String>,
    /// `rtmp`, `local` (a `LocalPublisher`) or `pull` (pulled from an upstream server); None
    /// when nobody publishes.
    publisher_kind: Option<&'static str>,
    /// RFC 6381 codec string of the video (`avc1.64001f`), once known.
    video_codec: Option<String>,
    /// Codec string of the audio (`mp4a.40.2`), once known.
    audio_codec: Option<String>,
    /// Video width in pixels, once known.
    width: Option<u32>,
    /// Video height in pixels, once known.
    height: Option<u32>,
    /// Bytes received from the current publisher.
    bytes_in: u64,
    /// Average incoming bitrate of the current publisher, bits per second.
    bitrate_in: u64,
    /// Seconds since the current publisher started.
    uptime: f64,
    /// Times its publisher vanished and its players were held for a reconnect.
    interruptions: u64,
    /// Times a republish within the grace continued its players' playback.
    resumptions: u64,
    /// The players (network players, local subscribers, forwards: see `PlayerStats.kind`).
    players: Vec<Py<PlayerStats>>,
    /// Where it is forwarded to.
    forwards: Vec<Py<ForwardStats>>,
    /// Its pull from an upstream, while one runs.
    pull: Option<Py<PullStats>>,
}

#[pymethods]
impl StreamStats {
    fn __repr__(&self) -> String {
        format!("StreamStats(key='{}/{}', players={})", self.key.app, self.key.name, self.players.len())
    }
}

/// A live stream, as `Server.streams()` lists it.
#[pyclass(frozen, get_all, module = "rtmp_rs._native")]
pub(crate) struct StreamInfo {
    /// The stream key.
    key: StreamKey,
    /// Who publishes it: `rtmp` (a connection), `local` (a `LocalPublisher`) or `pull`.
    publisher_kind: &'static str,
    /// RFC 6381 codec string of the video (`avc1.64001f`), once its sequence header arrived.
    video_codec: Option<String>,
    /// Codec string of the audio (`mp4a.40.2`), once known.
    audio_codec: Option<String>,
    /// Network (RTMP) players.
    players: usize,
    /// Local subscribers (`Subscription`s).
    subscribers: usize,
    /// Destinations it is forwarded to.
    forwards: usize,
}

impl StreamInfo {
    pub(crate) fn from_core(info: &CoreInfo) -> Self {
        Self {
            key: StreamKey::from_core(&info.key),
            publisher_kind: info.publisher.as_str(),
            video_codec: info.video_codec.clone(),
            audio_codec: info.audio_codec.clone(),
            players: info.players,
            subscribers: info.subscribers,
            forwards: info.forwards,
        }
    }
}

#[pymethods]
impl StreamInfo {
    fn __repr__(&self) -> String {
        format!(
            "StreamInfo(key='{}/{}', publisher_kind={:?}, players={}, subscribers={}, forwards={})",
            self.key.app, self.key.name, self.publisher_kind, self.players, self.subscribers, self.forwards
        )
    }
}

/// A statistics snapshot of a server.
#[pyclass(frozen, get_all, module = "rtmp_rs._native")]
pub(crate) struct ServerStats {
    /// Open connections.
    connections: usize,
    /// Connections accepted since start.
    total_connections: u64,
    /// Connections refused because of `max_connections`.
    refused_connections: u64,
    /// Bytes received on all connections.
    bytes_in: u64,
    /// Bytes sent on all connections.
    bytes_out: u64,
    /// Streams with a publisher or players.
    streams: Vec<Py<StreamStats>>,
}

#[pymethods]
impl ServerStats {
    fn __repr__(&self) -> String {
        format!(
            "ServerStats(connections={}, total_connections={}, streams={})",
            self.connections,
            self.total_connections,
            self.streams.len()
        )
    }
}

impl ServerStats {
    pub(crate) fn from_core(py: Python<'_>, stats: &CoreStats) -> PyResult<Self> {
        let mut streams = Vec::with_capacity(stats.streams.len());
        for s in &stats.streams {
            let mut players = Vec::with_capacity(s.players.len());
            for p in &s.players {
                players.push(Py::new(
                    py,
                    PlayerStats {
                        session_id: p.session_id,
                        peer_addr: p.peer_addr.to_string(),
                        bytes_out: p.bytes_out,
                        dropped_video: p.dropped_video,
                        dropped_audio: p.dropped_audio,
                        audio_gaps: p.audio_gaps,
                        behind_live: p.behind_live.as_secs_f64(),
                        queue_depth: p.queue_depth,
                        kind: p.kind.as_str(),
                    },
                )?);
            }
            streams.push(Py::new(
                py,
                StreamStats {
                    key: StreamKey::from_core(&s.key),
                    publisher_addr: s.publisher.map(|a| a.to_string()),
                    publisher_kind: s.publisher_kind.map(|k| k.as_str()),
                    video_codec: s.video_codec.clone(),
                    audio_codec: s.audio_codec.clone(),
                    width: s.width,
                    height: s.height,
                    bytes_in: s.bytes_in,
                    bitrate_in: s.bitrate_in,
                    uptime: s.uptime.as_secs_f64(),
                    interruptions: s.interruptions,
                    resumptions: s.resumptions,
                    players,
                    forwards: s
                        .forwards
                        .iter()
                        .map(|f| Py::new(py, ForwardStats::from_core(f)))
                        .collect::<PyResult<_>>()?,
                    pull: s.pull.as_ref().map(|p| Py::new(py, PullStats::from_core(p))).transpose()?,
                },
            )?);
        }
        Ok(Self {
            connections: stats.connections,
            total_connections: stats.total_connections,
            refused_connections: stats.refused_connections,
            bytes_in: stats.bytes_in,
            bytes_out: stats.bytes_out,
            streams,
        })
    }
}

/// A player event that is not a frame: `kind` is `stream_begin`, `stream_end`, `status` (with
/// `level`, `code`, `description`) or `reconnected`.
#[pyclass(frozen, get_all, module = "rtmp_rs._native")]
pub(crate) struct PlayerEvent {
    /// The kind of event.
    kind: &'static str,
    /// `status`, `warning` or `error` for status events, else `""`.
    level: String,
    /// The status code for status events, else `""`.
    code: String,
    /// The status description for status events, else `""`.
    description: String,
}

impl PlayerEvent {
    pub(crate) fn simple(kind: &'static str) -> Self {
        Self { kind, level: String::new(), code: String::new(), description: String::new() }
    }

    pub(crate) fn status(level: String, code: String, description: String) -> Self {
        Self { kind: "status", level, code, description }
    }
}

#[pymethods]
impl PlayerEvent {
    fn __repr__(&self) -> String {
        if self.kind == "status" {
            format!("PlayerEvent(kind='status', level={:?}, code={:?})", self.level, self.code)
        } else {
            format!("PlayerEvent(kind={:?})", self.kind)
        }
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<StreamKey>()?;
    m.add_class::<StreamName>()?;
    m.add_class::<ConnectParams>()?;
    m.add_class::<Session>()?;
    m.add_class::<PublishParams>()?;
    m.add_class::<PlayParams>()?;
    m.add_class::<DisconnectReason>()?;
    m.add_class::<Request>()?;
    m.add_class::<Frame>()?;
    m.add_class::<DataMessage>()?;
    m.add_class::<PlayerStats>()?;
    m.add_class::<ForwardStats>()?;
    m.add_class::<PullStats>()?;
    m.add_class::<StreamStats>()?;
    m.add_class::<StreamInfo>()?;
    m.add_class::<ServerStats>()?;
    m.add_class::<PlayerEvent>()?;
    Ok(())
}

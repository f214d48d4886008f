//! `onStatus` replies and the status codes clients act on.

use super::Command;
use crate::proto::amf::{Amf0Value, AmfObject};

/// `NetStream.Publish.Start`: publishing may begin.
pub const PUBLISH_START: &str = "NetStream.Publish.Start";
/// `NetStream.Publish.BadName`: the stream is already being published.
pub const PUBLISH_BAD_NAME: &str = "NetStream.Publish.BadName";
/// `NetStream.Publish.Denied`: the handler refused publishing.
pub const PUBLISH_DENIED: &str = "NetStream.Publish.Denied";
/// `NetStream.Unpublish.Success`: publishing stopped.
pub const UNPUBLISH_SUCCESS: &str = "NetStream.Unpublish.Success";
/// `NetStream.Play.Start`: playback begins.
pub const PLAY_START: &str = "NetStream.Play.Start";
/// `NetStream.Play.Reset`: the playlist was reset.
pub const PLAY_RESET: &str = "NetStream.Play.Reset";
/// `NetStream.Play.Stop`: playback stopped.
pub const PLAY_STOP: &str = "NetStream.Play.Stop";
/// `NetStream.Play.Failed`: playback refused.
pub const PLAY_FAILED: &str = "NetStream.Play.Failed";
/// `NetStream.Play.StreamNotFound`: nothing is published under that name.
pub const PLAY_STREAM_NOT_FOUND: &str = "NetStream.Play.StreamNotFound";
/// `NetStream.Play.PublishNotify`: the publisher (re)started.
pub const PLAY_PUBLISH_NOTIFY: &str = "NetStream.Play.PublishNotify";
/// `NetStream.Play.UnpublishNotify`: the publisher stopped.
pub const PLAY_UNPUBLISH_NOTIFY: &str = "NetStream.Play.UnpublishNotify";
/// `NetStream.Pause.Notify`: the stream is paused.
pub const PAUSE_NOTIFY: &str = "NetStream.Pause.Notify";
/// `NetStream.Unpause.Notify`: the stream resumed.
pub const UNPAUSE_NOTIFY: &str = "NetStream.Unpause.Notify";
/// `NetStream.Seek.Notify`: the seek was done.
pub const SEEK_NOTIFY: &str = "NetStream.Seek.Notify";
/// `NetStream.Data.Start`: data messages follow.
pub const DATA_START: &str = "NetStream.Data.Start";
/// `NetStream.Failed`: a generic stream error.
pub const STREAM_FAILED: &str = "NetStream.Failed";
/// `NetConnection.Connect.Success`: connected.
pub const CONNECT_SUCCESS: &str = "NetConnection.Connect.Success";
/// `NetConnection.Connect.Rejected`: the handler refused the connection.
pub const CONNECT_REJECTED: &str = "NetConnection.Connect.Rejected";
/// `NetConnection.Connect.Closed`: the server closes the connection.
pub const CONNECT_CLOSED: &str = "NetConnection.Connect.Closed";
/// `NetConnection.Connect.AppShutdown`: the server is shutting down.
pub const CONNECT_APP_SHUTDOWN: &str = "NetConnection.Connect.AppShutdown";
/// `NetConnection.Connect.ReconnectRequest` (E-RTMP): reconnect, optionally to another tcUrl.
pub const CONNECT_RECONNECT_REQUEST: &str = "NetConnection.Connect.ReconnectRequest";
/// `NetConnection.Call.Failed`: an unknown or failed call.
pub const CALL_FAILED: &str = "NetConnection.Call.Failed";

/// How serious a status is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusLevel {
    /// Informational.
    Status,
    /// Something to note.
    Warning,
    /// A failure; clients treat it as fatal.
    Error,
}

impl StatusLevel {
    /// The wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }

    /// The level for a status code: everything that refuses or fails is an error.
    pub fn for_code(code: &str) -> Self {
        const ERRORS: [&str; 8] = [
            PUBLISH_BAD_NAME,
            PUBLISH_DENIED,
            PLAY_FAILED,
            PLAY_STREAM_NOT_FOUND,
            STREAM_FAILED,
            CONNECT_REJECTED,
            CALL_FAILED,
            "NetConnection.Connect.Failed",
        ];
        if ERRORS.contains(&code) { Self::Error } else { Self::Status }
    }
}

/// The info object `{level, code, description}` that onStatus, `_result` and `_error` carry.
pub fn info_object(level: StatusLevel, code: &str, description: &str) -> AmfObject {
    [("level", level.as_str()), ("code", code), ("description", description)].into_iter().collect()
}

/// `onStatus(0, null, {level, code, description})`, sent on the stream it concerns.
pub fn on_status(code: &str, description: &str) -> Command {
    Command::new(
        "onStatus",
        0.0,
        vec![Amf0Value::Object(info_object(StatusLevel::for_code(code), code, description))],
    )
}

/// Reads `(level, code, description)` from an onStatus, `_result` or `_error` command.
pub fn read_info(command: &Command) -> Option<(&str, &str, &str)> {
    let info = command.arguments.iter().find_map(Amf0Value::as_object)?;
    Some((
        info.get_str("level").unwrap_or(""),
        info.get_str("code")?,
        info.get_str("description").unwrap_or(""),
    ))
}

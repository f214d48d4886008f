//! The `connect` command's parameters, including the Enhanced RTMP capability properties.

use super::{Command, parse_query, split_query};
use crate::proto::amf::{Amf0Value, AmfObject};

/// E-RTMP `capsEx` flags: extended capabilities a peer supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapsEx(pub u32);

impl CapsEx {
    /// Reconnect on `NetConnection.Connect.ReconnectRequest`.
    pub const RECONNECT: u32 = 0x01;
    /// Multitrack audio and video.
    pub const MULTITRACK: u32 = 0x02;
    /// ModEx packets.
    pub const MODEX: u32 = 0x04;
    /// Nanosecond timestamp offsets (a ModEx type).
    pub const TIMESTAMP_NANO_OFFSET: u32 = 0x08;

    /// True when every bit of `flag` is set.
    pub fn has(self, flag: u32) -> bool {
        self.0 & flag == flag
    }
}

/// E-RTMP FourCC info mask: what a peer can do with a codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FourCcInfo(pub u32);

impl FourCcInfo {
    /// Can decode the codec.
    pub const CAN_DECODE: u32 = 0x01;
    /// Can encode the codec.
    pub const CAN_ENCODE: u32 = 0x02;
    /// Can forward the codec without decoding.
    pub const CAN_FORWARD: u32 = 0x04;
}

/// What a client sent in `connect`, read leniently: every field optional but `app`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConnectParams {
    /// The application, without query and trailing `/`.
    pub app: String,
    /// The URL the client connected to, as sent.
    pub tc_url: Option<String>,
    /// Query parameters from the app (OBS puts them there) or else from the tcUrl.
    pub query: Vec<(String, String)>,
    /// The client's version string (`FMLE/3.0 (compatible; …)` for OBS and ffmpeg publishing).
    pub flash_ver: Option<String>,
    /// The SWF URL, if sent.
    pub swf_url: Option<String>,
    /// The page URL, if sent.
    pub page_url: Option<String>,
    /// 0 for AMF0, 3 for AMF3; echoed in the reply.
    pub object_encoding: f64,
    /// E-RTMP `fourCcList`: codecs the client can receive (`"*"` = any).
    pub fourcc_list: Vec<String>,
    /// E-RTMP `videoFourCcInfoMap`.
    pub video_fourcc_info_map: Vec<(String, FourCcInfo)>,
    /// E-RTMP `audioFourCcInfoMap`.
    pub audio_fourcc_info_map: Vec<(String, FourCcInfo)>,
    /// E-RTMP `capsEx`.
    pub caps_ex: CapsEx,
    /// The whole command object as received.
    pub properties: AmfObject,
    /// Optional arguments after the command object.
    pub arguments: Vec<Amf0Value>,
}

fn fourcc_map(object: Option<&AmfObject>) -> Vec<(String, FourCcInfo)> {
    object
        .map(|o| {
            o.iter().map(|(k, v)| (k.to_owned(), FourCcInfo(v.as_number().unwrap_or(0.0) as u32))).collect()
        })
        .unwrap_or_default()
}

impl ConnectParams {
    /// Reads the parameters of a `connect` command.
    pub fn from_command(command: &Command) -> Self {
        let properties = command.command_object.as_object().cloned().unwrap_or_default();
        let text = |key: &str| properties.get_str(key).map(str::to_owned);
        let raw_app = properties.get_str("app").unwrap_or("");
        let (app, app_query) = split_query(raw_app);
        let tc_url = text("tcUrl");
        let query = match (app_query, tc_url.as_deref().and_then(|u| split_query(u).1)) {
            (Some(q), _) | (None, Some(q)) => parse_query(q),
            (None, None) => Vec::new(),
        };
        let fourcc_list = match properties.get("fourCcList") {
            Some(Amf0Value::StrictArray(items)) => {
                items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
            }
            _ => Vec::new(),
        };
        Self {
            app: app.trim_end_matches('/').to_owned(),
            tc_url,
            query,
            flash_ver: text("flashVer").or_else(|| text("flashver")),
            swf_url: text("swfUrl"),
            page_url: text("pageUrl"),
            object_encoding: properties.get_number("objectEncoding").unwrap_or(0.0),
            video_fourcc_info_map: fourcc_map(
                properties.get("videoFourCcInfoMap").and_then(Amf0Value::as_object),
            ),
            audio_fourcc_info_map: fourcc_map(
                properties.get("audioFourCcInfoMap").and_then(Amf0Value::as_object),
            ),
            caps_ex: CapsEx(properties.get_number("capsEx").unwrap_or(0.0) as u32),
            fourcc_list,
            arguments: command.arguments.clone(),
            properties,
        }
    }

    /// The first value of query parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// True when the client announced any Enhanced RTMP capability.
    pub fn is_enhanced(&self) -> bool {
        !self.fourcc_list.is_empty()
            || !self.video_fourcc_info_map.is_empty()
            || !self.audio_fourcc_info_map.is_empty()
            || self.caps_ex.0 != 0
    }

    /// The connect command a client sends: the stored properties, or if there are none, the
    /// fields above in the order ffmpeg sends them.
    pub fn to_command(&self, transaction_id: f64) -> Command {
        let mut object = self.properties.clone();
        if object.is_empty() {
            object.insert("app", self.app.as_str());
            object.insert("type", "nonprivate");
            object.insert("flashVer", self.flash_ver.as_deref().unwrap_or("FMLE/3.0 (compatible; rtmp-rs)"));
            if let Some(tc_url) = &self.tc_url {
                object.insert("tcUrl", tc_url.as_str());
            }
            if !self.fourcc_list.is_empty() {
                let list = self.fourcc_list.iter().map(|s| Amf0Value::from(s.as_str())).collect();
                object.insert("fourCcList", Amf0Value::StrictArray(list));
            }
            let map = |m: &[(String, FourCcInfo)]| {
                Amf0Value::Object(m.iter().map(|(k, v)| (k.as_str(), Amf0Value::from(v.0))).collect())
            };
            if !self.video_fourcc_info_map.is_empty() {
                object.insert("videoFourCcInfoMap", map(&self.video_fourcc_info_map));
            }
            if !self.audio_fourcc_info_map.is_empty() {
                object.insert("audioFourCcInfoMap", map(&self.audio_fourcc_info_map));
            }
            if self.caps_ex.0 != 0 {
                object.insert("capsEx", self.caps_ex.0);
            }
            if self.object_encoding != 0.0 {
                object.insert("objectEncoding", self.object_encoding);
            }
        }
        Command {
            name: "connect".into(),
            transaction_id,
            command_object: Amf0Value::Object(object),
            arguments: self.arguments.clone(),
        }
    }
}

//! The late-joiner cache: metadata, sequence headers, and every message since the last keyframe.

use bytes::Bytes;

use super::message::MessageClass;

/// One cached message: its fields, and its bytes chunked for message stream 1 (what every
/// player uses) when it was fanned out live. A stream nobody plays is not chunked at all: a
/// joiner's replay chunks what it needs.
#[derive(Debug, Clone)]
pub(crate) struct CachedMessage {
    pub(crate) type_id: u8,
    pub(crate) timestamp: u32,
    pub(crate) payload: Bytes,
    pub(crate) chunked: Option<Bytes>,
    pub(crate) class: MessageClass,
    /// What a legacy player gets of it, worked out when the first legacy joiner needed it and
    /// kept for the next ones.
    pub(crate) legacy: Option<LegacyCached>,
}

/// A cached message as a legacy player gets it ([`super::message::legacy_form`]).
#[derive(Debug, Clone)]
pub(crate) enum LegacyCached {
    /// The message as published.
    Same,
    /// Nothing (another track, or a packet with no legacy form).
    Dropped,
    /// Other bytes: the payload, and it chunked for message stream 1 once a joiner needed it.
    Converted { payload: Bytes, chunked: Option<Bytes> },
}

impl CachedMessage {
    /// With a payload of its own. A publisher's payloads share the blocks its reads went into;
    /// headers and metadata stay as long as the stream, and would pin a block each.
    fn detached(mut self) -> Self {
        self.payload = Bytes::copy_from_slice(&self.payload);
        self
    }
}

/// What a message is to the cache, from its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CacheRole {
    /// `onMetaData`: the latest replaces earlier ones.
    Metadata,
    /// An audio sequence header (per track).
    AudioHeader(u8),
    /// A video sequence header (per track).
    VideoHeader(u8),
    /// A video keyframe of the primary track: starts a new GOP.
    Keyframe,
    /// Any other audio or video message: joins the current GOP.
    Media,
    /// Not cached (sequence ends, command frames, text and cue points).
    Live,
}

impl CacheRole {
    fn of(class: MessageClass) -> Self {
        match class {
            MessageClass::Metadata => Self::Metadata,
            MessageClass::AudioHeader { track } => Self::AudioHeader(track),
            MessageClass::VideoHeader { track } => Self::VideoHeader(track),
            MessageClass::VideoKey { track: 0 } => Self::Keyframe,
            MessageClass::VideoKey { .. }
            | MessageClass::VideoInter
            | MessageClass::VideoDisposable
            | MessageClass::Audio => Self::Media,
            MessageClass::VideoControl | MessageClass::Data => Self::Live,
        }
    }
}

/// Cache of one stream, capped by bytes and by media duration. Past a cap the GOP is dropped
/// and caching resumes at the next keyframe; headers and metadata are always kept.
#[derive(Debug)]
pub(crate) struct GopCache {
    metadata: Option<CachedMessage>,
    audio_headers: Vec<(u8, CachedMessage)>,
    video_headers: Vec<(u8, CachedMessage)>,
    gop: Vec<CachedMessage>,
    gop_bytes: usize,
    max_bytes: usize,
    max_duration_ms: u32,
}

impl GopCache {
    pub(crate) fn new(max_bytes: usize, max_duration_ms: u32) -> Self {
        Self {
            metadata: None,
            audio_headers: Vec::new(),
            video_headers: Vec::new(),
            gop: Vec::new(),
            gop_bytes: 0,
            max_bytes,
            max_duration_ms,
        }
    }

    /// Records a message the publisher sent, as its class says.
    pub(crate) fn record(&mut self, message: CachedMessage) {
        let replace = |list: &mut Vec<(u8, CachedMessage)>, track: u8, message: CachedMessage| match list
            .iter_mut()
            .find(|(t, _)| *t == track)
        {
            Some(slot) => slot.1 = message,
            None => list.push((track, message)),
        };
        let role = CacheRole::of(message.class);
        // A changed sequence header (an encoder restarted on the same connection, e.g. with a new
        // resolution) ends the GOP: what was cached before it decodes only with the old header,
        // and a joiner would get the new header followed by the old frames. A repeated identical
        // header (hardware encoders send one before every keyframe) changes nothing.
        if matches!(role, CacheRole::AudioHeader(_) | CacheRole::VideoHeader(_))
            && self.holds_other(message.class, &message.payload)
        {
            self.clear_gop();
        }
        match role {
            CacheRole::Metadata => self.metadata = Some(message.detached()),
            CacheRole::AudioHeader(track) => replace(&mut self.audio_headers, track, message.detached()),
            CacheRole::VideoHeader(track) => replace(&mut self.video_headers, track, message.detached()),
            CacheRole::Keyframe => {
                self.clear_gop();
                self.push(message);
            }
            CacheRole::Media if !self.gop.is_empty() => self.push(message),
            CacheRole::Media | CacheRole::Live => {}
        }
    }

    fn push(&mut self, message: CachedMessage) {
        let start = self.gop.first().map_or(message.timestamp, |m| m.timestamp);
        let duration = message.timestamp.wrapping_sub(start);
        self.gop_bytes += message.payload.len();
        self.gop.push(message);
        if self.gop_bytes > self.max_bytes || (duration as i32 > 0 && duration > self.max_duration_ms) {
            self.clear_gop();
        }
    }

    /// Forgets the GOP, keeping metadata and headers: caching resumes at the next keyframe.
    pub(crate) fn clear_gop(&mut self) {
        self.gop.clear();
        self.gop_bytes = 0;
    }

    /// Forgets everything (the publisher left).
    pub(crate) fn clear(&mut self) {
        self.metadata = None;
        self.audio_headers.clear();
        self.video_headers.clear();
        self.clear_gop();
    }

    /// Whether `payload` is what the cache holds for `class`'s metadata or sequence header slot
    /// (a resumed publisher's repeat, which its players need not get again).
    pub(crate) fn holds(&self, class: MessageClass, payload: &[u8]) -> bool {
        let find = |list: &[(u8, CachedMessage)], track: u8| {
            list.iter().find(|(t, _)| *t == track).is_some_and(|(_, m)| m.payload == payload)
        };
        match CacheRole::of(class) {
            CacheRole::Metadata => self.metadata.as_ref().is_some_and(|m| m.payload == payload),
            CacheRole::AudioHeader(track) => find(&self.audio_headers, track),
            CacheRole::VideoHeader(track) => find(&self.video_headers, track),
            CacheRole::Keyframe | CacheRole::Media | CacheRole::Live => false,
        }
    }

    /// Whether the cache holds a different payload in `class`'s header slot.
    fn holds_other(&self, class: MessageClass, payload: &[u8]) -> bool {
        let find = |list: &[(u8, CachedMessage)], track: u8| {
            list.iter().find(|(t, _)| *t == track).is_some_and(|(_, m)| m.payload != payload)
        };
        match CacheRole::of(class) {
            CacheRole::AudioHeader(track) => find(&self.audio_headers, track),
            CacheRole::VideoHeader(track) => find(&self.video_headers, track),
            _ => false,
        }
    }

    /// What a late joiner gets, in order: metadata, audio headers, video headers, the GOP.
    /// Mutable so that a joiner chunks what was cached unchunked, once for all joiners.
    pub(crate) fn replay_mut(&mut self) -> impl Iterator<Item = &mut CachedMessage> {
        self.metadata
            .iter_mut()
            .chain(self.audio_headers.iter_mut().map(|(_, m)| m))
            .chain(self.video_headers.iter_mut().map(|(_, m)| m))
            .chain(self.gop.iter_mut())
    }

    /// Bytes of media in the current GOP.
    #[cfg(test)]
    pub(crate) fn gop_bytes(&self) -> usize {
        self.gop_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(type_id: u8, timestamp: u32, size: usize, class: MessageClass) -> CachedMessage {
        let payload = Bytes::from(vec![type_id; size]);
        CachedMessage { type_id, timestamp, chunked: Some(payload.clone()), payload, class, legacy: None }
    }

    fn order(cache: &mut GopCache) -> Vec<(u8, u32)> {
        cache.replay_mut().map(|m| (m.type_id, m.timestamp)).collect()
    }

    #[test]
    fn replay_order_is_metadata_headers_then_gop_from_the_keyframe() {
        let mut c = GopCache::new(1 << 20, 10_000);
        c.record(msg(8, 0, 10, MessageClass::Audio)); // before any keyframe: not cached
        c.record(msg(9, 0, 10, MessageClass::VideoHeader { track: 0 }));
        c.record(msg(8, 0, 10, MessageClass::AudioHeader { track: 0 }));
        c.record(msg(18, 0, 10, MessageClass::Metadata));
        c.record(msg(9, 40, 10, MessageClass::VideoKey { track: 0 }));
        c.record(msg(8, 45, 10, MessageClass::Audio));
        c.record(msg(9, 80, 10, MessageClass::VideoInter));
        c.record(msg(18, 81, 10, MessageClass::Data));
        assert_eq!(order(&mut c), [(18, 0), (8, 0), (9, 0), (9, 40), (8, 45), (9, 80)]);
        // A new keyframe restarts the GOP; a new header replaces the old one.
        c.record(msg(9, 2040, 10, MessageClass::VideoKey { track: 0 }));
        c.record(msg(9, 2041, 10, MessageClass::VideoHeader { track: 0 }));
        assert_eq!(order(&mut c), [(18, 0), (8, 0), (9, 2041), (9, 2040)]);
    }

    #[test]
    fn a_changed_header_ends_the_gop_and_a_repeated_one_does_not() {
        let mut c = GopCache::new(1 << 20, 10_000);
        let header = MessageClass::VideoHeader { track: 0 };
        c.record(msg(9, 0, 10, header));
        c.record(msg(9, 0, 10, MessageClass::VideoKey { track: 0 }));
        c.record(msg(9, 40, 10, MessageClass::VideoInter));
        // The same header again (before the next keyframe, as hardware encoders send it).
        c.record(msg(9, 80, 10, header));
        assert_eq!(order(&mut c), [(9, 80), (9, 0), (9, 40)], "one header, the GOP kept");
        // A new header (another size): the old GOP goes, a joiner waits for the new keyframe.
        c.record(msg(9, 120, 11, header));
        assert_eq!(order(&mut c), [(9, 120)]);
        c.record(msg(9, 120, 10, MessageClass::VideoKey { track: 0 }));
        assert_eq!(order(&mut c), [(9, 120), (9, 120)]);
        // Likewise a changed audio header.
        c.record(msg(8, 130, 4, MessageClass::AudioHeader { track: 0 }));
        c.record(msg(9, 160, 10, MessageClass::VideoInter));
        c.record(msg(8, 170, 4, MessageClass::AudioHeader { track: 0 }));
        assert_eq!(order(&mut c).len(), 4, "a repeated audio header keeps the GOP");
        c.record(msg(8, 180, 5, MessageClass::AudioHeader { track: 0 }));
        assert_eq!(order(&mut c), [(8, 180), (9, 120)]);
    }

    #[test]
    fn caps_drop_the_gop_until_the_next_keyframe() {
        let mut c = GopCache::new(100, 1_000);
        c.record(msg(9, 0, 60, MessageClass::VideoKey { track: 0 }));
        c.record(msg(9, 40, 60, MessageClass::VideoInter));
        assert_eq!(c.gop_bytes(), 0);
        c.record(msg(9, 80, 10, MessageClass::VideoInter));
        assert_eq!(order(&mut c), []);
        c.record(msg(9, 120, 10, MessageClass::VideoKey { track: 0 }));
        c.record(msg(8, 1121, 10, MessageClass::Audio));
        assert_eq!(order(&mut c), []);
    }

    #[test]
    fn multitrack_headers_are_kept_per_track() {
        let mut c = GopCache::new(1 << 20, 10_000);
        c.record(msg(9, 0, 1, MessageClass::VideoHeader { track: 0 }));
        c.record(msg(9, 1, 1, MessageClass::VideoHeader { track: 1 }));
        c.record(msg(9, 2, 1, MessageClass::VideoHeader { track: 1 }));
        assert_eq!(order(&mut c), [(9, 0), (9, 2)]);
        c.clear();
        assert_eq!(order(&mut c), []);
    }

    #[test]
    fn holds_compares_the_slot_of_the_class() {
        let mut c = GopCache::new(1 << 20, 10_000);
        let header = MessageClass::VideoHeader { track: 0 };
        c.record(msg(9, 0, 3, header));
        assert!(c.holds(header, &[9, 9, 9]));
        assert!(!c.holds(header, &[9, 9]));
        assert!(!c.holds(MessageClass::VideoHeader { track: 1 }, &[9, 9, 9]));
        assert!(!c.holds(MessageClass::Metadata, &[9, 9, 9]));
        assert!(!c.holds(MessageClass::VideoKey { track: 0 }, &[9, 9, 9]));
    }
}

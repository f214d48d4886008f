//! A player's bounded queue of shared, pre-chunked messages, with the drop policy that keeps a slow
//! player's audio going while its video waits for the next keyframe (the rules: [`super`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Notify;

use super::direct::{DirectWriter, MAX_SLICES};
use super::prefetch;
use crate::server::message::MessageClass;

/// How the drop policy sees a message: derived from its [`MessageClass`] once per message (a
/// fan-out carries it beside the chunked bytes), so that each player's admission tests one byte.
/// The order is nginx-rtmp's priorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameClass {
    /// Sequence headers, metadata and video control tags: never dropped (rare, and needed to
    /// decode anything).
    Header,
    /// Audio: dropped only when the queue is full.
    Audio,
    /// Data messages (text, cue points): like audio.
    Data,
    /// A video keyframe: dropped at three quarters full.
    VideoKey,
    /// A video inter frame: dropped at half full.
    VideoInter,
    /// A disposable video frame: dropped at a quarter full.
    VideoDisposable,
}

impl FrameClass {
    /// The drop policy's view of `class`.
    pub(crate) fn of(class: MessageClass) -> Self {
        match class {
            MessageClass::Metadata
            | MessageClass::AudioHeader { .. }
            | MessageClass::VideoHeader { .. }
            | MessageClass::VideoControl => Self::Header,
            MessageClass::Audio => Self::Audio,
            MessageClass::Data => Self::Data,
            MessageClass::VideoKey { .. } => Self::VideoKey,
            MessageClass::VideoInter => Self::VideoInter,
            MessageClass::VideoDisposable => Self::VideoDisposable,
        }
    }

    fn is_video(self) -> bool {
        matches!(self, Self::VideoKey | Self::VideoInter | Self::VideoDisposable)
    }

    /// The queue length at which this class is dropped.
    fn drop_threshold(self, capacity: usize) -> usize {
        match self {
            Self::Header => usize::MAX,
            Self::Audio | Self::Data => capacity,
            Self::VideoKey => capacity * 3 / 4,
            Self::VideoInter => capacity / 2,
            Self::VideoDisposable => capacity / 4,
        }
    }
}

/// What a player's connection task must do, in order with the media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outgoing {
    /// Chunked bytes to write as they are.
    Bytes(Bytes),
    /// The publisher stopped: send UnpublishNotify (and StreamEOF).
    Unpublished,
    /// A publisher (re)started: send StreamBegin, PublishNotify, Play.Reset, Play.Start.
    Published,
}

#[derive(Debug)]
struct QueueState {
    items: VecDeque<Outgoing>,
    /// After a video drop, video is skipped until the next keyframe so decoding never breaks.
    skip_video_until_key: bool,
    /// The current wait for a keyframe follows a drop: what it skips is lost to a slow reader and
    /// counted. The first wait of a joiner, or one after pause or republish, loses nothing.
    waiting_after_drop: bool,
    audio_enabled: bool,
    video_enabled: bool,
    paused: bool,
    /// Media bytes handed to the socket, directly or through the queue.
    bytes_out: u64,
}

/// One player's queue, filled by the publisher's task and drained by the player's.
#[derive(Debug)]
pub(crate) struct PlayerQueue {
    state: Mutex<QueueState>,
    capacity: usize,
    /// The owning connection's wake-up: one per connection, whatever it plays.
    notify: Arc<Notify>,
    /// The connection's socket (plain TCP), when publishers may write into it themselves while
    /// the queue is empty.
    direct: Option<Arc<DirectWriter>>,
    dropped_video: AtomicU64,
    dropped_audio: AtomicU64,
}

/// Fills unused slots of the fixed-size batches (no allocation per write).
static NO_BYTES: Bytes = Bytes::new();

/// What became of pushed messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Pushed {
    /// Messages sent or queued (the others were dropped by the policy or are unwanted: paused,
    /// deselected, waiting for a keyframe).
    kept: usize,
    /// Bytes written straight into the player's socket (for the server's count).
    sent_bytes: usize,
}

impl PlayerQueue {
    /// A queue of `capacity` messages that starts by waiting for a keyframe and wakes `notify`.
    pub(super) fn new(capacity: usize, notify: Arc<Notify>, direct: Option<Arc<DirectWriter>>) -> Self {
        Self {
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                skip_video_until_key: true,
                waiting_after_drop: false,
                audio_enabled: true,
                video_enabled: true,
                paused: false,
                bytes_out: 0,
            }),
            capacity: capacity.max(4),
            notify,
            direct,
            dropped_video: AtomicU64::new(0),
            dropped_audio: AtomicU64::new(0),
        }
    }

    /// A queue no connection drains or writes (benches and tests drain it themselves).
    pub(crate) fn unattached(capacity: usize) -> Self {
        Self::new(capacity, Arc::default(), None)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts loading what [`Self::push_batch`] reads first, a few players ahead of a fan-out.
    pub(crate) fn prefetch(&self) {
        prefetch(&self.state);
        prefetch(&self.direct);
    }

    /// Starts loading the socket's gate; the queue itself should be in cache (its address is read).
    pub(crate) fn prefetch_writer(&self) {
        if let Some(direct) = &self.direct {
            direct.prefetch();
        }
    }

    /// Queues one message for the player's task (a joiner's cache: its connection holds the
    /// gate). Returns whether the drop policy kept it.
    pub(crate) fn push(&self, bytes: &Bytes, class: MessageClass) -> bool {
        let pushed = self.push_all(&[(bytes.clone(), FrameClass::of(class))], false);
        debug_assert_eq!(pushed.sent_bytes, 0, "queued, never written here");
        pushed.kept > 0
    }

    /// A fan-out's messages, in order: dropped, written or queued (see [`Self::push_all`]), at
    /// most one direct write per [`MAX_SLICES`] messages. Returns the bytes written into the
    /// player's socket.
    #[inline]
    pub(crate) fn push_batch(&self, messages: &[(Bytes, FrameClass)], may_write: bool) -> u64 {
        let mut sent = 0;
        for group in messages.chunks(MAX_SLICES) {
            sent += self.push_all(group, may_write).sent_bytes as u64;
        }
        sent
    }

    /// Drops, sends or queues each message in order. With `may_write`, when the queue is empty
    /// and the socket free, every kept message goes out in one vectored write from the caller's
    /// task; whatever the socket does not take is queued for the player's task.
    fn push_all(&self, messages: &[(Bytes, FrameClass)], may_write: bool) -> Pushed {
        let mut state = self.lock();
        // A bigger burst (a publisher catching up) goes through the queue.
        let direct = self
            .direct
            .as_ref()
            .filter(|_| may_write && state.items.is_empty() && messages.len() <= MAX_SLICES);
        let mut kept = [&NO_BYTES; MAX_SLICES];
        let mut pushed = Pushed::default();
        for (bytes, class) in messages {
            if !self.admit(&mut state, *class) {
                continue;
            }
            if direct.is_some() {
                kept[pushed.kept] = bytes;
            } else {
                state.items.push_back(Outgoing::Bytes(bytes.clone()));
            }
            pushed.kept += 1;
        }
        if let Some(direct) = direct
            && pushed.kept > 0
        {
            let kept = &kept[..pushed.kept];
            let sent = direct.send(kept);
            pushed.sent_bytes = sent.bytes;
            state.bytes_out += kept[..sent.messages].iter().map(|b| b.len() as u64).sum::<u64>();
            state.items.extend(kept[sent.messages..].iter().map(|&b| Outgoing::Bytes(b.clone())));
            if !sent.left_remainder && state.items.is_empty() {
                return pushed;
            }
        } else if pushed.kept == 0 {
            return pushed;
        }
        drop(state);
        self.notify.notify_one();
        pushed
    }

    /// The drop policy: whether a message of `class` is kept, counting drops.
    fn admit(&self, state: &mut QueueState, class: FrameClass) -> bool {
        let wanted = match class {
            _ if state.paused && class != FrameClass::Header => false,
            FrameClass::Audio => state.audio_enabled,
            c if c.is_video() => state.video_enabled,
            _ => true,
        };
        if !wanted {
            return false;
        }
        if class.is_video() && state.skip_video_until_key && class != FrameClass::VideoKey {
            if state.waiting_after_drop {
                self.dropped_video.fetch_add(1, Ordering::Relaxed);
            }
            return false;
        }
        if state.items.len() >= class.drop_threshold(self.capacity) {
            if class.is_video() {
                state.skip_video_until_key = true;
                state.waiting_after_drop = true;
                self.dropped_video.fetch_add(1, Ordering::Relaxed);
            } else {
                self.dropped_audio.fetch_add(1, Ordering::Relaxed);
            }
            return false;
        }
        if class == FrameClass::VideoKey {
            state.skip_video_until_key = false;
            state.waiting_after_drop = false;
        }
        true
    }

    /// Queues a notice; notices are never dropped. A (re)publish also restarts the keyframe wait.
    pub(crate) fn push_notice(&self, notice: Outgoing) {
        let mut state = self.lock();
        if notice == Outgoing::Published {
            state.skip_video_until_key = true;
            state.waiting_after_drop = false;
        }
        state.items.push_back(notice);
        drop(state);
        self.notify.notify_one();
    }

    /// A publisher resumed without a notice: video waits for its first keyframe (not a loss).
    pub(crate) fn restart_keyframe_wait(&self) {
        let mut state = self.lock();
        state.skip_video_until_key = true;
        state.waiting_after_drop = false;
    }

    /// Moves up to `max` items into `out` (their bytes count as sent: the caller writes them).
    /// The output's drain-and-write step calls it; benches and tests too.
    pub(crate) fn drain(&self, out: &mut Vec<Outgoing>, max: usize) {
        let mut state = self.lock();
        let n = state.items.len().min(max);
        let start = out.len();
        out.extend(state.items.drain(..n));
        let bytes: usize =
            out[start..].iter().map(|item| if let Outgoing::Bytes(b) = item { b.len() } else { 0 }).sum();
        state.bytes_out += bytes as u64;
    }

    /// Media bytes handed to the socket so far, directly or through the queue.
    pub(crate) fn bytes_out(&self) -> u64 {
        self.lock().bytes_out
    }

    /// Video messages dropped to a slow reader (and those skipped after until a keyframe).
    pub(crate) fn dropped_video(&self) -> u64 {
        self.dropped_video.load(Ordering::Relaxed)
    }

    /// Audio and data messages dropped to a slow reader.
    pub(crate) fn dropped_audio(&self) -> u64 {
        self.dropped_audio.load(Ordering::Relaxed)
    }

    /// Messages waiting now.
    pub(crate) fn depth(&self) -> usize {
        self.lock().items.len()
    }

    /// `receiveAudio` / `receiveVideo`.
    pub(crate) fn select(&self, audio: Option<bool>, video: Option<bool>) {
        let mut state = self.lock();
        if let Some(a) = audio {
            state.audio_enabled = a;
        }
        if let Some(v) = video {
            state.video_enabled = v;
            state.skip_video_until_key = true;
            state.waiting_after_drop = false;
        }
    }

    /// `pause`: while paused, media is not queued; on resume, video waits for a keyframe.
    pub(crate) fn set_paused(&self, paused: bool) {
        let mut state = self.lock();
        state.paused = paused;
        state.skip_video_until_key = true;
        state.waiting_after_drop = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: MessageClass = MessageClass::VideoKey { track: 0 };
    const INTER: MessageClass = MessageClass::VideoInter;
    const DISPOSABLE: MessageClass = MessageClass::VideoDisposable;
    const AUDIO: MessageClass = MessageClass::Audio;
    const HEADER: MessageClass = MessageClass::VideoHeader { track: 0 };

    fn bytes(n: u8) -> Bytes {
        Bytes::from(vec![n])
    }

    fn filled(queue: &PlayerQueue, class: MessageClass, n: usize) {
        for i in 0..n {
            assert!(queue.push(&bytes(i as u8), class), "push {i}");
        }
    }

    #[test]
    fn video_waits_for_a_keyframe_at_start() {
        let q = PlayerQueue::new(16, Default::default(), None);
        assert!(!q.push(&bytes(1), INTER));
        assert!(q.push(&bytes(2), AUDIO));
        assert!(q.push(&bytes(3), KEY));
        assert!(q.push(&bytes(4), INTER));
        // Joining mid-GOP is not a loss: only frames dropped to a slow reader are counted.
        assert_eq!(q.dropped_video(), 0);
    }

    #[test]
    fn only_waits_caused_by_a_drop_count_as_dropped() {
        let q = PlayerQueue::new(4, Default::default(), None);
        q.push(&bytes(0), KEY);
        q.push(&bytes(1), AUDIO);
        assert!(!q.push(&bytes(2), INTER)); // half full: dropped
        assert!(!q.push(&bytes(3), INTER)); // lost while waiting for a key
        assert_eq!(q.dropped_video(), 2);
        q.drain(&mut Vec::new(), 10);
        assert!(q.push(&bytes(4), KEY));
        q.set_paused(true);
        q.set_paused(false);
        assert!(!q.push(&bytes(5), INTER)); // waiting after unpause: not a loss
        assert_eq!(q.dropped_video(), 2);
    }

    #[test]
    fn drop_order_disposable_inter_key_audio() {
        let q = PlayerQueue::new(16, Default::default(), None);
        q.push(&bytes(0), KEY);
        filled(&q, AUDIO, 3); // 4 queued = capacity / 4
        assert!(!q.push(&bytes(9), DISPOSABLE));
        // After a video drop, even inter frames wait for the next keyframe.
        assert!(!q.push(&bytes(9), INTER));
        assert!(q.push(&bytes(9), KEY));
        filled(&q, AUDIO, 3); // 8 = half
        assert!(!q.push(&bytes(9), INTER));
        assert!(q.push(&bytes(9), KEY));
        filled(&q, AUDIO, 3); // 12 = three quarters
        assert!(!q.push(&bytes(9), KEY));
        filled(&q, AUDIO, 4); // 16 = full
        assert!(!q.push(&bytes(9), AUDIO));
        assert!(q.push(&bytes(9), HEADER));
        assert_eq!(q.dropped_video(), 4);
        assert_eq!(q.dropped_audio(), 1);
    }

    #[test]
    fn drain_in_order_and_notices_restart_the_keyframe_wait() {
        let q = PlayerQueue::new(16, Default::default(), None);
        q.push(&bytes(1), KEY);
        q.push_notice(Outgoing::Unpublished);
        q.push_notice(Outgoing::Published);
        assert!(!q.push(&bytes(2), INTER));
        let mut out = Vec::new();
        q.drain(&mut out, 10);
        assert_eq!(out, [Outgoing::Bytes(bytes(1)), Outgoing::Unpublished, Outgoing::Published]);
        assert_eq!(q.depth(), 0);
    }

    #[test]
    fn selection_and_pause() {
        let q = PlayerQueue::new(16, Default::default(), None);
        q.select(Some(false), None);
        assert!(!q.push(&bytes(1), AUDIO));
        q.select(Some(true), None);
        q.set_paused(true);
        assert!(!q.push(&bytes(1), AUDIO));
        assert!(!q.push(&bytes(1), KEY));
        q.set_paused(false);
        assert!(q.push(&bytes(1), AUDIO));
    }
}

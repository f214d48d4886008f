//! A player's bounded queue of shared, pre-chunked messages, with the drop policy that keeps a slow
//! player's audio going while its video waits for the next keyframe.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Notify;

use super::direct::{DirectWriter, MAX_SLICES, prefetch};

/// How a message may be dropped when the queue fills; the order is nginx-rtmp's priorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameClass {
    /// Sequence headers and metadata: never dropped (rare, and needed to decode anything).
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
    pub(crate) dropped_video: AtomicU64,
    pub(crate) dropped_audio: AtomicU64,
}

/// Fills unused slots of the fixed-size batches (no allocation per write).
static NO_BYTES: Bytes = Bytes::new();

/// What became of pushed messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pushed {
    /// Messages sent or queued (the others were dropped by the policy or are unwanted: paused,
    /// deselected, waiting for a keyframe).
    pub(crate) kept: usize,
    /// Bytes written straight into the player's socket (for the server's count).
    pub(crate) sent_bytes: usize,
}

#[cfg(test)]
impl Pushed {
    fn is_kept(self) -> bool {
        self.kept > 0
    }
}

impl PlayerQueue {
    /// A queue of `capacity` messages that starts by waiting for a keyframe and wakes `notify`.
    pub(crate) fn new(capacity: usize, notify: Arc<Notify>, direct: Option<Arc<DirectWriter>>) -> Self {
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

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts loading what [`Self::push_all`] reads first, a few players ahead of a fan-out.
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

    /// Queues one media message for the player's task: see [`Self::push_all`].
    pub(crate) fn push(&self, bytes: &Bytes, class: FrameClass) -> Pushed {
        self.push_all(&[(bytes.clone(), class)], false)
    }

    /// Drops, sends or queues each message in order. With `may_write`, when the queue is empty
    /// and the socket free, every kept message goes out in one vectored write from the caller's
    /// task; whatever the socket does not take is queued for the player's task.
    pub(crate) fn push_all(&self, messages: &[(Bytes, FrameClass)], may_write: bool) -> Pushed {
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

    /// Moves up to `max` items into `out` (their bytes count as sent: the caller writes them).
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

    fn bytes(n: u8) -> Bytes {
        Bytes::from(vec![n])
    }

    fn filled(queue: &PlayerQueue, class: FrameClass, n: usize) {
        for i in 0..n {
            assert!(queue.push(&bytes(i as u8), class).is_kept(), "push {i}");
        }
    }

    #[test]
    fn video_waits_for_a_keyframe_at_start() {
        let q = PlayerQueue::new(16, Default::default(), None);
        assert!(!q.push(&bytes(1), FrameClass::VideoInter).is_kept());
        assert!(q.push(&bytes(2), FrameClass::Audio).is_kept());
        assert!(q.push(&bytes(3), FrameClass::VideoKey).is_kept());
        assert!(q.push(&bytes(4), FrameClass::VideoInter).is_kept());
        // Joining mid-GOP is not a loss: only frames dropped to a slow reader are counted.
        assert_eq!(q.dropped_video.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn only_waits_caused_by_a_drop_count_as_dropped() {
        let q = PlayerQueue::new(4, Default::default(), None);
        q.push(&bytes(0), FrameClass::VideoKey);
        q.push(&bytes(1), FrameClass::Audio);
        assert!(!q.push(&bytes(2), FrameClass::VideoInter).is_kept()); // half full: dropped
        assert!(!q.push(&bytes(3), FrameClass::VideoInter).is_kept()); // lost while waiting for a key
        assert_eq!(q.dropped_video.load(Ordering::Relaxed), 2);
        q.drain(&mut Vec::new(), 10);
        assert!(q.push(&bytes(4), FrameClass::VideoKey).is_kept());
        q.set_paused(true);
        q.set_paused(false);
        assert!(!q.push(&bytes(5), FrameClass::VideoInter).is_kept()); // waiting after unpause: not a loss
        assert_eq!(q.dropped_video.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn drop_order_disposable_inter_key_audio() {
        let q = PlayerQueue::new(16, Default::default(), None);
        q.push(&bytes(0), FrameClass::VideoKey);
        filled(&q, FrameClass::Audio, 3); // 4 queued = capacity / 4
        assert!(!q.push(&bytes(9), FrameClass::VideoDisposable).is_kept());
        // After a video drop, even inter frames wait for the next keyframe.
        assert!(!q.push(&bytes(9), FrameClass::VideoInter).is_kept());
        assert!(q.push(&bytes(9), FrameClass::VideoKey).is_kept());
        filled(&q, FrameClass::Audio, 3); // 8 = half
        assert!(!q.push(&bytes(9), FrameClass::VideoInter).is_kept());
        assert!(q.push(&bytes(9), FrameClass::VideoKey).is_kept());
        filled(&q, FrameClass::Audio, 3); // 12 = three quarters
        assert!(!q.push(&bytes(9), FrameClass::VideoKey).is_kept());
        filled(&q, FrameClass::Audio, 4); // 16 = full
        assert!(!q.push(&bytes(9), FrameClass::Audio).is_kept());
        assert!(q.push(&bytes(9), FrameClass::Header).is_kept());
        assert_eq!(q.dropped_video.load(Ordering::Relaxed), 4);
        assert_eq!(q.dropped_audio.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn drain_in_order_and_notices_restart_the_keyframe_wait() {
        let q = PlayerQueue::new(16, Default::default(), None);
        q.push(&bytes(1), FrameClass::VideoKey);
        q.push_notice(Outgoing::Unpublished);
        q.push_notice(Outgoing::Published);
        assert!(!q.push(&bytes(2), FrameClass::VideoInter).is_kept());
        let mut out = Vec::new();
        q.drain(&mut out, 10);
        assert_eq!(out, [Outgoing::Bytes(bytes(1)), Outgoing::Unpublished, Outgoing::Published]);
        assert_eq!(q.depth(), 0);
    }

    #[test]
    fn selection_and_pause() {
        let q = PlayerQueue::new(16, Default::default(), None);
        q.select(Some(false), None);
        assert!(!q.push(&bytes(1), FrameClass::Audio).is_kept());
        q.select(Some(true), None);
        q.set_paused(true);
        assert!(!q.push(&bytes(1), FrameClass::Audio).is_kept());
        assert!(!q.push(&bytes(1), FrameClass::VideoKey).is_kept());
        q.set_paused(false);
        assert!(q.push(&bytes(1), FrameClass::Audio).is_kept());
    }
}

//! A player's queue of shared, pre-chunked messages, and the drop policy that keeps a slow player
//! near live with its sound: video goes first, audio only when the link cannot carry audio alone
//! (the rules: [`super`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Notify;

use super::direct::{DirectWriter, MAX_SLICES};
use super::prefetch;
use crate::server::message::MessageClass;

/// How the drop policy sees a message: derived from its [`MessageClass`] once per message (a
/// fan-out's batch carries it for every player).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameClass {
    /// Sequence headers, metadata and video control tags: never dropped (rare, and needed to
    /// decode anything).
    Header,
    /// Audio: dropped last, only when the link cannot carry audio alone.
    Audio,
    /// Data messages (text, cue points): like audio.
    Data,
    /// A video keyframe: taken only if it can be sent within three quarters of the budget.
    VideoKey,
    /// A video inter frame: dropped past half the budget.
    VideoInter,
    /// A disposable video frame: dropped past a quarter of the budget.
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
}

/// A message on its way to players: its bytes chunked once for all of them (for a local
/// subscriber, the message's payload as published), and its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutMessage {
    pub(crate) bytes: Bytes,
    pub(crate) class: FrameClass,
    /// The message's timestamp and RTMP type: what a local subscriber reads besides the payload
    /// (free for the others: they fill the struct's padding).
    pub(crate) timestamp: u32,
    pub(crate) type_id: u8,
}

impl OutMessage {
    /// A message for a queue that is not written to a socket, or by tests: `bytes` as they are.
    pub(crate) fn new(bytes: Bytes, class: FrameClass) -> Self {
        Self { bytes, class, timestamp: 0, type_id: 0 }
    }
}

/// A change of the stream that a player's task turns into session messages, in order with the
/// media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// The publisher stopped: send UnpublishNotify (and StreamEOF).
    Unpublished,
    /// A publisher (re)started: send StreamBegin, PublishNotify, Play.Reset, Play.Start.
    Published,
}

/// A queue's items as [`PlayerQueue::drain`] gives them (benches and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outgoing {
    /// Chunked bytes to write as they are.
    Bytes(Bytes),
    /// The publisher stopped: send UnpublishNotify (and StreamEOF).
    Unpublished,
    /// A publisher (re)started: send StreamBegin, PublishNotify, Play.Reset, Play.Start.
    Published,
}

/// What the front of a queue holds for the writing task.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Front {
    /// Nothing queued.
    Empty,
    /// A stream notice, taken off the queue.
    Notice(Notice),
    /// This many media messages were copied out (shared bytes) to be written; the queue keeps
    /// them until [`PlayerQueue::consume`] says how much the socket took.
    Media(usize),
}

/// The link to a player as its task last measured it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Link {
    /// Bytes per second the socket took while the player was behind; 0 while unknown.
    pub(crate) rate: u64,
    /// Bytes written and not yet delivered after the task's last write: what the kernel still
    /// held (unsent or unacknowledged), and what a TLS layer may hold.
    pub(crate) held_bytes: u64,
}

impl Link {
    /// How long `bytes` take to go out at the measured rate; 0 while it is unknown.
    fn ms_for(self, bytes: u64) -> u64 {
        (bytes * 1000).checked_div(self.rate).unwrap_or(0)
    }
}

/// One queued message, with when it was queued (ms on [`super::clock_ms`]).
#[derive(Debug)]
enum Item {
    Media { message: OutMessage, since: u32 },
    Notice(Notice),
}

#[derive(Debug)]
struct QueueState {
    items: VecDeque<Item>,
    /// Bytes of the queued media.
    queued_bytes: u64,
    /// Front items the task is writing now: a drop never takes them.
    writing: usize,
    link: Link,
    /// After a video drop, video is skipped until the next keyframe so decoding never breaks.
    skip_video_until_key: bool,
    /// The current wait for a keyframe follows a drop: what it skips is lost to a slow reader and
    /// counted. The first wait of a joiner, or one after pause or republish, loses nothing.
    waiting_after_drop: bool,
    /// Audio is being dropped until the backlog is down to a quarter of the budget: one long gap
    /// rather than many short ones.
    shedding_audio: bool,
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
    /// Most messages queued (a memory bound, whatever the budget).
    capacity: usize,
    /// How far behind live this player may be, in ms; `None` keeps everything the capacity holds.
    budget_ms: Option<u64>,
    /// The owning connection's wake-up: one per connection, whatever it plays.
    notify: Arc<Notify>,
    /// The connection's socket (plain TCP), when publishers may write into it themselves while
    /// the queue is empty.
    direct: Option<Arc<DirectWriter>>,
    /// Audio is shed when the link cannot carry it (a network player). A local subscriber has
    /// no link: its audio waits for it within the capacity, and only video is dropped by time.
    sheds_audio: bool,
    dropped_video: AtomicU64,
    dropped_audio: AtomicU64,
    audio_gaps: AtomicU64,
}

/// What [`PlayerQueue::pop`] takes off a local subscriber's queue.
#[derive(Debug)]
pub(crate) enum Popped {
    Media(OutMessage),
    Notice(Notice),
}

/// How far into the queue [`PlayerQueue::take_audio`] looks.
const WRITE_SCAN: usize = 256;

/// Fills unused slots of the fixed-size batches (no allocation per write).
static NO_MESSAGE: OutMessage =
    OutMessage { bytes: Bytes::new(), class: FrameClass::Header, timestamp: 0, type_id: 0 };

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
    /// A queue of at most `capacity` messages and `budget` behind live that starts by waiting for
    /// a keyframe and wakes `notify`.
    pub(super) fn new(
        capacity: usize,
        budget: Option<std::time::Duration>,
        notify: Arc<Notify>,
        direct: Option<Arc<DirectWriter>>,
    ) -> Self {
        Self {
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                queued_bytes: 0,
                writing: 0,
                link: Link::default(),
                skip_video_until_key: true,
                waiting_after_drop: false,
                shedding_audio: false,
                audio_enabled: true,
                video_enabled: true,
                paused: false,
                bytes_out: 0,
            }),
            capacity: capacity.max(4),
            // Bounded so that the policy's sums of budget fractions cannot overflow.
            budget_ms: budget
                .map(|b| u64::try_from(b.as_millis()).unwrap_or(u64::MAX).clamp(1, u64::MAX / 8)),
            notify,
            direct,
            sheds_audio: true,
            dropped_video: AtomicU64::new(0),
            dropped_audio: AtomicU64::new(0),
            audio_gaps: AtomicU64::new(0),
        }
    }

    /// A local subscriber's queue: no socket, read with [`Self::pop`]; its audio is bounded by
    /// `capacity` only (see `sheds_audio`).
    pub(crate) fn local(capacity: usize, budget: Option<std::time::Duration>, notify: Arc<Notify>) -> Self {
        Self { sheds_audio: false, ..Self::new(capacity, budget, notify, None) }
    }

    /// A queue no connection drains or writes (benches and tests drain it themselves).
    pub(crate) fn unattached(capacity: usize, budget: Option<std::time::Duration>) -> Self {
        Self::new(capacity, budget, Arc::default(), None)
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
    pub(crate) fn push(&self, bytes: &Bytes, class: MessageClass, now: u32) -> bool {
        self.push_message(OutMessage::new(bytes.clone(), FrameClass::of(class)), now)
    }

    /// [`Self::push`] of a whole [`OutMessage`].
    pub(crate) fn push_message(&self, message: OutMessage, now: u32) -> bool {
        let pushed = self.push_all(std::slice::from_ref(&message), false, now);
        debug_assert_eq!(pushed.sent_bytes, 0, "queued, never written here");
        pushed.kept > 0
    }

    /// A fan-out's messages, in order: dropped, written or queued (see [`Self::push_all`]), at
    /// most one direct write per [`MAX_SLICES`] messages; `now` is [`super::clock_ms`]. Returns
    /// the bytes written into the player's socket.
    #[inline]
    pub(crate) fn push_batch(&self, messages: &[OutMessage], may_write: bool, now: u32) -> u64 {
        let mut sent = 0;
        for group in messages.chunks(MAX_SLICES) {
            sent += self.push_all(group, may_write, now).sent_bytes as u64;
        }
        sent
    }

    /// Drops, sends or queues each message in order. With `may_write`, when the queue is empty
    /// and the socket free, every kept message goes out in one vectored write from the caller's
    /// task; whatever the socket does not take is queued for the player's task.
    fn push_all(&self, messages: &[OutMessage], may_write: bool, now: u32) -> Pushed {
        let mut state = self.lock();
        // A bigger burst (a publisher catching up) goes through the queue.
        let direct = self
            .direct
            .as_ref()
            .filter(|_| may_write && state.items.is_empty() && messages.len() <= MAX_SLICES);
        let mut kept = [&NO_MESSAGE; MAX_SLICES];
        let mut pushed = Pushed::default();
        for message in messages {
            if !self.admit(&mut state, message, now) {
                continue;
            }
            if direct.is_some() {
                kept[pushed.kept] = message;
            } else {
                state.queued_bytes += message.bytes.len() as u64;
                state.items.push_back(Item::Media { message: message.clone(), since: now });
            }
            pushed.kept += 1;
        }
        if let Some(direct) = direct
            && pushed.kept > 0
        {
            let kept = &kept[..pushed.kept];
            let sent = direct.send(kept);
            pushed.sent_bytes = sent.bytes;
            state.bytes_out += kept[..sent.messages].iter().map(|m| m.bytes.len() as u64).sum::<u64>();
            for &message in &kept[sent.messages..] {
                state.queued_bytes += message.bytes.len() as u64;
                state.items.push_back(Item::Media { message: message.clone(), since: now });
            }
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

    /// How long a message queued now would wait before its first byte reaches the link, as far
    /// as the server can tell: the oldest queued message's wait plus the kernel's share, or the
    /// bytes ahead at the measured rate, whichever is longer. Zero while nothing is queued (the
    /// player keeps up).
    fn backlog_ms(state: &QueueState, now: u32) -> u64 {
        let oldest = state.items.iter().find_map(|item| match item {
            Item::Media { since, .. } => Some(*since),
            Item::Notice(_) => None,
        });
        let Some(since) = oldest else { return 0 };
        let waited = u64::from(now.wrapping_sub(since)) + state.link.ms_for(state.link.held_bytes);
        waited.max(state.link.ms_for(state.queued_bytes + state.link.held_bytes))
    }

    /// The drop policy: whether `message` is kept, counting drops.
    fn admit(&self, state: &mut QueueState, message: &OutMessage, now: u32) -> bool {
        let class = message.class;
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
        if class == FrameClass::Header {
            return true;
        }
        let queued = state.items.len();
        let keep = match self.budget_ms {
            _ if queued >= self.capacity => false,
            // No budget: nginx-rtmp's priorities against the queue's length.
            None => match class {
                FrameClass::VideoDisposable => queued < self.capacity / 4,
                FrameClass::VideoInter => queued < self.capacity / 2,
                FrameClass::VideoKey => queued < self.capacity * 3 / 4,
                _ => true,
            },
            Some(budget) => {
                let backlog = Self::backlog_ms(state, now);
                match class {
                    FrameClass::VideoDisposable => backlog <= budget / 4,
                    FrameClass::VideoInter => backlog <= budget / 2,
                    FrameClass::VideoKey => {
                        backlog + state.link.ms_for(message.bytes.len() as u64) <= budget * 3 / 4
                    }
                    _ => self.admit_audio(state, backlog, budget, now),
                }
            }
        };
        if keep {
            if class == FrameClass::VideoKey {
                state.skip_video_until_key = false;
                state.waiting_after_drop = false;
            }
            return true;
        }
        if class.is_video() {
            state.skip_video_until_key = true;
            state.waiting_after_drop = true;
            self.dropped_video.fetch_add(1, Ordering::Relaxed);
        } else {
            self.dropped_audio.fetch_add(1, Ordering::Relaxed);
        }
        false
    }

    /// Audio and data over three quarters of the budget: the queued video goes first; if that is
    /// not enough the link cannot carry the audio alone, and audio is dropped until the backlog
    /// is down to a quarter of the budget, so the sound has one gap rather than a stutter.
    fn admit_audio(&self, state: &mut QueueState, backlog: u64, budget: u64, now: u32) -> bool {
        if !self.sheds_audio {
            // No link to spare: stale video goes, the audio stays for the reader.
            if backlog > budget * 3 / 4 {
                self.drop_queued_video(state);
            }
            return true;
        }
        // A quarter of the budget is kept for what the server cannot see: the player's own
        // buffers, and the error of the rate it measured.
        let limit = budget * 3 / 4;
        if state.shedding_audio {
            if backlog > budget / 4 {
                // Video queued since (being written when the gap began, say) goes too.
                self.drop_queued_video(state);
                return false;
            }
            state.shedding_audio = false;
            return true;
        }
        if backlog <= limit {
            return true;
        }
        self.drop_queued_video(state);
        if Self::backlog_ms(state, now) <= limit {
            return true;
        }
        state.shedding_audio = true;
        self.audio_gaps.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// Takes every queued video frame the task is not writing off the queue; video then waits
    /// for the next keyframe.
    fn drop_queued_video(&self, state: &mut QueueState) {
        let writing = state.writing;
        let mut index = 0;
        let mut dropped_bytes = 0;
        let before = state.items.len();
        state.items.retain(|item| {
            index += 1;
            let drop =
                index > writing && matches!(item, Item::Media { message, .. } if message.class.is_video());
            if drop && let Item::Media { message, .. } = item {
                dropped_bytes += message.bytes.len() as u64;
            }
            !drop
        });
        let dropped = (before - state.items.len()) as u64;
        if dropped > 0 {
            state.queued_bytes -= dropped_bytes;
            state.skip_video_until_key = true;
            state.waiting_after_drop = true;
            self.dropped_video.fetch_add(dropped, Ordering::Relaxed);
        }
    }

    /// Queues a notice; notices are never dropped. A (re)publish also restarts the keyframe wait.
    pub(crate) fn push_notice(&self, notice: Notice) {
        let mut state = self.lock();
        if notice == Notice::Published {
            state.skip_video_until_key = true;
            state.waiting_after_drop = false;
        }
        state.items.push_back(Item::Notice(notice));
        drop(state);
        self.notify.notify_one();
    }

    /// The writing task's view: a notice at the front is taken off; otherwise up to `max`
    /// media messages (and about `max_bytes`, at least one) are copied into `out`, and stay
    /// queued until [`Self::consume`].
    pub(crate) fn front(&self, out: &mut Vec<Bytes>, max: usize, max_bytes: usize) -> Front {
        let mut state = self.lock();
        debug_assert_eq!(state.writing, 0, "the last write was consumed");
        if let Some(Item::Notice(_)) = state.items.front() {
            let Some(Item::Notice(notice)) = state.items.pop_front() else { unreachable!() };
            return Front::Notice(notice);
        }
        let mut bytes = 0;
        let mut count = 0;
        for item in state.items.iter().take(max) {
            let Item::Media { message, .. } = item else { break };
            if count > 0 && bytes + message.bytes.len() > max_bytes {
                break;
            }
            bytes += message.bytes.len();
            out.push(message.bytes.clone());
            count += 1;
        }
        state.writing = count;
        if count == 0 { Front::Empty } else { Front::Media(count) }
    }

    /// The socket took `written` bytes of what [`Self::front`] gave: those messages leave the
    /// queue. Returns a message it took in part, and how much of it (the rest of its chunk is
    /// to be written before anything).
    pub(crate) fn consume(&self, mut written: usize) -> Option<(Bytes, usize)> {
        let mut state = self.lock();
        let writing = std::mem::take(&mut state.writing);
        let mut rest = None;
        for _ in 0..writing {
            if written == 0 {
                break;
            }
            let Some(Item::Media { message, .. }) = state.items.pop_front() else { break };
            let len = message.bytes.len();
            state.queued_bytes -= len as u64;
            let taken = written.min(len);
            state.bytes_out += taken as u64;
            written -= taken;
            if taken < len {
                rest = Some((message.bytes, taken));
            }
        }
        rest
    }

    /// Takes the audio and data messages among the first queued ones (up to a notice or a
    /// header, and at most `max`) off the queue into `out`, ahead of the video before them: while
    /// a large message is on the wire in part, they go between its chunks.
    pub(crate) fn take_audio(&self, out: &mut Vec<Bytes>, max: usize) {
        let mut state = self.lock();
        debug_assert_eq!(state.writing, 0, "nothing is being written from the queue");
        let mut taken_bytes = 0;
        let mut index = 0;
        let mut scanned = 0;
        while index < state.items.len() && scanned < WRITE_SCAN && out.len() < max {
            scanned += 1;
            match &state.items[index] {
                Item::Media { message, .. }
                    if matches!(message.class, FrameClass::Audio | FrameClass::Data) =>
                {
                    let Some(Item::Media { message, .. }) = state.items.remove(index) else { unreachable!() };
                    taken_bytes += message.bytes.len() as u64;
                    out.push(message.bytes);
                }
                Item::Media { message, .. } if message.class != FrameClass::Header => index += 1,
                _ => break,
            }
        }
        state.queued_bytes -= taken_bytes;
        state.bytes_out += taken_bytes;
    }

    /// The task's latest measure of the link: what the budget counts beyond the queue.
    pub(crate) fn report_link(&self, link: Link) {
        self.lock().link = link;
    }

    /// A publisher resumed without a notice: video waits for its first keyframe (not a loss).
    pub(crate) fn restart_keyframe_wait(&self) {
        let mut state = self.lock();
        state.skip_video_until_key = true;
        state.waiting_after_drop = false;
    }

    /// Moves up to `max` items into `out` (their bytes count as sent: the caller writes them).
    /// Benches and tests drain this way; the writing task uses [`Self::front`].
    pub(crate) fn drain(&self, out: &mut Vec<Outgoing>, max: usize) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let n = state.items.len().min(max);
        let mut bytes = 0;
        out.extend(state.items.drain(..n).map(|item| match item {
            Item::Media { message, .. } => {
                bytes += message.bytes.len() as u64;
                Outgoing::Bytes(message.bytes)
            }
            Item::Notice(Notice::Unpublished) => Outgoing::Unpublished,
            Item::Notice(Notice::Published) => Outgoing::Published,
        }));
        state.queued_bytes -= bytes;
        state.bytes_out += bytes;
    }

    /// A local subscriber's read: the front item, off the queue (its bytes count as delivered).
    pub(crate) fn pop(&self) -> Option<Popped> {
        let mut state = self.lock();
        match state.items.pop_front()? {
            Item::Media { message, .. } => {
                let len = message.bytes.len() as u64;
                state.queued_bytes -= len;
                state.bytes_out += len;
                Some(Popped::Media(message))
            }
            Item::Notice(notice) => Some(Popped::Notice(notice)),
        }
    }

    /// Takes a [`Notice::Published`] at the front off the queue: a subscriber that waited for the
    /// stream's first publish needs no news of it.
    pub(crate) fn skip_published_notice(&self) {
        let mut state = self.lock();
        if let Some(Item::Notice(Notice::Published)) = state.items.front() {
            state.items.pop_front();
        }
    }

    /// Starts without waiting for a keyframe: the next video message is taken whatever it is.
    pub(crate) fn start_anywhere(&self) {
        self.lock().skip_video_until_key = false;
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

    /// Gaps in the sound: runs of audio dropped because the link could not carry audio alone.
    pub(crate) fn audio_gaps(&self) -> u64 {
        self.audio_gaps.load(Ordering::Relaxed)
    }

    /// How far behind live the player is now, as the server can tell (see `backlog_ms`).
    pub(crate) fn behind_live_ms(&self, now: u32) -> u64 {
        Self::backlog_ms(&self.lock(), now)
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
    use std::time::Duration;

    use super::*;

    const KEY: MessageClass = MessageClass::VideoKey { track: 0 };
    const INTER: MessageClass = MessageClass::VideoInter;
    const DISPOSABLE: MessageClass = MessageClass::VideoDisposable;
    const AUDIO: MessageClass = MessageClass::Audio;
    const HEADER: MessageClass = MessageClass::VideoHeader { track: 0 };

    fn bytes(n: u8) -> Bytes {
        Bytes::from(vec![n])
    }

    /// A queue with a 1 s budget.
    fn budgeted(capacity: usize) -> PlayerQueue {
        PlayerQueue::unattached(capacity, Some(Duration::from_secs(1)))
    }

    fn kinds(queue: &PlayerQueue) -> Vec<u8> {
        let mut out = Vec::new();
        queue.drain(&mut out, usize::MAX);
        out.into_iter().map(|item| if let Outgoing::Bytes(b) = item { b[0] } else { 0 }).collect()
    }

    #[test]
    fn video_waits_for_a_keyframe_at_start() {
        let q = budgeted(16);
        assert!(!q.push(&bytes(1), INTER, 0));
        assert!(q.push(&bytes(2), AUDIO, 0));
        assert!(q.push(&bytes(3), KEY, 0));
        assert!(q.push(&bytes(4), INTER, 0));
        // Joining mid-GOP is not a loss: only frames dropped to a slow reader are counted.
        assert_eq!(q.dropped_video(), 0);
    }

    #[test]
    fn drop_order_over_the_budget_is_disposable_inter_key_then_audio() {
        let q = budgeted(1000);
        assert!(q.push(&bytes(0), KEY, 0));
        // The oldest queued message has waited 300 ms: past a quarter of the budget.
        assert!(!q.push(&bytes(1), DISPOSABLE, 300));
        // After a video drop, even inter frames wait for the next keyframe.
        assert!(!q.push(&bytes(2), INTER, 300));
        assert!(q.push(&bytes(3), KEY, 300));
        assert!(q.push(&bytes(4), INTER, 500));
        assert!(!q.push(&bytes(5), INTER, 501));
        assert!(q.push(&bytes(6), KEY, 750));
        assert!(!q.push(&bytes(7), KEY, 751));
        assert!(q.push(&bytes(8), AUDIO, 1000));
        // Past three quarters of the budget the queued video goes first: then the audio is on
        // time again.
        assert!(q.push(&bytes(9), AUDIO, 1001));
        assert!(q.push(&bytes(10), HEADER, 5000), "headers are never dropped");
        assert_eq!(kinds(&q), [8, 9, 10]);
        assert_eq!(q.dropped_video(), 8, "1, 2 (waiting for a key), 5, 7, and the four queued");
        assert_eq!(q.dropped_audio(), 0);
    }

    #[test]
    fn audio_is_dropped_in_one_run_when_the_link_cannot_carry_it() {
        let q = budgeted(1000);
        // Only audio queued, and the oldest waited past three quarters of the budget: the link
        // is too slow for it.
        assert!(q.push(&bytes(0), AUDIO, 0));
        assert!(q.push(&bytes(1), AUDIO, 700));
        assert!(!q.push(&bytes(2), AUDIO, 751));
        // Still over a quarter of the budget behind: the same gap goes on, rather than a stutter.
        assert!(!q.push(&bytes(3), AUDIO, 900));
        q.drain(&mut Vec::new(), 1);
        // The 700 ms one has waited 250 ms now: the sound resumes.
        assert!(q.push(&bytes(4), AUDIO, 950));
        assert_eq!(q.dropped_audio(), 2);
        assert_eq!(q.audio_gaps(), 1);
    }

    #[test]
    fn a_keyframe_that_the_link_cannot_send_in_time_is_not_taken() {
        let q = budgeted(1000);
        q.report_link(Link { rate: 10_000, held_bytes: 0 });
        assert!(q.push(&bytes(0), AUDIO, 0));
        // 10 kB at 10 kB/s: a second, past three quarters of the budget.
        let big = Bytes::from(vec![7; 10_000]);
        assert!(!q.push(&big, KEY, 0));
        assert!(q.push(&Bytes::from(vec![7; 5_000]), KEY, 0));
        // The kernel's share counts: 8 kB unsent is 800 ms.
        q.report_link(Link { rate: 10_000, held_bytes: 8_000 });
        assert!(!q.push(&bytes(1), INTER, 0));
        assert_eq!(q.behind_live_ms(0), 1300, "5 kB queued and 8 kB in the kernel at 10 kB/s");
    }

    #[test]
    fn the_capacity_bounds_memory_whatever_the_budget() {
        let q = budgeted(4);
        q.push(&bytes(0), KEY, 0);
        for i in 1..4 {
            assert!(q.push(&bytes(i), AUDIO, 0));
        }
        assert!(!q.push(&bytes(9), AUDIO, 0));
        assert!(!q.push(&bytes(9), INTER, 0));
        assert!(q.push(&bytes(9), HEADER, 0));
        assert_eq!((q.dropped_video(), q.dropped_audio()), (1, 1));
    }

    #[test]
    fn without_a_budget_the_queue_length_sets_the_drop_order() {
        let q = PlayerQueue::unattached(16, None);
        q.push(&bytes(0), KEY, 0);
        let fill = |n| (0..n).for_each(|_| assert!(q.push(&bytes(1), AUDIO, 0)));
        fill(3); // 4 queued = capacity / 4
        assert!(!q.push(&bytes(9), DISPOSABLE, 0));
        assert!(q.push(&bytes(9), KEY, 0));
        fill(3); // 8 = half
        assert!(!q.push(&bytes(9), INTER, 0));
        assert!(q.push(&bytes(9), KEY, 0));
        fill(3); // 12 = three quarters
        assert!(!q.push(&bytes(9), KEY, 0));
        fill(4); // 16 = full
        assert!(!q.push(&bytes(9), AUDIO, 0));
        assert_eq!((q.dropped_video(), q.dropped_audio()), (3, 1));
    }

    #[test]
    fn the_writer_takes_what_the_socket_took_and_keeps_the_rest_droppable() {
        let q = budgeted(1000);
        q.push(&Bytes::from_static(b"key-frame"), KEY, 0);
        q.push(&Bytes::from_static(b"inter"), INTER, 0);
        q.push(&Bytes::from_static(b"audio"), AUDIO, 0);
        let mut out = Vec::new();
        assert_eq!(q.front(&mut out, 64, 12), Front::Media(1), "about 12 bytes: the keyframe alone");
        // The keyframe went out in part: its rest is the task's; the rest stays queued.
        assert_eq!(q.consume(4), Some((Bytes::from_static(b"key-frame"), 4)));
        assert_eq!(q.depth(), 2);
        out.clear();
        assert_eq!(q.front(&mut out, 64, 1 << 20), Front::Media(2));
        // While they are being written, a drop leaves them alone (and the audio that is too late
        // behind them goes).
        assert!(!q.push(&bytes(1), AUDIO, 1500));
        assert_eq!(q.dropped_video(), 0);
        assert_eq!(q.consume(5 + 5), None);
        assert_eq!(kinds(&q), []);
        assert_eq!(q.bytes_out(), 4 + 10);
    }

    #[test]
    fn audio_can_go_ahead_of_video_up_to_a_header_or_notice() {
        let q = budgeted(1000);
        for (n, class) in [(1, KEY), (2, AUDIO), (3, INTER), (4, AUDIO), (5, HEADER), (6, AUDIO)] {
            assert!(q.push(&bytes(n), class, 0));
        }
        let mut out = Vec::new();
        q.take_audio(&mut out, 64);
        assert_eq!(out, [bytes(2), bytes(4)]);
        assert_eq!(kinds(&q), [1, 3, 5, 6]);
        assert_eq!(q.bytes_out(), 2 + 4);
    }

    #[test]
    fn notices_come_in_order_and_restart_the_keyframe_wait() {
        let q = budgeted(16);
        q.push(&bytes(1), KEY, 0);
        q.push_notice(Notice::Unpublished);
        q.push_notice(Notice::Published);
        assert!(!q.push(&bytes(2), INTER, 0));
        let mut out = Vec::new();
        assert_eq!(q.front(&mut out, 64, 1 << 20), Front::Media(1));
        q.consume(1);
        assert_eq!(q.front(&mut out, 64, 1 << 20), Front::Notice(Notice::Unpublished));
        assert_eq!(q.front(&mut out, 64, 1 << 20), Front::Notice(Notice::Published));
        assert_eq!(q.front(&mut out, 64, 1 << 20), Front::Empty);
    }

    #[test]
    fn selection_and_pause() {
        let q = budgeted(16);
        q.select(Some(false), None);
        assert!(!q.push(&bytes(1), AUDIO, 0));
        q.select(Some(true), None);
        q.set_paused(true);
        assert!(!q.push(&bytes(1), AUDIO, 0));
        assert!(!q.push(&bytes(1), KEY, 0));
        q.set_paused(false);
        assert!(q.push(&bytes(1), AUDIO, 0));
    }
}

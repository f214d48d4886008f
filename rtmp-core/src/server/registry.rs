//! Streams by key: one publisher, any number of players, and the GOP cache.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Notify;

use super::forward::{Forward, ForwardError};
use super::gop::{CachedMessage, GopCache, LegacyCached};
use super::message::{MessageClass, PublishedMessage, chunk, legacy_form, may_need_legacy_form};
use super::output::{FrameClass, Notice, OutMessage, PlayerQueue, clock_ms, prefetch};
use super::pull::Pull;
use super::stats::{PeerKind, PlayerStats, StreamInfo, StreamStats};
use super::{PublisherPolicy, ServerConfig, StreamKey};
use crate::proto::media::{AudioConfig, AudioTag, LegacyForm, VideoConfig, VideoTag};

/// The message stream id nearly every player uses; media is chunked once for it.
const COMMON_STREAM_ID: u32 = 1;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One player of a stream.
#[derive(Debug)]
pub(crate) struct Player {
    pub(crate) session_id: u64,
    pub(crate) peer_addr: SocketAddr,
    /// The message stream its play arrived on; media is sent on it.
    pub(crate) stream_id: u32,
    /// Its connection's output for this play (made by [`super::output::PlayerOutput::queue`]),
    /// or a local subscriber's queue.
    pub(crate) queue: PlayerQueue,
    /// Who it is, for statistics.
    pub(crate) kind: PeerKind,
    /// An in-process reader ([`super::Subscription`]): it gets messages as published, unchunked;
    /// the others get them chunked for their message stream.
    in_process: bool,
    /// It reads only the legacy FLV form ([`super::message::takes_legacy_form`]): Enhanced-RTMP
    /// H.264 and AAC reach it as codec id 7 and sound format 10, track 0 only.
    legacy: bool,
}

impl Player {
    pub(crate) fn new(session_id: u64, peer_addr: SocketAddr, stream_id: u32, queue: PlayerQueue) -> Self {
        Self {
            session_id,
            peer_addr,
            stream_id,
            queue,
            kind: PeerKind::Rtmp,
            in_process: false,
            legacy: false,
        }
    }

    /// The same player, taking the legacy form of Enhanced-RTMP streams if `legacy`.
    pub(crate) fn legacy_form(self, legacy: bool) -> Self {
        Self { legacy, ..self }
    }

    /// A forward writing to its destination's socket on the output path, like a player.
    pub(crate) fn forward(
        session_id: u64,
        peer_addr: SocketAddr,
        stream_id: u32,
        queue: PlayerQueue,
    ) -> Self {
        Self { kind: PeerKind::Forward, ..Self::new(session_id, peer_addr, stream_id, queue) }
    }

    /// An in-process subscriber (no address, no message stream): a local one or a forward's.
    pub(crate) fn local(session_id: u64, queue: PlayerQueue, kind: PeerKind) -> Self {
        let nowhere = SocketAddr::from(([0, 0, 0, 0], 0));
        Self { session_id, peer_addr: nowhere, stream_id: 0, queue, kind, in_process: true, legacy: false }
    }

    /// Queues a cached or published message for this player: chunked for its message stream,
    /// or as published for a local subscriber.
    fn push_cached(&self, cached: &mut CachedMessage, chunk_size: u32, now: u32) {
        let class = cached.class;
        if self.legacy && self.push_cached_legacy(cached, chunk_size, now) {
            return;
        }
        match self.stream_id {
            _ if self.in_process => {
                let message = local_message(cached.type_id, cached.timestamp, &cached.payload, class);
                self.queue.push_message(message, now);
            }
            COMMON_STREAM_ID => {
                // Cached while nobody played: chunked now, once for every later joiner too.
                let chunked = cached.chunked.get_or_insert_with(|| {
                    chunk(cached.type_id, cached.timestamp, &cached.payload, COMMON_STREAM_ID, chunk_size)
                });
                self.queue.push(chunked, class, now);
            }
            _ => {
                let own =
                    chunk(cached.type_id, cached.timestamp, &cached.payload, self.stream_id, chunk_size);
                self.queue.push(&own, class, now);
            }
        }
    }

    /// Queues the legacy form of a cached message for this (legacy) player, if it differs from
    /// the message as published: false when it does not. Worked out once for all legacy joiners.
    fn push_cached_legacy(&self, cached: &mut CachedMessage, chunk_size: u32, now: u32) -> bool {
        let (type_id, timestamp, class) = (cached.type_id, cached.timestamp, cached.class);
        let payload = &cached.payload;
        let legacy = cached.legacy.get_or_insert_with(|| match legacy_form(type_id, payload) {
            LegacyForm::Unchanged => LegacyCached::Same,
            LegacyForm::Dropped => LegacyCached::Dropped,
            LegacyForm::Converted(payload) => LegacyCached::Converted { payload, chunked: None },
        });
        match legacy {
            LegacyCached::Same => false,
            LegacyCached::Dropped => true,
            LegacyCached::Converted { payload, chunked } => {
                if self.stream_id == COMMON_STREAM_ID {
                    let chunked = chunked.get_or_insert_with(|| {
                        chunk(type_id, timestamp, payload, COMMON_STREAM_ID, chunk_size)
                    });
                    self.queue.push(chunked, class, now);
                } else {
                    let own = chunk(type_id, timestamp, payload, self.stream_id, chunk_size);
                    self.queue.push(&own, class, now);
                }
                true
            }
        }
    }

    /// Starts loading what a fan-out reads first of this player.
    fn prefetch(&self) {
        prefetch(&self.stream_id);
        self.queue.prefetch();
    }

    fn stats(&self, now: u32) -> PlayerStats {
        PlayerStats {
            session_id: self.session_id,
            peer_addr: self.peer_addr,
            bytes_out: self.queue.bytes_out(),
            dropped_video: self.queue.dropped_video(),
            dropped_audio: self.queue.dropped_audio(),
            audio_gaps: self.queue.audio_gaps(),
            behind_live: Duration::from_millis(self.queue.behind_live_ms(now)),
            queue_depth: self.queue.depth(),
            kind: self.kind,
        }
    }
}

#[derive(Debug)]
struct Publisher {
    session_id: u64,
    peer_addr: SocketAddr,
    kind: PeerKind,
    /// Notified when another publisher takes the stream over.
    kick: Arc<Notify>,
    started: Instant,
    bytes_in: u64,
    video: Option<VideoConfig>,
    audio: Option<AudioConfig>,
}

#[derive(Debug)]
struct StreamState {
    publisher: Option<Publisher>,
    cache: GopCache,
    players: Vec<Arc<Player>>,
    /// Write coalescing: what was published since the last window went out.
    window: Window,
    /// The publisher vanished and its players wait for its reconnect.
    outage: Option<Outage>,
    timeline: Timeline,
    /// Outages so far; the last one's number is its generation.
    interruptions: u64,
    /// The current publish's forwards (stopped when it ends, kept through an outage).
    forwards: Vec<Forward>,
    /// Its pull from an upstream, while players want it.
    pull: Option<Pull>,
    resumptions: u64,
}

/// A publisher that vanished without unpublishing: its players, cache and timeline are kept for
/// [`ServerConfig::publisher_reconnect_grace`], waiting for a republish.
#[derive(Debug)]
struct Outage {
    since: Instant,
    /// Which interruption this is, so that the grace timer of an older one does nothing.
    generation: u64,
    /// Players that joined since: they wait like players of a stream not yet published, and get
    /// the publish notices and the cache when the publisher is back.
    joiners: Vec<Arc<Player>>,
}

/// The stream's timeline, which every player shares: a publish that resumes after an outage is
/// shifted to go on where the last one stopped, plus the outage.
#[derive(Debug, Default)]
struct Timeline {
    /// The latest timestamp published (shifted), in RTMP's wrapping order.
    last: Option<u32>,
    /// Added (wrapping) to every timestamp of the current publish.
    offset: u32,
    /// The current publish resumed after an outage that began then: its first message sets
    /// `offset`.
    resumed_after: Option<Instant>,
    /// The current publish resumed: until its first media, sequence headers and metadata equal
    /// to the cached ones are not sent again (players have them).
    skip_repeats: bool,
}

impl Timeline {
    /// Drops a resumed publish's repeated headers and metadata, and sets its offset from its
    /// first message.
    fn resume(&mut self, cache: &GopCache, messages: &mut Vec<PublishedMessage>) {
        if self.skip_repeats {
            let mut media = false;
            messages.retain(|m| {
                media |= matches!(
                    m.class,
                    MessageClass::Audio
                        | MessageClass::VideoKey { .. }
                        | MessageClass::VideoInter
                        | MessageClass::VideoDisposable
                );
                media || !cache.holds(m.class, &m.payload)
            });
            self.skip_repeats = !media;
        }
        if let Some(first) = messages.first()
            && let Some(since) = self.resumed_after.take()
            && let Some(last) = self.last
        {
            let outage_ms = u32::try_from(since.elapsed().as_millis()).unwrap_or(u32::MAX);
            self.offset = last.wrapping_add(outage_ms).wrapping_sub(first.timestamp);
        }
    }

    /// Shifts `message` by the offset and keeps the latest timestamp.
    #[inline]
    fn shift(&mut self, message: &mut PublishedMessage) {
        message.timestamp = message.timestamp.wrapping_add(self.offset);
        if self.last.is_none_or(|last| message.timestamp.wrapping_sub(last) as i32 > 0) {
            self.last = Some(message.timestamp);
        }
    }
}

/// The messages of one coalescing window, fanned out together: one write per player per window,
/// and no per-message work per player before then.
#[derive(Debug, Default)]
struct Window {
    /// Chunked for message stream 1, with their classes as the drop policy sees them.
    chunked: Vec<OutMessage>,
    /// As published, for players on another message stream (chunked for each of them).
    messages: Vec<PublishedMessage>,
}

/// What of the cache a joining player gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Metadata, sequence headers and the GOP: a late joiner sees a picture at once.
    Gop,
    /// Metadata and sequence headers only: media starts with what is published next.
    Headers,
}

/// Why a publish claim failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimError {
    /// Someone is publishing and the policy keeps them.
    AlreadyPublishing,
}

/// How fanned-out messages reach players.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// Written into a keeping-up player's socket now, from the caller's task.
    Now,
    /// Queued for the player's task (a stream event must follow them in order).
    Queued,
}

/// `message` chunked for message stream `stream_id`, with its class as the drop policy sees it.
fn out_message(message: &PublishedMessage, stream_id: u32, chunk_size: u32) -> OutMessage {
    OutMessage {
        bytes: message.chunk(stream_id, chunk_size),
        class: FrameClass::of(message.class),
        timestamp: message.timestamp,
        type_id: message.type_id,
    }
}

/// A message for a local subscriber: the payload as published (shared, not copied).
fn local_message(type_id: u8, timestamp: u32, payload: &Bytes, class: MessageClass) -> OutMessage {
    OutMessage { bytes: payload.clone(), class: FrameClass::of(class), timestamp, type_id }
}

/// A fan-out's messages as legacy players get them ([`super::message::legacy_form`]).
#[derive(Debug)]
struct LegacyBatch {
    /// Chunked for message stream 1: the others' chunks where the message is the same.
    chunked: Vec<OutMessage>,
    /// For players on another message stream.
    messages: Vec<PublishedMessage>,
}

impl LegacyBatch {
    /// The legacy form of `messages` (with `chunked`, the same chunked for message stream 1);
    /// `None` when every message reads the same to a legacy player (no Enhanced-RTMP tag).
    fn of(chunked: &[OutMessage], messages: &[PublishedMessage], chunk_size: u32) -> Option<Self> {
        if !messages.iter().any(|m| may_need_legacy_form(m.type_id, &m.payload)) {
            return None;
        }
        let mut batch = Self { chunked: Vec::with_capacity(chunked.len()), messages: Vec::new() };
        for (out, message) in chunked.iter().zip(messages) {
            match legacy_form(message.type_id, &message.payload) {
                LegacyForm::Unchanged => {
                    batch.chunked.push(out.clone());
                    batch.messages.push(message.clone());
                }
                LegacyForm::Converted(payload) => {
                    let message = PublishedMessage { payload, ..message.clone() };
                    batch.chunked.push(out_message(&message, COMMON_STREAM_ID, chunk_size));
                    batch.messages.push(message);
                }
                LegacyForm::Dropped => {}
            }
        }
        Some(batch)
    }
}

/// Sends `chunked` (chunked for message stream 1) to every player, in groups of at most one
/// direct write; a player on another message stream gets `messages` chunked for it, and a legacy
/// player their legacy form ([`LegacyBatch`], made once for all of them, only if one plays).
/// Returns the bytes written into players' sockets.
fn fan_out(
    players: &[Arc<Player>],
    chunked: &[OutMessage],
    messages: &[PublishedMessage],
    chunk_size: u32,
    delivery: Delivery,
) -> u64 {
    let may_write = delivery == Delivery::Now;
    let now = clock_ms();
    let mut sent = 0;
    // Local subscribers' batch, made once for all of them when the first needs it.
    let mut local: Option<Vec<OutMessage>> = None;
    // Legacy players' messages, converted and chunked once for all of them when the first needs
    // them (`None` inside: the messages hold nothing to convert, they get the others' batch).
    let mut legacy: Option<Option<LegacyBatch>> = None;
    for (i, player) in players.iter().enumerate() {
        // Each player's state is cold (the sends before it filled the cache), and waiting for it
        // showed as the fan-out's largest user-space cost: the next players' lines load while
        // this one's send runs. Two ahead for the player, one ahead for its socket's gate, whose
        // address is read from the player fetched the round before.
        if let Some(later) = players.get(i + 2) {
            later.prefetch();
        }
        if let Some(next) = players.get(i + 1) {
            next.queue.prefetch_writer();
        }
        let own: Vec<_>;
        let (chunked, messages) = match player.legacy {
            true => match legacy.get_or_insert_with(|| LegacyBatch::of(chunked, messages, chunk_size)) {
                Some(converted) => (&converted.chunked[..], &converted.messages[..]),
                None => (chunked, messages),
            },
            false => (chunked, messages),
        };
        let batch = if player.in_process {
            local.get_or_insert_with(|| {
                messages.iter().map(|m| local_message(m.type_id, m.timestamp, &m.payload, m.class)).collect()
            })
        } else if player.stream_id == COMMON_STREAM_ID {
            chunked
        } else {
            own = messages.iter().map(|m| out_message(m, player.stream_id, chunk_size)).collect();
            &own
        };
        sent += player.queue.push_batch(batch, may_write, now);
    }
    sent
}

/// One stream key's state.
#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) key: StreamKey,
    chunk_size: u32,
    /// [`ServerConfig::write_coalescing`] is on: media waits in the window.
    coalescing: bool,
    /// Players admitted ([`Self::admit_player`]) and not yet removed.
    admitted: AtomicUsize,
    state: Mutex<StreamState>,
}

impl Stream {
    pub(crate) fn new(key: StreamKey, config: &ServerConfig) -> Self {
        let max_ms = u32::try_from(config.gop_cache_max_duration.as_millis()).unwrap_or(u32::MAX);
        Self {
            key,
            chunk_size: config.chunk_size,
            coalescing: config.write_coalescing.is_some(),
            admitted: AtomicUsize::new(0),
            state: Mutex::new(StreamState {
                publisher: None,
                cache: GopCache::new(config.gop_cache_max_bytes, max_ms),
                players: Vec::new(),
                window: Window::default(),
                outage: None,
                timeline: Timeline::default(),
                forwards: Vec::new(),
                pull: None,
                interruptions: 0,
                resumptions: 0,
            }),
        }
    }

    /// True while a publisher is live.
    pub(crate) fn is_live(&self) -> bool {
        lock(&self.state).publisher.is_some()
    }

    /// Makes `session_id` the publisher. Under [`PublisherPolicy::TakeOver`] a current publisher is
    /// kicked (its connection ends) and players see only the new publish (PublishNotify, Reset,
    /// Start): an UnpublishNotify would end ffmpeg's and librtmp's playback, and a takeover is
    /// meant to keep viewers across an encoder reconnect.
    ///
    /// During an outage ([`Self::interrupt_publisher`]) the publish resumes the stream: its
    /// players hear nothing and go on at its first keyframe, on the same timeline; those that
    /// joined during the outage get the notices and the cache now. Returns the outage's length
    /// then, `None` for a plain publish.
    pub(crate) fn claim_publisher(
        &self,
        session_id: u64,
        peer_addr: SocketAddr,
        kick: Arc<Notify>,
        policy: PublisherPolicy,
        kind: PeerKind,
    ) -> Result<Option<Duration>, ClaimError> {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        if let Some(current) = &state.publisher {
            if policy == PublisherPolicy::RejectNew {
                return Err(ClaimError::AlreadyPublishing);
            }
            current.kick.notify_one();
            state.cache.clear();
            // The new publisher's decision sets its own.
            state.forwards.drain(..).for_each(Forward::finish);
        }
        Self::flush_window_locked(state, self.chunk_size, Delivery::Queued);
        state.publisher = Some(Publisher {
            session_id,
            peer_addr,
            kind,
            kick,
            started: Instant::now(),
            bytes_in: 0,
            video: None,
            audio: None,
        });
        if let Some(outage) = state.outage.take() {
            state.resumptions += 1;
            state.timeline.resumed_after = Some(outage.since);
            state.timeline.skip_repeats = true;
            for player in &state.players {
                if outage.joiners.iter().any(|joiner| Arc::ptr_eq(joiner, player)) {
                    player.queue.push_notice(Notice::Published);
                    Self::replay(&mut state.cache, player, self.chunk_size, Replay::Gop);
                }
                // The new encoder's frames cannot follow the old one's.
                player.queue.restart_keyframe_wait();
            }
            // Nor can they join the old GOP: later joiners get the new one.
            state.cache.clear_gop();
            return Ok(Some(outage.since.elapsed()));
        }
        state.timeline = Timeline::default();
        for player in &state.players {
            player.queue.push_notice(Notice::Published);
        }
        Ok(None)
    }

    /// Adds a forward of the current publish; refused when the stream is not live (its publisher
    /// left while the forward was decided) or forwards to that URL already.
    pub(crate) fn add_forward(&self, forward: Forward) -> Result<(), ForwardError> {
        let mut state = lock(&self.state);
        if state.publisher.is_none() && state.outage.is_none() {
            return Err(ForwardError::NotLive(self.key.clone()));
        }
        if state.forwards.iter().any(|f| f.url == forward.url) {
            return Err(ForwardError::Duplicate(forward.url.clone()));
        }
        state.forwards.push(forward);
        Ok(())
    }

    /// Stops the forward to `url`; whether there was one.
    pub(crate) fn remove_forward(&self, url: &str) -> bool {
        let mut state = lock(&self.state);
        let before = state.forwards.len();
        state.forwards.retain(|f| f.url != url);
        state.forwards.len() < before
    }

    /// Whether `session_id` publishes the stream now (a takeover ends that).
    pub(crate) fn is_publisher(&self, session_id: u64) -> bool {
        lock(&self.state).publisher.as_ref().is_some_and(|p| p.session_id == session_id)
    }

    /// Ends `session_id`'s publishing, if it is still the publisher. Returns whether it was.
    pub(crate) fn release_publisher(&self, session_id: u64) -> bool {
        let mut state = lock(&self.state);
        if state.publisher.as_ref().is_none_or(|p| p.session_id != session_id) {
            return false;
        }
        state.publisher = None;
        Self::unpublished(&mut state, self.chunk_size, |_| true);
        true
    }

    /// `session_id`, still the publisher, vanished without unpublishing: its players, the cache
    /// and the timeline stay for a republish ([`Self::claim_publisher`]) until
    /// [`Self::end_outage`]. Returns the outage's generation, or `None` if it was not the
    /// publisher.
    pub(crate) fn interrupt_publisher(&self, session_id: u64) -> Option<u64> {
        let mut state = lock(&self.state);
        if state.publisher.as_ref().is_none_or(|p| p.session_id != session_id) {
            return None;
        }
        state.publisher = None;
        Self::flush_window_locked(&mut state, self.chunk_size, Delivery::Queued);
        state.interruptions += 1;
        let generation = state.interruptions;
        state.timeline.resumed_after = None;
        state.outage = Some(Outage { since: Instant::now(), generation, joiners: Vec::new() });
        Some(generation)
    }

    /// The grace of outage `generation` ran out (or the server stops): its players get
    /// UnpublishNotify and the cache is cleared, as on an unpublish; those that joined during
    /// it go on waiting. False if the stream was republished or interrupted again since.
    pub(crate) fn end_outage(&self, generation: u64) -> bool {
        let mut state = lock(&self.state);
        if state.outage.as_ref().is_none_or(|o| o.generation != generation) {
            return false;
        }
        let joiners = state.outage.take().map(|o| o.joiners).unwrap_or_default();
        Self::unpublished(&mut state, self.chunk_size, |p| !joiners.iter().any(|j| Arc::ptr_eq(j, p)));
        true
    }

    /// The stream has no publisher any more: the cache and timeline go, and `told` players get
    /// UnpublishNotify after the last window.
    fn unpublished(state: &mut StreamState, chunk_size: u32, told: impl Fn(&Arc<Player>) -> bool) {
        state.cache.clear();
        state.forwards.drain(..).for_each(Forward::finish);
        state.timeline = Timeline::default();
        Self::flush_window_locked(state, chunk_size, Delivery::Queued);
        for player in state.players.iter().filter(|p| told(p)) {
            player.queue.push_notice(Notice::Unpublished);
        }
    }

    /// Caches a publisher's messages (those of one read, drained from `messages`) and sends or
    /// queues them for every player: chunked once for all players on message stream 1, and one
    /// write per player that keeps up. Returns the bytes written into players' sockets.
    #[must_use]
    pub(crate) fn publish(&self, session_id: u64, messages: &mut Vec<PublishedMessage>) -> u64 {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        let Some(publisher) = state.publisher.as_mut().filter(|p| p.session_id == session_id) else {
            messages.clear();
            return 0;
        };
        let timeline = &mut state.timeline;
        if timeline.skip_repeats || timeline.resumed_after.is_some() {
            timeline.resume(&state.cache, messages);
        }
        for message in messages.iter_mut() {
            timeline.shift(message);
            publisher.bytes_in += message.payload.len() as u64;
            if let MessageClass::VideoHeader { track: 0 } = message.class
                && let Ok(tag) = VideoTag::parse(&message.payload)
            {
                publisher.video = VideoConfig::parse(tag.codec(), tag.body()).ok();
            }
            if let MessageClass::AudioHeader { track: 0 } = message.class
                && let Ok(tag) = AudioTag::parse(&message.payload)
            {
                publisher.audio = AudioConfig::parse(tag.codec(), tag.body()).ok();
            }
        }
        let mut sent = 0;
        // Nobody playing (an ingest server's usual case): nothing to chunk.
        let chunked: Vec<OutMessage> = if state.players.is_empty() {
            Vec::new()
        } else {
            messages.iter().map(|m| out_message(m, COMMON_STREAM_ID, self.chunk_size)).collect()
        };
        if !chunked.is_empty() {
            if self.coalescing {
                state.window.chunked.extend_from_slice(&chunked);
                state.window.messages.extend_from_slice(messages);
            } else {
                sent = fan_out(&state.players, &chunked, messages, self.chunk_size, Delivery::Now);
            }
        }
        let mut chunked = chunked.into_iter().map(|m| m.bytes);
        for message in messages.drain(..) {
            let cached = CachedMessage {
                type_id: message.type_id,
                timestamp: message.timestamp,
                payload: message.payload,
                chunked: chunked.next(),
                class: message.class,
                legacy: None,
            };
            state.cache.record(cached);
        }
        sent
    }

    /// Adds a player: the cache (metadata, headers, GOP) goes into its queue first, then live
    /// messages follow with no gap, both under one lock.
    /// The caller holds the player's connection (its replies go first), so nothing is written here.
    /// During an outage the player waits, like one of a stream not yet published.
    pub(crate) fn add_player(&self, player: Arc<Player>) {
        self.add_player_from(player, Replay::Gop);
    }

    /// [`Self::add_player`], given `replay` of the cache.
    pub(crate) fn add_player_from(&self, player: Arc<Player>, replay: Replay) {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        if let Some(outage) = &mut state.outage {
            outage.joiners.push(Arc::clone(&player));
            state.players.push(player);
            return;
        }
        // The window's messages are in the cache the joiner gets: the others get them now.
        Self::flush_window_locked(state, self.chunk_size, Delivery::Queued);
        Self::replay(&mut state.cache, &player, self.chunk_size, replay);
        state.players.push(player);
    }

    /// Queues the cache for `player`: metadata and headers, and the GOP for [`Replay::Gop`].
    fn replay(cache: &mut GopCache, player: &Player, chunk_size: u32, replay: Replay) {
        let now = clock_ms();
        for cached in cache.replay_mut() {
            if replay == Replay::Gop || FrameClass::of(cached.class) == FrameClass::Header {
                player.push_cached(cached, chunk_size, now);
            }
        }
    }

    /// Write coalescing: fans out the window's messages to every player, one write each.
    /// Returns the bytes written.
    pub(crate) fn flush_window(&self) -> u64 {
        Self::flush_window_locked(&mut lock(&self.state), self.chunk_size, Delivery::Now)
    }

    fn flush_window_locked(state: &mut StreamState, chunk_size: u32, delivery: Delivery) -> u64 {
        let StreamState { players, window, .. } = state;
        if window.chunked.is_empty() {
            return 0;
        }
        let sent = fan_out(players, &window.chunked, &window.messages, chunk_size, delivery);
        window.chunked.clear();
        window.messages.clear();
        sent
    }

    /// Removes a player.
    /// Admits one more player unless `limit` are in already ([`ServerConfig::max_players_per_stream`]);
    /// an admitted player is counted until [`Self::remove_player`].
    pub(crate) fn admit_player(&self, limit: Option<usize>) -> bool {
        let max = limit.unwrap_or(usize::MAX);
        self.admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1))
            .is_ok()
    }

    pub(crate) fn remove_player(&self, player: &Arc<Player>) {
        let mut state = lock(&self.state);
        let before = state.players.len();
        state.players.retain(|p| !Arc::ptr_eq(p, player));
        if state.players.len() < before {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
        }
        if let Some(outage) = &mut state.outage {
            outage.joiners.retain(|p| !Arc::ptr_eq(p, player));
        }
    }

    /// No publisher, no players, no outage (whose counts and cache must survive it) and no pull.
    fn is_unused(&self) -> bool {
        let state = lock(&self.state);
        state.publisher.is_none()
            && state.outage.is_none()
            && state.players.is_empty()
            && state.pull.is_none()
    }

    /// Players, local subscribers and forwards now.
    pub(crate) fn player_count(&self) -> usize {
        lock(&self.state).players.len()
    }

    /// Starts the pull `make` gives, unless the stream is published, in an outage, or pulled.
    pub(crate) fn start_pull(&self, make: impl FnOnce() -> Pull) {
        let mut state = lock(&self.state);
        if state.publisher.is_none() && state.outage.is_none() && state.pull.is_none() {
            state.pull = Some(make());
        }
    }

    /// Forgets the pull (its task ends).
    pub(crate) fn end_pull(&self) {
        let pull = lock(&self.state).pull.take();
        drop(pull);
    }

    /// The stream as [`super::ServerHandle::streams`] lists it, while it is live.
    fn info(&self) -> Option<StreamInfo> {
        let state = lock(&self.state);
        let publisher = state.publisher.as_ref()?;
        Some(StreamInfo {
            key: self.key.clone(),
            publisher: publisher.kind,
            video_codec: publisher.video.as_ref().map(|v| v.codec_string().to_owned()),
            audio_codec: publisher.audio.as_ref().map(|a| a.codec_string().to_owned()),
            players: state.players.iter().filter(|p| p.kind == PeerKind::Rtmp).count(),
            forwards: state.forwards.len(),
            subscribers: state.players.iter().filter(|p| p.kind == PeerKind::Local).count(),
        })
    }

    fn stats(&self) -> StreamStats {
        let state = lock(&self.state);
        let publisher = state.publisher.as_ref();
        let uptime = publisher.map(|p| p.started.elapsed()).unwrap_or_default();
        let bytes_in = publisher.map_or(0, |p| p.bytes_in);
        let video = publisher.and_then(|p| p.video.as_ref());
        let secs = uptime.as_secs_f64();
        StreamStats {
            key: self.key.clone(),
            publisher: publisher.map(|p| p.peer_addr),
            publisher_kind: publisher.map(|p| p.kind),
            video_codec: video.map(|v| v.codec_string().to_owned()),
            audio_codec: publisher.and_then(|p| p.audio.as_ref()).map(|a| a.codec_string().to_owned()),
            width: video.and_then(VideoConfig::width),
            height: video.and_then(VideoConfig::height),
            bytes_in,
            bitrate_in: if secs > 0.0 { (bytes_in as f64 * 8.0 / secs) as u64 } else { 0 },
            uptime,
            interruptions: state.interruptions,
            resumptions: state.resumptions,
            players: state.players.iter().map(|p| p.stats(clock_ms())).collect(),
            forwards: state.forwards.iter().map(Forward::stats).collect(),
            pull: state.pull.as_ref().map(Pull::stats),
        }
    }
}

/// All streams of a server.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    streams: Mutex<HashMap<StreamKey, Arc<Stream>>>,
}

impl Registry {
    /// The stream for `key`, created if needed.
    pub(crate) fn stream(&self, key: &StreamKey, config: &ServerConfig) -> Arc<Stream> {
        let mut streams = lock(&self.streams);
        streams.entry(key.clone()).or_insert_with(|| Arc::new(Stream::new(key.clone(), config))).clone()
    }

    /// The stream for `key`, if it exists.
    pub(crate) fn find(&self, key: &StreamKey) -> Option<Arc<Stream>> {
        lock(&self.streams).get(key).cloned()
    }

    /// The live streams, sorted by key.
    pub(crate) fn live(&self) -> Vec<StreamInfo> {
        let streams: Vec<Arc<Stream>> = lock(&self.streams).values().cloned().collect();
        let mut live: Vec<StreamInfo> = streams.iter().filter_map(|s| s.info()).collect();
        live.sort_by(|a, b| a.key.cmp(&b.key));
        live
    }

    /// Write coalescing: every stream's window out (see [`Stream::flush_window`]). Returns the
    /// bytes written.
    pub(crate) fn flush_coalesced(&self) -> u64 {
        let streams: Vec<Arc<Stream>> = lock(&self.streams).values().cloned().collect();
        streams.iter().map(|stream| stream.flush_window()).sum()
    }

    /// Drops the stream for `key` if it has neither publisher nor players.
    pub(crate) fn remove_if_unused(&self, key: &StreamKey) {
        let mut streams = lock(&self.streams);
        if streams.get(key).is_some_and(|s| s.is_unused()) {
            streams.remove(key);
        }
    }

    /// Every stream's statistics, sorted by key.
    pub(crate) fn stats(&self) -> Vec<StreamStats> {
        let streams: Vec<Arc<Stream>> = lock(&self.streams).values().cloned().collect();
        let mut stats: Vec<StreamStats> = streams.iter().map(|s| s.stats()).collect();
        stats.sort_by(|a, b| a.key.cmp(&b.key));
        stats
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::server::output::Outgoing;

    fn notices(player: &Player) -> Vec<Outgoing> {
        let mut out = Vec::new();
        player.queue.drain(&mut out, 100);
        out
    }

    #[test]
    fn takeover_tells_players_of_the_new_publish_only() {
        let stream = Stream::new(StreamKey::new("live", "cam"), &ServerConfig::default());
        let addr = SocketAddr::from(([127, 0, 0, 1], 1));
        let policy = PublisherPolicy::TakeOver;
        stream.claim_publisher(1, addr, Arc::default(), policy, PeerKind::Rtmp).unwrap();
        let player = Arc::new(Player::new(9, addr, 1, PlayerQueue::unattached(16, None)));
        stream.add_player(Arc::clone(&player));
        stream.claim_publisher(2, addr, Arc::default(), policy, PeerKind::Rtmp).unwrap();
        assert_eq!(notices(&player), [Outgoing::Published]);
        // The replaced publisher no longer owns the stream; the new one does.
        assert!(!stream.release_publisher(1));
        assert!(stream.release_publisher(2));
        assert_eq!(notices(&player), [Outgoing::Unpublished]);
    }

    fn video(timestamp: u32, key: bool) -> PublishedMessage {
        let payload = Bytes::from(vec![if key { 0x17 } else { 0x27 }, 1, 0, 0, 0, timestamp as u8]);
        let tag = VideoTag::parse(&payload).ok();
        PublishedMessage::video(timestamp, payload, tag.as_ref())
    }

    /// The timestamps of the media a player was given, and its notices.
    fn received(player: &Player) -> Vec<Result<u8, Outgoing>> {
        notices(player)
            .into_iter()
            .map(|item| match item {
                // The last payload byte of these tiny messages is the timestamp.
                Outgoing::Bytes(bytes) => Ok(bytes[bytes.len() - 1]),
                notice => Err(notice),
            })
            .collect()
    }

    fn header(last: u8) -> PublishedMessage {
        let payload = Bytes::from(vec![0x17, 0, 0, 0, 0, 0x01, 0x42, 0xc0, 0x0d, 0xff, 0xe0, last]);
        let tag = VideoTag::parse(&payload).ok();
        PublishedMessage::video(0, payload, tag.as_ref())
    }

    /// What a player got: (timestamp of the chunk's type-0 header, first payload byte), or a
    /// notice.
    fn stamped(player: &Player) -> Vec<Result<(u32, u8), Outgoing>> {
        notices(player)
            .into_iter()
            .map(|item| match item {
                Outgoing::Bytes(b) => Ok((u32::from_be_bytes([0, b[1], b[2], b[3]]), b[12])),
                notice => Err(notice),
            })
            .collect()
    }

    #[test]
    fn a_resumed_publish_goes_on_without_notices_on_the_same_timeline() {
        let stream = Stream::new(StreamKey::new("live", "cam"), &ServerConfig::default());
        let addr = SocketAddr::from(([127, 0, 0, 1], 1));
        let policy = PublisherPolicy::RejectNew;
        stream.claim_publisher(1, addr, Arc::default(), policy, PeerKind::Rtmp).unwrap();
        let player = Arc::new(Player::new(9, addr, 1, PlayerQueue::unattached(64, None)));
        stream.add_player(Arc::clone(&player));
        let _ = stream.publish(1, &mut vec![header(1), video(1000, true), video(1040, false)]);
        assert_eq!(stamped(&player), [Ok((0, 0x17)), Ok((1000, 0x17)), Ok((1040, 0x27))]);

        let generation = stream.interrupt_publisher(1).expect("the publisher");
        assert!(!stream.is_live() && !stream.is_unused(), "held in the outage");
        assert_eq!(notices(&player), [], "no UnpublishNotify");
        // A joiner waits for the publisher, even under RejectNew the new publish is taken.
        let joiner = Arc::new(Player::new(10, addr, 1, PlayerQueue::unattached(64, None)));
        stream.add_player(Arc::clone(&joiner));
        assert_eq!(notices(&joiner), []);
        std::thread::sleep(Duration::from_millis(30));
        let outage = stream
            .claim_publisher(2, addr, Arc::default(), policy, PeerKind::Rtmp)
            .unwrap()
            .expect("resumed");
        assert!(outage >= Duration::from_millis(30), "{outage:?}");
        assert!(!stream.end_outage(generation), "the republish ended the outage");
        assert_eq!(notices(&player), [], "no notices on resume");
        let joined = stamped(&joiner);
        assert_eq!(joined[0], Err(Outgoing::Published));
        assert_eq!(joined[1..], [Ok((0, 0x17)), Ok((1000, 0x17)), Ok((1040, 0x27))], "the cache");

        // The same header again is not sent; video waits for the new keyframe; the first new
        // message maps to the last timestamp plus the outage.
        let _ = stream.publish(2, &mut vec![header(1), video(0, false), video(40, true), video(80, false)]);
        let got = stamped(&player);
        assert_eq!(got.len(), 2, "{got:?}");
        let (&Ok((key, 0x17)), &Ok((next, 0x27))) = (&got[0], &got[1]) else { panic!("{got:?}") };
        let first = key - 40;
        assert!((1070..1200).contains(&first), "the first new message at {first}");
        assert_eq!(next, key + 40);
        assert_eq!(stamped(&joiner).len(), 2);
        // A changed header after media goes out, and replaces the cached one; the GOP coded
        // with the old one goes too (it would not decode after the new header).
        let _ = stream.publish(2, &mut vec![header(2)]);
        assert_eq!(stamped(&player), [Ok((key - 40, 0x17))]);
        let late = Arc::new(Player::new(11, addr, 1, PlayerQueue::unattached(64, None)));
        stream.add_player(Arc::clone(&late));
        assert_eq!(stamped(&late).len(), 1, "the new header, no GOP until the next keyframe");
    }

    #[test]
    fn a_changed_header_on_resume_is_sent_and_the_grace_end_unpublishes() {
        let stream = Stream::new(StreamKey::new("live", "cam"), &ServerConfig::default());
        let addr = SocketAddr::from(([127, 0, 0, 1], 1));
        let policy = PublisherPolicy::RejectNew;
        stream.claim_publisher(1, addr, Arc::default(), policy, PeerKind::Rtmp).unwrap();
        let player = Arc::new(Player::new(9, addr, 1, PlayerQueue::unattached(64, None)));
        stream.add_player(Arc::clone(&player));
        let _ = stream.publish(1, &mut vec![header(1), video(0, true)]);
        notices(&player);
        stream.interrupt_publisher(1).unwrap();
        assert!(stream.claim_publisher(2, addr, Arc::default(), policy, PeerKind::Rtmp).unwrap().is_some());
        let _ = stream.publish(2, &mut vec![header(2), video(0, true)]);
        let got = stamped(&player);
        assert_eq!(got.len(), 2, "the changed header and the keyframe: {got:?}");

        let generation = stream.interrupt_publisher(2).unwrap();
        let joiner = Arc::new(Player::new(10, addr, 1, PlayerQueue::unattached(64, None)));
        stream.add_player(Arc::clone(&joiner));
        assert!(!stream.end_outage(generation + 1), "not this outage");
        assert!(stream.end_outage(generation));
        assert_eq!(notices(&player), [Outgoing::Unpublished]);
        assert_eq!(notices(&joiner), [], "a joiner goes on waiting");
        let stats = stream.stats();
        assert_eq!((stats.interruptions, stats.resumptions), (2, 1));
        // A publish after the grace is a new one: notices, its own timestamps.
        assert_eq!(stream.claim_publisher(3, addr, Arc::default(), policy, PeerKind::Rtmp).unwrap(), None);
        let _ = stream.publish(3, &mut vec![video(5, true)]);
        assert_eq!(stamped(&player), [Err(Outgoing::Published), Ok((5, 0x17))]);
    }

    fn payloads(player: &Player, header: usize) -> Vec<Vec<u8>> {
        notices(player)
            .into_iter()
            .map(|item| match item {
                Outgoing::Bytes(bytes) => bytes[header..].to_vec(),
                notice => panic!("{notice:?}"),
            })
            .collect()
    }

    fn enhanced(type_id: u8, timestamp: u32, bytes: &'static [u8]) -> PublishedMessage {
        let payload = Bytes::from_static(bytes);
        if type_id == 9 {
            PublishedMessage::video(timestamp, payload.clone(), VideoTag::parse(&payload).ok().as_ref())
        } else {
            PublishedMessage::audio(timestamp, payload.clone(), AudioTag::parse(&payload).ok().as_ref())
        }
    }

    #[test]
    fn legacy_players_get_enhanced_h264_and_aac_in_legacy_form_the_others_as_published() {
        for coalescing in [None, Some(Duration::from_millis(100))] {
            let config = ServerConfig::default().write_coalescing(coalescing);
            let stream = Stream::new(StreamKey::new("live", "cam"), &config);
            let addr = SocketAddr::from(([127, 0, 0, 1], 1));
            stream
                .claim_publisher(1, addr, Arc::default(), PublisherPolicy::RejectNew, PeerKind::Rtmp)
                .unwrap();
            let queue = || PlayerQueue::unattached(64, None);
            let modern = Arc::new(Player::new(9, addr, 1, queue()));
            let legacy = Arc::new(Player::new(10, addr, 1, queue()).legacy_form(true));
            let other_stream = Arc::new(Player::new(11, addr, 3, queue()).legacy_form(true));
            let local = Arc::new(Player::local(12, queue(), PeerKind::Local));
            for player in [&modern, &legacy, &other_stream, &local] {
                stream.add_player(Arc::clone(player));
            }
            let published: [(u8, &'static [u8]); 7] = [
                (9, b"\x90avc1\x01\x42\xc0\x0d"),
                (8, b"\x90mp4a\x12\x10"),
                (9, b"\x93avc1\x00\x00\x00\x02\x09\xf0"),
                // OBS's second rendition: track 1, for E-RTMP players only.
                (9, b"\x96\x03avc1\x01\x00\x00\x00\x02\x09\xf0"),
                (8, b"\x95\x01mp4a\x00\x21\x10"),
                (9, b"\xa1avc1\x00\x00\x28\x00\x00\x00\x01\x41"),
                // Legacy already: the same bytes for everyone.
                (8, b"\xaf\x01\x21\x11"),
            ];
            let mut messages: Vec<_> =
                published.iter().enumerate().map(|(i, (t, b))| enhanced(*t, i as u32, b)).collect();
            let _ = stream.publish(1, &mut messages);
            let _ = stream.flush_window();
            let as_published: Vec<Vec<u8>> = published.iter().map(|(_, b)| b.to_vec()).collect();
            let expected: Vec<Vec<u8>> = [
                &b"\x17\x00\x00\x00\x00\x01\x42\xc0\x0d"[..],
                b"\xaf\x00\x12\x10",
                b"\x17\x01\x00\x00\x00\x00\x00\x00\x02\x09\xf0",
                b"\xaf\x01\x21\x10",
                b"\x27\x01\x00\x00\x28\x00\x00\x00\x01\x41",
                b"\xaf\x01\x21\x11",
            ]
            .iter()
            .map(|b| b.to_vec())
            .collect();
            assert_eq!(payloads(&modern, 12), as_published, "{coalescing:?}");
            assert_eq!(payloads(&local, 0), as_published, "in-process: as published");
            assert_eq!(payloads(&legacy, 12), expected);
            assert_eq!(payloads(&other_stream, 12), expected);
            // A late legacy joiner gets the cache in legacy form too: headers, then the GOP.
            let late = Arc::new(Player::new(13, addr, 1, queue()).legacy_form(true));
            stream.add_player(Arc::clone(&late));
            let late_modern = Arc::new(Player::new(14, addr, 1, queue()));
            stream.add_player(Arc::clone(&late_modern));
            let gop: Vec<Vec<u8>> =
                [&expected[1], &expected[0], &expected[2], &expected[3], &expected[4], &expected[5]]
                    .into_iter()
                    .cloned()
                    .collect();
            assert_eq!(payloads(&late, 12), gop);
            let late2 = Arc::new(Player::new(15, addr, 1, queue()).legacy_form(true));
            stream.add_player(Arc::clone(&late2));
            assert_eq!(payloads(&late2, 12), gop, "kept for the next legacy joiner");
            assert_eq!(payloads(&late_modern, 12).len(), 7, "the as-published cache, track 1 included");
        }
    }

    #[test]
    fn a_coalescing_window_reaches_each_player_once_and_before_stream_events() {
        let config = ServerConfig::default().write_coalescing(Some(std::time::Duration::from_millis(100)));
        let stream = Stream::new(StreamKey::new("live", "cam"), &config);
        let addr = SocketAddr::from(([127, 0, 0, 1], 1));
        stream.claim_publisher(1, addr, Arc::default(), PublisherPolicy::RejectNew, PeerKind::Rtmp).unwrap();
        let first = Arc::new(Player::new(9, addr, 1, PlayerQueue::unattached(16, None)));
        stream.add_player(Arc::clone(&first));
        let _ = stream.publish(1, &mut vec![video(1, true), video(2, false)]);
        assert_eq!(received(&first), [], "held in the window");
        // A joiner gets the window's messages from the cache; the others get the window now.
        // One on message stream 2 gets them chunked for it.
        let joiner = Arc::new(Player::new(10, addr, 2, PlayerQueue::unattached(16, None)));
        stream.add_player(Arc::clone(&joiner));
        assert_eq!(received(&first), [Ok(1), Ok(2)]);
        assert_eq!(received(&joiner), [Ok(1), Ok(2)]);
        let _ = stream.publish(1, &mut vec![video(3, false)]);
        let _ = stream.flush_window();
        let _ = stream.flush_window();
        assert_eq!(received(&first), [Ok(3)]);
        assert_eq!(received(&joiner), [Ok(3)]);
        // The last window goes out before the unpublish notice.
        let _ = stream.publish(1, &mut vec![video(4, false)]);
        assert!(stream.release_publisher(1));
        assert_eq!(received(&first), [Ok(4), Err(Outgoing::Unpublished)]);
        assert_eq!(received(&joiner), [Ok(4), Err(Outgoing::Unpublished)]);
    }
}

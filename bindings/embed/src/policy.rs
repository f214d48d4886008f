//! The event policy: what every skin does when its handler is slow, fails or never answers.
//! Written once here and used by the Python and Node skins (the C API calls its callbacks
//! directly on the connection's thread and has no queue; its rules are in the header).
//!
//! - **Bound.** At most `max_pending_frames` frame events ([`is_droppable`]: metadata, video,
//!   audio, keyframe) wait for a skin's handler thread. Past it, new frame events are dropped
//!   and counted ([`FrameBudget::dropped`], `Server.dropped_events` in Python and Node); the
//!   first drop of each overload is reported once. Connection events, decisions, stats and
//!   disconnects are never dropped: they are few, and losing one would leave a session unknown.
//! - **Per-frame filter.** `on_media_tag` keeps the message unless it answers false: an
//!   exception, a throw, a rejected Promise or an answer that is not a boolean keeps it, and the
//!   failure is reported. A filter that fails must not cut a stream.
//! - **Waiting for a foreign hook.** A connection waits at most `media_tag_timeout` for
//!   `on_media_tag` (then the message passes, reported) and `decision_timeout` for a decision
//!   (then it is rejected). The runtime worker that waits for `on_media_tag` hands its other
//!   connections to the other workers meanwhile ([`wait_for_verdict`]), so one connection's
//!   slow hook never holds up another's.
//! - **Decisions off the loop.** A plain (not async) Python decision hook runs on a thread pool
//!   (`hook_threads`), as Starlette runs sync endpoints, so a blocking database call in one does
//!   not serialize the others; async hooks and JS hooks run on their event loop.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::event::Hook;

/// Whether events of `hook` may be dropped when the handler falls behind.
pub fn is_droppable(hook: Hook) -> bool {
    matches!(hook, Hook::Metadata | Hook::VideoFrame | Hook::AudioFrame | Hook::Keyframe)
}

/// What [`FrameBudget::admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Queue the event.
    Queued,
    /// Drop it (counted); `first` when it is the first drop since the handler last caught up,
    /// which the skin reports.
    Dropped {
        /// The first drop of this overload.
        first: bool,
    },
}

/// The bound on frame events waiting for a skin's handler.
#[derive(Debug)]
pub struct FrameBudget {
    max: usize,
    pending: AtomicUsize,
    dropped: AtomicU64,
    overloaded: AtomicBool,
}

impl FrameBudget {
    /// A budget of `max` waiting frame events.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            pending: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
            overloaded: AtomicBool::new(false),
        }
    }

    /// Decides for one event about to be queued.
    pub fn admit(&self, hook: Hook) -> Admission {
        if !is_droppable(hook) {
            return Admission::Queued;
        }
        if self.pending.fetch_add(1, Ordering::AcqRel) < self.max {
            return Admission::Queued;
        }
        self.pending.fetch_sub(1, Ordering::AcqRel);
        self.dropped.fetch_add(1, Ordering::Relaxed);
        Admission::Dropped { first: !self.overloaded.swap(true, Ordering::AcqRel) }
    }

    /// An admitted event of `hook` reached the handler (or was discarded).
    pub fn done(&self, hook: Hook) {
        if is_droppable(hook) && self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.overloaded.store(false, Ordering::Release);
        }
    }

    /// The bound.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Frame events dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// What a bounded wait for `on_media_tag` gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The hook answered: keep (true) or drop (false).
    Answered(bool),
    /// No answer within the timeout: the message passes, and the skin reports it.
    TimedOut,
    /// The hook's side went away (the server is closing): the message passes.
    Gone,
}

impl Verdict {
    /// Whether the message goes on to players.
    pub fn keep(self) -> bool {
        !matches!(self, Self::Answered(false))
    }
}

/// Waits up to `timeout` for the skin's answer on a runtime worker, handing the worker's other
/// tasks to other workers meanwhile (outside a multi-thread runtime, it just waits).
pub fn wait_for_verdict(answer: &Receiver<bool>, timeout: Duration) -> Verdict {
    let wait = || match answer.recv_timeout(timeout) {
        Ok(keep) => Verdict::Answered(keep),
        Err(RecvTimeoutError::Timeout) => Verdict::TimedOut,
        Err(RecvTimeoutError::Disconnected) => Verdict::Gone,
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_events_past_the_bound_are_dropped_and_reported_once_per_overload() {
        let budget = FrameBudget::new(2);
        assert_eq!(budget.admit(Hook::VideoFrame), Admission::Queued);
        assert_eq!(budget.admit(Hook::Metadata), Admission::Queued);
        assert_eq!(budget.admit(Hook::AudioFrame), Admission::Dropped { first: true });
        assert_eq!(budget.admit(Hook::Keyframe), Admission::Dropped { first: false });
        // Never dropped, whatever the load.
        for hook in [Hook::Publish, Hook::Disconnect, Hook::Stats, Hook::Connect] {
            assert_eq!(budget.admit(hook), Admission::Queued);
        }
        budget.done(Hook::VideoFrame);
        budget.done(Hook::Metadata);
        assert_eq!(budget.admit(Hook::VideoFrame), Admission::Queued);
        budget.done(Hook::VideoFrame);
        assert_eq!(budget.admit(Hook::VideoFrame), Admission::Queued);
        assert_eq!(budget.admit(Hook::VideoFrame), Admission::Queued);
        assert_eq!(budget.admit(Hook::VideoFrame), Admission::Dropped { first: true }, "a new overload");
        assert_eq!(budget.dropped(), 3);
    }

    #[test]
    fn a_verdict_keeps_the_message_unless_the_hook_said_no() {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        reply.send(false).unwrap();
        assert_eq!(wait_for_verdict(&answer, Duration::from_secs(1)), Verdict::Answered(false));
        assert_eq!(wait_for_verdict(&answer, Duration::from_millis(10)), Verdict::TimedOut);
        drop(reply);
        assert_eq!(wait_for_verdict(&answer, Duration::from_secs(1)), Verdict::Gone);
        assert!(Verdict::TimedOut.keep() && Verdict::Gone.keep() && !Verdict::Answered(false).keep());
    }
}

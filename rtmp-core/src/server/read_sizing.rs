//! How much a connection reads at once, and into what memory.

use bytes::BytesMut;

/// First read of a connection (the handshake's 1537 bytes take two reads).
const FIRST_READ: usize = 1024;
/// A read under this size is a quiet connection's.
const SMALL_READ: usize = 256;
/// What a quiet connection reads at once, into a buffer made for the read.
const QUIET_READ: usize = 64;
/// Largest read a busy publisher grows to.
const MAX_READ: usize = 64 * 1024;
/// Consecutive small reads after which a publisher's grown reads shrink back.
const QUIET_READS_BEFORE_SHRINK: u32 = 64;
/// A publisher's input buffer is allocated in blocks of at least this size...
const PUBLISHER_BLOCK: usize = 32 * 1024;
/// ...and a block's tail takes reads while this much of it is left, even if reads are larger.
const PUBLISHER_TAIL: usize = PUBLISHER_BLOCK / 4;

/// Sizes a connection's reads into its session's input buffer: small while it is quiet (most
/// connections of a big server are), doubled while reads fill what was offered.
#[derive(Debug)]
pub(super) struct ReadSizing {
    size: usize,
    small_reads: u32,
}

impl ReadSizing {
    pub(super) fn new() -> Self {
        Self { size: FIRST_READ, small_reads: 0 }
    }

    /// Makes room in `buffer` for the next read. The session hands out complete messages as
    /// slices of this buffer, without copying; each keeps its allocation alive (a publisher's in
    /// the GOP cache for seconds). So the buffer is never grown in place: it is reused when no
    /// message shares it any more, otherwise replaced. A publisher's replacement is a block that
    /// many reads fill in turn, to its last quarter: one allocation per read would be one per
    /// message, and a block per read would be mostly empty while its messages are kept.
    pub(super) fn prepare(&self, buffer: &mut BytesMut, publishing: bool) {
        let wanted = if publishing { self.size.min(PUBLISHER_TAIL) } else { self.size };
        if buffer.capacity() - buffer.len() >= wanted || buffer.try_reclaim(wanted) {
            return;
        }
        let mut capacity = buffer.len() + self.size;
        if publishing {
            capacity = capacity.max(PUBLISHER_BLOCK);
        }
        let mut fresh = BytesMut::with_capacity(capacity);
        fresh.extend_from_slice(buffer);
        *buffer = fresh;
    }

    /// Learns from a read of `n` bytes, once the session has processed them. A quiet
    /// connection lets its buffer go when nothing is pending in it; a publisher only after a
    /// while, or the audio between its video frames would shrink it all the time.
    pub(super) fn after_read(&mut self, n: usize, buffer: &mut BytesMut, publishing: bool) {
        if n >= self.size && self.size < MAX_READ {
            self.size *= 2;
            self.small_reads = 0;
        } else if n < SMALL_READ && self.size > SMALL_READ {
            self.small_reads += 1;
            if !publishing || self.small_reads == QUIET_READS_BEFORE_SHRINK {
                self.size = QUIET_READ;
                self.small_reads = 0;
                if buffer.is_empty() {
                    *buffer = BytesMut::new();
                }
            }
        } else {
            self.small_reads = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publishers_reads_share_a_block_until_it_is_full() {
        let sizing = ReadSizing::new();
        let mut buffer = BytesMut::new();
        sizing.prepare(&mut buffer, true);
        let block = buffer.as_ptr();
        assert!(buffer.capacity() >= PUBLISHER_BLOCK);
        // A message read and handed out: the next read goes into the same block, after it.
        buffer.extend_from_slice(&[1; 500]);
        let message = buffer.split_to(500).freeze();
        sizing.prepare(&mut buffer, true);
        assert_eq!(buffer.as_ptr(), block.wrapping_add(500), "no new allocation");
        // Full: a new block, the message keeps the old one.
        buffer.extend_from_slice(&vec![2; buffer.capacity() - 10]);
        let rest = buffer.split_to(buffer.len() - 3).freeze();
        sizing.prepare(&mut buffer, true);
        assert!(buffer.capacity() >= PUBLISHER_BLOCK);
        assert_eq!(&buffer[..], &[2, 2, 2], "pending bytes move to the new block");
        assert_eq!(message[..], [1; 500]);
        assert!(rest.iter().all(|&b| b == 2));
    }

    #[test]
    fn large_reads_fill_a_publishers_block_to_its_last_quarter() {
        let mut sizing = ReadSizing::new();
        sizing.size = MAX_READ;
        let mut buffer = BytesMut::new();
        sizing.prepare(&mut buffer, true);
        let capacity = buffer.capacity();
        assert!(capacity >= MAX_READ);
        let mut kept = Vec::new();
        let mut blocks = 1;
        // 10 kB messages, all kept (as the GOP cache keeps them).
        for _ in 0..40 {
            let before = buffer.as_ptr();
            sizing.prepare(&mut buffer, true);
            if buffer.as_ptr() != before {
                blocks += 1;
            }
            buffer.extend_from_slice(&[3; 10_000]);
            kept.push(buffer.split_to(10_000).freeze());
        }
        let used = 40 * 10_000;
        assert!(blocks * capacity < used * 3 / 2, "{blocks} blocks of {capacity} for {used} bytes");
    }

    #[test]
    fn an_unshared_buffer_is_reused_in_place() {
        let sizing = ReadSizing::new();
        let mut buffer = BytesMut::with_capacity(FIRST_READ);
        let start = buffer.as_ptr();
        buffer.extend_from_slice(&[0; FIRST_READ]);
        drop(buffer.split_to(FIRST_READ));
        sizing.prepare(&mut buffer, false);
        assert_eq!(buffer.as_ptr(), start);
        assert!(buffer.capacity() >= FIRST_READ);
    }

    #[test]
    fn quiet_connections_let_their_buffer_go_and_busy_ones_grow() {
        let mut sizing = ReadSizing::new();
        let mut buffer = BytesMut::with_capacity(FIRST_READ);
        sizing.after_read(FIRST_READ, &mut buffer, false);
        assert_eq!(sizing.size, 2 * FIRST_READ);
        sizing.after_read(40, &mut buffer, false);
        assert_eq!((sizing.size, buffer.capacity()), (QUIET_READ, 0));
        // A publisher keeps its buffer through a run of small reads, not through 64 of them.
        let mut sizing = ReadSizing::new();
        let mut buffer = BytesMut::with_capacity(PUBLISHER_BLOCK);
        for _ in 1..QUIET_READS_BEFORE_SHRINK {
            sizing.after_read(40, &mut buffer, true);
        }
        assert_eq!((sizing.size, buffer.capacity()), (FIRST_READ, PUBLISHER_BLOCK));
        sizing.after_read(40, &mut buffer, true);
        assert_eq!((sizing.size, buffer.capacity()), (QUIET_READ, 0));
        // Pending bytes are never dropped.
        let mut sizing = ReadSizing::new();
        let mut buffer = BytesMut::from(&b"partial"[..]);
        sizing.after_read(40, &mut buffer, false);
        assert_eq!(&buffer[..], b"partial");
    }
}

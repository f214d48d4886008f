//! The server side: reads C0+C1, answers S0+S1+S2 at once, then swallows C2.

use std::fmt;

use bytes::{BufMut, BytesMut};

use super::{
    DIGEST_SIZE, HANDSHAKE_SIZE, HandshakeError, HandshakeKind, RANDOM_SIZE, RTMP_VERSION, SERVER_VERSION,
    digest_at, fill, sign_s1, sign_s2, signed_filler, validate_client_digest,
};

/// Where the server is in the exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Waiting for the version byte.
    C0,
    /// Collecting C1 in `buf`; `filled` bytes so far.
    C1 { filled: usize },
    /// S0+S1+S2 are out; counting C2 bytes (never checked).
    C2 { received: usize },
    /// C2 fully read; later bytes belong to the chunk stream.
    Done,
    /// Refused; every later call returns the same error.
    Failed(HandshakeError),
}

/// Server half of the handshake, sans-IO.
///
/// Feed it whatever the socket produced with [`handle_input`](Self::handle_input) and send
/// what it appends to `out`. As soon as C0+C1 are in, S0+S1+S2 are appended in one go (ffmpeg
/// and GStreamer wait for all three before sending C2). A C1 with a non-zero version and a
/// valid digest gets a digest answer in the same scheme; anything else gets the simple answer
/// with `S1[4..8] = 0`. C2 is consumed but never checked, as nginx and SRS do.
#[derive(Clone)]
pub struct ServerHandshake {
    epoch_ms: u32,
    random: [u8; RANDOM_SIZE],
    buf: [u8; HANDSHAKE_SIZE],
    state: State,
    kind: Option<HandshakeKind>,
    peer_version: Option<[u8; 4]>,
}

impl fmt::Debug for ServerHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandshake")
            .field("epoch_ms", &self.epoch_ms)
            .field("state", &self.state)
            .field("kind", &self.kind)
            .field("peer_version", &self.peer_version)
            .finish_non_exhaustive()
    }
}

impl ServerHandshake {
    /// A server handshake whose S1 carries `epoch_ms` and `random` (the caller supplies both
    /// so the core stays free of clocks and RNGs; tests can pass fixed values).
    pub fn new(epoch_ms: u32, random: &[u8; RANDOM_SIZE]) -> Self {
        Self {
            epoch_ms,
            random: *random,
            buf: [0; HANDSHAKE_SIZE],
            state: State::C0,
            kind: None,
            peer_version: None,
        }
    }

    /// Feeds bytes from the peer; returns how many were consumed. Bytes to send are appended
    /// to `out`. Everything is consumed until C2 is complete; bytes after C2 are NOT consumed,
    /// they belong to the chunk stream. Once done, returns `Ok(0)`.
    ///
    /// # Errors
    /// [`HandshakeError::UnsupportedVersion`] if C0 is not 3; the error then sticks.
    pub fn handle_input(&mut self, input: &[u8], out: &mut BytesMut) -> Result<usize, HandshakeError> {
        let mut consumed = 0;
        loop {
            let rest = &input[consumed..];
            match &mut self.state {
                State::Failed(err) => return Err(err.clone()),
                State::Done => break,
                _ if rest.is_empty() => break,
                State::C0 => {
                    let version = rest[0];
                    consumed += 1;
                    if version != RTMP_VERSION {
                        let err = HandshakeError::UnsupportedVersion(version);
                        self.state = State::Failed(err.clone());
                        return Err(err);
                    }
                    self.state = State::C1 { filled: 0 };
                }
                State::C1 { filled } => {
                    consumed += fill(&mut self.buf, filled, rest);
                    if *filled == HANDSHAKE_SIZE {
                        self.answer(out);
                        self.state = State::C2 { received: 0 };
                    }
                }
                State::C2 { received } => {
                    let take = (HANDSHAKE_SIZE - *received).min(rest.len());
                    *received += take;
                    consumed += take;
                    if *received == HANDSHAKE_SIZE {
                        self.state = State::Done;
                    }
                }
            }
        }
        Ok(consumed)
    }

    /// Builds S0+S1+S2 for the C1 in `buf` and appends them to `out` in one piece.
    fn answer(&mut self, out: &mut BytesMut) {
        let c1 = &self.buf;
        let version = [c1[4], c1[5], c1[6], c1[7]];
        self.peer_version = Some(version);
        let scheme = if version == [0; 4] { None } else { validate_client_digest(c1) };

        let mut s1 = [0u8; HANDSHAKE_SIZE];
        s1[..4].copy_from_slice(&self.epoch_ms.to_be_bytes());
        s1[8..].copy_from_slice(&self.random);
        let s2 = match scheme {
            Some(scheme) => {
                s1[4..8].copy_from_slice(&SERVER_VERSION);
                sign_s1(&mut s1, scheme);
                Self::signed_s2(&self.random, &digest_at(c1, scheme))
            }
            // Simple, or a digest-looking C1 that does not validate: S1[4..8] stays 0 so
            // ffmpeg-play and librtmp do not try to validate our S1.
            None => *c1,
        };
        self.kind = Some(scheme.map_or(HandshakeKind::Simple, HandshakeKind::Digest));

        out.reserve(1 + 2 * HANDSHAKE_SIZE);
        out.put_u8(RTMP_VERSION);
        out.extend_from_slice(&s1);
        out.extend_from_slice(&s2);
    }

    /// A digest-mode S2: filler from `random`, signed for `c1_digest`.
    fn signed_s2(random: &[u8; RANDOM_SIZE], c1_digest: &[u8; DIGEST_SIZE]) -> [u8; HANDSHAKE_SIZE] {
        let mut s2 = [0u8; HANDSHAKE_SIZE];
        let filler = signed_filler(random);
        s2[..filler.len()].copy_from_slice(filler);
        sign_s2(&mut s2, c1_digest);
        s2
    }

    /// True once C2 has been read: the next byte from the peer starts the chunk stream.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Which handshake was answered; known once C1 has been read, `None` before.
    pub fn kind(&self) -> Option<HandshakeKind> {
        self.kind
    }

    /// The client's C1 version field (`C1[4..8]`, e.g. `09 00 7c 02` from ffmpeg, zeros from
    /// OBS), for logging; `None` until C1 has been read.
    pub fn peer_version(&self) -> Option<[u8; 4]> {
        self.peer_version
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::handshake::{
        CLIENT_VERSION, DigestScheme, SIGNED_BODY_SIZE, sign_c1, validate_server_digest, verify_s2,
    };

    fn random(seed: u8) -> [u8; RANDOM_SIZE] {
        let mut r = [0u8; RANDOM_SIZE];
        let mut x = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(12345);
        for b in r.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = (x >> 24) as u8;
        }
        r
    }

    /// The OBS C1 from the logs: `11 2b f1 4e 00 00 00 00 …`.
    fn obs_c1() -> [u8; HANDSHAKE_SIZE] {
        let mut c1 = [0u8; HANDSHAKE_SIZE];
        c1[..4].copy_from_slice(&[0x11, 0x2b, 0xf1, 0x4e]);
        c1[8..].copy_from_slice(&random(7));
        c1
    }

    fn digest_c1(scheme: DigestScheme) -> ([u8; HANDSHAKE_SIZE], [u8; 32]) {
        let mut c1 = obs_c1();
        c1[4..8].copy_from_slice(&CLIENT_VERSION);
        let d = sign_c1(&mut c1, scheme);
        (c1, d)
    }

    fn c0c1(c1: &[u8; HANDSHAKE_SIZE]) -> Vec<u8> {
        let mut v = vec![RTMP_VERSION];
        v.extend_from_slice(c1);
        v
    }

    /// Feeds C0+C1 and returns the server and its S0+S1+S2.
    fn answer(c1: &[u8; HANDSHAKE_SIZE]) -> (ServerHandshake, BytesMut) {
        let mut server = ServerHandshake::new(0x0102_0304, &random(1));
        let mut out = BytesMut::new();
        let n = server.handle_input(&c0c1(c1), &mut out).unwrap();
        assert_eq!(n, 1 + HANDSHAKE_SIZE);
        (server, out)
    }

    fn split(out: &BytesMut) -> ([u8; HANDSHAKE_SIZE], [u8; HANDSHAKE_SIZE]) {
        assert_eq!(out.len(), 1 + 2 * HANDSHAKE_SIZE);
        assert_eq!(out[0], RTMP_VERSION);
        let mut s1 = [0u8; HANDSHAKE_SIZE];
        s1.copy_from_slice(&out[1..1 + HANDSHAKE_SIZE]);
        let mut s2 = [0u8; HANDSHAKE_SIZE];
        s2.copy_from_slice(&out[1 + HANDSHAKE_SIZE..]);
        (s1, s2)
    }

    #[test]
    fn obs_style_c1_gets_simple_answer_echoing_c1() {
        let c1 = obs_c1();
        let (server, out) = answer(&c1);
        assert_eq!(server.kind(), Some(HandshakeKind::Simple));
        assert_eq!(server.peer_version(), Some([0; 4]));
        let (s1, s2) = split(&out);
        assert_eq!(s1[..4], [1, 2, 3, 4]);
        assert_eq!(s1[4..8], [0; 4]);
        assert_eq!(s1[8..], random(1));
        assert_eq!(s2, c1);
    }

    #[test]
    fn s0_s1_s2_are_written_together_before_c2() {
        let mut server = ServerHandshake::new(0, &random(1));
        let mut out = BytesMut::new();
        let input = c0c1(&obs_c1());
        assert_eq!(server.handle_input(&input[..1000], &mut out), Ok(1000));
        assert!(out.is_empty());
        assert_eq!(server.handle_input(&input[1000..], &mut out), Ok(input.len() - 1000));
        assert_eq!(out.len(), 1 + 2 * HANDSHAKE_SIZE);
        assert!(!server.is_done());
        let before = out.len();
        assert_eq!(server.handle_input(&[0u8; HANDSHAKE_SIZE], &mut out), Ok(HANDSHAKE_SIZE));
        assert_eq!(out.len(), before, "nothing more to send after C2");
        assert!(server.is_done());
    }

    #[test]
    fn digest_c1_in_each_scheme_gets_digest_answer_in_same_scheme() {
        for scheme in [DigestScheme::Base8, DigestScheme::Base772] {
            let (c1, c1_digest) = digest_c1(scheme);
            let (server, out) = answer(&c1);
            assert_eq!(server.kind(), Some(HandshakeKind::Digest(scheme)));
            assert_eq!(server.peer_version(), Some(CLIENT_VERSION));
            let (s1, s2) = split(&out);
            assert_eq!(s1[..4], [1, 2, 3, 4]);
            assert_eq!(s1[4..8], SERVER_VERSION);
            assert_eq!(validate_server_digest(&s1), Some(scheme));
            assert!(verify_s2(&s2, &c1_digest));
            assert_eq!(s2[..SIGNED_BODY_SIZE], random(1)[24..]);
        }
    }

    #[test]
    fn digest_looking_c1_with_wrong_digest_falls_back_to_simple() {
        let (mut c1, _) = digest_c1(DigestScheme::Base8);
        c1[100] ^= 0xff;
        let (server, out) = answer(&c1);
        assert_eq!(server.kind(), Some(HandshakeKind::Simple));
        assert_eq!(server.peer_version(), Some(CLIENT_VERSION));
        let (s1, s2) = split(&out);
        assert_eq!(s1[4..8], [0; 4], "S1 must not look like a digest S1");
        assert_eq!(s2, c1);
    }

    #[test]
    fn zero_version_c1_is_simple_even_with_a_valid_digest() {
        let mut c1 = obs_c1();
        sign_c1(&mut c1, DigestScheme::Base8);
        let (server, _) = answer(&c1);
        assert_eq!(server.kind(), Some(HandshakeKind::Simple));
    }

    #[test]
    fn bad_versions_are_refused_on_the_first_byte() {
        for v in [0u8, 1, 2, 4, 6, 8, 9, 31, 32, 0xff] {
            let mut server = ServerHandshake::new(0, &random(1));
            let mut out = BytesMut::new();
            assert_eq!(server.handle_input(&[v], &mut out), Err(HandshakeError::UnsupportedVersion(v)));
            assert!(out.is_empty());
            assert!(!server.is_done());
        }
    }

    #[test]
    fn errors_are_sticky() {
        let mut server = ServerHandshake::new(0, &random(1));
        let mut out = BytesMut::new();
        let err = HandshakeError::UnsupportedVersion(6);
        assert_eq!(server.handle_input(&[6], &mut out), Err(err.clone()));
        assert_eq!(server.handle_input(&c0c1(&obs_c1()), &mut out), Err(err.clone()));
        assert_eq!(server.handle_input(&[], &mut out), Err(err));
        assert!(out.is_empty());
    }

    #[test]
    fn c2_content_is_never_checked() {
        let (c1, _) = digest_c1(DigestScheme::Base8);
        let (mut server, mut out) = answer(&c1);
        assert_eq!(server.handle_input(&[0xa5; HANDSHAKE_SIZE], &mut out), Ok(HANDSHAKE_SIZE));
        assert!(server.is_done());
    }

    #[test]
    fn bytes_after_c2_are_left_for_the_chunk_stream() {
        let mut input = c0c1(&obs_c1());
        input.extend_from_slice(&[0x11; HANDSHAKE_SIZE]);
        input.extend_from_slice(&[0x02, 0x00, 0x00]);
        let mut server = ServerHandshake::new(0, &random(1));
        let mut out = BytesMut::new();
        assert_eq!(server.handle_input(&input, &mut out), Ok(1 + 2 * HANDSHAKE_SIZE));
        assert!(server.is_done());
        assert_eq!(server.handle_input(&input[1 + 2 * HANDSHAKE_SIZE..], &mut out), Ok(0));
        assert_eq!(out.len(), 1 + 2 * HANDSHAKE_SIZE);
    }

    #[test]
    fn byte_at_a_time_gives_the_same_answer() {
        let (c1, _) = digest_c1(DigestScheme::Base772);
        let (_, whole) = answer(&c1);
        let mut server = ServerHandshake::new(0x0102_0304, &random(1));
        let mut out = BytesMut::new();
        let mut input = c0c1(&c1);
        input.extend_from_slice(&[0u8; HANDSHAKE_SIZE]);
        for (i, b) in input.iter().enumerate() {
            assert_eq!(server.handle_input(std::slice::from_ref(b), &mut out), Ok(1));
            assert_eq!(server.kind().is_some(), i >= HANDSHAKE_SIZE, "kind known once C1 is in");
        }
        assert!(server.is_done());
        assert_eq!(out, whole);
    }

    #[test]
    fn kind_is_unknown_until_c1_and_empty_input_is_fine() {
        let mut server = ServerHandshake::new(0, &random(1));
        let mut out = BytesMut::new();
        assert_eq!(server.handle_input(&[], &mut out), Ok(0));
        assert_eq!(server.handle_input(&[RTMP_VERSION, 0, 0], &mut out), Ok(3));
        assert_eq!(server.kind(), None);
        assert_eq!(server.peer_version(), None);
        assert!(format!("{server:?}").contains("ServerHandshake"));
    }
}

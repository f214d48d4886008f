//! The client side: writes C0+C1, answers S1 with C2, then reads S2.

use std::fmt;

use bytes::{BufMut, BytesMut};

use super::{
    CLIENT_VERSION, DIGEST_SIZE, DigestScheme, HANDSHAKE_SIZE, HandshakeError, HandshakeKind, RANDOM_SIZE,
    RTMP_VERSION, digest_at, fill, sign_c1, sign_c2, signed_filler, validate_server_digest, verify_s2,
};

/// What kind of C1 the client sends and how picky it is about the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientMode {
    /// The spec's handshake, as OBS and GStreamer send it: `C1[4..8] = 0`, nothing checked.
    Simple,
    /// An ffmpeg-style digest C1 (version `09 00 7c 02`), which every common server accepts.
    Digest {
        /// Fail (as ffmpeg-play and librtmp do) on a digest S1 that does not validate or an S2
        /// whose signature/echo does not match; otherwise such answers are accepted.
        strict: bool,
    },
}

impl Default for ClientMode {
    /// `Digest { strict: false }`: interoperates with every server, rejects nothing.
    fn default() -> Self {
        ClientMode::Digest { strict: false }
    }
}

/// What S2 must look like, decided when S1 arrives (only enforced in strict mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum S2Check {
    /// Nothing to check (non-strict, or a digest S1 answering a simple C1).
    None,
    /// Simple answer: `S2[8..]` must echo `C1[8..]`.
    Echo,
    /// Digest answer: S2 must be signed for this C1 digest.
    Signature([u8; DIGEST_SIZE]),
}

/// Where the client is in the exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// `start` has not written C0+C1 yet.
    Idle,
    /// Waiting for the version byte.
    S0,
    /// Collecting S1 in `buf`.
    S1 { filled: usize },
    /// C2 is out; collecting S2 in `buf`.
    S2 { filled: usize, check: S2Check },
    /// S2 fully read; later bytes belong to the chunk stream.
    Done,
    /// Refused; every later call returns the same error.
    Failed(HandshakeError),
}

/// Client half of the handshake, sans-IO.
///
/// Call [`start`](Self::start) and send C0+C1, then feed whatever the socket produces to
/// [`handle_input`](Self::handle_input) and send what it appends. C2 goes out as soon as S1 is
/// in (like librtmp/OBS; servers send S2 without waiting for C2), and the client is done when
/// S2 has been read. A digest S1 (non-zero version, valid digest under either scheme) gets a
/// signed C2, anything else an echo of S1.
#[derive(Clone)]
pub struct ClientHandshake {
    mode: ClientMode,
    scheme: DigestScheme,
    epoch_ms: u32,
    random: [u8; RANDOM_SIZE],
    c1: [u8; HANDSHAKE_SIZE],
    c1_digest: Option<[u8; DIGEST_SIZE]>,
    buf: [u8; HANDSHAKE_SIZE],
    state: State,
    kind: Option<HandshakeKind>,
}

impl fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientHandshake")
            .field("mode", &self.mode)
            .field("scheme", &self.scheme)
            .field("epoch_ms", &self.epoch_ms)
            .field("state", &self.state)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl ClientHandshake {
    /// A client handshake whose C1 carries `epoch_ms` and `random` (passed in so the core has
    /// no clock or RNG). Digest mode signs C1 with base 8, as ffmpeg does.
    pub fn new(mode: ClientMode, epoch_ms: u32, random: &[u8; RANDOM_SIZE]) -> Self {
        Self {
            mode,
            scheme: DigestScheme::Base8,
            epoch_ms,
            random: *random,
            c1: [0; HANDSHAKE_SIZE],
            c1_digest: None,
            buf: [0; HANDSHAKE_SIZE],
            state: State::Idle,
            kind: None,
        }
    }

    /// Signs a digest C1 with `scheme` instead of base 8 (Flash Player uses base 772 for
    /// RTMPE-era builds); only meaningful before [`start`](Self::start) and in digest mode.
    pub fn with_digest_scheme(mut self, scheme: DigestScheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// Appends C0+C1 to `out`. Calling it again has no effect (C1 is sent once).
    pub fn start(&mut self, out: &mut BytesMut) {
        if self.state != State::Idle {
            return;
        }
        let mut c1 = [0u8; HANDSHAKE_SIZE];
        c1[..4].copy_from_slice(&self.epoch_ms.to_be_bytes());
        c1[8..].copy_from_slice(&self.random);
        if let ClientMode::Digest { .. } = self.mode {
            c1[4..8].copy_from_slice(&CLIENT_VERSION);
            self.c1_digest = Some(sign_c1(&mut c1, self.scheme));
        }
        self.c1 = c1;
        out.reserve(1 + HANDSHAKE_SIZE);
        out.put_u8(RTMP_VERSION);
        out.extend_from_slice(&self.c1);
        self.state = State::S0;
    }

    /// Feeds bytes from the server; returns how many were consumed. C2 is appended to `out`
    /// once S1 is complete. Bytes after S2 are NOT consumed: they belong to the chunk stream
    /// (the server's first chunks often arrive in the same read). Once done, returns `Ok(0)`.
    ///
    /// # Errors
    /// [`HandshakeError::NotStarted`] before [`start`](Self::start);
    /// [`HandshakeError::UnsupportedVersion`] if S0 is not 3; in strict mode
    /// [`HandshakeError::InvalidServerDigest`], [`HandshakeError::InvalidServerSignature`] or
    /// [`HandshakeError::EchoMismatch`]. Errors stick.
    pub fn handle_input(&mut self, input: &[u8], out: &mut BytesMut) -> Result<usize, HandshakeError> {
        let mut consumed = 0;
        loop {
            let rest = &input[consumed..];
            match &mut self.state {
                State::Idle => return Err(HandshakeError::NotStarted),
                State::Failed(err) => return Err(err.clone()),
                State::Done => break,
                _ if rest.is_empty() => break,
                State::S0 => {
                    let version = rest[0];
                    consumed += 1;
                    if version != RTMP_VERSION {
                        return Err(self.fail(HandshakeError::UnsupportedVersion(version)));
                    }
                    self.state = State::S1 { filled: 0 };
                }
                State::S1 { filled } => {
                    consumed += fill(&mut self.buf, filled, rest);
                    if *filled == HANDSHAKE_SIZE {
                        let check = match self.answer_s1(out) {
                            Ok(check) => check,
                            Err(err) => return Err(self.fail(err)),
                        };
                        self.state = State::S2 { filled: 0, check };
                    }
                }
                State::S2 { filled, check } => {
                    let check = *check;
                    consumed += fill(&mut self.buf, filled, rest);
                    if *filled == HANDSHAKE_SIZE {
                        if let Err(err) = self.check_s2(check) {
                            return Err(self.fail(err));
                        }
                        self.state = State::Done;
                    }
                }
            }
        }
        Ok(consumed)
    }

    /// Records `err` as the final state and returns it.
    fn fail(&mut self, err: HandshakeError) -> HandshakeError {
        self.state = State::Failed(err.clone());
        err
    }

    fn strict(&self) -> bool {
        matches!(self.mode, ClientMode::Digest { strict: true })
    }

    /// Looks at the S1 in `buf`, appends C2 and says what S2 must look like.
    fn answer_s1(&mut self, out: &mut BytesMut) -> Result<S2Check, HandshakeError> {
        let s1 = &self.buf;
        let claims_digest = s1[4..8] != [0; 4];
        let scheme = if claims_digest { validate_server_digest(s1) } else { None };
        let strict = self.strict();
        if strict && claims_digest && scheme.is_none() {
            return Err(HandshakeError::InvalidServerDigest);
        }
        let (c2, check) = match scheme {
            Some(scheme) => {
                let mut c2 = [0u8; HANDSHAKE_SIZE];
                let filler = signed_filler(&self.random);
                c2[..filler.len()].copy_from_slice(filler);
                sign_c2(&mut c2, &digest_at(s1, scheme));
                let check = match self.c1_digest {
                    Some(digest) if strict => S2Check::Signature(digest),
                    _ => S2Check::None,
                };
                (c2, check)
            }
            None => (*s1, if strict { S2Check::Echo } else { S2Check::None }),
        };
        self.kind = Some(scheme.map_or(HandshakeKind::Simple, HandshakeKind::Digest));
        out.extend_from_slice(&c2);
        Ok(check)
    }

    /// Applies the strict-mode check to the S2 in `buf`.
    fn check_s2(&self, check: S2Check) -> Result<(), HandshakeError> {
        match check {
            S2Check::None => Ok(()),
            S2Check::Echo if self.buf[8..] == self.c1[8..] => Ok(()),
            S2Check::Echo => Err(HandshakeError::EchoMismatch),
            S2Check::Signature(digest) if verify_s2(&self.buf, &digest) => Ok(()),
            S2Check::Signature(_) => Err(HandshakeError::InvalidServerSignature),
        }
    }

    /// True once S2 has been read and C2 written: the next byte starts the chunk stream.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Which handshake the server answered with; known once S1 has been read.
    pub fn kind(&self) -> Option<HandshakeKind> {
        self.kind
    }

    /// The C1 this client sent (all zeros before [`start`](Self::start)), for tests and logs.
    pub fn c1(&self) -> &[u8; HANDSHAKE_SIZE] {
        &self.c1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::handshake::{
        SERVER_VERSION, SIGNED_BODY_SIZE, sign_s1, sign_s2, validate_client_digest, verify_c2,
    };

    fn random(seed: u8) -> [u8; RANDOM_SIZE] {
        let mut r = [0u8; RANDOM_SIZE];
        let mut x = u32::from(seed).wrapping_mul(2_246_822_519).wrapping_add(977);
        for b in r.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = (x >> 24) as u8;
        }
        r
    }

    fn started(mode: ClientMode) -> ClientHandshake {
        let mut client = ClientHandshake::new(mode, 0x0a0b_0c0d, &random(2));
        let mut out = BytesMut::new();
        client.start(&mut out);
        client
    }

    const STRICT: ClientMode = ClientMode::Digest { strict: true };
    const LENIENT: ClientMode = ClientMode::Digest { strict: false };

    fn simple_s1() -> [u8; HANDSHAKE_SIZE] {
        let mut s1 = [0u8; HANDSHAKE_SIZE];
        s1[..4].copy_from_slice(&[0, 0, 0, 9]);
        s1[8..].copy_from_slice(&random(3));
        s1
    }

    fn digest_s1(scheme: DigestScheme) -> ([u8; HANDSHAKE_SIZE], [u8; DIGEST_SIZE]) {
        let mut s1 = simple_s1();
        s1[4..8].copy_from_slice(&SERVER_VERSION);
        let d = sign_s1(&mut s1, scheme);
        (s1, d)
    }

    /// A correct S2 for `client`: signed when its C1 has a digest, else an echo of C1.
    fn good_s2(client: &ClientHandshake, digest: bool) -> [u8; HANDSHAKE_SIZE] {
        if digest {
            let mut s2 = [0x5au8; HANDSHAKE_SIZE];
            sign_s2(&mut s2, &digest_at(client.c1(), DigestScheme::Base8));
            s2
        } else {
            *client.c1()
        }
    }

    fn s0s1s2(s1: &[u8; HANDSHAKE_SIZE], s2: &[u8; HANDSHAKE_SIZE]) -> Vec<u8> {
        let mut v = vec![RTMP_VERSION];
        v.extend_from_slice(s1);
        v.extend_from_slice(s2);
        v
    }

    fn c2_of(out: &BytesMut) -> [u8; HANDSHAKE_SIZE] {
        let mut c2 = [0u8; HANDSHAKE_SIZE];
        c2.copy_from_slice(out);
        c2
    }

    #[test]
    fn default_mode_is_lenient_digest() {
        assert_eq!(ClientMode::default(), LENIENT);
    }

    #[test]
    fn start_writes_an_ffmpeg_style_digest_c1() {
        let mut client = ClientHandshake::new(ClientMode::default(), 0x0a0b_0c0d, &random(2));
        let mut out = BytesMut::new();
        client.start(&mut out);
        assert_eq!(out.len(), 1 + HANDSHAKE_SIZE);
        assert_eq!(out[0], RTMP_VERSION);
        assert_eq!(out[1..5], [0x0a, 0x0b, 0x0c, 0x0d]);
        assert_eq!(out[5..9], CLIENT_VERSION);
        assert_eq!(&out[1..], client.c1());
        assert_eq!(validate_client_digest(client.c1()), Some(DigestScheme::Base8));
    }

    #[test]
    fn base772_client_signs_with_base772() {
        let mut client =
            ClientHandshake::new(LENIENT, 0, &random(2)).with_digest_scheme(DigestScheme::Base772);
        client.start(&mut BytesMut::new());
        assert_eq!(validate_client_digest(client.c1()), Some(DigestScheme::Base772));
    }

    #[test]
    fn simple_mode_c1_has_zero_version_and_the_given_random() {
        let client = started(ClientMode::Simple);
        assert_eq!(client.c1()[..4], [0x0a, 0x0b, 0x0c, 0x0d]);
        assert_eq!(client.c1()[4..8], [0; 4]);
        assert_eq!(client.c1()[8..], random(2));
    }

    #[test]
    fn start_is_idempotent() {
        let mut client = ClientHandshake::new(LENIENT, 1, &random(2));
        let mut out = BytesMut::new();
        client.start(&mut out);
        client.start(&mut out);
        assert_eq!(out.len(), 1 + HANDSHAKE_SIZE);
    }

    #[test]
    fn input_before_start_is_refused() {
        let mut client = ClientHandshake::new(LENIENT, 1, &random(2));
        let mut out = BytesMut::new();
        assert_eq!(client.handle_input(&[RTMP_VERSION], &mut out), Err(HandshakeError::NotStarted));
        assert!(out.is_empty());
    }

    #[test]
    fn bad_s0_version_is_refused_and_sticks() {
        for v in [0u8, 6, 8, 9, 0xff] {
            let mut client = started(LENIENT);
            let mut out = BytesMut::new();
            let err = HandshakeError::UnsupportedVersion(v);
            assert_eq!(client.handle_input(&[v], &mut out), Err(err.clone()));
            assert_eq!(client.handle_input(&[RTMP_VERSION], &mut out), Err(err));
            assert!(out.is_empty());
        }
    }

    #[test]
    fn simple_s1_is_echoed_as_c2_in_every_mode() {
        for mode in [ClientMode::Simple, LENIENT, STRICT] {
            let mut client = started(mode);
            let s2 = *client.c1();
            let mut out = BytesMut::new();
            let input = s0s1s2(&simple_s1(), &s2);
            assert_eq!(client.handle_input(&input, &mut out), Ok(input.len()), "{mode:?}");
            assert!(client.is_done());
            assert_eq!(client.kind(), Some(HandshakeKind::Simple));
            assert_eq!(c2_of(&out), simple_s1());
        }
    }

    #[test]
    fn c2_goes_out_as_soon_as_s1_is_in() {
        let mut client = started(STRICT);
        let (s1, _) = digest_s1(DigestScheme::Base8);
        let input = s0s1s2(&s1, &good_s2(&client, true));
        let mut out = BytesMut::new();
        assert_eq!(client.handle_input(&input[..HANDSHAKE_SIZE], &mut out), Ok(HANDSHAKE_SIZE));
        assert!(out.is_empty());
        assert_eq!(client.handle_input(&input[HANDSHAKE_SIZE..1 + HANDSHAKE_SIZE], &mut out), Ok(1));
        assert_eq!(out.len(), HANDSHAKE_SIZE);
        assert!(!client.is_done());
        assert_eq!(client.handle_input(&input[1 + HANDSHAKE_SIZE..], &mut out), Ok(HANDSHAKE_SIZE));
        assert!(client.is_done());
        assert_eq!(out.len(), HANDSHAKE_SIZE);
    }

    #[test]
    fn digest_s1_in_either_scheme_gets_a_signed_c2() {
        for scheme in [DigestScheme::Base8, DigestScheme::Base772] {
            for mode in [ClientMode::Simple, LENIENT, STRICT] {
                let mut client = started(mode);
                let (s1, s1_digest) = digest_s1(scheme);
                let digest = mode != ClientMode::Simple;
                let input = s0s1s2(&s1, &good_s2(&client, digest));
                let mut out = BytesMut::new();
                assert_eq!(client.handle_input(&input, &mut out), Ok(input.len()), "{mode:?} {scheme:?}");
                assert_eq!(client.kind(), Some(HandshakeKind::Digest(scheme)));
                let c2 = c2_of(&out);
                assert!(verify_c2(&c2, &s1_digest));
                assert_eq!(c2[..SIGNED_BODY_SIZE], random(2)[24..]);
            }
        }
    }

    #[test]
    fn strict_rejects_a_digest_s1_that_does_not_validate() {
        let (mut s1, _) = digest_s1(DigestScheme::Base8);
        s1[900] ^= 1;
        let mut client = started(STRICT);
        let mut out = BytesMut::new();
        let input = s0s1s2(&s1, &[0; HANDSHAKE_SIZE]);
        assert_eq!(client.handle_input(&input, &mut out), Err(HandshakeError::InvalidServerDigest));
        assert!(out.is_empty(), "no C2 for a refused S1");
        assert!(!client.is_done());
    }

    #[test]
    fn lenient_accepts_a_bad_digest_s1_and_echoes_it() {
        let (mut s1, _) = digest_s1(DigestScheme::Base8);
        s1[900] ^= 1;
        let mut client = started(LENIENT);
        let mut out = BytesMut::new();
        let input = s0s1s2(&s1, &[0; HANDSHAKE_SIZE]);
        assert_eq!(client.handle_input(&input, &mut out), Ok(input.len()));
        assert!(client.is_done());
        assert_eq!(client.kind(), Some(HandshakeKind::Simple));
        assert_eq!(c2_of(&out), s1);
    }

    #[test]
    fn strict_rejects_a_bad_s2_signature_lenient_accepts_it() {
        let (s1, _) = digest_s1(DigestScheme::Base8);
        for (mode, expected) in [(STRICT, Err(HandshakeError::InvalidServerSignature)), (LENIENT, Ok(3073))] {
            let mut client = started(mode);
            let mut s2 = good_s2(&client, true);
            s2[HANDSHAKE_SIZE - 1] ^= 1;
            let mut out = BytesMut::new();
            assert_eq!(client.handle_input(&s0s1s2(&s1, &s2), &mut out), expected, "{mode:?}");
            assert_eq!(client.is_done(), expected.is_ok());
            assert_eq!(out.len(), HANDSHAKE_SIZE, "C2 was already sent after S1");
        }
    }

    #[test]
    fn strict_rejects_a_simple_s2_that_does_not_echo_c1_lenient_accepts_it() {
        for (mode, expected) in [(STRICT, Err(HandshakeError::EchoMismatch)), (LENIENT, Ok(3073))] {
            let mut client = started(mode);
            let mut s2 = *client.c1();
            s2[0..8].fill(0xee); // time fields may differ: only S2[8..] is compared
            let mut out = BytesMut::new();
            assert_eq!(client.handle_input(&s0s1s2(&simple_s1(), &s2), &mut out), Ok(3073), "{mode:?}");
            let mut client = started(mode);
            s2[500] ^= 1;
            assert_eq!(client.handle_input(&s0s1s2(&simple_s1(), &s2), &mut out), expected, "{mode:?}");
        }
    }

    #[test]
    fn bytes_after_s2_are_left_for_the_chunk_stream() {
        let (s1, _) = digest_s1(DigestScheme::Base772);
        let mut client = started(STRICT);
        let mut input = s0s1s2(&s1, &good_s2(&client, true));
        // The server's Window Ack Size arrives in the same read as S2.
        input.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 4, 5, 0, 0, 0, 0, 0, 0x26, 0x25, 0xa0]);
        let mut out = BytesMut::new();
        assert_eq!(client.handle_input(&input, &mut out), Ok(1 + 2 * HANDSHAKE_SIZE));
        assert!(client.is_done());
        assert_eq!(client.handle_input(&input[1 + 2 * HANDSHAKE_SIZE..], &mut out), Ok(0));
        assert_eq!(out.len(), HANDSHAKE_SIZE);
    }

    #[test]
    fn nginx_old_style_echo_server_is_accepted_by_a_strict_simple_check() {
        // nginx answers a zero-version C1 with S1 = C1 and S2 = C1.
        let mut client = started(STRICT);
        let mut c1 = *client.c1();
        c1[4..8].fill(0);
        let mut out = BytesMut::new();
        let input = s0s1s2(&c1, client.c1());
        assert_eq!(client.handle_input(&input, &mut out), Ok(input.len()));
        assert!(client.is_done());
    }
}

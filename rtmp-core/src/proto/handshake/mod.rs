//! The RTMP handshake, sans-IO: bytes in, bytes out, no sockets, clock or randomness source.
//!
//! Both sides speak version 3 only. The server answers the simple (spec) handshake and the
//! "digest" (Flash Player 9+) handshake that ffmpeg, Flash and some mobile encoders send; the
//! client sends an ffmpeg-style digest C1 by default, which every common server accepts.
//! Time and random bytes are passed in by the caller so runs are reproducible.
//!
//! Digest schemes are named by their base offset ([`DigestScheme::Base8`],
//! [`DigestScheme::Base772`]) because librtmp and SRS number them in opposite orders.

mod client;
mod digest;
mod server;

use thiserror::Error;

pub use client::{ClientHandshake, ClientMode};
pub use digest::{
    FMS_KEY, FMS_KEY_PARTIAL_LEN, FP_KEY, FP_KEY_PARTIAL_LEN, digest_at, digest_offset, sign_c1, sign_c2,
    sign_s1, sign_s2, validate_client_digest, validate_server_digest, verify_c2, verify_client_digest,
    verify_s2, verify_server_digest,
};
pub use server::ServerHandshake;

/// The only RTMP version we speak (C0/S0); 6, 8 and 9 would be RTMPE.
pub const RTMP_VERSION: u8 = 3;
/// Size of C1, S1, C2 and S2.
pub const HANDSHAKE_SIZE: usize = 1536;
/// Random bytes in C1/S1 after the 4-byte time and the 4-byte version field.
pub const RANDOM_SIZE: usize = 1528;
/// Size of an HMAC-SHA256 digest as embedded in the digest handshake.
pub const DIGEST_SIZE: usize = 32;
/// The part of a signed C2/S2 before its trailing signature.
pub const SIGNED_BODY_SIZE: usize = HANDSHAKE_SIZE - DIGEST_SIZE;
/// Version field of our digest C1: Flash Player 9.0.124.2, as ffmpeg sends.
pub const CLIENT_VERSION: [u8; 4] = [0x09, 0x00, 0x7c, 0x02];
/// Version field of our digest S1, as nginx-rtmp sends (≥ 3 in byte 0, so ffmpeg validates it).
pub const SERVER_VERSION: [u8; 4] = [0x0d, 0x0e, 0x0a, 0x0d];

/// Where the 32 digest bytes sit inside C1/S1; named by the base offset of the 4 bytes that
/// choose the position, never by the conflicting "scheme 0/1" labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestScheme {
    /// `pos = (b[8]+b[9]+b[10]+b[11]) % 728 + 12`: ffmpeg's client, nginx's S1, SRS "schema1".
    Base8,
    /// `pos = (b[772]+…+b[775]) % 728 + 776`: librtmp's RTMPE default, SRS "schema0".
    Base772,
}

impl DigestScheme {
    /// Both schemes in the order validators try them (base 772 first, as nginx and ffmpeg do).
    pub const VALIDATION_ORDER: [DigestScheme; 2] = [DigestScheme::Base772, DigestScheme::Base8];

    /// Offset of the 4 bytes whose sum picks the digest position.
    pub const fn base(self) -> usize {
        match self {
            DigestScheme::Base8 => 8,
            DigestScheme::Base772 => 772,
        }
    }
}

/// Which handshake the peers ended up using, for logging and for callers that care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandshakeKind {
    /// The spec's handshake: no digest, C2/S2 echo the peer's packet.
    Simple,
    /// The digest handshake with the digest at the given scheme's position.
    Digest(DigestScheme),
}

/// Why a handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The peer asked for a version other than 3 (0x06/0x08/0x09 are RTMPE, which we refuse).
    #[error("unsupported RTMP version {0}")]
    UnsupportedVersion(u8),
    /// [`ClientHandshake::handle_input`] ran before [`ClientHandshake::start`] sent C0+C1.
    #[error("client handshake received input before start() wrote C0+C1")]
    NotStarted,
    /// Strict client: S1 announces a digest handshake but no scheme validates its digest.
    #[error("S1 has a non-zero version but its digest does not validate")]
    InvalidServerDigest,
    /// Strict client: the signature at the end of S2 does not match our C1 digest.
    #[error("S2 signature does not match the C1 digest")]
    InvalidServerSignature,
    /// Strict client: a simple S2 does not echo C1's random bytes (`S2[8..] != C1[8..]`).
    #[error("S2 does not echo C1")]
    EchoMismatch,
}

/// Copies as much of `input` as fits into `buf[*filled..]`; returns how many bytes were taken.
fn fill(buf: &mut [u8; HANDSHAKE_SIZE], filled: &mut usize, input: &[u8]) -> usize {
    let start = (*filled).min(HANDSHAKE_SIZE);
    let take = (HANDSHAKE_SIZE - start).min(input.len());
    buf[start..start + take].copy_from_slice(&input[..take]);
    *filled = start + take;
    take
}

/// The 1504 filler bytes of a signed C2/S2: the tail of the caller's random bytes (the
/// handshake's random bytes carry no secret, so reusing them is harmless).
fn signed_filler(random: &[u8; RANDOM_SIZE]) -> &[u8] {
    &random[RANDOM_SIZE - SIGNED_BODY_SIZE..]
}

#[cfg(test)]
mod tests {
    use bytes::{Buf, BytesMut};
    use proptest::prelude::*;

    use super::*;

    fn random(seed: u64) -> [u8; RANDOM_SIZE] {
        let mut r = [0u8; RANDOM_SIZE];
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        for b in r.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = (x >> 56) as u8;
        }
        r
    }

    /// Moves bytes from `input` into `step` in pieces of at most `piece` bytes, dropping what
    /// was consumed; stops when a piece is not fully consumed (the handshake is done).
    fn pump(
        input: &mut BytesMut,
        out: &mut BytesMut,
        piece: usize,
        mut step: impl FnMut(&[u8], &mut BytesMut) -> Result<usize, HandshakeError>,
    ) -> Result<(), HandshakeError> {
        while !input.is_empty() {
            let take = piece.min(input.len());
            let n = step(&input[..take], out)?;
            input.advance(n);
            if n < take {
                break;
            }
        }
        Ok(())
    }

    /// Runs a client against a server in memory, delivering `piece` bytes at a time; the
    /// extra bytes each side sends after the handshake must be left unconsumed.
    fn run_pair(client: &mut ClientHandshake, server: &mut ServerHandshake, piece: usize) {
        let trailer = [0x03u8, 0, 0, 0, 0, 0, 0x19, 0x14];
        let mut to_server = BytesMut::new();
        let mut to_client = BytesMut::new();
        client.start(&mut to_server);
        for _ in 0..10 {
            pump(&mut to_server, &mut to_client, piece, |i, o| server.handle_input(i, o)).unwrap();
            pump(&mut to_client, &mut to_server, piece, |i, o| client.handle_input(i, o)).unwrap();
            if client.is_done() && server.is_done() {
                break;
            }
        }
        assert!(client.is_done(), "client not done");
        assert!(server.is_done(), "server not done");
        assert!(to_server.is_empty() && to_client.is_empty());
        let mut sink = BytesMut::new();
        assert_eq!(server.handle_input(&trailer, &mut sink), Ok(0));
        assert_eq!(client.handle_input(&trailer, &mut sink), Ok(0));
        assert!(sink.is_empty());
    }

    const MODES: [ClientMode; 3] =
        [ClientMode::Simple, ClientMode::Digest { strict: false }, ClientMode::Digest { strict: true }];
    const SCHEMES: [DigestScheme; 2] = [DigestScheme::Base8, DigestScheme::Base772];

    fn expected_kind(mode: ClientMode, scheme: DigestScheme) -> HandshakeKind {
        match mode {
            ClientMode::Simple => HandshakeKind::Simple,
            ClientMode::Digest { .. } => HandshakeKind::Digest(scheme),
        }
    }

    #[test]
    fn every_client_mode_and_scheme_completes_against_our_server() {
        for mode in MODES {
            for scheme in SCHEMES {
                let mut client = ClientHandshake::new(mode, 1000, &random(1)).with_digest_scheme(scheme);
                let mut server = ServerHandshake::new(2000, &random(2));
                run_pair(&mut client, &mut server, usize::MAX);
                let kind = expected_kind(mode, scheme);
                assert_eq!(server.kind(), Some(kind), "{mode:?} {scheme:?}");
                assert_eq!(client.kind(), Some(kind), "{mode:?} {scheme:?}");
            }
        }
    }

    #[test]
    fn every_pair_completes_one_byte_at_a_time() {
        for mode in MODES {
            for scheme in SCHEMES {
                let mut client = ClientHandshake::new(mode, 7, &random(3)).with_digest_scheme(scheme);
                let mut server = ServerHandshake::new(9, &random(4));
                run_pair(&mut client, &mut server, 1);
                assert_eq!(server.kind(), Some(expected_kind(mode, scheme)));
            }
        }
    }

    #[test]
    fn server_answers_before_c2_and_client_sends_c2_after_s1() {
        let mut client = ClientHandshake::new(ClientMode::Digest { strict: true }, 1, &random(5));
        let mut server = ServerHandshake::new(2, &random(6));
        let mut c0c1 = BytesMut::new();
        client.start(&mut c0c1);
        let mut s0s1s2 = BytesMut::new();
        assert_eq!(server.handle_input(&c0c1, &mut s0s1s2), Ok(1 + HANDSHAKE_SIZE));
        assert_eq!(s0s1s2.len(), 1 + 2 * HANDSHAKE_SIZE, "S0+S1+S2 in one write, before any C2");
        let mut c2 = BytesMut::new();
        assert_eq!(client.handle_input(&s0s1s2, &mut c2), Ok(1 + 2 * HANDSHAKE_SIZE));
        assert!(client.is_done());
        assert_eq!(c2.len(), HANDSHAKE_SIZE);
        let mut none = BytesMut::new();
        assert_eq!(server.handle_input(&c2, &mut none), Ok(HANDSHAKE_SIZE));
        assert!(server.is_done() && none.is_empty());
    }

    #[test]
    fn fill_never_overruns_the_buffer() {
        let mut buf = [0u8; HANDSHAKE_SIZE];
        let mut filled = HANDSHAKE_SIZE - 2;
        assert_eq!(fill(&mut buf, &mut filled, &[1, 2, 3, 4]), 2);
        assert_eq!(filled, HANDSHAKE_SIZE);
        assert_eq!(fill(&mut buf, &mut filled, &[5]), 0);
        assert_eq!(buf[HANDSHAKE_SIZE - 2..], [1, 2]);
    }

    #[test]
    fn scheme_bases_and_validation_order() {
        assert_eq!(DigestScheme::Base8.base(), 8);
        assert_eq!(DigestScheme::Base772.base(), 772);
        assert_eq!(DigestScheme::VALIDATION_ORDER, [DigestScheme::Base772, DigestScheme::Base8]);
        assert_eq!(SIGNED_BODY_SIZE, 1504);
        assert_eq!(1 + 4 + 4 + RANDOM_SIZE, 1 + HANDSHAKE_SIZE);
    }

    /// Feeds `data` to `step` in pieces whose sizes come from `cuts`; `step` returns the
    /// consumed count and whether the handshake is done. Checks that everything is consumed
    /// until the handshake is done or fails, and that output stays within S0+S1+S2.
    fn feed(
        data: &[u8],
        cuts: &[usize],
        mut step: impl FnMut(&[u8], &mut BytesMut) -> Result<(usize, bool), HandshakeError>,
    ) {
        let mut out = BytesMut::new();
        let mut pos = 0;
        let mut cuts = cuts.iter().cycle();
        while pos < data.len() {
            let take = cuts.next().copied().unwrap_or(data.len()).clamp(1, data.len() - pos);
            match step(&data[pos..pos + take], &mut out) {
                Ok((n, done)) => {
                    assert!(n <= take);
                    assert!(n == take || done, "unconsumed input before the handshake is done");
                    pos += n;
                    if n < take {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        assert!(out.len() <= 1 + 2 * HANDSHAKE_SIZE);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn random_input_never_panics(
            version in prop::sample::select(vec![3u8, 3, 3, 0, 6, 9]),
            body in prop::collection::vec(any::<u8>(), 0..2 * HANDSHAKE_SIZE + 64),
            digest_version in any::<bool>(),
            cuts in prop::collection::vec(1usize..4000, 1..8),
            strict in any::<bool>(),
        ) {
            let mut data = vec![version];
            data.extend_from_slice(&body);
            if digest_version && data.len() > 8 {
                data[5..9].copy_from_slice(&CLIENT_VERSION);
            }
            let mut server = ServerHandshake::new(1, &random(7));
            feed(&data, &cuts, |i, o| server.handle_input(i, o).map(|n| (n, server.is_done())));
            let mut client = ClientHandshake::new(ClientMode::Digest { strict }, 1, &random(8));
            client.start(&mut BytesMut::new());
            feed(&data, &cuts, |i, o| client.handle_input(i, o).map(|n| (n, client.is_done())));
        }

        #[test]
        fn pairs_complete_under_any_fragmentation(
            mode in prop::sample::select(MODES.to_vec()),
            scheme in prop::sample::select(SCHEMES.to_vec()),
            piece in 1usize..3100,
            seeds in (any::<u64>(), any::<u64>()),
            times in (any::<u32>(), any::<u32>()),
        ) {
            let mut client = ClientHandshake::new(mode, times.0, &random(seeds.0)).with_digest_scheme(scheme);
            let mut server = ServerHandshake::new(times.1, &random(seeds.1));
            run_pair(&mut client, &mut server, piece);
            prop_assert_eq!(server.kind(), Some(expected_kind(mode, scheme)));
            prop_assert_eq!(client.kind(), Some(expected_kind(mode, scheme)));
        }
    }
}

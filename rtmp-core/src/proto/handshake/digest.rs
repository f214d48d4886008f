//! The digest ("complex", Flash Player 9+) handshake: keys, digest positions, signing and
//! validation. Pure functions over fixed-size packets, so tests and fuzzers can use them.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{DIGEST_SIZE, DigestScheme, HANDSHAKE_SIZE, SIGNED_BODY_SIZE};

type HmacSha256 = Hmac<Sha256>;

/// The 32 bytes shared by both keys after their ASCII prefix.
const KEY_TAIL: [u8; 32] = [
    0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e, 0x7e, 0x57, 0x6e,
    0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
];

/// Length of the Flash Player key prefix that signs C1 ("Genuine Adobe Flash Player 001").
pub const FP_KEY_PARTIAL_LEN: usize = 30;
/// Length of the Flash Media Server key prefix that signs S1 ("Genuine Adobe Flash Media Server 001").
pub const FMS_KEY_PARTIAL_LEN: usize = 36;

/// The full Flash Player key (62 bytes): its first 30 bytes sign C1, all of it keys the
/// signature of C2.
pub const FP_KEY: [u8; 62] = concat(b"Genuine Adobe Flash Player 001", &KEY_TAIL);
/// The full Flash Media Server key (68 bytes): its first 36 bytes sign S1, all of it keys
/// the signature of S2.
pub const FMS_KEY: [u8; 68] = concat(b"Genuine Adobe Flash Media Server 001", &KEY_TAIL);

/// `a ‖ b` at compile time; fails to compile if `N != A + B`.
const fn concat<const A: usize, const B: usize, const N: usize>(a: &[u8; A], b: &[u8; B]) -> [u8; N] {
    assert!(A + B == N);
    let mut out = [0u8; N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < B {
        out[A + j] = b[j];
        j += 1;
    }
    out
}

/// HMAC-SHA256 keyed with `key` of any length, prepared as RFC 2104 §2 says (hashed when longer
/// than the 64-byte block, zero-padded otherwise), so no fallible constructor is needed.
fn mac(key: &[u8]) -> HmacSha256 {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    <HmacSha256 as KeyInit>::new(&block.into())
}

/// Where the 32 digest bytes of `packet` sit under `scheme`.
///
/// Base 8: `(b[8]+b[9]+b[10]+b[11]) % 728 + 12`; base 772: `(b[772]+…+b[775]) % 728 + 776`.
/// The result plus 32 always stays inside the 1536-byte packet.
pub fn digest_offset(packet: &[u8; HANDSHAKE_SIZE], scheme: DigestScheme) -> usize {
    let base = scheme.base();
    let sum: usize = packet[base..base + 4].iter().map(|&b| usize::from(b)).sum();
    sum % 728 + base + 4
}

/// The 32 bytes found at `scheme`'s digest position (whatever they are), e.g. the peer digest
/// that keys a C2/S2 signature.
pub fn digest_at(packet: &[u8; HANDSHAKE_SIZE], scheme: DigestScheme) -> [u8; DIGEST_SIZE] {
    let pos = digest_offset(packet, scheme);
    let mut out = [0u8; DIGEST_SIZE];
    out.copy_from_slice(&packet[pos..pos + DIGEST_SIZE]);
    out
}

/// The MAC over `packet` minus the digest bytes at `scheme`'s position, plus that position.
fn packet_mac(packet: &[u8; HANDSHAKE_SIZE], scheme: DigestScheme, key: &[u8]) -> (HmacSha256, usize) {
    let pos = digest_offset(packet, scheme);
    let mut m = mac(key);
    m.update(&packet[..pos]);
    m.update(&packet[pos + DIGEST_SIZE..]);
    (m, pos)
}

/// Computes the digest of `packet` under `scheme` and writes it in place; returns it.
fn insert_digest(packet: &mut [u8; HANDSHAKE_SIZE], scheme: DigestScheme, key: &[u8]) -> [u8; DIGEST_SIZE] {
    let (m, pos) = packet_mac(packet, scheme, key);
    let digest: [u8; DIGEST_SIZE] = m.finalize().into_bytes().into();
    packet[pos..pos + DIGEST_SIZE].copy_from_slice(&digest);
    digest
}

/// Constant-time check of the digest embedded at `scheme`'s position.
fn verify_digest(packet: &[u8; HANDSHAKE_SIZE], scheme: DigestScheme, key: &[u8]) -> bool {
    let (m, pos) = packet_mac(packet, scheme, key);
    m.verify_slice(&packet[pos..pos + DIGEST_SIZE]).is_ok()
}

/// The first scheme (base 772, then base 8) under which `packet` carries a valid digest.
fn validate(packet: &[u8; HANDSHAKE_SIZE], key: &[u8]) -> Option<DigestScheme> {
    DigestScheme::VALIDATION_ORDER.into_iter().find(|&scheme| verify_digest(packet, scheme, key))
}

/// Signs a C1 in place: writes HMAC-SHA256(FP key prefix, C1 minus the digest) at `scheme`'s
/// position and returns the digest (which later keys the S2 signature). The caller fills time,
/// version and random bytes first; the version should be non-zero or servers ignore the digest.
pub fn sign_c1(c1: &mut [u8; HANDSHAKE_SIZE], scheme: DigestScheme) -> [u8; DIGEST_SIZE] {
    insert_digest(c1, scheme, &FP_KEY[..FP_KEY_PARTIAL_LEN])
}

/// Signs an S1 in place with the FMS key prefix at `scheme`'s position; returns the digest
/// (which later keys the C2 signature).
pub fn sign_s1(s1: &mut [u8; HANDSHAKE_SIZE], scheme: DigestScheme) -> [u8; DIGEST_SIZE] {
    insert_digest(s1, scheme, &FMS_KEY[..FMS_KEY_PARTIAL_LEN])
}

/// True if `c1` carries a valid Flash Player digest under `scheme` (constant-time compare).
pub fn verify_client_digest(c1: &[u8; HANDSHAKE_SIZE], scheme: DigestScheme) -> bool {
    verify_digest(c1, scheme, &FP_KEY[..FP_KEY_PARTIAL_LEN])
}

/// True if `s1` carries a valid Flash Media Server digest under `scheme` (constant-time compare).
pub fn verify_server_digest(s1: &[u8; HANDSHAKE_SIZE], scheme: DigestScheme) -> bool {
    verify_digest(s1, scheme, &FMS_KEY[..FMS_KEY_PARTIAL_LEN])
}

/// The scheme under which `c1` carries a valid client digest, trying base 772 then base 8 as
/// nginx and ffmpeg do; `None` means the peer wants (or gets) the simple handshake.
pub fn validate_client_digest(c1: &[u8; HANDSHAKE_SIZE]) -> Option<DigestScheme> {
    validate(c1, &FP_KEY[..FP_KEY_PARTIAL_LEN])
}

/// The scheme under which `s1` carries a valid server digest (base 772, then base 8).
pub fn validate_server_digest(s1: &[u8; HANDSHAKE_SIZE]) -> Option<DigestScheme> {
    validate(s1, &FMS_KEY[..FMS_KEY_PARTIAL_LEN])
}

/// MAC over `packet[..1504]` keyed with HMAC-SHA256(`full_key`, `peer_digest`).
fn response_mac(
    packet: &[u8; HANDSHAKE_SIZE],
    full_key: &[u8],
    peer_digest: &[u8; DIGEST_SIZE],
) -> HmacSha256 {
    let mut key_mac = mac(full_key);
    key_mac.update(peer_digest);
    let key = key_mac.finalize().into_bytes();
    let mut m = mac(&key);
    m.update(&packet[..SIGNED_BODY_SIZE]);
    m
}

/// Writes the signature of a response packet into its last 32 bytes.
fn sign_response(packet: &mut [u8; HANDSHAKE_SIZE], full_key: &[u8], peer_digest: &[u8; DIGEST_SIZE]) {
    let signature = response_mac(packet, full_key, peer_digest).finalize().into_bytes();
    packet[SIGNED_BODY_SIZE..].copy_from_slice(&signature);
}

/// Signs an S2 in place: `S2[1504..] = HMAC(HMAC(FMS key, c1_digest), S2[..1504])`, the
/// answer Flash/ffmpeg players check against the digest of the C1 they sent.
pub fn sign_s2(s2: &mut [u8; HANDSHAKE_SIZE], c1_digest: &[u8; DIGEST_SIZE]) {
    sign_response(s2, &FMS_KEY, c1_digest);
}

/// Signs a C2 in place: `C2[1504..] = HMAC(HMAC(FP key, s1_digest), C2[..1504])`.
pub fn sign_c2(c2: &mut [u8; HANDSHAKE_SIZE], s1_digest: &[u8; DIGEST_SIZE]) {
    sign_response(c2, &FP_KEY, s1_digest);
}

/// True if `s2` is signed for the C1 whose digest is `c1_digest` (constant-time compare).
pub fn verify_s2(s2: &[u8; HANDSHAKE_SIZE], c1_digest: &[u8; DIGEST_SIZE]) -> bool {
    response_mac(s2, &FMS_KEY, c1_digest).verify_slice(&s2[SIGNED_BODY_SIZE..]).is_ok()
}

/// True if `c2` is signed for the S1 whose digest is `s1_digest` (constant-time compare).
/// Our server never rejects on C2, but tests and diagnostics can use this.
pub fn verify_c2(c2: &[u8; HANDSHAKE_SIZE], s1_digest: &[u8; DIGEST_SIZE]) -> bool {
    response_mac(c2, &FP_KEY, s1_digest).verify_slice(&c2[SIGNED_BODY_SIZE..]).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::handshake::CLIENT_VERSION;
    use crate::proto::handshake::SERVER_VERSION;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Vector #2's C1: time 0, version 9.0.124.2, rest 0, signed with base 8.
    fn vector2_c1() -> ([u8; HANDSHAKE_SIZE], [u8; DIGEST_SIZE]) {
        let mut c1 = [0u8; HANDSHAKE_SIZE];
        c1[4..8].copy_from_slice(&CLIENT_VERSION);
        let digest = sign_c1(&mut c1, DigestScheme::Base8);
        (c1, digest)
    }

    /// Vector #3's S1: version 0D0E0A0D, rest 0, signed with base 8.
    fn vector3_s1() -> ([u8; HANDSHAKE_SIZE], [u8; DIGEST_SIZE]) {
        let mut s1 = [0u8; HANDSHAKE_SIZE];
        s1[4..8].copy_from_slice(&SERVER_VERSION);
        let digest = sign_s1(&mut s1, DigestScheme::Base8);
        (s1, digest)
    }

    #[test]
    fn keys_have_the_published_layout() {
        assert_eq!(&FP_KEY[..FP_KEY_PARTIAL_LEN], b"Genuine Adobe Flash Player 001");
        assert_eq!(&FMS_KEY[..FMS_KEY_PARTIAL_LEN], b"Genuine Adobe Flash Media Server 001");
        assert_eq!(FP_KEY[FP_KEY_PARTIAL_LEN..], KEY_TAIL);
        assert_eq!(FMS_KEY[FMS_KEY_PARTIAL_LEN..], KEY_TAIL);
        assert_eq!(KEY_TAIL[0], 0xf0);
        assert_eq!(KEY_TAIL[31], 0xae);
    }

    #[test]
    fn padded_key_hmac_matches_hmac_crate_for_all_key_lengths() {
        for len in 0..=100usize {
            let key: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut ours = mac(&key);
            ours.update(b"rtmp");
            let mut reference = <HmacSha256 as KeyInit>::new_from_slice(&key).unwrap();
            reference.update(b"rtmp");
            assert_eq!(ours.finalize().into_bytes(), reference.finalize().into_bytes(), "key length {len}");
        }
    }

    #[test]
    fn vector2_client_digest_is_pinned() {
        let (c1, digest) = vector2_c1();
        assert_eq!(digest_offset(&c1, DigestScheme::Base8), 12);
        assert_eq!(hex(&digest), "6b13d867e07634a25928175336026199f9eeab8d0a2b43e6997f760efa98db6f");
        assert_eq!(c1[12..44], digest);
        assert!(c1[44..].iter().all(|&b| b == 0));
    }

    #[test]
    fn vector2_validates_with_base8_only() {
        let (c1, _) = vector2_c1();
        assert_eq!(digest_offset(&c1, DigestScheme::Base772), 776);
        assert!(!verify_client_digest(&c1, DigestScheme::Base772));
        assert!(verify_client_digest(&c1, DigestScheme::Base8));
        assert_eq!(validate_client_digest(&c1), Some(DigestScheme::Base8));
        // A client digest is not a server digest.
        assert_eq!(validate_server_digest(&c1), None);
    }

    #[test]
    fn vector3_server_digest_is_pinned() {
        let (s1, digest) = vector3_s1();
        assert_eq!(digest_offset(&s1, DigestScheme::Base8), 12);
        assert_eq!(hex(&digest), "1eb87c1c32fc8dfc9e1ef560504d5bf0b0de133c9be94a645b9b99e79445e0c4");
        assert_eq!(validate_server_digest(&s1), Some(DigestScheme::Base8));
        assert_eq!(validate_client_digest(&s1), None);
    }

    #[test]
    fn vector4_s2_signature_is_pinned() {
        let (_, c1_digest) = vector2_c1();
        let mut s2 = [0u8; HANDSHAKE_SIZE];
        sign_s2(&mut s2, &c1_digest);
        assert!(s2[..SIGNED_BODY_SIZE].iter().all(|&b| b == 0));
        assert_eq!(
            hex(&s2[SIGNED_BODY_SIZE..]),
            "2a9c9166bc7e6297301775b375c7c674563d84a6f53fe9953801041a0f96272d"
        );
        assert!(verify_s2(&s2, &c1_digest));
    }

    #[test]
    fn vector5_c2_signature_is_pinned() {
        let (_, s1_digest) = vector3_s1();
        let mut c2 = [0u8; HANDSHAKE_SIZE];
        sign_c2(&mut c2, &s1_digest);
        assert_eq!(
            hex(&c2[SIGNED_BODY_SIZE..]),
            "d840f0c252bb48b89c8899dbfbc1d0ca09a17345edf0e201b469765377652d7f"
        );
        assert!(verify_c2(&c2, &s1_digest));
    }

    #[test]
    fn vector6_offset_base8() {
        let mut b = [0u8; HANDSHAKE_SIZE];
        b[8..12].copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(digest_offset(&b, DigestScheme::Base8), 22);
    }

    #[test]
    fn vector6_offset_base772() {
        let mut b = [0u8; HANDSHAKE_SIZE];
        b[772..776].copy_from_slice(&[0xff; 4]);
        assert_eq!(digest_offset(&b, DigestScheme::Base772), 1068);
    }

    #[test]
    fn offsets_stay_clear_of_their_selector_bytes_and_the_packet_end() {
        for fill in [0x00u8, 0x01, 0x7f, 0xb6, 0xff] {
            for sel in [0u8, 1, 181, 182, 255] {
                let mut b = [fill; HANDSHAKE_SIZE];
                b[8..12].fill(sel);
                b[772..776].fill(sel);
                let p8 = digest_offset(&b, DigestScheme::Base8);
                let p772 = digest_offset(&b, DigestScheme::Base772);
                assert!((12..=739).contains(&p8));
                assert!(p8 + DIGEST_SIZE <= 772);
                assert!((776..=1503).contains(&p772));
                assert!(p772 + DIGEST_SIZE <= HANDSHAKE_SIZE);
            }
        }
    }

    #[test]
    fn sign_and_validate_round_trip_in_both_schemes() {
        for scheme in [DigestScheme::Base8, DigestScheme::Base772] {
            let mut packet = [0u8; HANDSHAKE_SIZE];
            for (i, b) in packet.iter_mut().enumerate() {
                *b = (i * 31 % 251) as u8;
            }
            let mut c1 = packet;
            let d = sign_c1(&mut c1, scheme);
            assert_eq!(validate_client_digest(&c1), Some(scheme));
            assert_eq!(digest_at(&c1, scheme), d);
            let mut s1 = packet;
            let d = sign_s1(&mut s1, scheme);
            assert_eq!(validate_server_digest(&s1), Some(scheme));
            assert_eq!(digest_at(&s1, scheme), d);
        }
    }

    #[test]
    fn unsigned_and_tampered_packets_do_not_validate() {
        let zero = [0u8; HANDSHAKE_SIZE];
        assert_eq!(validate_client_digest(&zero), None);
        assert_eq!(validate_server_digest(&zero), None);
        let (mut c1, _) = vector2_c1();
        c1[1000] ^= 1;
        assert_eq!(validate_client_digest(&c1), None);
        let (mut c1, _) = vector2_c1();
        c1[12] ^= 0x80;
        assert_eq!(validate_client_digest(&c1), None);
    }

    #[test]
    fn tampered_signatures_do_not_verify() {
        let (_, c1_digest) = vector2_c1();
        let mut s2 = [0u8; HANDSHAKE_SIZE];
        sign_s2(&mut s2, &c1_digest);
        let mut body = s2;
        body[0] ^= 1;
        assert!(!verify_s2(&body, &c1_digest));
        let mut sig = s2;
        sig[HANDSHAKE_SIZE - 1] ^= 1;
        assert!(!verify_s2(&sig, &c1_digest));
        let mut other = c1_digest;
        other[0] ^= 1;
        assert!(!verify_s2(&s2, &other));
        // An S2 signature is not a C2 signature.
        assert!(!verify_c2(&s2, &c1_digest));
    }
}

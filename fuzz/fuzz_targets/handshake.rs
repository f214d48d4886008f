//! Fuzzes both halves of the RTMP handshake with arbitrary peer bytes.
//!
//! Layout of the input: `[split_hi, split_lo, flags, peer bytes…]`. The peer bytes go to a
//! `ServerHandshake` and to a started `ClientHandshake` in two pieces, cut at a point derived
//! from the first two bytes. `flags` picks the client mode and digest scheme, and (bit 3)
//! also runs a full in-memory client↔server exchange seeded from the peer bytes, which must
//! complete. Invariants: no panic, a side consumes all input until it is done or has failed,
//! at most S0+S1+S2 is ever written, and nothing is consumed once done.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtmp_core::proto::handshake::{
    ClientHandshake, ClientMode, DigestScheme, HANDSHAKE_SIZE, HandshakeError, RANDOM_SIZE, ServerHandshake,
    digest_offset, validate_client_digest, validate_server_digest,
};

/// Feeds `pieces` in order through `step` (which returns the consumed count and whether the
/// handshake is done) and checks the consumption invariants.
fn drive(pieces: [&[u8]; 2], mut step: impl FnMut(&[u8]) -> Result<(usize, bool), HandshakeError>) {
    let mut finished = false;
    for piece in pieces {
        match step(piece) {
            Ok((n, done)) => {
                assert!(n <= piece.len());
                assert!(n == piece.len() || done, "input left over before the handshake is done");
                assert!(!finished || n == 0, "input consumed after the handshake was done");
                finished = done;
            }
            Err(_) => return,
        }
    }
}

/// 1528 "random" bytes: `seed` repeated (or a constant when empty).
fn random_from(seed: &[u8]) -> [u8; RANDOM_SIZE] {
    let mut random = [0x5a; RANDOM_SIZE];
    for (dst, src) in random.iter_mut().zip(seed.iter().cycle()) {
        *dst = *src;
    }
    random
}

fn client_mode(flags: u8) -> ClientMode {
    match flags & 3 {
        0 => ClientMode::Simple,
        1 => ClientMode::Digest { strict: true },
        _ => ClientMode::Digest { strict: false },
    }
}

fn scheme(flags: u8) -> DigestScheme {
    if flags & 4 == 0 { DigestScheme::Base8 } else { DigestScheme::Base772 }
}

/// A complete exchange between our own client and server must always succeed.
fn round_trip(flags: u8, seed: &[u8]) {
    let random = random_from(seed);
    let mut client = ClientHandshake::new(client_mode(flags), 1, &random).with_digest_scheme(scheme(flags));
    let mut server = ServerHandshake::new(2, &random);
    // Types come from `handle_input`, so this target needs no direct `bytes` dependency.
    let mut to_server = Default::default();
    let mut to_client = Default::default();
    client.start(&mut to_server);
    assert_eq!(server.handle_input(&to_server, &mut to_client), Ok(1 + HANDSHAKE_SIZE));
    assert_eq!(to_client.len(), 1 + 2 * HANDSHAKE_SIZE);
    let mut c2 = Default::default();
    assert_eq!(client.handle_input(&to_client, &mut c2), Ok(1 + 2 * HANDSHAKE_SIZE));
    assert!(client.is_done());
    let mut nothing = Default::default();
    assert_eq!(server.handle_input(&c2, &mut nothing), Ok(HANDSHAKE_SIZE));
    assert!(server.is_done() && nothing.is_empty());
    assert_eq!(server.kind(), client.kind());
}

fuzz_target!(|data: &[u8]| {
    let [hi, lo, flags, peer @ ..] = data else { return };
    let split = usize::from(u16::from_be_bytes([*hi, *lo])) % (peer.len() + 1);
    let pieces = [&peer[..split], &peer[split..]];

    let mut server = ServerHandshake::new(0, &random_from(&[*hi, *lo]));
    let mut server_out = Default::default();
    drive(pieces, |input| server.handle_input(input, &mut server_out).map(|n| (n, server.is_done())));
    assert!(server_out.len() <= 1 + 2 * HANDSHAKE_SIZE);
    assert_eq!(server.kind().is_some(), server_out.len() == 1 + 2 * HANDSHAKE_SIZE);

    let mode = client_mode(*flags);
    let mut client =
        ClientHandshake::new(mode, 0, &random_from(&[*flags])).with_digest_scheme(scheme(*flags));
    let mut client_out = Default::default();
    client.start(&mut client_out);
    drive(pieces, |input| client.handle_input(input, &mut client_out).map(|n| (n, client.is_done())));
    assert!(client_out.len() <= 1 + 2 * HANDSHAKE_SIZE);

    if let Some(packet) = peer.first_chunk::<HANDSHAKE_SIZE>() {
        for scheme in [DigestScheme::Base8, DigestScheme::Base772] {
            assert!(digest_offset(packet, scheme) + 32 <= HANDSHAKE_SIZE);
        }
        let _ = (validate_client_digest(packet), validate_server_digest(packet));
    }

    if flags & 8 != 0 {
        round_trip(*flags, peer);
    }
});

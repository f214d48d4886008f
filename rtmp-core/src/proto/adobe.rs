//! Adobe's username/password challenge for `connect` (`authmod=adobe`), as Wowza and Adobe Media
//! Server speak it and FMLE, Wirecast, OBS (its librtmp), ffmpeg and GStreamer answer it.
//!
//! The flow takes three connects, each on a new TCP connection (the server closes after each
//! refusal):
//!
//! 1. `connect` without `authmod` → `_error` with description [`NEED_AUTH`]
//!    (`code=403 need auth; authmod=adobe`).
//! 2. `connect` with `?authmod=adobe&user=U` on app and tcUrl → `_error` with the challenge
//!    ([`challenge_description`]): `?reason=needauth&user=U&salt=S&challenge=C&opaque=O`.
//! 3. `connect` with `?authmod=adobe&user=U&challenge=CC&response=R&opaque=O`, where
//!    `R = base64(md5(base64(md5(U + S + password)) + O + CC))` (the server's `challenge`
//!    replaces `O` when no opaque was sent), `CC` the client's own challenge → accepted, or
//!    `?reason=authfailed` / `?reason=nosuchuser`.
//!
//! The strings are those ffmpeg's `handle_connect_error`/`do_adobe_auth`
//! (libavformat/rtmpproto.c), GStreamer's rtmp2 `do_adobe_auth` and librtmp's `PublisherAuth`
//! look for. Nothing here draws random numbers or reads a clock: the caller hands them in.

use crate::proto::message::percent_decode;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use md5::{Digest, Md5};

/// The first refusal: the client must authenticate (ffmpeg answers with `authmod=adobe&user=`).
pub const NEED_AUTH: &str = "[ AccessManager.Reject ] : [ code=403 need auth; authmod=adobe ] : ";

/// The refusal of a wrong response (ffmpeg: "Incorrect username/password").
pub const AUTH_FAILED: &str = "[ AccessManager.Reject ] : [ authmod=adobe ] : ?reason=authfailed";

/// The refusal of an unknown user (ffmpeg: "Incorrect username").
pub const NO_SUCH_USER: &str = "[ AccessManager.Reject ] : [ authmod=adobe ] : ?reason=nosuchuser";

/// The second refusal: the challenge the client must answer.
pub fn challenge_description(user: &str, salt: &str, challenge: &str, opaque: &str) -> String {
    format!(
        "[ AccessManager.Reject ] : [ authmod=adobe ] : ?reason=needauth&user={user}&salt={salt}\
         &challenge={challenge}&opaque={opaque}"
    )
}

/// `base64(md5(base64(md5(user + salt + password)) + opaque_or_challenge + client_challenge))`.
pub fn response(
    user: &str,
    salt: &str,
    password: &str,
    opaque_or_challenge: &str,
    client_challenge: &str,
) -> String {
    let first = base64(&Md5::new().chain_update(user).chain_update(salt).chain_update(password).finalize());
    base64(
        &Md5::new()
            .chain_update(first)
            .chain_update(opaque_or_challenge)
            .chain_update(client_challenge)
            .finalize(),
    )
}

/// Standard base64 with padding (what ffmpeg's `av_base64_encode` writes).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Lowercase hex of `bytes`: salts, challenges and opaques made of random bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The auth parameters of a connect's app (or, without a query there, tcUrl) query, read raw:
/// only `%XX` is decoded, never `+` (a response is base64, sent unescaped by every client).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthQuery {
    /// `authmod` (`adobe`).
    pub authmod: Option<String>,
    /// `user`.
    pub user: Option<String>,
    /// The client's challenge.
    pub challenge: Option<String>,
    /// The client's response.
    pub response: Option<String>,
    /// The server's opaque, echoed.
    pub opaque: Option<String>,
}

/// The query keys of the flow, stripped from what the application sees.
pub const QUERY_KEYS: [&str; 5] = ["authmod", "user", "challenge", "response", "opaque"];

impl AuthQuery {
    /// Reads the parameters from a raw query (`a=1&b=2`, without `?`).
    pub fn parse(query: &str) -> Self {
        let mut auth = Self::default();
        for segment in query.split('&') {
            let (key, value) = segment.split_once('=').unwrap_or((segment, ""));
            let slot = match key {
                "authmod" => &mut auth.authmod,
                "user" => &mut auth.user,
                "challenge" => &mut auth.challenge,
                "response" => &mut auth.response,
                "opaque" => &mut auth.opaque,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(percent_decode(value, false));
            }
        }
        auth
    }

    /// Whether the client speaks `authmod=adobe`.
    pub fn is_adobe(&self) -> bool {
        self.authmod.as_deref() == Some("adobe")
    }
}

/// A connect refusal as the client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// `code=403 need auth`: connect again with `authmod=adobe&user=U`.
    NeedAuth,
    /// `?reason=needauth&…`: answer the challenge.
    Challenge {
        /// The salt.
        salt: String,
        /// The server's challenge.
        challenge: Option<String>,
        /// The opaque to hash and echo.
        opaque: Option<String>,
    },
    /// `?reason=authfailed`: wrong password (or response).
    AuthFailed,
    /// `?reason=nosuchuser`.
    NoSuchUser,
}

impl Rejection {
    /// Reads an `authmod=adobe` refusal; `None` for any other description.
    pub fn parse(description: &str) -> Option<Self> {
        if !description.contains("authmod=adobe") {
            return None;
        }
        if description.contains("?reason=authfailed") {
            return Some(Self::AuthFailed);
        }
        if description.contains("?reason=nosuchuser") {
            return Some(Self::NoSuchUser);
        }
        if description.contains("code=403 need auth") {
            return Some(Self::NeedAuth);
        }
        let (_, params) = description.split_once("?reason=needauth")?;
        let mut rejection = Self::Challenge { salt: String::new(), challenge: None, opaque: None };
        if let Self::Challenge { salt, challenge, opaque } = &mut rejection {
            for segment in params.split('&') {
                match segment.split_once('=') {
                    Some(("salt", v)) => *salt = v.to_owned(),
                    Some(("challenge", v)) => *challenge = Some(v.to_owned()),
                    Some(("opaque", v)) => *opaque = Some(v.to_owned()),
                    _ => {}
                }
            }
        }
        Some(rejection)
    }
}

/// The query a client sends to answer a challenge, as ffmpeg builds it:
/// `authmod=adobe&user=U&challenge=CC&response=R[&opaque=O]`.
pub fn client_query(
    user: &str,
    password: &str,
    salt: &str,
    challenge: Option<&str>,
    opaque: Option<&str>,
    client_challenge: &str,
) -> String {
    let hashed = opaque.or(challenge).unwrap_or("");
    let response = response(user, salt, password, hashed, client_challenge);
    let mut query = format!("authmod=adobe&user={user}&challenge={client_challenge}&response={response}");
    if let Some(opaque) = opaque {
        query.push_str("&opaque=");
        query.push_str(opaque);
    }
    query
}

/// A challenge handed out and not yet answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The user it was issued to.
    pub user: String,
    /// The application it was issued for.
    pub app: String,
    /// The salt.
    pub salt: String,
    /// The server's challenge.
    pub challenge: String,
    expires: Instant,
}

impl Pending {
    /// Whether `response` (with the client's `client_challenge`) proves `password`. The hash
    /// goes over `opaque` (the key the pending challenge was found under).
    pub fn verify(&self, opaque: &str, password: &str, client_challenge: &str, response: &str) -> bool {
        let expected = self::response(&self.user, &self.salt, password, opaque, client_challenge);
        // Compared without an early exit.
        expected.len() == response.len()
            && expected.bytes().zip(response.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// The challenges a server handed out, by opaque: bounded (the oldest go when it is full) and
/// expiring; each is answered at most once.
#[derive(Debug)]
pub struct ChallengeStore {
    pending: HashMap<String, Pending>,
    capacity: usize,
    lifetime: Duration,
}

impl ChallengeStore {
    /// At most `capacity` challenges, each valid for `lifetime`.
    pub fn new(capacity: usize, lifetime: Duration) -> Self {
        Self { pending: HashMap::new(), capacity: capacity.max(1), lifetime }
    }

    /// Records a challenge issued at `now` under `opaque`.
    pub fn insert(
        &mut self,
        opaque: String,
        user: &str,
        app: &str,
        salt: String,
        challenge: String,
        now: Instant,
    ) {
        if self.pending.len() >= self.capacity {
            self.pending.retain(|_, p| p.expires > now);
        }
        while self.pending.len() >= self.capacity {
            let Some(oldest) = self.pending.iter().min_by_key(|(_, p)| p.expires).map(|(k, _)| k.clone())
            else {
                break;
            };
            self.pending.remove(&oldest);
        }
        let pending = Pending {
            user: user.to_owned(),
            app: app.to_owned(),
            salt,
            challenge,
            expires: now + self.lifetime,
        };
        self.pending.insert(opaque, pending);
    }

    /// Takes the challenge issued under `opaque`, unless it expired.
    pub fn take(&mut self, opaque: &str, now: Instant) -> Option<Pending> {
        self.pending.remove(opaque).filter(|p| p.expires > now)
    }

    /// Challenges held.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed with Python's hashlib and base64, step by step as ffmpeg's do_adobe_auth:
    //   h1 = b64encode(md5(b"user" b"saltSALT" b"pass"))   = "Md0dzDpK1j6PUt4eaTuJuQ=="
    //   b64encode(md5(h1 + "opaque01" + "0a1b2c3d"))       = "79o9hxsrRyViZfvNAHor6A=="
    //   b64encode(md5(h1 + "chal1234" + "0a1b2c3d"))       = "nhXD4GhV8KZOiLqx2T7hYw=="
    #[test]
    fn response_matches_ffmpeg_algorithm() {
        assert_eq!(response("user", "saltSALT", "pass", "opaque01", "0a1b2c3d"), "79o9hxsrRyViZfvNAHor6A==");
        assert_eq!(response("user", "saltSALT", "pass", "chal1234", "0a1b2c3d"), "nhXD4GhV8KZOiLqx2T7hYw==");
        assert_eq!(
            client_query("user", "pass", "saltSALT", Some("chal1234"), Some("opaque01"), "0a1b2c3d"),
            "authmod=adobe&user=user&challenge=0a1b2c3d&response=79o9hxsrRyViZfvNAHor6A==&opaque=opaque01"
        );
        assert_eq!(
            client_query("user", "pass", "saltSALT", Some("chal1234"), None, "0a1b2c3d"),
            "authmod=adobe&user=user&challenge=0a1b2c3d&response=nhXD4GhV8KZOiLqx2T7hYw=="
        );
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn refusals_read_back() {
        assert_eq!(Rejection::parse(NEED_AUTH), Some(Rejection::NeedAuth));
        assert_eq!(Rejection::parse(AUTH_FAILED), Some(Rejection::AuthFailed));
        assert_eq!(Rejection::parse(NO_SUCH_USER), Some(Rejection::NoSuchUser));
        assert_eq!(Rejection::parse("Rejected."), None);
        assert_eq!(
            Rejection::parse(&challenge_description("u", "s1", "c1", "o1")),
            Some(Rejection::Challenge {
                salt: "s1".into(),
                challenge: Some("c1".into()),
                opaque: Some("o1".into())
            })
        );
        // ffmpeg reads the authmod up to the next space: the description must have one after it.
        let authmod = NEED_AUTH.split("authmod=").nth(1).unwrap();
        assert_eq!(authmod.split(' ').next(), Some("adobe"));
    }

    #[test]
    fn query_keeps_plus_and_slash() {
        let q = AuthQuery::parse("authmod=adobe&user=a%40b&challenge=0a&response=a+b/c==&opaque=o&x=1");
        assert!(q.is_adobe());
        assert_eq!(q.user.as_deref(), Some("a@b"));
        assert_eq!(q.response.as_deref(), Some("a+b/c=="));
        assert_eq!(q.opaque.as_deref(), Some("o"));
        assert_eq!(AuthQuery::parse("token=1"), AuthQuery::default());
    }
}

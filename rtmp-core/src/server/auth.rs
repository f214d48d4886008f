//! User name and password at connect: the server's side of `authmod=adobe`
//! ([`crate::proto::adobe`]), with the passwords from the handler's `on_credentials`.

use std::time::Instant;

use super::PublishAuth;
use super::handler::{RtmpHandler, SessionContext};
use super::runtime::Shared;
use crate::proto::adobe::{self, AuthQuery};
use crate::proto::message::{ConnectParams, split_query};

/// Checks a connect against [`super::ServerConfig::publish_auth`]: `Ok(Some(user))` when it
/// authenticated, `Ok(None)` when it may go on without, `Err(description)` for the refusal
/// (need auth, the challenge, authfailed, nosuchuser). The auth keys leave the connect's query
/// and tcUrl, so that the handler never sees a response.
pub(crate) async fn authenticate<H: RtmpHandler>(
    shared: &Shared<H>,
    ctx: &SessionContext,
    params: &mut ConnectParams,
) -> Result<Option<String>, String> {
    if shared.config.publish_auth == PublishAuth::None {
        return Ok(None);
    }
    let query = raw_query(params).map(AuthQuery::parse).unwrap_or_default();
    if !query.is_adobe() {
        // Encoders (OBS, ffmpeg, FMLE, Wirecast, GStreamer) send FMLE's flashVer: they must
        // authenticate before they may publish, and only a connect refusal makes them.
        let encoder = params.flash_ver.as_deref().is_some_and(|v| v.starts_with("FMLE/"));
        return if encoder { Err(adobe::NEED_AUTH.to_owned()) } else { Ok(None) };
    }
    strip_auth_keys(params);
    let user = match query.user.as_deref() {
        Some(user) if !user.is_empty() => user,
        _ => return Err(adobe::NEED_AUTH.to_owned()),
    };
    let app = params.app.clone();
    let Some(response) = query.response.as_deref() else {
        // Step 2: the challenge, for a user that exists.
        if shared.handler.on_credentials(ctx, &app, user).await.is_none() {
            tracing::info!(%app, user, "authentication: no such user");
            return Err(adobe::NO_SUCH_USER.to_owned());
        }
        let mut random = [0u8; 18];
        // Without OS randomness the challenge would be guessable: refuse rather than issue it.
        getrandom::fill(&mut random).map_err(|_| adobe::AUTH_FAILED.to_owned())?;
        let (salt, challenge, opaque) =
            (adobe::hex(&random[..6]), adobe::hex(&random[6..10]), adobe::hex(&random[10..]));
        let description = adobe::challenge_description(user, &salt, &challenge, &opaque);
        let mut store = shared.challenges.lock().unwrap_or_else(|e| e.into_inner());
        store.insert(opaque, user, &app, salt, challenge, Instant::now());
        return Err(description);
    };
    // Step 3: the answer to a challenge this server handed out, once.
    let opaque = query.opaque.as_deref().unwrap_or("");
    let pending = shared.challenges.lock().unwrap_or_else(|e| e.into_inner()).take(opaque, Instant::now());
    let Some(pending) = pending.filter(|p| p.user == user && p.app == app) else {
        tracing::info!(%app, user, "authentication failed: unknown or expired challenge");
        return Err(adobe::AUTH_FAILED.to_owned());
    };
    let Some(password) = shared.handler.on_credentials(ctx, &app, user).await else {
        tracing::info!(%app, user, "authentication: no such user");
        return Err(adobe::NO_SUCH_USER.to_owned());
    };
    if pending.verify(opaque, &password, query.challenge.as_deref().unwrap_or(""), response) {
        tracing::info!(%app, user, "authenticated");
        Ok(Some(user.to_owned()))
    } else {
        tracing::info!(%app, user, "authentication failed: wrong password");
        Err(adobe::AUTH_FAILED.to_owned())
    }
}

/// The query as sent, undecoded: the app's (ffmpeg and OBS put it there), else the tcUrl's.
fn raw_query(params: &ConnectParams) -> Option<&str> {
    let app = params.properties.get_str("app").and_then(|app| split_query(app).1);
    app.or_else(|| params.tc_url.as_deref().and_then(|url| split_query(url).1))
}

/// Drops the flow's keys from the parsed query and from the tcUrl.
fn strip_auth_keys(params: &mut ConnectParams) {
    params.query.retain(|(key, _)| !adobe::QUERY_KEYS.contains(&key.as_str()));
    if let Some(url) = &params.tc_url
        && let (base, Some(query)) = split_query(url)
    {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|segment| {
                let key = segment.split_once('=').map_or(*segment, |(k, _)| k);
                !segment.is_empty() && !adobe::QUERY_KEYS.contains(&key)
            })
            .collect();
        params.tc_url =
            Some(if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) });
    }
}

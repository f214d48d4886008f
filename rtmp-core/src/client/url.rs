//! `rtmp[s]://host[:port]/app[/instance]/stream[?query]`, split as ffmpeg and OBS split it.

use crate::proto::message::percent_decode;
use std::fmt;

use super::ClientError;

/// Plain RTMP or RTMP over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `rtmp://`, default port 1935.
    Rtmp,
    /// `rtmps://`, default port 443.
    Rtmps,
}

/// A parsed RTMP URL.
#[derive(Clone, PartialEq, Eq)]
pub struct RtmpUrl {
    /// The scheme.
    pub scheme: Scheme,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port (default 1935, or 443 for rtmps).
    pub port: u16,
    /// Application: every path segment but the last (`live`, or `app/instance`).
    pub app: String,
    /// Stream name: the last path segment with the URL's query (`cam?token=x`), as publish and
    /// play send it.
    pub stream: String,
    /// The user name of `rtmp://user:password@host/…` (percent-decoded): the client logs in
    /// with Adobe's challenge (`authmod=adobe`) when the server asks.
    pub user: Option<String>,
    /// The password of `rtmp://user:password@host/…` (percent-decoded).
    pub password: Option<String>,
}

impl fmt::Debug for RtmpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtmpUrl")
            .field("scheme", &self.scheme)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("app", &self.app)
            .field("stream", &self.stream)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

impl RtmpUrl {
    /// Parses a URL; errors say what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, ClientError> {
        let bad = |why: &str| ClientError::BadUrl(format!("{text}: {why}"));
        let (scheme, rest) = if let Some(rest) = text.strip_prefix("rtmp://") {
            (Scheme::Rtmp, rest)
        } else if let Some(rest) = text.strip_prefix("rtmps://") {
            (Scheme::Rtmps, rest)
        } else {
            return Err(bad("the scheme must be rtmp:// or rtmps://"));
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (credentials, authority) = match authority.rsplit_once('@') {
            Some((credentials, host)) => (Some(credentials), host),
            None => (None, authority),
        };
        let (user, password) = match credentials.map(|c| c.split_once(':').unwrap_or((c, ""))) {
            Some((user, password)) => {
                (Some(percent_decode(user, false)), Some(percent_decode(password, false)))
            }
            None => (None, None),
        };
        let default_port = if scheme == Scheme::Rtmp { 1935 } else { 443 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '[' in the host"))?;
            let port = match after {
                "" => default_port,
                p => p
                    .strip_prefix(':')
                    .ok_or_else(|| bad("junk after the IPv6 address"))?
                    .parse()
                    .map_err(|_| bad("bad port"))?,
            };
            (host.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_owned(), port.parse().map_err(|_| bad("bad port"))?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let path = path.trim_end_matches('/');
        let (app, name) =
            path.rsplit_once('/').ok_or_else(|| bad("the path needs an app and a stream name"))?;
        if app.is_empty() || name.is_empty() {
            return Err(bad("the path needs an app and a stream name"));
        }
        let stream = match query {
            Some(q) => format!("{name}?{q}"),
            None => name.to_owned(),
        };
        Ok(Self { scheme, host, port, app: app.to_owned(), stream, user, password })
    }

    /// The same stream on the server at `tc_url` (what a ReconnectRequest points to).
    pub fn with_tc_url(&self, tc_url: &str) -> Result<Self, ClientError> {
        let moved = Self::parse(&format!("{}/{}", tc_url.trim_end_matches('/'), self.stream))?;
        Ok(Self { user: self.user.clone(), password: self.password.clone(), ..moved })
    }

    /// The tcUrl sent in connect, as ffmpeg builds it: `rtmp://host:port/app`.
    pub fn tc_url(&self) -> String {
        let scheme = if self.scheme == Scheme::Rtmp { "rtmp" } else { "rtmps" };
        format!("{scheme}://{}:{}/{}", self.host_for_url(), self.port, self.app)
    }

    /// `host:port`, with brackets around IPv6 addresses, for connecting.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host_for_url(), self.port)
    }

    fn host_for_url(&self) -> String {
        if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() }
    }
}

impl fmt::Display for RtmpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tc_url(), self.stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_url_with_default_port() {
        let url = RtmpUrl::parse("rtmp://example.com/live/cam").unwrap();
        assert_eq!((url.scheme, url.host.as_str(), url.port), (Scheme::Rtmp, "example.com", 1935));
        assert_eq!((url.app.as_str(), url.stream.as_str()), ("live", "cam"));
        assert_eq!(url.tc_url(), "rtmp://example.com:1935/live");
    }

    #[test]
    fn instance_query_port_and_rtmps() {
        let url = RtmpUrl::parse("rtmps://h:8443/app/inst/key?token=a&b=2").unwrap();
        assert_eq!((url.scheme, url.port), (Scheme::Rtmps, 8443));
        assert_eq!((url.app.as_str(), url.stream.as_str()), ("app/inst", "key?token=a&b=2"));
        assert_eq!(url.tc_url(), "rtmps://h:8443/app/inst");
        assert_eq!(RtmpUrl::parse("rtmps://h/live/k").unwrap().port, 443);
    }

    #[test]
    fn ipv6_literals() {
        let url = RtmpUrl::parse("rtmp://[::1]:1936/live/cam").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 1936));
        assert_eq!(url.authority(), "[::1]:1936");
        assert_eq!(url.tc_url(), "rtmp://[::1]:1936/live");
        assert_eq!(RtmpUrl::parse("rtmp://[::1]/live/cam").unwrap().port, 1935);
        assert_eq!(url.to_string(), "rtmp://[::1]:1936/live/cam");
    }

    #[test]
    fn reconnect_target_keeps_the_stream() {
        let url = RtmpUrl::parse("rtmp://a/live/cam?k=1").unwrap();
        let moved = url.with_tc_url("rtmps://b:444/edge/").unwrap();
        assert_eq!((moved.host.as_str(), moved.port, moved.app.as_str()), ("b", 444, "edge"));
        assert_eq!(moved.stream, "cam?k=1");
    }

    #[test]
    fn credentials_stay_out_of_the_tc_url() {
        let url = RtmpUrl::parse("rtmp://alice:p%40ss:w@h:1936/live/cam").unwrap();
        assert_eq!((url.user.as_deref(), url.password.as_deref()), (Some("alice"), Some("p@ss:w")));
        assert_eq!((url.host.as_str(), url.port), ("h", 1936));
        assert_eq!(url.tc_url(), "rtmp://h:1936/live");
        assert_eq!(url.to_string(), "rtmp://h:1936/live/cam");
        assert!(!format!("{url:?}").contains("p@ss"), "Debug hides the password");
        assert_eq!(url.with_tc_url("rtmp://b/edge").unwrap().user.as_deref(), Some("alice"));
        assert_eq!(RtmpUrl::parse("rtmp://h/live/cam").unwrap().user, None);
    }

    #[test]
    fn bad_urls_say_why() {
        for (url, why) in [
            ("http://h/live/cam", "scheme"),
            ("rtmp:///live/cam", "no host"),
            ("rtmp://h/live", "app and a stream"),
            ("rtmp://h/", "app and a stream"),
            ("rtmp://h:xx/live/cam", "bad port"),
            ("rtmp://h:99999/live/cam", "bad port"),
            ("rtmp://[::1/live/cam", "unclosed"),
        ] {
            let err = RtmpUrl::parse(url).unwrap_err().to_string();
            assert!(err.contains(why), "{url}: {err}");
        }
    }
}

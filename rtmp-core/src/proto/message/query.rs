//! Query strings on app names, tcUrls and stream names: where encoders put auth tokens.

/// Splits `text` at the first `?` into (path, query).
pub fn split_query(text: &str) -> (&str, Option<&str>) {
    match text.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (text, None),
    }
}

/// Parses `a=1&b=two%20words` into ordered, percent-decoded pairs. A key without `=` gets an
/// empty value; empty segments are skipped.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let (k, v) = segment.split_once('=').unwrap_or((segment, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// `%XX` decoded (a malformed escape kept as written); `+` is a space when `plus_is_space`
/// (form encoding, as query strings are written), else kept (a user name in a URL, a base64 value
/// in an auth query).
pub(crate) fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match bytes[i] {
            b'%' => match (bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b))) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A stream name as sent in publish or play: the name that keys the stream, and its query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamName {
    /// The name without its query: the key streams are published and played under.
    pub name: String,
    /// The parsed query (`cam?token=abc` → `[("token", "abc")]`).
    pub query: Vec<(String, String)>,
    /// The name exactly as received.
    pub raw: String,
}

impl StreamName {
    /// Splits a received name into name and query.
    pub fn parse(raw: &str) -> Self {
        let (name, query) = split_query(raw);
        Self { name: name.to_owned(), query: query.map(parse_query).unwrap_or_default(), raw: raw.to_owned() }
    }

    /// The first value of query parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

//! A request's URL, read from the string the runtime serialized, without the `url` crate.
//!
//! The runtime hands a worker its request's URL already parsed and serialized by the WHATWG URL
//! Standard: `scheme://[userinfo@]host[:port]/path[?query][#fragment]`, with an ASCII host
//! (an internationalised one in its `xn--` form), no default port, and `?` and `#` escaped in the
//! path. Splitting that string is all the router needs. Parsing it again with `url::Url` (as
//! `worker::Request::url` does) linked the `url` crate's IDNA, and with it ICU4X's Unicode tables:
//! about 44 KiB of the gzipped bundle (issue 14), and work on every request.

use userdo::Error;

/// The parts of a serialized URL: its scheme, host, port, path and query.
///
/// ```
/// use worker_factory::http::RequestUrl;
/// let url = RequestUrl::parse("https://app.example:8443/api/x?ticket=a%20b&y").unwrap();
/// assert_eq!(url.origin(), "https://app.example:8443");
/// assert_eq!(url.host_str(), Some("app.example"));
/// assert_eq!(url.path(), "/api/x");
/// assert_eq!(url.query(), Some("ticket=a%20b&y"));
/// assert_eq!(url.query_value("ticket").as_deref(), Some("a b"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestUrl {
    url: String,
    /// The end of the scheme (the `:` of `://`).
    scheme_end: usize,
    /// Where the host begins (after `://` and any userinfo).
    host_start: usize,
    /// Where the path begins (the end of `host[:port]`).
    path_start: usize,
    /// The end of the path (a `?`, a `#` or the end).
    path_end: usize,
    /// The query, without its `?`.
    query: Option<(usize, usize)>,
}

impl RequestUrl {
    /// Splits a serialized absolute URL with an authority (`http:`, `https:`, `ws:` ...). Errors
    /// on anything else: the runtime never gives a worker such a URL.
    pub fn parse(url: impl Into<String>) -> Result<Self, Error> {
        let url = url.into();
        let bad = || Error::internal(format!("not an absolute URL with a host: {url:?}"));
        let scheme_end = url.find("://").ok_or_else(bad)?;
        let scheme = &url[..scheme_end];
        let scheme_ok = scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
        if !scheme_ok {
            return Err(bad());
        }
        let authority_start = scheme_end + 3;
        let path_start = url[authority_start..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |i| authority_start + i);
        let host_start = url[authority_start..path_start]
            .rfind('@')
            .map_or(authority_start, |i| authority_start + i + 1);
        if host_start == path_start {
            return Err(bad());
        }
        let path_end = url[path_start..]
            .find(['?', '#'])
            .map_or(url.len(), |i| path_start + i);
        let query = url[path_end..].strip_prefix('?').map(|rest| {
            let start = path_end + 1;
            (start, rest.find('#').map_or(url.len(), |i| start + i))
        });
        Ok(Self {
            url,
            scheme_end,
            host_start,
            path_start,
            path_end,
            query,
        })
    }

    /// The whole URL, as given.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// `http`, `https` ...
    pub fn scheme(&self) -> &str {
        &self.url[..self.scheme_end]
    }

    /// `host[:port]`.
    fn authority(&self) -> &str {
        &self.url[self.host_start..self.path_start]
    }

    /// The host without its port; an IPv6 address keeps its brackets (`[::1]`), as in
    /// `url::Url::host_str`. Always `Some`: the `Option` is `url::Url`'s shape, which the callers
    /// (and their tests) share.
    pub fn host_str(&self) -> Option<&str> {
        let authority = self.authority();
        let host = match authority.find(']') {
            Some(end) if authority.starts_with('[') => &authority[..=end],
            _ => authority
                .rsplit_once(':')
                .map_or(authority, |(host, _)| host),
        };
        Some(host)
    }

    /// `scheme://host[:port]`, the origin as a browser's `Origin` header writes it.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme(), self.authority())
    }

    /// The path, still percent-encoded; `/` when the URL has none.
    pub fn path(&self) -> &str {
        match &self.url[self.path_start..self.path_end] {
            "" => "/",
            path => path,
        }
    }

    /// The query without its `?`, still encoded.
    pub fn query(&self) -> Option<&str> {
        self.query.map(|(start, end)| &self.url[start..end])
    }

    /// The query's `application/x-www-form-urlencoded` pairs, decoded as `url::Url::query_pairs`
    /// decodes them (`+` is a space; bytes that are not UTF-8 become U+FFFD).
    pub fn query_pairs(&self) -> form_urlencoded::Parse<'_> {
        form_urlencoded::parse(self.query().unwrap_or_default().as_bytes())
    }

    /// The value of the first query pair named `name`.
    pub fn query_value(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// `base` with `pairs` appended to its query (form-encoded, after any query it has, before any
/// fragment): what `url::Url::query_pairs_mut` makes of a serialized URL.
pub(crate) fn with_query_pairs(base: &str, pairs: &[(&str, &str)]) -> String {
    let (before_fragment, fragment) = match base.find('#') {
        Some(i) => base.split_at(i),
        None => (base, ""),
    };
    let mut out = before_fragment.to_owned();
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(pairs.iter().copied());
    let query = query.finish();
    if !query.is_empty() {
        match before_fragment.find('?') {
            None => out.push('?'),
            Some(i) if i + 1 < before_fragment.len() => out.push('&'),
            Some(_) => {}
        }
        out.push_str(&query);
    }
    out.push_str(fragment);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_what_the_runtime_serializes() {
        let url = RequestUrl::parse("http://127.0.0.1:8787/api/tables/todos?limit=5#x").unwrap();
        assert_eq!(url.scheme(), "http");
        assert_eq!(url.origin(), "http://127.0.0.1:8787");
        assert_eq!(url.host_str(), Some("127.0.0.1"));
        assert_eq!(url.path(), "/api/tables/todos");
        assert_eq!(url.query(), Some("limit=5"));
        let v6 = RequestUrl::parse("http://user:pw@[::1]:8080").unwrap();
        assert_eq!(v6.host_str(), Some("[::1]"));
        assert_eq!(v6.origin(), "http://[::1]:8080");
        assert_eq!(v6.path(), "/");
        assert_eq!(v6.query(), None);
        for bad in [
            "",
            "/api/me",
            "mailto:a@b.c",
            "http://",
            "http:///x",
            "1http://x/",
        ] {
            assert!(RequestUrl::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn query_pairs_are_appended_as_url_appends_them() {
        let pairs = [("a", "1 2"), ("b&", "é=/")];
        for base in [
            "https://idp.example/auth",
            "https://idp.example/auth?",
            "https://idp.example/auth?x=1",
            "https://idp.example/auth?x=1#frag",
            "https://idp.example/#frag",
        ] {
            let mut theirs = worker::Url::parse(base).unwrap();
            theirs.query_pairs_mut().extend_pairs(pairs);
            assert_eq!(with_query_pairs(base, &pairs), theirs.as_str(), "{base}");
        }
    }

    fn url_like() -> impl Strategy<Value = String> {
        let scheme = prop_oneof![Just("http"), Just("https"), Just("ws")];
        let host = prop_oneof![
            "[a-z0-9-]{1,8}(\\.[a-z0-9-]{1,8}){0,2}".boxed(),
            Just("[::1]".to_owned()).boxed(),
            Just("127.0.0.1".to_owned()).boxed(),
            Just("xn--bcher-kva.example".to_owned()).boxed(),
        ];
        let port = prop_oneof![
            Just(String::new()),
            (1024u16..65535).prop_map(|p| format!(":{p}"))
        ];
        let path = "(/[a-zA-Z0-9%._~@:!$&'()*+,;=-]{0,6}){0,3}";
        let query = "(\\?[a-zA-Z0-9%+&=/?:@._~-]{0,12})?";
        let fragment = "(#[a-z0-9?#]{0,4})?";
        (scheme, host, port, path, query, fragment)
            .prop_map(|(s, h, p, path, q, f)| format!("{s}://{h}{p}{path}{q}{f}"))
    }

    proptest! {
        /// On a URL as `url::Url` serializes it, every part is `url::Url`'s.
        #[test]
        fn parts_are_those_of_url(raw in url_like()) {
            // A host ending in a number must be an IPv4 address: the generator's others are not URLs.
            let Ok(theirs) = worker::Url::parse(&raw) else { return Ok(()) };
            let ours = RequestUrl::parse(theirs.as_str()).unwrap();
            prop_assert_eq!(ours.scheme(), theirs.scheme());
            prop_assert_eq!(ours.host_str(), theirs.host_str());
            prop_assert_eq!(ours.origin(), theirs.origin().ascii_serialization());
            prop_assert_eq!(ours.path(), theirs.path());
            prop_assert_eq!(ours.query(), theirs.query());
            let pairs: Vec<_> = ours.query_pairs().collect();
            let expected: Vec<_> = theirs.query_pairs().collect();
            prop_assert_eq!(pairs, expected);
        }
    }
}

//! HTTP_GET and SSL_GET: one url per attempt; status code, then the MD5 of
//! the body (limited to Content-Length, as keepalived digests it).

use super::stream::{connect, connected, Conn, Endpoint};
use super::{Probe, Step};
use md5::{Digest, Md5};
use mio::{Registry, Token};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::sync::Arc;

/// Largest response kept; a health page is small.
const MAX_RESPONSE: usize = 4 << 20;
/// Longest status line and headers accepted.
const MAX_HEADERS: usize = 64 << 10;

/// `status_code` values: inclusive ranges; empty means 200-299.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatusCodes(pub Vec<(u16, u16)>);

impl StatusCodes {
    /// Parse keepalived's forms: `200`, `200-299`, several per list.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, String> {
        let mut v = Vec::new();
        for it in items {
            for w in it.as_ref().split_whitespace() {
                let (a, b) = w.split_once('-').unwrap_or((w, w));
                let a: u16 = a.parse().map_err(|_| format!("bad status code {w}"))?;
                let b: u16 = b.parse().map_err(|_| format!("bad status code {w}"))?;
                if !(100..=599).contains(&a) || !(100..=599).contains(&b) || a > b {
                    return Err(format!("bad status code {w}"));
                }
                v.push((a, b));
            }
        }
        Ok(StatusCodes(v))
    }

    pub fn accepts(&self, code: u16) -> bool {
        if self.0.is_empty() {
            return (200..300).contains(&code);
        }
        self.0.iter().any(|&(a, b)| (a..=b).contains(&code))
    }
}

/// One `url { }` block.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UrlSpec {
    pub path: String,
    /// Expected MD5 of the body.
    pub digest: Option<[u8; 16]>,
    pub status: StatusCodes,
    pub virtualhost: Option<String>,
    /// `regex`: the body must match (or, `regex_no_match`, must not).
    pub regex: Option<BodyRegex>,
}

/// A url's `regex` with its options. It crosses a socket as its source and
/// is compiled on first use, so only the process that matches (checkerd)
/// compiles it, once; the parent checked it once at load, with file:line.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(from = "RegexSource", into = "RegexSource")]
pub struct BodyRegex {
    pub pattern: String,
    pub options: Vec<String>,
    /// Compiled at first match. `None` inside: the engine cannot run this
    /// pattern (noted at load): the check fails rather than pass without
    /// matching.
    re: std::sync::OnceLock<Option<regex::bytes::Regex>>,
    pub no_match: bool,
    /// Where a match may start: `min..=max` bytes into the body.
    pub min_offset: usize,
    pub max_offset: Option<usize>,
}

/// What a [`BodyRegex`] is made from.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct RegexSource {
    pattern: String,
    options: Vec<String>,
    no_match: bool,
    min_offset: usize,
    max_offset: Option<usize>,
}

impl From<RegexSource> for BodyRegex {
    fn from(r: RegexSource) -> BodyRegex {
        BodyRegex {
            re: std::sync::OnceLock::new(),
            pattern: r.pattern,
            options: r.options,
            no_match: r.no_match,
            min_offset: r.min_offset,
            max_offset: r.max_offset,
        }
    }
}

impl From<BodyRegex> for RegexSource {
    fn from(b: BodyRegex) -> RegexSource {
        RegexSource {
            pattern: b.pattern,
            options: b.options,
            no_match: b.no_match,
            min_offset: b.min_offset,
            max_offset: b.max_offset,
        }
    }
}

impl PartialEq for BodyRegex {
    fn eq(&self, o: &Self) -> bool {
        (
            &self.pattern,
            &self.options,
            self.no_match,
            self.min_offset,
            self.max_offset,
        ) == (
            &o.pattern,
            &o.options,
            o.no_match,
            o.min_offset,
            o.max_offset,
        )
    }
}
impl Eq for BodyRegex {}

impl BodyRegex {
    /// keepalived ignores offsets where min is not below max.
    pub fn new(
        pattern: &str,
        options: &[String],
        no_match: bool,
        min_offset: u64,
        max_offset: Option<u64>,
    ) -> BodyRegex {
        let (min, max) = match max_offset {
            Some(max) if min_offset > max => (0, None),
            m => (min_offset, m),
        };
        let usize_of = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        BodyRegex {
            pattern: pattern.to_string(),
            options: options.to_vec(),
            re: std::sync::OnceLock::new(),
            no_match,
            min_offset: usize_of(min),
            max_offset: max.map(usize_of),
        }
    }

    /// Whether the pattern has been compiled (it is, at its first match).
    pub fn compiled(&self) -> bool {
        self.re.get().is_some()
    }

    /// Whether the check passes on `body` (keepalived: the regex matched
    /// differs from `regex_no_match`); `Err` when the pattern cannot run.
    pub fn passes(&self, body: &[u8]) -> Result<bool, String> {
        let re = self
            .re
            .get_or_init(|| keepalived_config::regex::compile(&self.pattern, &self.options).ok());
        let Some(re) = re else {
            return Err(format!("regex '{}' is not supported", self.pattern));
        };
        let matched = self.min_offset <= body.len()
            && re
                .find_at(body, self.min_offset)
                .is_some_and(|m| self.max_offset.is_none_or(|max| m.start() <= max));
        Ok(matched != self.no_match)
    }
}

/// Parse a 32-hex-digit digest as written by genhash.
pub fn parse_digest(s: &str) -> Option<[u8; 16]> {
    let s = s.trim();
    if s.len() != 32 {
        return None;
    }
    let mut d = [0u8; 16];
    for (i, b) in d.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(d)
}

/// `http_protocol`: 1.0 (default), 1.0C (with Connection: close), 1.1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum HttpProtocol {
    #[default]
    Http10,
    Http10Close,
    Http11,
}

/// Everything HTTP_GET / SSL_GET needs beyond the endpoint.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HttpSpec {
    pub urls: Vec<UrlSpec>,
    /// Checker-level `virtualhost` (already falling back to the real and
    /// virtual server's).
    pub virtualhost: Option<String>,
    pub protocol: HttpProtocol,
    pub fast_recovery: bool,
    /// Set for SSL_GET.
    pub tls: Option<TlsSpec>,
}

/// SSL_GET's TLS options.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TlsSpec {
    /// Verify the server's certificate against these roots (DER); empty
    /// means no verification (keepalived's default).
    pub verify_roots: Vec<Vec<u8>>,
    /// Name sent with SNI (`enable_sni` with the virtual host); also the
    /// name verified. Unset: no SNI, the address is verified.
    pub sni: Option<String>,
    /// The SSL block's client certificate, presented when a server asks.
    #[serde(default)]
    pub client: Option<super::client_cert::ClientCert>,
}

impl TlsSpec {
    /// Build the rustls client configuration once per checker.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = if self.verify_roots.is_empty() {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        } else {
            let mut roots = RootCertStore::empty();
            for c in &self.verify_roots {
                roots
                    .add(CertificateDer::from(c.clone()))
                    .map_err(|e| e.to_string())?;
            }
            builder.with_root_certificates(roots)
        };
        let cfg = match &self.client {
            Some(c) => builder
                .with_client_auth_cert(c.chain(), c.key())
                .map_err(|e| e.to_string())?,
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(cfg))
    }
}

/// keepalived does not check the server certificate unless asked; the
/// handshake signatures are still verified so the session is sound.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The request keepalived sends (check_http.c's template).
pub fn request(spec: &HttpSpec, url: &UrlSpec, dst: std::net::SocketAddr) -> String {
    let vhost = url.virtualhost.as_ref().or(spec.virtualhost.as_ref());
    let host = match vhost {
        Some(v) => v.clone(),
        None => match dst {
            std::net::SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
            a => a.to_string(),
        },
    };
    let (minor, close) = match spec.protocol {
        HttpProtocol::Http10 => (0, ""),
        HttpProtocol::Http10Close => (0, "Connection: close\r\n"),
        HttpProtocol::Http11 => (1, "Connection: close\r\n"),
    };
    format!(
        "GET {} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{close}Host: {host}\r\n\r\n",
        url.path
    )
}

/// What a response amounted to.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// MD5 of the body, limited to Content-Length.
    pub digest: [u8; 16],
    /// Where that body is in the buffer.
    pub body: std::ops::Range<usize>,
}

/// The Content-Length header's value, when there is a valid one.
fn content_length(headers: &[httparse::Header]) -> Option<usize> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
}

/// Whether the response is complete (headers, and a body as long as its
/// Content-Length), without hashing anything: called on every readiness
/// event, so a trickled body costs one header parse per event, not an MD5
/// of everything so far. `Err` when the headers are over [`MAX_HEADERS`]
/// bytes without an end.
fn response_complete(buf: &[u8]) -> Result<bool, ()> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    let body_at = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        _ if buf.len() > MAX_HEADERS => return Err(()),
        _ => return Ok(false),
    };
    let clen = content_length(r.headers);
    Ok(clen.is_some_and(|l| buf.len() - body_at >= l))
}

/// Parse a whole response; `None` when no status line and headers came.
pub fn parse_response(buf: &[u8]) -> Option<(Response, Option<usize>, usize)> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    let body_at = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => return None,
    };
    let status = r.code?;
    let clen = content_length(r.headers);
    let len = clen.map_or(buf.len() - body_at, |l| l.min(buf.len() - body_at));
    let body = body_at..body_at + len;
    let digest: [u8; 16] = Md5::digest(&buf[body.clone()]).into();
    Some((
        Response {
            status,
            digest,
            body,
        },
        clen,
        buf.len() - body_at,
    ))
}

/// Judge a response against one url, as http_handle_response does.
pub fn judge(buf: &[u8], url: &UrlSpec) -> Step {
    if buf.is_empty() {
        return Step::fail("no data received");
    }
    let Some((resp, _, _)) = parse_response(buf) else {
        return Step::fail("no HTTP status line");
    };
    if !url.status.accepts(resp.status) {
        return Step::fail(format!("HTTP status code {}", resp.status));
    }
    if let Some(d) = url.digest {
        if d != resp.digest {
            return Step::fail(format!("MD5 digest error ({})", hex(&resp.digest)));
        }
    }
    if let Some(re) = &url.regex {
        match re.passes(&buf[resp.body.clone()]) {
            Ok(true) => {}
            Ok(false) => return Step::fail("Regex match failed"),
            Err(e) => return Step::fail(e),
        }
    }
    Step::pass()
}

pub fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

enum State {
    /// The connection could not be opened (see [`Step::not_started`]).
    NotStarted(Step),
    Connecting(mio::net::TcpStream),
    Exchange(Conn),
    Gone,
}

pub struct HttpProbe {
    state: State,
    url: UrlSpec,
    request: String,
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    inbuf: Vec<u8>,
}

impl HttpProbe {
    pub fn start(
        ep: &Endpoint,
        spec: &HttpSpec,
        url_index: usize,
        tls: Option<&Arc<ClientConfig>>,
        registry: &Registry,
        token: Token,
    ) -> Self {
        let url = spec
            .urls
            .get(url_index)
            .cloned()
            .unwrap_or_else(|| UrlSpec {
                regex: None,
                path: "/".into(),
                ..UrlSpec::default()
            });
        let request = request(spec, &url, ep.dst);
        let tls = tls.map(|cfg| {
            let name = spec
                .tls
                .as_ref()
                .and_then(|t| t.sni.clone())
                .and_then(|s| ServerName::try_from(s).ok())
                .unwrap_or_else(|| ServerName::IpAddress(ep.dst.ip().into()));
            (cfg.clone(), name)
        });
        let state = match connect(ep, registry, token) {
            Ok(s) => State::Connecting(s),
            Err(e) => State::NotStarted(Step::not_started("connect", &e)),
        };
        HttpProbe {
            state,
            url,
            request,
            tls,
            inbuf: Vec::new(),
        }
    }
}

impl HttpProbe {
    /// The bytes received so far (genhash digests them whatever the status).
    pub fn received(&self) -> &[u8] {
        &self.inbuf
    }
}

impl Probe for HttpProbe {
    fn ready(&mut self) -> Step {
        let mut progress = false;
        if let State::Connecting(s) = &self.state {
            match connected(s) {
                Ok(true) => {}
                Ok(false) => return Step::Pending { progress: false },
                Err(e) => return Step::fail(format!("connect: {e}")),
            }
            let State::Connecting(s) = std::mem::replace(&mut self.state, State::Gone) else {
                unreachable!()
            };
            let tls = match &self.tls {
                Some((cfg, name)) => match ClientConnection::new(cfg.clone(), name.clone()) {
                    Ok(c) => Some(c),
                    Err(e) => return Step::fail(format!("TLS: {e}")),
                },
                None => None,
            };
            let mut conn = Conn::new(s, tls);
            if let Err(e) = conn.send(self.request.as_bytes()) {
                return Step::fail(format!("send: {e}"));
            }
            self.state = State::Exchange(conn);
            progress = true;
        }
        match &mut self.state {
            State::NotStarted(step) => step.clone(),
            State::Exchange(conn) => match conn.pump(&mut self.inbuf) {
                Err(e) => Step::fail(format!("{e}")),
                Ok(p) => {
                    let Ok(complete) = response_complete(&self.inbuf) else {
                        return Step::fail("response headers too long");
                    };
                    if p.eof || complete || self.inbuf.len() > MAX_RESPONSE {
                        judge(&self.inbuf, &self.url)
                    } else {
                        Step::Pending {
                            progress: progress || p.progress,
                        }
                    }
                }
            },
            _ => Step::fail("internal state"),
        }
    }

    fn deregister(&mut self, registry: &Registry) {
        match &mut self.state {
            State::Connecting(s) => {
                let _ = registry.deregister(s);
            }
            State::Exchange(c) => {
                let _ = registry.deregister(&mut c.tcp);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes() {
        let s = StatusCodes::parse(&["200-204 301", "404"]).unwrap();
        assert!(s.accepts(204) && s.accepts(301) && s.accepts(404));
        assert!(!s.accepts(205) && !s.accepts(500));
        assert!(StatusCodes::default().accepts(299));
        assert!(!StatusCodes::default().accepts(301));
        assert!(StatusCodes::parse(&["300-200"]).is_err());
    }

    #[test]
    fn completeness_needs_no_digest_and_headers_are_bounded() {
        assert_eq!(
            response_complete(b"HTTP/1.1 200 OK\r\nContent-Le"),
            Ok(false)
        );
        assert_eq!(
            response_complete(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"),
            Ok(false)
        );
        assert_eq!(
            response_complete(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
            Ok(true)
        );
        let mut endless = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        endless.resize(MAX_HEADERS + 1, b'a');
        assert_eq!(response_complete(&endless), Err(()));
    }

    #[test]
    fn digest_limited_to_content_length() {
        let r = b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello world";
        let (resp, clen, got) = parse_response(r).unwrap();
        assert_eq!((resp.status, clen, got), (200, Some(5), 11));
        assert_eq!(hex(&resp.digest), "5d41402abc4b2a76b9719d911017c592");
        let url = UrlSpec {
            regex: None,
            path: "/".into(),
            digest: parse_digest("5d41402abc4b2a76b9719d911017c592"),
            ..Default::default()
        };
        assert_eq!(judge(r, &url), Step::pass());
        assert!(matches!(judge(b"", &url), Step::Done { ok: false, .. }));
    }

    #[test]
    fn request_template() {
        let spec = HttpSpec::default();
        let url = UrlSpec {
            regex: None,
            path: "/health".into(),
            ..Default::default()
        };
        assert_eq!(
            request(&spec, &url, "10.0.0.1:80".parse().unwrap()),
            "GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.0.0.1:80\r\n\r\n"
        );
    }
}

//! keepalived's `SSL { certificate; key; password; ca }` block: the client
//! certificate SSL_GET presents to real servers that ask for one.
//!
//! keepalived 2.2.7 (check_ssl.c) loads the files once, as root, into the
//! one TLS context every SSL_GET shares; a file it cannot load stops the
//! checker process ("SSL error : Cant load ... file..."). Here the parent
//! loads them (checkerd runs unprivileged and could not read a root-only
//! key) and checkerd gets the decoded certificate chain and key in its
//! plan. `ca` is loaded and checked, as keepalived loads it, but, as there,
//! never used to verify the server (keepalived never turns verification
//! on).

use pkcs8::der::Document;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The certificate chain and key SSL_GET presents.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCert {
    /// DER, the leaf first.
    pub chain: Vec<Vec<u8>>,
    pub key: ClientKey,
}

/// A private key in the form its PEM file held it (decrypted).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientKey {
    Pkcs1(Vec<u8>),
    Sec1(Vec<u8>),
    Pkcs8(Vec<u8>),
}

// The key never reaches a log or a dump.
impl std::fmt::Debug for ClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ClientCert {{ chain: {} certificate(s), key: <redacted> }}",
            self.chain.len()
        )
    }
}

impl ClientCert {
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.chain
            .iter()
            .map(|c| CertificateDer::from(c.clone()))
            .collect()
    }

    pub fn key(&self) -> PrivateKeyDer<'static> {
        match &self.key {
            ClientKey::Pkcs1(k) => PrivatePkcs1KeyDer::from(k.clone()).into(),
            ClientKey::Sec1(k) => PrivateSec1KeyDer::from(k.clone()).into(),
            ClientKey::Pkcs8(k) => PrivatePkcs8KeyDer::from(k.clone()).into(),
        }
    }
}

/// The SSL block's files.
#[derive(Clone, Copy, Debug, Default)]
pub struct SslFiles<'a> {
    pub certificate: Option<&'a str>,
    pub key: Option<&'a str>,
    pub password: Option<&'a str>,
    pub ca: Option<&'a str>,
}

/// Why a file could not be loaded: keepalived's phrase, then ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// "SSL error : Cant load certificate file..." (keepalived's words).
    pub keepalived: &'static str,
    pub detail: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.keepalived, self.detail)
    }
}

/// Files larger than this are not certificates or keys.
const MAX_FILE: u64 = 1 << 20;

fn read(path: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = std::fs::File::open(Path::new(path)).map_err(|e| format!("{path}: {e}"))?;
    let mut buf = Vec::new();
    f.take(MAX_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{path}: {e}"))?;
    if buf.len() as u64 > MAX_FILE {
        return Err(format!("{path}: larger than {MAX_FILE} bytes"));
    }
    Ok(buf)
}

fn certificates(path: &str) -> Result<Vec<Vec<u8>>, String> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{path}: no PEM certificate in it"));
    }
    Ok(certs)
}

fn private_key(path: &str, password: Option<&str>) -> Result<ClientKey, String> {
    let pem = read(path)?;
    let text = String::from_utf8_lossy(&pem);
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(format!(
            "{path}: a key encrypted in OpenSSL's legacy PEM form cannot be read; \
             convert it with `openssl pkcs8 -topk8 -in OLD -out NEW` (encrypted PKCS#8)"
        ));
    }
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let password = password.ok_or_else(|| {
            format!("{path}: the key is encrypted and the SSL block has no password")
        })?;
        let begin = text
            .find("-----BEGIN ENCRYPTED PRIVATE KEY-----")
            .unwrap_or(0);
        let (label, doc) =
            Document::from_pem(&text[begin..]).map_err(|e| format!("{path}: {e}"))?;
        if label != "ENCRYPTED PRIVATE KEY" {
            return Err(format!("{path}: unexpected PEM section {label}"));
        }
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(doc.as_bytes())
            .map_err(|e| format!("{path}: {e}"))?;
        let plain = info
            .decrypt(password)
            .map_err(|e| format!("{path}: cannot decrypt the key with the password: {e}"))?;
        return Ok(ClientKey::Pkcs8(plain.as_bytes().to_vec()));
    }
    match PrivateKeyDer::from_pem_slice(&pem).map_err(|e| format!("{path}: {e}"))? {
        PrivateKeyDer::Pkcs1(k) => Ok(ClientKey::Pkcs1(k.secret_pkcs1_der().to_vec())),
        PrivateKeyDer::Sec1(k) => Ok(ClientKey::Sec1(k.secret_sec1_der().to_vec())),
        PrivateKeyDer::Pkcs8(k) => Ok(ClientKey::Pkcs8(k.secret_pkcs8_der().to_vec())),
        _ => Err(format!("{path}: unsupported key type")),
    }
}

/// Load the SSL block's files in keepalived's order (certificate, key,
/// CA). A client certificate needs both the certificate and its key
/// (OpenSSL presents none without both; neither does rustls); `None`
/// then, with nothing wrong.
pub fn load(files: &SslFiles) -> Result<Option<ClientCert>, LoadError> {
    let chain = files
        .certificate
        .map(certificates)
        .transpose()
        .map_err(|detail| LoadError {
            keepalived: "SSL error : Cant load certificate file...",
            detail,
        })?;
    let key = files
        .key
        .map(|k| private_key(k, files.password))
        .transpose()
        .map_err(|detail| LoadError {
            keepalived: "SSL error : Cant load key file...",
            detail,
        })?;
    if let Some(ca) = files.ca {
        certificates(ca).map_err(|detail| LoadError {
            keepalived: "SSL error : Cant load CA file...",
            detail,
        })?;
    }
    let (Some(chain), Some(key)) = (chain, key) else {
        return Ok(None);
    };
    let cert = ClientCert { chain, key };
    // A key that is not the certificate's fails every handshake a server
    // asks a certificate in: say so now, with the file names.
    super::http::TlsSpec {
        client: Some(cert.clone()),
        ..Default::default()
    }
    .client_config()
    .map_err(|e| LoadError {
        keepalived: "SSL error : Cant load key file...",
        detail: format!(
            "{} does not go with {}: {e}",
            files.key.unwrap_or_default(),
            files.certificate.unwrap_or_default()
        ),
    })?;
    Ok(Some(cert))
}

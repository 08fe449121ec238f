//! The `SSL { }` block's files, loaded by the parent (keepalived 2.2.7's
//! checker loads them as root at start, check_ssl.c; checkerd runs as an
//! unprivileged user and could not read a root-only key). Loaded at start
//! and at every reload, only when some SSL_GET checker uses them, as
//! keepalived does; checkerd gets the decoded chain and key in its plan.
//!
//! What cannot be loaded: keepalived's checker stops and keepalived with
//! it. Here a start stops too (with keepalived's lines and the file's
//! reason); a reload is refused and the running configuration kept (a
//! certificate renewal gone wrong must not take the checks down).

use keepalived_check::probe::client_cert::{self, ClientCert, SslFiles};
use keepalived_config::{CheckerKind, Config};

/// The client certificate SSL_GET presents, if any; or the lines to log.
pub fn load(config: &Config) -> Result<Option<ClientCert>, Vec<String>> {
    let needed = config
        .virtual_servers
        .iter()
        .flat_map(|v| &v.real_servers)
        .flat_map(|r| &r.checkers)
        .any(|c| c.kind == CheckerKind::SslGet);
    let Some(ssl) = config.ssl.as_ref().filter(|_| needed) else {
        return Ok(None);
    };
    let files = SslFiles {
        certificate: ssl.certificate.as_deref(),
        key: ssl.key.as_deref(),
        password: ssl.password.as_deref(),
        ca: ssl.ca.as_deref(),
    };
    client_cert::load(&files).map_err(|e| {
        let none = || "(none)".to_string();
        vec![
            format!("{}: {} ({})", ssl.location, e.keepalived, e.detail),
            "Error Initialize SSL, ctx Instance".into(),
            format!("  SSL  keyfile:{}", ssl.key.clone().unwrap_or_else(none)),
            // (keepalived prints the password here; we do not.)
            format!(
                "  SSL password:{}",
                if ssl.password.is_some() {
                    "(set)"
                } else {
                    "(none)"
                }
            ),
            format!("  SSL   cafile:{}", ssl.ca.clone().unwrap_or_else(none)),
        ]
    })
}

//! genhash: print the MD5 digest of a URL's body the way HTTP_GET and
//! SSL_GET compare it, to put in a `digest` line (keepalived's `genhash`).
//!
//! `genhash -s 10.0.0.2 -p 80 -u /index.html [-S] [-V host] [-t secs]`

use clap::Parser;
use keepalived_check::{genhash, Endpoint, HttpProtocol, HttpSpec, StatusCodes, TlsSpec, UrlSpec};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "genhash",
    about = "MD5 digest of a URL, as HTTP_GET/SSL_GET compare it"
)]
struct Args {
    /// Server address.
    #[arg(short = 's', long = "server")]
    server: IpAddr,
    /// Server port (80, or 443 with -S).
    #[arg(short = 'p', long = "port")]
    port: Option<u16>,
    /// Path to fetch.
    #[arg(short = 'u', long = "url", default_value = "/")]
    url: String,
    /// Use TLS (SSL_GET), without verifying the certificate.
    #[arg(short = 'S', long = "use-ssl")]
    ssl: bool,
    /// Host header (and SNI name with -S).
    #[arg(short = 'V', long = "virtualhost")]
    virtualhost: Option<String>,
    /// HTTP protocol: 1.0, 1.0C or 1.1.
    #[arg(short = 'P', long = "protocol", default_value = "1.0")]
    protocol: String,
    /// Timeout in seconds.
    #[arg(short = 't', long = "timeout", default_value_t = 5)]
    timeout: u64,
}

fn main() {
    let a = Args::parse();
    let port = a.port.unwrap_or(if a.ssl { 443 } else { 80 });
    let spec = HttpSpec {
        urls: vec![UrlSpec {
            regex: None,
            path: a.url.clone(),
            digest: None,
            status: StatusCodes::parse(&["100-599"]).unwrap_or_default(),
            virtualhost: None,
        }],
        virtualhost: a.virtualhost.clone(),
        protocol: match a.protocol.as_str() {
            "1.1" => HttpProtocol::Http11,
            "1.0C" | "1.0c" => HttpProtocol::Http10Close,
            _ => HttpProtocol::Http10,
        },
        fast_recovery: false,
        tls: a.ssl.then(|| TlsSpec {
            verify_roots: Vec::new(),
            client: None,
            sni: a.virtualhost.clone(),
        }),
    };
    let ep = Endpoint::to(SocketAddr::new(a.server, port));
    match genhash(&ep, &spec, Duration::from_secs(a.timeout)) {
        Ok(d) => {
            let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
            println!("MD5SUM = {hex}");
        }
        Err(e) => {
            eprintln!("genhash: {}{}: {e}", ep.dst, a.url);
            std::process::exit(1);
        }
    }
}

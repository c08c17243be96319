//! The option groups read as a whole: the WSGIDaemonProcess options (in the ranges the module accepts) and
//! HTTPS (port, certificate files, client verification), each with the rules between its options.

use std::path::PathBuf;

use super::values::{bounded, existing, number, port};
use super::{DaemonOptions, Ssl};
use crate::cli::Parsed;
use crate::error::{Error, Result};

/// The WSGIDaemonProcess options, with the module's ranges (so httpd never rejects what passed here).
pub(super) fn daemon_options(p: &Parsed) -> Result<DaemonOptions> {
    const DAY: u32 = 86_400;
    let opt = |name: &str, min: u32, max: u32| -> Result<Option<u32>> {
        p.last(name)
            .map(|v| bounded(Some(v), 0, min, max, &format!("--{name}")))
            .transpose()
    };
    Ok(DaemonOptions {
        queue_timeout: bounded(p.last("queue-timeout"), 45, 0, DAY, "--queue-timeout")?,
        socket_timeout: opt("socket-timeout", 1, DAY)?,
        connect_timeout: opt("connect-timeout", 1, DAY)?,
        inactivity_timeout: opt("inactivity-timeout", 0, DAY)?,
        graceful_timeout: opt("graceful-timeout", 0, DAY)?,
        shutdown_timeout: opt("shutdown-timeout", 0, DAY)?,
        deadlock_timeout: opt("deadlock-timeout", 0, DAY)?,
        startup_timeout: opt("startup-timeout", 0, DAY)?,
        restart_interval: opt("restart-interval", 0, DAY)?,
        listen_backlog: opt("daemon-backlog", 1, 65_535)?,
        // mod_wsgi-express's 0 means "the default".
        header_buffer_size: match opt("header-buffer-size", 0, 1 << 20)? {
            Some(0) | None => None,
            Some(n) if n < 1024 => {
                return Err(Error::usage(format!(
                    "--header-buffer-size {n}: must be 0 (default) or at least 1024"
                )));
            }
            n => n,
        },
        memory_limit: p
            .last("memory-limit")
            .map(|v| number::<u64>(v, "--memory-limit"))
            .transpose()?,
        passed: passed_through(p)?,
    })
}

/// Options rwsgi-express hands to WSGIDaemonProcess unchanged; their syntax and limits are the module's (one
/// table for both). mod_wsgi-express's 0 means "the default" for each of them.
fn passed_through(p: &Parsed) -> Result<Vec<(&'static str, String)>> {
    let mut out = Vec::new();
    for option in [
        "cpu-time-limit",
        "send-buffer-size",
        "receive-buffer-size",
        "eviction-timeout",
        "response-socket-timeout",
        "response-buffer-size",
        "interrupt-timeout",
    ] {
        let Some(v) = p.last(option).filter(|v| *v != "0") else {
            continue;
        };
        let row = rwsgi_options::daemon::find(option)
            .ok_or_else(|| Error::usage(format!("--{option}: the module has no such option")))?;
        row.value(v).map_err(|e| Error::usage(format!("--{option}: {e}")))?;
        out.push((option, v.to_string()));
    }
    Ok(out)
}

pub(super) fn ssl_settings(p: &Parsed, abs: &dyn Fn(&str) -> PathBuf, http_port: u16) -> Result<Option<Ssl>> {
    let port_arg = p.last("https-port").or(p.last("ssl-port"));
    let (mut cert, mut key) = (
        p.last("ssl-certificate-file").map(abs),
        p.last("ssl-certificate-key-file").map(abs),
    );
    if let Some(prefix) = p.last("ssl-certificate") {
        cert = cert.or_else(|| Some(abs(&format!("{prefix}.crt"))));
        key = key.or_else(|| Some(abs(&format!("{prefix}.key"))));
    }
    let Some(port_arg) = port_arg else {
        for opt in [
            "ssl-certificate-file",
            "ssl-certificate-key-file",
            "ssl-certificate",
            "ssl-ca-certificate-file",
            "ssl-verify-client",
            "https-only",
            "hsts-policy",
            "ssl-environment",
            "ssl-certificate-chain-file",
        ] {
            if p.flag(opt) {
                return Err(Error::usage(format!("--{opt} needs --https-port")));
            }
        }
        return Ok(None);
    };
    let port = port(port_arg, "--https-port")?;
    if port == http_port {
        return Err(Error::usage(format!("--https-port {port} is the same as --port")));
    }
    let (Some(cert), Some(key)) = (cert, key) else {
        return Err(Error::usage(
            "--https-port needs --ssl-certificate-file and --ssl-certificate-key-file (or --ssl-certificate PREFIX)",
        ));
    };
    Ok(Some(Ssl {
        port,
        certificate: existing(cert, "--ssl-certificate-file")?,
        key: existing(key, "--ssl-certificate-key-file")?,
        chain: p
            .last("ssl-certificate-chain-file")
            .map(|c| existing(abs(c), "--ssl-certificate-chain-file"))
            .transpose()?,
        environment: p.flag("ssl-environment"),
        ca_certificate: p
            .last("ssl-ca-certificate-file")
            .map(|c| existing(abs(c), "--ssl-ca-certificate-file"))
            .transpose()?,
        verify_client: {
            let urls: Vec<String> = p.all("ssl-verify-client").into_iter().map(str::to_string).collect();
            if let Some(bad) = urls.iter().find(|u| !u.starts_with('/')) {
                return Err(Error::usage(format!(
                    "--ssl-verify-client {bad:?}: give a URL path starting with '/'"
                )));
            }
            if !urls.is_empty() && !p.flag("ssl-ca-certificate-file") {
                return Err(Error::usage("--ssl-verify-client needs --ssl-ca-certificate-file"));
            }
            urls
        },
        https_only: p.flag("https-only"),
        hsts_policy: p.last("hsts-policy").map(str::to_string),
    }))
}

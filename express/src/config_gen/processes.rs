//! Who serves the requests: the MPM blocks, sized for daemon or embedded mode, and in daemon mode the
//! WSGIDaemonProcess line (group size, home, Python, identity, locale, timeouts).

use super::{join_paths, path_str, q};
use crate::error::Result;
use crate::settings::Settings;
use crate::users::RunAs;

/// Daemon mode (the default), as mod_wsgi-express: no Python in the httpd children, one process group running
/// the application with the working directory as its home, mounted with process-group=.
pub(super) fn daemon_process(w: &mut String, s: &Settings, run_as: Option<&RunAs>) -> Result<()> {
    let d = &s.daemon;
    emit!(w, "WSGIRestrictEmbedded On");
    let mut opts = vec![
        format!("processes={} threads={}", s.processes, s.threads),
        "display-name=%{GROUP}".to_string(),
        q(&format!("home={}", path_str(&s.working_directory)?))?,
    ];
    if !s.python_path.is_empty() {
        opts.push(q(&format!("python-path={}", join_paths(&s.python_path)?))?);
    }
    if let Some(home) = &s.python_home {
        opts.push(q(&format!("python-home={}", path_str(home)?))?);
    }
    if let Some(run) = run_as {
        opts.push(format!(
            "{} {}",
            q(&format!("user={}", run.user))?,
            q(&format!("group={}", run.group))?
        ));
    }
    if let Some(lang) = s.lang.as_ref().or(s.locale.as_ref()) {
        opts.push(q(&format!("lang={lang}"))?);
    }
    if let Some(locale) = &s.locale {
        opts.push(q(&format!("locale={locale}"))?);
    }
    let mut timing = vec![
        format!("request-timeout={}", s.request_timeout),
        format!("queue-timeout={}", d.queue_timeout),
    ];
    if s.maximum_requests > 0 {
        timing.push(format!("maximum-requests={}", s.maximum_requests));
    }
    for (key, value) in [
        ("socket-timeout", d.socket_timeout),
        ("connect-timeout", d.connect_timeout),
        ("inactivity-timeout", d.inactivity_timeout),
        ("graceful-timeout", d.graceful_timeout),
        ("shutdown-timeout", d.shutdown_timeout),
        ("deadlock-timeout", d.deadlock_timeout),
        ("startup-timeout", d.startup_timeout),
        ("restart-interval", d.restart_interval),
        ("listen-backlog", d.listen_backlog),
        ("header-buffer-size", d.header_buffer_size),
    ] {
        if let Some(v) = value {
            timing.push(format!("{key}={v}"));
        }
    }
    for (key, value) in &d.passed {
        timing.push(q(&format!("{key}={value}"))?);
    }
    if let Some(m) = d.memory_limit {
        timing.push(format!("memory-limit={m}"));
    }
    if s.server_metrics {
        timing.push("server-metrics=On".to_string());
    }
    opts.push(timing.join(" "));
    emit!(
        w,
        "WSGIDaemonProcess {} \\\n    {}",
        q(&s.process_group)?,
        opts.join(" \\\n    ")
    );
    Ok(())
}

/// Daemon mode: the httpd children only pass requests on, so they are sized like mod_wsgi-express sizes them:
/// room for 1.5 x the daemon capacity (at least 20 more), in children of up to 20 threads.
pub(super) fn mpm_block(w: &mut String, s: &Settings) {
    if s.embedded {
        return embedded_mpm_block(w, s);
    }
    let capacity = s.processes.saturating_mul(s.threads);
    let clients = match s.max_clients {
        Some(m) => m.max(capacity),
        None => 10 + 10u32.max(capacity.saturating_mul(3) / 2),
    };
    let per_child = if clients > 20 { clients / (clients / 20 + 1) } else { 10 };
    let server_limit = clients.div_ceil(per_child);
    let workers = server_limit * per_child;
    let start = (server_limit / 5).max(1);
    let min_spare = per_child.max(server_limit / 5 * per_child);
    let max_spare = per_child.max(server_limit * 3 / 5 * per_child);
    emit!(
        w,
        "\n# Daemon mode: {} daemon process(es) x {} thread(s) run the application; the httpd children",
        s.processes,
        s.threads
    );
    emit!(w, "# ({workers} threads at most) only pass requests on.");
    for mpm in ["mpm_event_module", "mpm_worker_module"] {
        emit!(
            w,
            "<IfModule {mpm}>\n    StartServers {start}\n    ServerLimit {server_limit}\n    ThreadLimit {per_child}\n    \
             ThreadsPerChild {per_child}\n    MaxRequestWorkers {workers}\n    MinSpareThreads {min_spare}\n    \
             MaxSpareThreads {max_spare}\n    MaxConnectionsPerChild 0\n</IfModule>"
        );
    }
    emit!(
        w,
        "<IfModule mpm_prefork_module>\n    StartServers {}\n    ServerLimit {clients}\n    MaxRequestWorkers \
         {clients}\n    MinSpareServers {}\n    MaxSpareServers {}\n    MaxConnectionsPerChild 0\n</IfModule>",
        (clients / 20).max(1),
        (clients / 20).max(1),
        (clients / 10).max(1)
    );
}

/// Embedded mode: processes x threads become the MPM's fixed pool.
fn embedded_mpm_block(w: &mut String, s: &Settings) {
    let threads = s.threads;
    let workers = s.max_request_workers();
    let server_limit = workers.div_ceil(threads).max(1);
    let workers = server_limit * threads;
    let start = s.processes.min(server_limit);
    emit!(w, "\n# Capacity: {} process(es) x {threads} thread(s).", s.processes);
    for mpm in ["mpm_event_module", "mpm_worker_module"] {
        emit!(
            w,
            "<IfModule {mpm}>\n    StartServers {start}\n    ServerLimit {server_limit}\n    ThreadLimit {threads}\n    \
             ThreadsPerChild {threads}\n    MaxRequestWorkers {workers}\n    MinSpareThreads {threads}\n    \
             MaxSpareThreads {}\n    MaxConnectionsPerChild {}\n</IfModule>",
            workers + threads,
            s.maximum_requests
        );
    }
    emit!(
        w,
        "<IfModule mpm_prefork_module>\n    StartServers {start}\n    ServerLimit {workers}\n    MaxRequestWorkers \
         {workers}\n    MinSpareServers 1\n    MaxSpareServers {workers}\n    MaxConnectionsPerChild {}\n</IfModule>",
        s.maximum_requests
    );
}

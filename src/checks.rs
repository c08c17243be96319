//! Start-up checks: what commonly breaks a deployment, found before the first request and
//! reported as one line each with the cause and the remedy. They run in the httpd parent (`apachectl -t` /
//! `rwsgi-express check-config` print them; a normal start logs them), never start Python there, and check
//! readability as the user that will actually run the app (a forked helper switches to that user).
#![deny(unsafe_code)]

use std::collections::BTreeMap;

use crate::apache::log::Level;
use crate::apache::process::{Server, apache_identity};
use crate::config::AppGroup;
use crate::python::home::{locate, unreadable, unsearchable};
use crate::sys::process::run_as;

pub struct Finding {
    pub level: Level,
    pub message: String,
}

impl Finding {
    /// How `apachectl -t` labels it.
    pub fn tag(&self) -> &'static str {
        match self.level {
            Level::Emerg | Level::Alert | Level::Crit | Level::Error => "error",
            Level::Warning => "warning",
            _ => "notice",
        }
    }
}

fn finding(level: Level, message: String) -> Finding {
    Finding { level, message }
}

fn selinux_enforcing() -> bool {
    let path = std::env::var("RWSGI_SELINUX_ENFORCE_FILE").unwrap_or_else(|_| "/sys/fs/selinux/enforce".to_string());
    std::fs::read_to_string(path).is_ok_and(|v| v.trim() == "1")
}

/// All checks for the configuration rooted at `main`.
pub fn run(main: Server) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(main_cfg) = main.config() else { return out };
    let (apache_uid, apache_gid, apache_user) = apache_identity();
    let apache_user = apache_user.unwrap_or_else(|| crate::sys::users::name_of(apache_uid));
    let servers = main.all();
    let restrict = main_cfg.restrict_embedded == Some(true);

    // Who runs each group's apps, and which scripts they run.
    let mut groups: BTreeMap<String, (u32, u32, String, Option<String>)> = BTreeMap::new();
    let hosts: Vec<(Server, String)> = servers.iter().map(|s| (*s, s.hostname())).collect();
    // (config, ServerName of a virtual host (None: the main server), ServerName)
    let with_hosts: Vec<_> = hosts
        .iter()
        .enumerate()
        .filter_map(|(i, (s, host))| s.config().map(|c| (c, (i > 0).then_some(host.as_str()), host.as_str())))
        .collect();
    let configs: Vec<_> = with_hosts.iter().map(|(c, scope, _)| (*c, *scope)).collect();
    let daemon_groups = crate::config::routing::daemon_groups(&configs);
    for (g, _) in &daemon_groups {
        let (uid, gid) = match crate::daemon::manager::identity(g, apache_uid, apache_gid) {
            Ok(id) => (id.uid, id.gid),
            Err(e) => {
                out.push(finding(Level::Error, e.to_string()));
                continue;
            }
        };
        let user = g.user.clone().unwrap_or_else(|| apache_user.clone());
        let home = g.python_home.clone().or_else(|| main_cfg.python_home.clone());
        groups.insert(g.name.clone(), (uid, gid, user, home));
        if let Some(locale) = &g.locale {
            if !crate::sys::fs::locale_exists(locale) {
                out.push(finding(
                    Level::Warning,
                    format!("WSGIDaemonProcess {}: locale {locale:?} is not installed; the daemon will use C.UTF-8 instead (install it, e.g. locale-gen {locale})", g.name),
                ));
            }
        }
    }

    // Literal groups named by WSGIProcessGroup / WSGIRestrictProcess / WSGIHandlerScript: defined and reachable.
    let defs: Vec<(&str, Option<&str>)> = daemon_groups.iter().map(|(g, h)| (g.name.as_str(), *h)).collect();
    let refs: Vec<(&crate::config::GroupRef, &str)> = with_hosts
        .iter()
        .flat_map(|(cfg, _, host)| cfg.group_refs.iter().map(move |r| (r, *host)))
        .collect();
    for problem in crate::config::routing::check_group_refs(&defs, &refs) {
        out.push(finding(Level::Error, problem));
    }

    let mut embedded_used = false;
    let mut per_process_groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut scripts: Vec<(String, String)> = Vec::new();
    let none = crate::config::DirConfig::default();
    for (cfg, dir) in main.configs() {
        for a in &cfg.aliases {
            let pg = crate::config::serving_group(Some(&a.options), dir.unwrap_or(&none))
                .daemon()
                .unwrap_or_default()
                .to_string();
            if pg.is_empty() {
                embedded_used = true;
            }
            match &a.options.application_group {
                Some(AppGroup::Named(n)) => per_process_groups.entry(pg.clone()).or_default().push(n.clone()),
                Some(AppGroup::Global) | None => per_process_groups
                    .entry(pg.clone())
                    .or_default()
                    .push("%{GLOBAL}".to_string()),
                Some(_) => {}
            }
            if !a.target_is_dir && !scripts.iter().any(|(t, g)| *t == a.target && *g == pg) {
                scripts.push((a.target.clone(), pg));
            }
        }
    }

    if embedded_used && !restrict {
        let home = main_cfg.python_home.clone();
        for line in run_as(apache_uid, apache_gid, move || {
            locate(home.as_deref()).err().into_iter().collect()
        }) {
            out.push(finding(
                Level::Error,
                format!("embedded mode (httpd children run as {apache_user}): {line}"),
            ));
        }
    }
    for (name, (uid, gid, user, home)) in &groups {
        let home = home.clone();
        for line in run_as(*uid, *gid, move || locate(home.as_deref()).err().into_iter().collect()) {
            out.push(finding(
                Level::Error,
                format!("WSGIDaemonProcess {name} (runs as {user}): {line}"),
            ));
        }
    }
    for (script, pg) in &scripts {
        let (uid, gid, user) = match groups.get(pg) {
            Some((u, g, name, _)) => (*u, *g, name.clone()),
            None => (apache_uid, apache_gid, apache_user.clone()),
        };
        let path = script.clone();
        let problems = run_as(uid, gid, move || {
            unreadable(std::path::Path::new(&path)).into_iter().collect()
        });
        for p in problems {
            let fix = if p.ends_with("does not exist") {
                "correct the WSGIScriptAlias path"
            } else {
                "make the script and its directories readable by that user"
            };
            out.push(finding(
                Level::Error,
                format!("WSGIScriptAlias target {script} (run as {user}): {p}; {fix}"),
            ));
        }
    }
    if !groups.is_empty() {
        // The prefix the daemon manager will use: WSGISocketPrefix, else the runtime directory.
        let explicit = main_cfg.socket_prefix_in(&crate::apache::process::server_root());
        let what = match &explicit {
            Some(p) => format!("WSGISocketPrefix {p}"),
            None => {
                "the daemon sockets' default place (DefaultRuntimeDir; WSGISocketPrefix chooses another)".to_string()
            }
        };
        let prefix = explicit.unwrap_or_else(|| main.runtime_dir("rwsgi"));
        let parent = std::path::Path::new(&prefix)
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_default();
        // Missing directories are created at start (searchable); check the part that exists.
        let existing = parent
            .ancestors()
            .find(|a| a.exists())
            .map(|a| a.to_path_buf())
            .unwrap_or_default();
        for problem in run_as(apache_uid, apache_gid, move || {
            unsearchable(&existing).into_iter().collect()
        }) {
            out.push(finding(
                Level::Error,
                format!("{what}: httpd children (running as {apache_user}) cannot reach the socket directory {prefix}: {problem}; choose a prefix under a directory they can enter"),
            ));
        }
    }
    for (pg, list) in &per_process_groups {
        let mut distinct = list.clone();
        distinct.sort();
        distinct.dedup();
        if distinct.len() > 1 {
            let place = if pg.is_empty() {
                "the httpd children (embedded mode)".to_string()
            } else {
                format!("daemon group {pg}")
            };
            out.push(finding(
                Level::Notice,
                format!(
                    "application groups {} share one Python interpreter in {place}: mod_rwsgi runs one interpreter per process; give each site its own WSGIDaemonProcess group for isolation",
                    distinct.join(", ")
                ),
            ));
        }
    }
    if selinux_enforcing() && out.iter().any(|f| f.message.contains("Permission denied")) {
        out.push(finding(
            Level::Error,
            "SELinux is enforcing and access was denied: label the app and virtualenv with httpd_sys_content_t (semanage fcontext -a -t httpd_sys_content_t '/srv/app(/.*)?' && restorecon -R /srv/app), use httpd_sys_rw_content_t for directories the app writes, and set httpd_can_network_connect (or httpd_can_network_connect_db) if the app opens network connections: setsebool -P httpd_can_network_connect 1".to_string(),
        ));
    }
    out
}

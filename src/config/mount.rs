//! Mounts: a WSGIScriptAlias (URL prefix) or WSGIScriptAliasMatch (regular expression) line, how it matches a
//! request URI and which file httpd should walk for it. Pure: the regular expression engine is httpd's own,
//! handed in behind `UrlPattern` by the layer that compiles it.

use std::sync::Arc;

use super::AliasOptions;

/// A compiled regular expression (httpd's PCRE in the module; anything in unit tests).
pub trait UrlPattern: Send + Sync + std::fmt::Debug {
    /// Byte ranges of the whole match (index 0) and of groups 1..=9 in `uri`, or None when it does not match.
    fn captures(&self, uri: &[u8]) -> Option<Captures>;
}

pub type Captures = [Option<(usize, usize)>; 10];

/// How a mount matches.
#[derive(Clone, Debug)]
pub enum MountKind {
    /// WSGIScriptAlias: the URL as written (repeated slashes in it match any number of slashes).
    Prefix(String),
    /// WSGIScriptAliasMatch: the pattern as written, compiled.
    Regex(String, Arc<dyn UrlPattern>),
}

/// One WSGIScriptAlias / WSGIScriptAliasMatch line.
#[derive(Clone, Debug)]
pub struct ScriptAlias {
    pub kind: MountKind,
    /// The script (or directory of scripts); for a regex mount, may hold $1..$9.
    pub target: String,
    /// The target is a directory of scripts (written with a trailing slash or found to be a directory).
    pub target_is_dir: bool,
    pub options: AliasOptions,
    /// A regex mount's options that hold $1..$9, as written ("process-group=$1"): substituted and parsed per
    /// request (the literal ones are in `options`).
    pub deferred_options: Vec<String>,
    /// "file:line" of the directive (named in errors found per request).
    pub origin: String,
}

/// What a matching mount maps a request to.
#[derive(Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The file name httpd walks (the directory walk then splits off PATH_INFO).
    pub filename: Vec<u8>,
    /// `deferred_options` with $N substituted.
    pub options: Vec<String>,
}

/// mod_alias's prefix rule: each run of '/' in `alias` matches a run of one or more '/' in `uri`, other bytes
/// match literally, and the match must end at a segment boundary unless the alias ends with '/'. Returns how
/// many bytes of `uri` matched.
pub fn prefix_match(alias: &[u8], uri: &[u8]) -> Option<usize> {
    let (mut a, mut u) = (0, 0);
    while a < alias.len() {
        if alias[a] == b'/' {
            if uri.get(u) != Some(&b'/') {
                return None;
            }
            while alias.get(a) == Some(&b'/') {
                a += 1;
            }
            while uri.get(u) == Some(&b'/') {
                u += 1;
            }
        } else {
            if uri.get(u) != Some(&alias[a]) {
                return None;
            }
            a += 1;
            u += 1;
        }
    }
    let ends_in_slash = alias.last() == Some(&b'/');
    if !ends_in_slash && u < uri.len() && uri[u] != b'/' {
        return None;
    }
    Some(u)
}

/// httpd's `ap_pregsub`: `$0`..`$9` and `&` (the whole match) replaced by what the groups matched in `source`;
/// `\$` and `\&` stand for themselves.
pub fn substitute(template: &str, source: &[u8], caps: &Captures) -> Vec<u8> {
    let t = template.as_bytes();
    let mut out = Vec::with_capacity(t.len() + 16);
    let mut i = 0;
    while i < t.len() {
        let group = match t[i] {
            b'&' => Some(0),
            b'$' if t.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                Some(usize::from(t[i] - b'0'))
            }
            b'\\' if matches!(t.get(i + 1), Some(b'$' | b'&')) => {
                i += 1;
                out.push(t[i]);
                None
            }
            c => {
                out.push(c);
                None
            }
        };
        if let Some((s, e)) = group.and_then(|g| caps[g]) {
            out.extend_from_slice(source.get(s..e).unwrap_or_default());
        }
        i += 1;
    }
    out
}

impl ScriptAlias {
    /// The mapping for `uri` when this mount matches it.
    pub fn map(&self, uri: &[u8]) -> Option<Mapping> {
        match &self.kind {
            MountKind::Prefix(url) => {
                let n = prefix_match(url.as_bytes(), uri)?;
                // Mounted at "/", the whole URI is the remainder (mod_wsgi's rule); a mount written with a
                // trailing slash keeps that slash in the remainder (PATH_INFO starts with it).
                let rest = if url == "/" {
                    uri
                } else if url.ends_with('/') {
                    &uri[n.saturating_sub(1)..]
                } else {
                    &uri[n..]
                };
                Some(Mapping {
                    filename: self.filename_for(self.target.as_bytes(), rest),
                    options: Vec::new(),
                })
            }
            MountKind::Regex(_, re) => {
                let caps = re.captures(uri)?;
                let (_, end) = caps[0]?;
                if end == 0 {
                    return None;
                }
                let target = substitute(&self.target, uri, &caps);
                let options = self
                    .deferred_options
                    .iter()
                    .map(|o| String::from_utf8_lossy(&substitute(o, uri, &caps)).into_owned())
                    .collect();
                Some(Mapping {
                    filename: self.filename_for(&target, &uri[end..]),
                    options,
                })
            }
        }
    }

    fn filename_for(&self, target: &[u8], rest: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(target.len() + rest.len() + 1);
        if self.target_is_dir {
            let trimmed = target
                .iter()
                .rposition(|&b| b != b'/')
                .map_or(&target[..0], |i| &target[..=i]);
            out.extend_from_slice(trimmed);
            out.push(b'/');
            let skip = rest.iter().take_while(|&&b| b == b'/').count();
            out.extend_from_slice(&rest[skip..]);
        } else {
            out.extend_from_slice(target);
            out.extend_from_slice(rest);
        }
        out
    }

    /// Two mounts that match the same URIs (the later one can never win).
    pub fn same_place(&self, other: &ScriptAlias) -> bool {
        match (&self.kind, &other.kind) {
            (MountKind::Prefix(a), MountKind::Prefix(b)) => collapse(a) == collapse(b),
            (MountKind::Regex(a, _), MountKind::Regex(b, _)) => a == b,
            _ => false,
        }
    }

    /// The URL or pattern as written, for messages.
    pub fn written(&self) -> &str {
        match &self.kind {
            MountKind::Prefix(u) | MountKind::Regex(u, _) => u,
        }
    }
}

fn collapse(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(url: &str, target: &str, dir: bool) -> ScriptAlias {
        ScriptAlias {
            kind: MountKind::Prefix(url.to_string()),
            target: target.to_string(),
            target_is_dir: dir,
            options: AliasOptions::default(),
            deferred_options: Vec::new(),
            origin: "test:1".to_string(),
        }
    }

    fn file(a: &ScriptAlias, uri: &str) -> Option<String> {
        a.map(uri.as_bytes())
            .map(|m| String::from_utf8_lossy(&m.filename).into_owned())
    }

    #[test]
    fn root_mount_maps_the_whole_uri() {
        let a = prefix("/", "/srv/app.wsgi", false);
        assert_eq!(file(&a, "/").as_deref(), Some("/srv/app.wsgi/"));
        assert_eq!(file(&a, "/x/y").as_deref(), Some("/srv/app.wsgi/x/y"));
    }

    #[test]
    fn sub_mount_matches_on_segment_boundary() {
        let a = prefix("/app", "/srv/app.wsgi", false);
        assert_eq!(file(&a, "/app").as_deref(), Some("/srv/app.wsgi"));
        assert_eq!(file(&a, "/app/x").as_deref(), Some("/srv/app.wsgi/x"));
        assert_eq!(file(&a, "/application"), None);
        assert_eq!(file(&a, "/"), None);
    }

    #[test]
    fn trailing_slash_mount_requires_slash() {
        let a = prefix("/app/", "/srv/app.wsgi", false);
        assert_eq!(file(&a, "/app"), None);
        assert_eq!(file(&a, "/app/x").as_deref(), Some("/srv/app.wsgi/x"));
    }

    #[test]
    fn slashes_match_like_mod_alias() {
        // An alias written with a double slash matches single slashes, and the other way round.
        let a = prefix("//app", "/srv/app.wsgi", false);
        assert_eq!(file(&a, "/app/x").as_deref(), Some("/srv/app.wsgi/x"));
        let b = prefix("/a//b", "/srv/b.wsgi", false);
        assert_eq!(file(&b, "/a/b").as_deref(), Some("/srv/b.wsgi"));
        assert_eq!(file(&b, "/a///b/c").as_deref(), Some("/srv/b.wsgi/c"));
        assert_eq!(prefix_match(b"/app", b"//app/x"), Some(5));
        assert_eq!(prefix_match(b"/app", b"app"), None);
        assert!(prefix("/a//b", "/x", false).same_place(&prefix("/a/b", "/y", false)));
    }

    #[test]
    fn directory_mount_maps_into_directory() {
        let a = prefix("/scripts/", "/srv/scripts/", true);
        assert_eq!(
            file(&a, "/scripts/one.wsgi/x").as_deref(),
            Some("/srv/scripts/one.wsgi/x")
        );
    }

    /// A stand-in for httpd's regex: "^/PREFIX/([^/]+)" only.
    #[derive(Debug)]
    struct FirstSegmentAfter(&'static str);

    impl UrlPattern for FirstSegmentAfter {
        fn captures(&self, uri: &[u8]) -> Option<Captures> {
            let rest = uri.strip_prefix(self.0.as_bytes())?;
            let n = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
            if n == 0 {
                return None;
            }
            let mut caps: Captures = [None; 10];
            caps[0] = Some((0, self.0.len() + n));
            caps[1] = Some((self.0.len(), self.0.len() + n));
            Some(caps)
        }
    }

    #[test]
    fn regex_mount_substitutes_groups_in_path_and_options() {
        let a = ScriptAlias {
            kind: MountKind::Regex("^/wsgi/([^/]+)".into(), Arc::new(FirstSegmentAfter("/wsgi/"))),
            target: "/web/$1.wsgi".into(),
            target_is_dir: false,
            options: AliasOptions::default(),
            deferred_options: vec!["process-group=$1".into(), "application-group=\\$1".into()],
            origin: "test:2".into(),
        };
        let m = a.map(b"/wsgi/blog/2024/x").expect("matches");
        assert_eq!(String::from_utf8_lossy(&m.filename), "/web/blog.wsgi/2024/x");
        assert_eq!(
            m.options,
            vec!["process-group=blog".to_string(), "application-group=$1".to_string()]
        );
        assert_eq!(a.map(b"/other"), None);
    }

    #[test]
    fn substitution_follows_ap_pregsub() {
        let mut caps: Captures = [None; 10];
        caps[0] = Some((0, 5));
        caps[1] = Some((1, 3));
        assert_eq!(
            substitute("x$1y&z$9\\$1\\&", b"/abcd", &caps),
            b"xaby/abcdz$1&".to_vec()
        );
        assert_eq!(substitute("$", b"/abcd", &caps), b"$".to_vec());
    }
}

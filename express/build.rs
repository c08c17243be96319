//! Where this machine's Apache is, asked of apxs once at build time (as mod_wsgi-express records it when it is
//! installed): rwsgi-express then starts without running apxs, a Perl script that costs ~10 ms per question.
//! The answers are only defaults: APXS set at run time, or baked paths that no longer exist, send rwsgi-express
//! back to asking apxs.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=APXS");
    println!("cargo:rerun-if-changed=build.rs");
    let apxs = std::env::var("APXS").unwrap_or_else(|_| "apxs".to_string());
    let answer = Command::new(&apxs)
        .args(["-q", "SBINDIR", "PROGNAME", "LIBEXECDIR"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    let parts: Vec<&str> = answer.trim().split(";;").collect();
    if let [sbin, prog, libexec] = parts.as_slice() {
        if !sbin.is_empty() && !prog.is_empty() && !libexec.is_empty() {
            println!("cargo:rustc-env=RWSGI_BUILT_HTTPD={sbin}/{prog}");
            println!("cargo:rustc-env=RWSGI_BUILT_MODULES={libexec}");
        }
    }
}

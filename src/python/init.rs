//! Interpreter start-up in an httpd child. Checks first what commonly goes wrong (unreadable or wrong Python),
//! then PyPreConfig/PyConfig with every PyStatus checked. A failure is one clear error (what, which path, which
//! user); the child keeps running and answers 500, it never aborts.

use std::ffi::{CString, c_char};
use std::fmt;
use std::path::{Path, PathBuf};

use pyo3::ffi;
use pyo3::prelude::*;

use super::{Runtime, Settings, adopt_main_thread_state, modwsgi};

const BOOTSTRAP: &str = include_str!("bootstrap.py");
const BUILD_PYTHON: &str = env!("RWSGI_BUILD_PYTHON");
const BUILD_VERSION: &str = env!("RWSGI_BUILD_PYTHON_VERSION");

#[derive(Debug)]
pub struct StartError(String);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mod_rwsgi: cannot start Python {BUILD_VERSION} in process {}: {}", std::process::id(), self.0)
    }
}

fn run_user() -> String {
    // SAFETY: getuid cannot fail; getpwuid returns null or a pointer to static storage read immediately.
    unsafe {
        let uid = libc::getuid();
        let pw = libc::getpwuid(uid);
        if pw.is_null() || (*pw).pw_name.is_null() {
            return format!("uid {uid}");
        }
        let name = std::ffi::CStr::from_ptr((*pw).pw_name).to_string_lossy();
        format!("{name} (uid {uid})")
    }
}

/// Why `path` cannot be read (or searched, for a directory) by this process, naming the first component that
/// blocks it.
fn unreadable(path: &Path) -> Option<String> {
    let mut cur = PathBuf::new();
    for comp in path.components() {
        cur.push(comp);
        let Ok(c) = CString::new(cur.as_os_str().as_encoded_bytes()) else { return Some(format!("{} is not a valid path", path.display())) };
        let is_last = cur.as_path() == path;
        let mode = if is_last { libc::R_OK } else { libc::X_OK };
        // SAFETY: c is a valid C string.
        if unsafe { libc::access(c.as_ptr(), mode) } != 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::NotFound {
                return Some(format!("{} does not exist", cur.display()));
            }
            let what = if is_last { "read" } else { "enter directory" };
            return Some(format!("user {} cannot {what} {}: {err}", run_user(), cur.display()));
        }
    }
    None
}

enum Location {
    Home(String),
    Executable(String),
}

fn choose(settings: &Settings) -> Result<Location, StartError> {
    let Some(home) = settings.home.as_deref() else {
        if let Some(why) = unreadable(Path::new(BUILD_PYTHON)) {
            return Err(StartError(format!(
                "the Python mod_rwsgi was built for is not usable: {why}; set WSGIPythonHome to a Python {BUILD_VERSION} installation the user can read"
            )));
        }
        return Ok(Location::Executable(BUILD_PYTHON.to_string()));
    };
    let home_path = Path::new(home);
    if let Some(why) = unreadable(home_path) {
        return Err(StartError(format!("WSGIPythonHome {home}: {why}")));
    }
    if !home_path.is_dir() {
        return Err(StartError(format!("WSGIPythonHome {home} is not a directory")));
    }
    if home_path.components().any(|c| c.as_os_str().to_string_lossy().starts_with("python3.")) {
        return Err(StartError(format!(
            "WSGIPythonHome {home} points inside a lib/pythonX.Y directory; it must be the installation prefix or virtualenv directory (the one containing bin/ and lib/)"
        )));
    }
    let venv_cfg = home_path.join("pyvenv.cfg");
    if venv_cfg.exists() {
        if let Some(why) = unreadable(&venv_cfg) {
            return Err(StartError(format!("WSGIPythonHome {home}: {why}")));
        }
        let text = std::fs::read_to_string(&venv_cfg).unwrap_or_default();
        let version = text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            matches!(k.trim(), "version" | "version_info").then(|| v.trim().to_string())
        });
        if let Some(v) = version {
            let major_minor: String = v.split('.').take(2).collect::<Vec<_>>().join(".");
            if major_minor != BUILD_VERSION {
                return Err(StartError(format!(
                    "WSGIPythonHome {home} is a Python {v} virtualenv but mod_rwsgi was built for Python {BUILD_VERSION}; recreate the virtualenv with Python {BUILD_VERSION} or rebuild mod_rwsgi with PYO3_PYTHON pointing at Python {major_minor}"
                )));
            }
        }
        for exe in ["bin/python3", "bin/python", &format!("bin/python{BUILD_VERSION}")] {
            let p = home_path.join(exe);
            if p.exists() {
                return Ok(Location::Executable(p.to_string_lossy().into_owned()));
            }
        }
        return Err(StartError(format!("WSGIPythonHome {home} has a pyvenv.cfg but no bin/python3")));
    }
    let stdlib = home_path.join(format!("lib/python{BUILD_VERSION}/os.py"));
    if !stdlib.exists() {
        return Err(StartError(format!(
            "WSGIPythonHome {home} has no Python {BUILD_VERSION} standard library ({} is missing); it must be a Python {BUILD_VERSION} prefix or virtualenv",
            stdlib.display()
        )));
    }
    if let Some(why) = unreadable(&stdlib) {
        return Err(StartError(format!("WSGIPythonHome {home}: {why}")));
    }
    Ok(Location::Home(home.to_string()))
}

fn check(status: ffi::PyStatus, what: &str) -> Result<(), StartError> {
    // SAFETY: inspecting a PyStatus value returned by the C API.
    if unsafe { ffi::PyStatus_Exception(status) } == 0 {
        return Ok(());
    }
    let text = |p: *const c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: PyStatus strings are static C strings.
            unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    Err(StartError(format!("{what} failed: {} {}", text(status.func), text(status.err_msg))))
}

/// Starts the interpreter and leaves the GIL released. Never aborts the process.
pub fn start(settings: &Settings) -> Result<Runtime, StartError> {
    let location = choose(settings)?;
    // SAFETY: plain C structs initialised by their Init functions before use; strings are copied by
    // PyConfig_SetBytesString; the config is cleared on every path.
    unsafe {
        let mut pre: ffi::PyPreConfig = std::mem::zeroed();
        ffi::PyPreConfig_InitPythonConfig(&mut pre);
        pre.utf8_mode = 1;
        pre.coerce_c_locale = 0;
        pre.coerce_c_locale_warn = 0;
        check(ffi::Py_PreInitialize(&pre), "Python pre-initialisation")?;

        let mut config: ffi::PyConfig = std::mem::zeroed();
        ffi::PyConfig_InitPythonConfig(&mut config);
        config.install_signal_handlers = 0;
        config.parse_argv = 0;
        config.user_site_directory = 0;
        let (field, value, label) = match &location {
            Location::Home(h) => (&raw mut config.home, h.clone(), "home"),
            Location::Executable(e) => (&raw mut config.executable, e.clone(), "executable"),
        };
        let c_value = CString::new(value.clone()).map_err(|_| StartError(format!("invalid Python {label} {value:?}")))?;
        let set = ffi::PyConfig_SetBytesString(&mut config, field, c_value.as_ptr());
        if let Err(e) = check(set, &format!("setting Python {label} to {value}")) {
            ffi::PyConfig_Clear(&mut config);
            return Err(e);
        }
        let status = ffi::Py_InitializeFromConfig(&config);
        ffi::PyConfig_Clear(&mut config);
        check(status, &format!("Python initialisation with {label} {value} as user {}", run_user()))?;
    }
    let rt = Python::attach(|py| setup(py, settings)).map_err(|e| StartError(format!("setting up the Python runtime failed: {e}")));
    // SAFETY: the main thread holds the GIL after initialisation; release it and keep the state for reuse.
    let ts = unsafe { ffi::PyEval_SaveThread() };
    adopt_main_thread_state(ts);
    rt
}

fn setup(py: Python<'_>, settings: &Settings) -> PyResult<Runtime> {
    let (multithread, multiprocess) = (settings.multithread, settings.multiprocess);
    let modwsgi = modwsgi::create(py, settings)?;
    py.import("sys")?.getattr("modules")?.set_item("mod_wsgi", &modwsgi)?;
    if !settings.path.is_empty() {
        let code = c"def _add(dirs):\n import site, sys\n prev = list(sys.path)\n for d in dirs:\n  site.addsitedir(d)\n new = [p for p in sys.path if p not in prev]\n sys.path[:] = new + prev\n";
        let m = PyModule::from_code(py, code, c"<rwsgi-pythonpath>", c"_rwsgi_pythonpath")?;
        m.getattr("_add")?.call1((settings.path.clone(),))?;
    }
    let code = CString::new(BOOTSTRAP).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    let bootstrap = PyModule::from_code(py, &code, c"<mod_rwsgi bootstrap>", c"_mod_rwsgi_bootstrap")?;
    let stdout = bootstrap.getattr("stdout")?.unbind();
    let stderr = bootstrap.getattr("stderr")?.unbind();
    let file_wrapper = modwsgi.getattr("FileWrapper")?.unbind();
    Ok(Runtime::new(bootstrap.unbind(), stdout, stderr, file_wrapper, multithread, multiprocess))
}

//! Interpreter start-up in an httpd child. Checks first what commonly goes wrong (unreadable or wrong Python),
//! then PyPreConfig/PyConfig with every PyStatus checked. A failure is one clear error (what, which path, which
//! user); the child keeps running and answers 500, it never aborts.

use std::ffi::{CString, c_char};
use std::fmt;

use pyo3::ffi;
use pyo3::prelude::*;

use super::home::{Location, locate};
use super::{Runtime, Settings, adopt_main_thread_state, modwsgi};

const BOOTSTRAP: &str = include_str!("bootstrap.py");
const BUILD_VERSION: &str = env!("RWSGI_BUILD_PYTHON_VERSION");

#[derive(Debug)]
pub struct StartError(String);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mod_rwsgi: cannot start Python {BUILD_VERSION} in process {}: {}",
            std::process::id(),
            self.0
        )
    }
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
    Err(StartError(format!(
        "{what} failed: {} {}",
        text(status.func),
        text(status.err_msg)
    )))
}

/// Starts the interpreter and leaves the GIL released. Never aborts the process.
pub fn start(settings: &Settings) -> Result<Runtime, StartError> {
    let location = locate(settings.home.as_deref()).map_err(StartError)?;
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
        let opts = &settings.python;
        if let Some(level) = opts.optimize {
            config.optimization_level = i32::from(level);
        }
        if opts.dont_write_bytecode == Some(true) {
            config.write_bytecode = 0;
        }
        if let Some(seed) = opts.hash_seed {
            config.use_hash_seed = 1;
            config.hash_seed = std::ffi::c_ulong::from(seed);
        }
        for w in &opts.warnings {
            let wide: Vec<libc::wchar_t> = w
                .chars()
                .map(|c| c as libc::wchar_t)
                .chain(std::iter::once(0))
                .collect();
            let appended = ffi::PyWideStringList_Append(&mut config.warnoptions, wide.as_ptr());
            if let Err(e) = check(appended, &format!("adding the warnings filter {w:?}")) {
                ffi::PyConfig_Clear(&mut config);
                return Err(e);
            }
        }
        let (field, value, label) = match &location {
            Location::Home(h) => (&raw mut config.home, h.clone(), "home"),
            Location::Executable(e) => (&raw mut config.executable, e.clone(), "executable"),
        };
        let c_value =
            CString::new(value.clone()).map_err(|_| StartError(format!("invalid Python {label} {value:?}")))?;
        let set = ffi::PyConfig_SetBytesString(&mut config, field, c_value.as_ptr());
        if let Err(e) = check(set, &format!("setting Python {label} to {value}")) {
            ffi::PyConfig_Clear(&mut config);
            return Err(e);
        }
        let status = ffi::Py_InitializeFromConfig(&config);
        ffi::PyConfig_Clear(&mut config);
        check(
            status,
            &format!(
                "Python initialisation with {label} {value} as user {}",
                super::home::run_user()
            ),
        )?;
    }
    let rt = Python::attach(|py| setup(py, settings))
        .map_err(|e| StartError(format!("setting up the Python runtime failed: {e}")));
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
    let opts = &settings.python;
    bootstrap.getattr("configure")?.call1((
        opts.restrict_signal.unwrap_or(true),
        opts.restrict_stdin.unwrap_or(false),
        opts.restrict_stdout.unwrap_or(false),
        opts.switch_interval,
    ))?;
    let file_wrapper = modwsgi.getattr("FileWrapper")?.unbind();
    let mut rt = Runtime::new(&bootstrap, file_wrapper, multithread, multiprocess)?;
    rt.context = if settings.process_group.is_empty() {
        "in embedded mode".to_string()
    } else {
        format!("of daemon process '{}'", settings.process_group)
    };
    Ok(rt)
}

//! One request as the mod_wsgi module's runtime API sees it: its request_data() dict and entry in
//! mod_wsgi.active_requests, its timestamps and thread number in the environ, and — only while an event
//! subscriber or metrics recording exists — the request_started / request_finished / request_exception events
//! with the values this request measured.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::RequestInfo;
use super::state::Stats;
use crate::python::Runtime;
use crate::python::current::{self, Current, Serving};

fn secs(us: i64) -> f64 {
    us as f64 / 1e6
}

/// The request being served, from just before the application is called until after close().
pub struct Request {
    pub thread_id: u32,
    pub request_id: Py<PyString>,
    pub data: Py<PyDict>,
    /// Seconds since the epoch.
    pub request_start: f64,
    pub queue_start: f64,
    pub daemon_start: f64,
    pub application_start: f64,
    /// Whether the events and metrics bookkeeping runs for this request.
    pub hooks: bool,
    cpu_start: (f64, f64),
    _serving: Serving,
}

impl Request {
    pub fn begin(py: Python<'_>, rt: &Runtime, info: &RequestInfo) -> Request {
        let env = |k: &[u8]| info.environ.get(k).unwrap_or_default();
        let request_id = PyString::new(py, &String::from_utf8_lossy(env(b"mod_wsgi.request_id"))).unbind();
        let data = PyDict::new(py).unbind();
        let serving = Serving::enter(
            py,
            &rt.active_requests,
            Current {
                request_id: request_id.clone_ref(py),
                data: data.clone_ref(py),
                application_group: PyString::new(py, &String::from_utf8_lossy(&info.application_group)).unbind(),
            },
        );
        let hooks = rt.hooks_active(py);
        Request {
            thread_id: current::thread_number(),
            request_id,
            data,
            request_start: secs(info.start_us),
            queue_start: secs(info.queue_start_us),
            daemon_start: secs(info.daemon_start_us),
            application_start: secs(crate::request::epoch_us()),
            hooks,
            cpu_start: if hooks {
                crate::sys::process::thread_cpu()
            } else {
                (0.0, 0.0)
            },
            _serving: serving,
        }
    }

    /// request_started: subscribers see the environ and may replace the application (a returned dict with
    /// `application_object`). Returns the application to call.
    pub fn started<'py>(
        &self,
        py: Python<'py>,
        rt: &Runtime,
        environ: &Bound<'py, PyDict>,
        app: Bound<'py, PyAny>,
        callable: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        if !self.hooks {
            return Ok(app);
        }
        let times = (
            self.request_id.bind(py),
            self.thread_id,
            std::process::id(),
            self.request_start,
            self.queue_start,
            self.daemon_start,
            self.application_start,
            0u32,
            0u32,
        );
        rt.call_api(py, "started", (environ, app, callable, self.data.bind(py), times))
    }

    /// request_finished (and the metrics), with what the request measured.
    pub fn finished(&self, py: Python<'_>, rt: &Runtime, status: u16, stats: Stats) {
        let (gil_wait, gil_waits) = current::take_gil_wait();
        if !self.hooks {
            return;
        }
        let finish = secs(crate::request::epoch_us());
        let application_time = (finish - self.application_start).max(0.0);
        let build = || -> PyResult<Bound<'_, PyDict>> {
            let m = PyDict::new(py);
            m.set_item("request_id", self.request_id.bind(py))?;
            m.set_item("thread_id", self.thread_id)?;
            m.set_item("server_pid", std::process::id())?;
            m.set_item("request_start", self.request_start)?;
            m.set_item("queue_start", self.queue_start)?;
            m.set_item("daemon_start", self.daemon_start)?;
            m.set_item("input_reads", stats.input_reads)?;
            m.set_item("input_length", stats.input_length)?;
            m.set_item("input_time", stats.input_time.as_secs_f64())?;
            m.set_item("output_length", stats.output_length)?;
            m.set_item("output_writes", stats.output_writes)?;
            let (user0, sys0) = self.cpu_start;
            let (user1, sys1) = crate::sys::process::thread_cpu();
            let (user, sys) = ((user1 - user0).max(0.0), (sys1 - sys0).max(0.0));
            m.set_item("cpu_user_time", user)?;
            m.set_item("cpu_system_time", sys)?;
            m.set_item("cpu_time", user + sys)?;
            m.set_item("output_time", stats.output_time.as_secs_f64())?;
            m.set_item("application_finish", finish)?;
            m.set_item("application_time", application_time)?;
            m.set_item("status", status)?;
            m.set_item("gil_wait_time", gil_wait)?;
            m.set_item("gil_wait_count", gil_waits)?;
            Ok(m)
        };
        let result = build().and_then(|m| rt.call_api(py, "finished", (m, self.data.bind(py))));
        if let Err(e) = result {
            crate::apache::log::current(
                crate::apache::log::Level::Error,
                &format!("mod_rwsgi: the request_finished event failed: {e}"),
            );
        }
    }

    /// request_exception: an exception the application raised (logged by the caller).
    pub fn exception(&self, py: Python<'_>, rt: &Runtime, err: &PyErr) {
        if self.hooks && rt.has_subscribers(py) {
            let _ = rt.call_api(
                py,
                "request_exception",
                (self.request_id.bind(py), err.value(py), self.data.bind(py)),
            );
        }
    }
}

/// response_started, from start_response (before its arguments are validated, as mod_wsgi).
pub fn response_started(
    py: Python<'_>,
    status: &Bound<'_, PyAny>,
    headers: &Bound<'_, PyAny>,
    exc_info: Option<&Bound<'_, PyAny>>,
) {
    let Ok(rt) = crate::python::runtime() else { return };
    if !rt.has_subscribers(py) {
        return;
    }
    let ids = current::with_current(py, |py, c| (c.request_id.clone_ref(py), c.data.clone_ref(py)));
    if let Some((rid, data)) = ids {
        let exc = exc_info.map_or_else(|| py.None(), |e| e.clone().unbind());
        let _ = rt.call_api(py, "response_started", (rid, status, headers, exc, data));
    }
}

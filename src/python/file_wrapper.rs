//! wsgi.file_wrapper (mod_wsgi.FileWrapper). When an app returns one over a regular file, the response loop
//! sends the file with a file bucket (sendfile); otherwise it is an iterator of read(blksize) blocks.

use pyo3::prelude::*;

#[pyclass(module = "mod_wsgi", name = "FileWrapper", frozen)]
pub struct FileWrapper {
    #[pyo3(get)]
    pub filelike: Py<PyAny>,
    #[pyo3(get)]
    pub blksize: usize,
}

#[pymethods]
impl FileWrapper {
    #[new]
    #[pyo3(signature = (filelike, blksize=8192))]
    fn new(filelike: Py<PyAny>, blksize: i64) -> PyResult<Self> {
        let blksize = usize::try_from(blksize)
            .ok()
            .filter(|&b| b > 0)
            .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("blksize must be a positive integer"))?;
        Ok(FileWrapper { filelike, blksize })
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let data = self.filelike.bind(py).call_method1("read", (self.blksize,))?;
        if data.is_truthy()? {
            Ok(Some(data.unbind()))
        } else {
            Ok(None)
        }
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let f = self.filelike.bind(py);
        if f.hasattr("close")? {
            f.call_method0("close")?;
        }
        Ok(())
    }
}

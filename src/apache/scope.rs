//! Request-scoped state reachable from Python objects. Python may keep a reference to `wsgi.input` or the
//! `write` callable after the request ended; those objects hold an `Arc<RequestScoped<T>>` and get an error
//! instead of a dangling `request_rec` once the handler closed the scope.

use std::sync::{Arc, Mutex, TryLockError};

use super::Request;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeError {
    /// The request already finished.
    Finished,
    /// Another thread is using this request's stream right now.
    Busy,
}

impl std::fmt::Display for ScopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ScopeError::Finished => "the request this object belongs to has finished",
            ScopeError::Busy => "this request's stream is in use by another thread",
        })
    }
}

pub struct RequestScoped<T> {
    cell: Mutex<Option<(Request<'static>, T)>>,
}

impl<T: Send> RequestScoped<T> {
    /// Runs `f` with the live request and its state. Never blocks: a concurrent user gets `Busy`.
    pub fn with<R>(&self, f: impl FnOnce(Request<'_>, &mut T) -> R) -> Result<R, ScopeError> {
        let mut guard = match self.cell.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Err(ScopeError::Busy),
        };
        match guard.as_mut() {
            Some((req, state)) => Ok(f(*req, state)),
            None => Err(ScopeError::Finished),
        }
    }
}

/// Runs `f` with a scope over `req`; when `f` returns the scope is closed (waiting for any thread inside
/// `with`), so no Python object can reach the request afterwards. Call without holding the GIL.
pub fn scope<'r, T: Send, R>(req: Request<'r>, state: T, f: impl FnOnce(&Arc<RequestScoped<T>>) -> R) -> R {
    // SAFETY: the 'static request never escapes the scope: `with` lends it only for a closure call, and the
    // Drop guard below empties the cell before `scope` returns, i.e. within 'r.
    let req_static: Request<'static> = unsafe { req.extend_lifetime() };
    let slot = Arc::new(RequestScoped { cell: Mutex::new(Some((req_static, state))) });
    struct Close<'a, T>(&'a Arc<RequestScoped<T>>);
    impl<T> Drop for Close<'_, T> {
        fn drop(&mut self) {
            let mut g = match self.0.cell.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            *g = None;
        }
    }
    let _close = Close(&slot);
    f(&slot)
}

//! Request-scoped state reachable from Python objects. Python may keep `wsgi.input` or `write` after the
//! request ended: those objects hold an `Arc<Slot>` and get an error instead of touching a finished request.

use std::sync::{Mutex, TryLockError};

use super::state::ReqState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotError {
    Finished,
    Busy,
}

impl std::fmt::Display for SlotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SlotError::Finished => "the request this object belongs to has finished",
            SlotError::Busy => "this request's stream is in use by another thread",
        })
    }
}

pub struct Slot {
    cell: Mutex<Option<ReqState>>,
}

impl Slot {
    pub fn new(state: ReqState) -> Slot {
        Slot {
            cell: Mutex::new(Some(state)),
        }
    }

    /// Runs `f` with the request state. Never blocks (so never deadlocks with the GIL): a concurrent user gets
    /// `Busy`.
    pub fn with<R>(&self, f: impl FnOnce(&mut ReqState) -> R) -> Result<R, SlotError> {
        let mut guard = match self.cell.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Err(SlotError::Busy),
        };
        guard.as_mut().map(f).ok_or(SlotError::Finished)
    }

    /// Ends the request: waits for a thread inside `with`, then drops the state. Call without the GIL.
    pub fn close(&self) -> Option<ReqState> {
        let mut g = match self.cell.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.take()
    }
}

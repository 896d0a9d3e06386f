//! `waitFor`: promises resolved by core's append hook, without polling.
//!
//! Core's hook must be `Send + Sync`, which JS functions are not, so the hook
//! captures only the log's id and the pending promises live in a
//! thread-local table keyed by that id (wasm32 runs one thread).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use dislog_core::AppendHook;
use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;

use crate::error::JsError;

/// One pending `waitFor`.
struct Waiter {
    offset: u64,
    resolve: Function,
    reject: Function,
}

thread_local! {
    static NEXT_ID: Cell<u64> = const { Cell::new(0) };
    static WAITERS: RefCell<BTreeMap<u64, Vec<Waiter>>> = const { RefCell::new(BTreeMap::new()) };
}

/// A fresh id for a new log.
pub fn new_id() -> u64 {
    NEXT_ID.with(|id| {
        let next = id.get();
        id.set(next.wrapping_add(1));
        next
    })
}

/// The hook to install on the log with this id: it resolves the promises of
/// every offset below the new next offset.
pub fn hook(id: u64) -> AppendHook {
    Box::new(move |next| wake(id, next))
}

fn wake(id: u64, next: u64) {
    let ready: Vec<Waiter> = WAITERS.with(|table| {
        let Ok(mut table) = table.try_borrow_mut() else {
            return Vec::new();
        };
        let Some(waiters) = table.get_mut(&id) else {
            return Vec::new();
        };
        let (ready, pending) = std::mem::take(waiters)
            .into_iter()
            .partition(|w| w.offset < next);
        *waiters = pending;
        if waiters.is_empty() {
            table.remove(&id);
        }
        ready
    });
    // Resolving only queues reactions: no user code runs here.
    for waiter in ready {
        let _ = waiter
            .resolve
            .call1(&JsValue::UNDEFINED, &JsValue::from_f64(next as f64));
    }
}

/// A promise resolved (with the log's next offset) once `next > offset`.
pub fn wait(id: u64, offset: u64, next: u64) -> Promise {
    if offset < next {
        return Promise::resolve(&JsValue::from_f64(next as f64));
    }
    Promise::new(&mut |resolve, reject| {
        WAITERS.with(|table| {
            if let Ok(mut table) = table.try_borrow_mut() {
                table.entry(id).or_default().push(Waiter {
                    offset,
                    resolve,
                    reject,
                });
            }
        });
    })
}

/// Rejects every pending promise of the log with this id (it was freed).
pub fn close(id: u64) {
    let waiters = WAITERS.with(|table| {
        table
            .try_borrow_mut()
            .ok()
            .and_then(|mut table| table.remove(&id))
            .unwrap_or_default()
    });
    for waiter in waiters {
        let error: JsValue = JsError::freed().into();
        let _ = waiter.reject.call1(&JsValue::UNDEFINED, &error);
    }
}

/// How many promises wait on the log with this id.
pub fn pending(id: u64) -> usize {
    WAITERS.with(|table| {
        table
            .try_borrow()
            .map_or(0, |t| t.get(&id).map_or(0, Vec::len))
    })
}

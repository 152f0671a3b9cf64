//! Guest SDK for floe plugins: WebAssembly modules that transform DynamoDB
//! items in floe's transformers, under ABI version 1 (`plugins/ABI.md` of
//! the floe repository).
//!
//! A plugin implements [`Plugin`] and names its type in
//! [`export_plugin!`]; it is built as a `cdylib` for
//! `wasm32-unknown-unknown`, and imports nothing.
//!
//! ```
//! use floe_plugin::json::Json;
//! use floe_plugin::{export_plugin, Info, Item, Output, Plugin};
//!
//! /// Drops the items whose "status" is the configured S value.
//! #[derive(Default)]
//! pub struct Skip {
//!     status: String,
//! }
//!
//! impl Plugin for Skip {
//!     fn info(&self) -> Info {
//!         Info {
//!             name: "skip",
//!             version: "1.0.0",
//!             parameters: Some(r#"{"type":"object","properties":{"status":{"type":"string"}},"required":["status"]}"#),
//!         }
//!     }
//!
//!     fn configure(&mut self, config: &[u8]) -> Result<(), String> {
//!         let cfg = Json::parse(config).map_err(|e| e.to_string())?;
//!         match cfg.get("status").and_then(|v| v.as_str()) {
//!             Some(s) => Ok(self.status = s.to_string()),
//!             None => Err("skip: configuration needs a string \"status\"".to_string()),
//!         }
//!     }
//!
//!     fn transform(&mut self, item: &Item<'_>, out: &mut Output) {
//!         if item.get("status").and_then(|v| v.as_s()) == Some(&*self.status) {
//!             out.drop();
//!         }
//!     }
//! }
//!
//! export_plugin!(Skip);
//! ```
//!
//! # Pieces
//!
//! - [`view`]: zero-copy views of the input. [`Batch::parse`] checks a batch
//!   once; [`Item`] (and [`Map`]) iterate [`Attr`]s in order and look names
//!   up with `get`; [`Value`] has an accessor for every DynamoDB type
//!   (`as_s`, `as_n`, `as_b`, `as_bool`, `is_null`, `as_ss`, `as_ns`,
//!   `as_bs`, `as_l`, `as_m`) and its encoded bytes (`raw`) for copying.
//! - [`write`]: the verdicts of [`Output`] (pass, drop, fail, modified,
//!   edit, fan_out) write the canonical result encoding into one buffer
//!   reused for every batch; [`AttrWriter`] and [`ListWriter`] build items,
//!   maps and lists of every type, copying input attributes as raw bytes.
//! - [`json`]: a small JSON reader for configurations.
//! - [`sha256`]: SHA-256 and hex, for hashing plugins.
//! - [`testing`]: a native harness running a plugin on encoded batches and
//!   checking its results as the host does, with helpers to build items.
//!
//! # Why `std`
//!
//! The SDK uses `std`, not `#![no_std]` with `alloc`. On
//! `wasm32-unknown-unknown` the standard library imports nothing (no WASI:
//! its I/O is inert) and brings only what is used: with `lto`,
//! `panic = "abort"` and `opt-level = 3` an example plugin is a few tens of
//! KiB, mostly the allocator (dlmalloc, which `alloc` would need anyway) and
//! panic formatting. `no_std` with `alloc` would need a hand-written global
//! allocator and, on the Rust 1.63 of Debian 12 that plugins must build
//! with, an `#[alloc_error_handler]`, which is unstable there; and the
//! native test harness needs `std` in any case. Speed comes from elsewhere:
//! no per-item allocation (views borrow the input, the output buffer is
//! reused), one checking pass per batch, and copying unchanged attributes
//! as raw bytes. A panic aborts, which the host sees as a trap: the batch
//! fails and is retried in halves to dead-letter the item at fault.

#![warn(missing_docs)]

// Loops and the host's deadline checks: the host makes wazero check for a
// deadline at the head of every WebAssembly loop, and a check leaves the
// compiled code for Go: it costs far more than a call or a short loop body.
// The hot paths therefore run counted loops unrolled, so that the usual
// counts (up to 15 attributes, list or set elements) run no loop at all,
// and the batch's items by halving recursion (a few loop iterations per
// batch instead of one per item).

/// Runs `$body` `$n` times (a u32): unrolled by 16, no loop below 16.
macro_rules! unrolled {
    ($n:expr, $body:block) => {{
        let mut left: u32 = $n;
        while left >= 16 {
            $body $body $body $body $body $body $body $body
            $body $body $body $body $body $body $body $body
            left -= 16;
        }
        if left >= 8 {
            $body $body $body $body $body $body $body $body
            left -= 8;
        }
        if left >= 4 {
            $body $body $body $body
            left -= 4;
        }
        if left >= 2 {
            $body $body
            left -= 2;
        }
        if left >= 1 {
            $body
        }
    }};
}

mod varint;

pub mod host;
pub mod json;
pub mod names;
pub mod sha256;
pub mod testing;
pub mod view;
pub mod write;

pub use host::{Host, Info, Plugin, ABI_VERSION};
pub use names::{NameMatch, NameSet};
pub use view::{eq_bytes, Attr, AttrList, Batch, BytesSet, DecodeError, Item, Kind, List, Map, StrSet, Value};
pub use write::{AttrWriter, Edited, FanOut, ListWriter, Output, Val};

#[cfg(test)]
mod tests;

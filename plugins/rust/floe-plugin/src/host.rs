//! The [`Plugin`] trait and the glue between the ABI's exports and a
//! plugin: [`Host`] owns the plugin and its buffers, [`crate::export_plugin`]
//! generates the exports that call it.

use crate::json;
use crate::view::Batch;
use crate::write::Output;

/// The ABI version this SDK implements (plugins/ABI.md).
pub const ABI_VERSION: u32 = 1;

/// What a plugin says about itself in `describe`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// The plugin's name, e.g. `"mask"`.
    pub name: &'static str,
    /// Its version, e.g. `"1.0.0"`.
    pub version: &'static str,
    /// A JSON Schema of the configuration `configure` accepts, as JSON
    /// text (an object), or `None`.
    pub parameters: Option<&'static str>,
}

/// A floe plugin. [`crate::export_plugin`] makes one instance per
/// WebAssembly instance; the host calls [`Plugin::configure`] once, then
/// [`Plugin::transform`] for every item of every batch, in order.
pub trait Plugin {
    /// The name, version and parameter schema. May be called before
    /// `configure`.
    fn info(&self) -> Info;

    /// Takes the user's configuration: JSON text, `{}` when the user gave
    /// none (the host has checked that it is valid JSON; see
    /// [`crate::json::Json::parse`]). An `Err` refuses it: the host shows
    /// the message to the user.
    fn configure(&mut self, config: &[u8]) -> Result<(), String>;

    /// Gives the verdict on one item by calling one method of `out`:
    /// [`Output::pass`] (also what happens when none is called),
    /// [`Output::drop`], [`Output::fail`], [`Output::modified`],
    /// [`Output::edit`] or [`Output::fan_out`].
    fn transform(&mut self, item: &crate::Item<'_>, out: &mut Output);
}

/// A plugin with its input and output buffers: what the exports of
/// [`crate::export_plugin`] call, and what [`crate::testing::Harness`] runs
/// natively. Every buffer is kept and reused from call to call.
#[derive(Debug)]
pub struct Host<P> {
    plugin: P,
    input: Vec<u8>,
    out: Output,
    msg: String,
    describe: String,
}

impl<P: Plugin> Host<P> {
    /// Wraps a plugin.
    pub fn new(plugin: P) -> Host<P> {
        Host { plugin, input: Vec::new(), out: Output::new(), msg: String::new(), describe: String::new() }
    }

    /// The plugin.
    pub fn plugin(&self) -> &P {
        &self.plugin
    }

    /// The plugin, mutably.
    pub fn plugin_mut(&mut self) -> &mut P {
        &mut self.plugin
    }

    /// The input buffer of `n` bytes for the host to fill (`alloc`). The
    /// buffer only grows, and is never written by the guest.
    pub fn alloc(&mut self, n: usize) -> &mut [u8] {
        if self.input.len() < n {
            self.input.resize(n, 0);
        }
        // Never a dangling pointer: the ABI wants a non-zero address even
        // for n == 0.
        if self.input.is_empty() {
            self.input.resize(1, 0);
        }
        &mut self.input[..n]
    }

    /// Traps unless `[ptr, ptr+n)` is the input buffer of `alloc`.
    #[doc(hidden)]
    pub fn check_input(&self, ptr: usize, n: usize) {
        if ptr != self.input.as_ptr() as usize || n > self.input.len() {
            panic!("floe_plugin: the host passed a buffer that alloc did not return");
        }
    }

    /// The `describe` JSON.
    pub fn describe(&mut self) -> &[u8] {
        if self.describe.is_empty() {
            let info = self.plugin.info();
            let mut s = String::from("{\"name\":");
            json::write_string(&mut s, info.name);
            s.push_str(",\"version\":");
            json::write_string(&mut s, info.version);
            if let Some(p) = info.parameters {
                s.push_str(",\"parameters\":");
                s.push_str(p);
            }
            s.push('}');
            self.describe = s;
        }
        self.describe.as_bytes()
    }

    /// Configures the plugin with the first `n` bytes of the input buffer;
    /// returns the refusal message, if any (never empty).
    pub fn configure(&mut self, n: usize) -> Option<&[u8]> {
        match self.plugin.configure(&self.input[..n]) {
            Ok(()) => None,
            Err(msg) => {
                self.msg = if msg.is_empty() { "configuration refused".to_string() } else { msg };
                Some(self.msg.as_bytes())
            }
        }
    }

    /// Transforms the batch in the first `n` bytes of the input buffer and
    /// returns the result, valid until the next call.
    ///
    /// # Safety
    ///
    /// The bytes must be a batch that [`Batch::parse`] accepts, as every
    /// batch of the host is: they are read without checking (see
    /// [`Batch::trusted`]).
    pub unsafe fn transform_batch(&mut self, n: usize) -> &[u8] {
        let batch = Batch::trusted(&self.input[..n]);
        self.out.begin(batch.len() as u32);
        let mut items = batch.items();
        run(&mut self.plugin, &mut items, &mut self.out, batch.len() as u32);
        self.out.bytes()
    }
}

/// Transforms the next `n` items, 16 per loop iteration: the host's
/// deadline check at the head of every WebAssembly loop iteration costs far
/// more than a call.
fn run<P: Plugin>(plugin: &mut P, items: &mut crate::view::Items<'_>, out: &mut Output, n: u32) {
    unrolled!(n, { one(plugin, items, out) });
}

#[inline(never)]
fn one<P: Plugin>(plugin: &mut P, items: &mut crate::view::Items<'_>, out: &mut Output) {
    if let Some(item) = items.next() {
        out.start_entry();
        plugin.transform(&item, out);
        out.end_entry();
    }
}

/// Packs a buffer's address and length as the ABI's `ptr<<32 | len`.
#[doc(hidden)]
#[inline]
pub fn pack(b: &[u8]) -> i64 {
    (((b.as_ptr() as usize as u64) << 32) | b.len() as u64) as i64
}

/// Generates the exports of ABI version 1 for a [`Plugin`] type:
/// `abi_version`, `alloc`, `describe`, `configure` and `transform_batch`
/// (the `memory` export is the default of `wasm32-unknown-unknown`).
///
/// `export_plugin!(MyPlugin)` makes the plugin with `Default::default()`;
/// `export_plugin!(MyPlugin, MyPlugin::new())` with the given expression.
/// The plugin is made at the first call into the module. The exports exist
/// only when compiling for `wasm32`, so native `cargo test` builds stay
/// free of them.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        $crate::export_plugin!($plugin, <$plugin as ::core::default::Default>::default());
    };
    ($plugin:ty, $init:expr) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            static mut FLOE_PLUGIN_HOST: ::core::option::Option<$crate::Host<$plugin>> = ::core::option::Option::None;

            #[inline]
            fn host() -> &'static mut $crate::Host<$plugin> {
                // A WebAssembly instance is single-threaded and the host
                // never overlaps calls, so this is the only reference.
                unsafe { FLOE_PLUGIN_HOST.get_or_insert_with(|| $crate::Host::new($init)) }
            }

            #[no_mangle]
            pub extern "C" fn abi_version() -> i32 {
                $crate::ABI_VERSION as i32
            }

            #[no_mangle]
            pub extern "C" fn alloc(len: i32) -> i32 {
                host().alloc(len as u32 as usize).as_mut_ptr() as usize as i32
            }

            #[no_mangle]
            pub extern "C" fn describe() -> i64 {
                $crate::host::pack(host().describe())
            }

            #[no_mangle]
            pub extern "C" fn configure(ptr: i32, len: i32) -> i64 {
                let h = host();
                let n = len as u32 as usize;
                h.check_input(ptr as u32 as usize, n);
                match h.configure(n) {
                    ::core::option::Option::None => 0,
                    ::core::option::Option::Some(msg) => $crate::host::pack(msg),
                }
            }

            #[no_mangle]
            pub extern "C" fn transform_batch(ptr: i32, len: i32) -> i64 {
                let h = host();
                let n = len as u32 as usize;
                h.check_input(ptr as u32 as usize, n);
                // The host checks every batch it sends (ABI.md, "What the
                // host checks").
                $crate::host::pack(unsafe { h.transform_batch(n) })
            }
        };
        // Natively, type-check the constructor (and use the type).
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() -> $crate::Host<$plugin> = || $crate::Host::new($init);
    };
}

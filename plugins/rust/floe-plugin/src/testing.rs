//! A native test harness: run a plugin on encoded batches without
//! WebAssembly, with the same code the exports run, and check its results
//! as strictly as the host does.
//!
//! ```
//! use floe_plugin::testing::{item, Entry, Harness};
//! use floe_plugin::{Info, Item, Output, Plugin, Val};
//!
//! #[derive(Default)]
//! struct Upper;
//! impl Plugin for Upper {
//!     fn info(&self) -> Info {
//!         Info { name: "upper", version: "1.0.0", parameters: None }
//!     }
//!     fn configure(&mut self, _: &[u8]) -> Result<(), String> {
//!         Ok(())
//!     }
//!     fn transform(&mut self, it: &Item<'_>, out: &mut Output) {
//!         if let Some(s) = it.get("name").and_then(|v| v.as_s()) {
//!             let up = s.to_uppercase();
//!             out.edit(it, &[("name", Val::S(&up))], &[] as &[&str]);
//!         }
//!     }
//! }
//!
//! let mut h = Harness::new(Upper);
//! h.configure("{}").unwrap();
//! let got = h.transform(&[item(&[("name", Val::S("ada"))]), item(&[("id", Val::N("1"))])]);
//! assert_eq!(got, vec![Entry::Modified(item(&[("name", Val::S("ADA"))])), Entry::Pass]);
//! ```

use crate::host::{Host, Plugin};
use crate::json::Json;
use crate::varint;
use crate::view::{self, AttrList, Kind, Value};
use crate::write::{encode_attrs, Val};
use core::fmt;

/// The encoding of an item with the given attributes, in order.
pub fn item(attrs: &[(&str, Val<'_>)]) -> Vec<u8> {
    let mut b = Vec::new();
    encode_attrs(&mut b, attrs);
    b
}

/// The batch encoding of encoded items.
pub fn batch<T: AsRef<[u8]>>(items: &[T]) -> Vec<u8> {
    let mut b = Vec::new();
    varint::put(&mut b, items.len() as u32);
    for it in items {
        b.extend_from_slice(it.as_ref());
    }
    b
}

/// One decoded result entry. Items are kept encoded.
#[derive(Clone, PartialEq, Eq)]
pub enum Entry {
    /// `00`: keep the item.
    Pass,
    /// `01`: replace it by this item.
    Modified(Vec<u8>),
    /// `02`: remove it.
    Drop,
    /// `03`: fail it with this message.
    Error(String),
    /// `04`: replace it by these items.
    FanOut(Vec<Vec<u8>>),
}

struct ItemFmt<'a>(&'a [u8]);

impl<'a> fmt::Debug for ItemFmt<'a> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match view::parse_item(self.0) {
            Ok(it) => f.debug_map().entries(it.iter().map(|a| (a.name(), a.value()))).finish(),
            Err(e) => write!(f, "<malformed item {:?}: {}>", self.0, e),
        }
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Pass => f.write_str("Pass"),
            Entry::Drop => f.write_str("Drop"),
            Entry::Error(m) => write!(f, "Error({:?})", m),
            Entry::Modified(it) => write!(f, "Modified({:?})", ItemFmt(it)),
            Entry::FanOut(its) => {
                f.write_str("FanOut")?;
                f.debug_list().entries(its.iter().map(|it| ItemFmt(it))).finish()
            }
        }
    }
}

/// The result encoding of entries, as a plugin must write them.
pub fn encode_results(entries: &[Entry]) -> Vec<u8> {
    let mut b = Vec::new();
    varint::put(&mut b, entries.len() as u32);
    for e in entries {
        match e {
            Entry::Pass => b.push(0),
            Entry::Modified(it) => {
                b.push(1);
                b.extend_from_slice(it);
            }
            Entry::Drop => b.push(2),
            Entry::Error(m) => {
                b.push(3);
                varint::put(&mut b, m.len() as u32);
                b.extend_from_slice(m.as_bytes());
            }
            Entry::FanOut(its) => {
                b.push(4);
                varint::put(&mut b, its.len() as u32);
                for it in its {
                    b.extend_from_slice(it);
                }
            }
        }
    }
    b
}

/// Decodes a result of `want` entries, checking all the host checks
/// (ABI.md, "What the host checks"), unique names included.
pub fn decode_results(b: &[u8], want: usize) -> Result<Vec<Entry>, String> {
    let mut p = 0;
    let n = varint::check(b, &mut p).map_err(|e| format!("entry count: {}", e))?;
    if n as usize != want {
        return Err(format!("result has {} entries for a batch of {} items", n, want));
    }
    let mut out = Vec::with_capacity(want);
    for i in 0..want {
        let fail = |p: usize, m: &dyn fmt::Display| format!("entry {}, byte {}: {}", i, p, m);
        let st = *b.get(p).ok_or_else(|| fail(p, &"missing status"))?;
        p += 1;
        let one_item = |p: &mut usize| -> Result<Vec<u8>, String> {
            let start = *p;
            view::check_item_at(b, p).map_err(|e| fail(e.offset, &e.msg))?;
            let raw = &b[start..*p];
            unique_names(&view::parse_item(raw).map_err(|e| fail(start, &e))?).map_err(|m| fail(start, &m))?;
            Ok(raw.to_vec())
        };
        out.push(match st {
            0 => Entry::Pass,
            1 => Entry::Modified(one_item(&mut p)?),
            2 => Entry::Drop,
            3 => {
                let len = varint::check(b, &mut p).map_err(|e| fail(p, &e))? as usize;
                let msg = b.get(p..p + len).ok_or_else(|| fail(p, &"error message exceeds the bytes left"))?;
                p += len;
                Entry::Error(String::from_utf8(msg.to_vec()).map_err(|_| fail(p, &"error message is not UTF-8"))?)
            }
            4 => {
                let k = varint::check(b, &mut p).map_err(|e| fail(p, &e))?;
                let mut items = Vec::new();
                for _ in 0..k {
                    items.push(one_item(&mut p)?);
                }
                Entry::FanOut(items)
            }
            s => return Err(fail(p - 1, &format!("unknown status {}", s))),
        });
    }
    if p != b.len() {
        return Err(format!("{} trailing bytes after the last entry", b.len() - p));
    }
    Ok(out)
}

fn unique_names(list: &AttrList<'_>) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for a in list.iter() {
        if !seen.insert(a.name()) {
            return Err(format!("attribute name {:?} occurs more than once", a.name()));
        }
        unique_in(&a.value())?;
    }
    Ok(())
}

fn unique_in(v: &Value<'_>) -> Result<(), String> {
    match v.kind() {
        Kind::M => unique_names(&v.as_m().unwrap_or_else(|| unreachable!())),
        Kind::L => v.as_l().into_iter().flatten().try_for_each(|e| unique_in(&e)),
        _ => Ok(()),
    }
}

/// Runs a plugin natively through the same [`Host`] the exports use.
pub struct Harness<P: Plugin> {
    host: Host<P>,
}

impl<P: Plugin> Harness<P> {
    /// Wraps a plugin.
    pub fn new(plugin: P) -> Harness<P> {
        Harness { host: Host::new(plugin) }
    }

    /// The plugin.
    pub fn plugin(&self) -> &P {
        self.host.plugin()
    }

    /// The `describe` JSON, checked to be an object with string fields
    /// "name" and "version" and, if present, an object "parameters".
    pub fn describe(&mut self) -> String {
        let s = String::from_utf8(self.host.describe().to_vec()).expect("describe is not UTF-8");
        let j = Json::parse(s.as_bytes()).unwrap_or_else(|e| panic!("describe {:?}: {}", s, e));
        assert!(j.get("name").and_then(|v| v.as_str()).map_or(false, |n| !n.is_empty()), "describe {:?}: no name", s);
        assert!(j.get("version").and_then(|v| v.as_str()).map_or(false, |n| !n.is_empty()), "describe {:?}: no version", s);
        if let Some(p) = j.get("parameters") {
            assert!(p.as_object().is_some(), "describe {:?}: parameters is not an object", s);
        }
        s
    }

    /// Configures the plugin as the host does (`{}` for an empty config).
    pub fn configure(&mut self, config: &str) -> Result<(), String> {
        let config = if config.is_empty() { "{}" } else { config };
        Json::parse(config.as_bytes()).unwrap_or_else(|e| panic!("the test's configuration is not JSON: {}", e));
        let n = config.len();
        self.host.alloc(n).copy_from_slice(config.as_bytes());
        match self.host.configure(n) {
            None => Ok(()),
            Some(m) => Err(String::from_utf8(m.to_vec()).expect("configure's message is not UTF-8")),
        }
    }

    /// Runs `transform_batch` on an encoded batch and returns the result
    /// bytes, after checking them as the host does (panics otherwise).
    pub fn transform_batch(&mut self, batch: &[u8]) -> Vec<u8> {
        let want = view::Batch::parse(batch).unwrap_or_else(|e| panic!("the test's batch is malformed: {}", e)).len();
        self.host.alloc(batch.len()).copy_from_slice(batch);
        // Checked by Batch::parse above.
        let out = unsafe { self.host.transform_batch(batch.len()) }.to_vec();
        if let Err(e) = decode_results(&out, want) {
            panic!("the plugin's result breaks the ABI: {}\nresult: {:02x?}", e, out);
        }
        out
    }

    /// Runs `transform_batch` on encoded items and returns the decoded
    /// entries.
    pub fn transform<T: AsRef<[u8]>>(&mut self, items: &[T]) -> Vec<Entry> {
        let out = self.transform_batch(&batch(items));
        decode_results(&out, items.len()).unwrap_or_else(|e| unreachable!("{}", e))
    }
}

/// Configures `plugin` with `config` and runs it on an encoded batch:
/// returns the result bytes, or the plugin's refusal of the configuration.
pub fn run<P: Plugin>(plugin: P, config: &str, batch: &[u8]) -> Result<Vec<u8>, String> {
    let mut h = Harness::new(plugin);
    h.configure(config)?;
    Ok(h.transform_batch(batch))
}

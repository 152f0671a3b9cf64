//! The result writer (ABI.md, "Result") and builders of items and values.
//!
//! [`Output`] appends the canonical result encoding to one buffer that
//! lives as long as the plugin instance, so a batch costs no allocation
//! once the buffer has grown to the batch's size. The builders write
//! straight into that buffer: an attribute count is written as one
//! placeholder byte and patched when the list is done (shifting the bytes
//! after it only for lists of 128 or more elements).
//!
//! The writer does not check what the host checks again (ABI.md, "What the
//! host checks"): attribute names must be non-empty and unique within an
//! item or map, N values and NS elements DynamoDB number text, sets
//! non-empty and nesting at most 32 levels deep. A result that breaks these
//! fails the whole batch; [`crate::testing`] checks them in native tests.

use crate::names::NameMatch;
use crate::varint;
use crate::view::{Attr, AttrList, Item, Value};

/// A value to write: borrowed data of any DynamoDB type, or a copy of a
/// value read from the input.
#[derive(Clone, Copy, Debug)]
pub enum Val<'v> {
    /// String.
    S(&'v str),
    /// Number as DynamoDB number text, e.g. `"12.5"`.
    N(&'v str),
    /// Binary.
    B(&'v [u8]),
    /// Boolean.
    Bool(bool),
    /// Null.
    Null,
    /// String set (at least one element).
    SS(&'v [&'v str]),
    /// Number set (at least one element, number text).
    NS(&'v [&'v str]),
    /// Binary set (at least one element).
    BS(&'v [&'v [u8]]),
    /// List.
    L(&'v [Val<'v>]),
    /// Map: attributes in order.
    M(&'v [(&'v str, Val<'v>)]),
    /// A value of the input, copied as it is.
    Raw(Value<'v>),
}

#[inline]
fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    varint::put(buf, b.len() as u32);
    buf.extend_from_slice(b);
}

/// Writes `n` at the one-byte placeholder at `pos`, widening it when `n`
/// needs more than one byte.
#[inline]
fn patch_count(buf: &mut Vec<u8>, pos: usize, n: u32) {
    if n < 0x80 {
        buf[pos] = n as u8;
        return;
    }
    let mut tmp = [0u8; varint::MAX_LEN];
    let k = varint::encode(n, &mut tmp);
    buf.splice(pos + 1..pos + 1, core::iter::repeat(0).take(k - 1));
    buf[pos..pos + k].copy_from_slice(&tmp[..k]);
}

fn put_set<T: AsRef<[u8]>>(buf: &mut Vec<u8>, tag: u8, elems: &[T]) {
    assert!(!elems.is_empty(), "floe_plugin: DynamoDB sets must not be empty");
    buf.push(tag);
    varint::put(buf, elems.len() as u32);
    for e in elems {
        put_bytes(buf, e.as_ref());
    }
}

fn put_val(buf: &mut Vec<u8>, v: &Val<'_>) {
    match *v {
        Val::S(s) => {
            buf.push(1);
            put_bytes(buf, s.as_bytes());
        }
        Val::N(s) => {
            buf.push(2);
            put_bytes(buf, s.as_bytes());
        }
        Val::B(b) => {
            buf.push(3);
            put_bytes(buf, b);
        }
        Val::Bool(t) => buf.extend_from_slice(&[4, t as u8]),
        Val::Null => buf.push(5),
        Val::SS(e) => put_set(buf, 6, e),
        Val::NS(e) => put_set(buf, 7, e),
        Val::BS(e) => put_set(buf, 8, e),
        Val::L(l) => {
            buf.push(9);
            varint::put(buf, l.len() as u32);
            for e in l {
                put_val(buf, e);
            }
        }
        Val::M(m) => {
            buf.push(10);
            varint::put(buf, m.len() as u32);
            for (name, e) in m {
                put_bytes(buf, name.as_bytes());
                put_val(buf, e);
            }
        }
        Val::Raw(r) => buf.extend_from_slice(r.raw()),
    }
}

/// Appends the encoding of `v` (type tag and payload) to `buf`.
pub fn encode_value(buf: &mut Vec<u8>, v: &Val<'_>) {
    put_val(buf, v);
}

/// Appends the encoding of an attribute list (count, then each name and
/// value) to `buf`.
pub fn encode_attrs(buf: &mut Vec<u8>, attrs: &[(&str, Val<'_>)]) {
    varint::put(buf, attrs.len() as u32);
    for (name, v) in attrs {
        put_bytes(buf, name.as_bytes());
        put_val(buf, v);
    }
}

/// The message of the error entry written when a plugin builds an item
/// with no attributes (which the ABI does not allow).
pub const EMPTY_ITEM: &str = "the plugin produced an item with no attributes";

/// What [`Output::edit`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edited {
    /// Nothing applied: the entry is pass.
    Unchanged,
    /// The entry is the modified item.
    Modified,
    /// The edits removed every attribute: the entry is an error with the
    /// message [`EMPTY_ITEM`] (call [`Output::fail`] to say it better).
    Empty,
}

/// The result of a batch being written: one verdict per input item.
///
/// [`crate::Plugin::transform`] gets the `Output` once per item and calls
/// one verdict method. A later verdict for the same item replaces an
/// earlier one; giving none passes the item.
#[derive(Debug, Default)]
pub struct Output {
    buf: Vec<u8>,
    entry: usize,
}

impl Output {
    /// A new, empty output.
    pub fn new() -> Output {
        Output::default()
    }

    /// Starts a result of `count` entries, reusing the buffer.
    pub(crate) fn begin(&mut self, count: u32) {
        self.buf.clear();
        varint::put(&mut self.buf, count);
        self.entry = self.buf.len();
    }

    /// Starts the next entry.
    #[inline]
    pub(crate) fn start_entry(&mut self) {
        self.entry = self.buf.len();
    }

    /// Ends the entry, writing pass if no verdict was given.
    #[inline]
    pub(crate) fn end_entry(&mut self) {
        if self.buf.len() == self.entry {
            self.buf.push(0);
        }
    }

    /// The result written so far.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    #[inline]
    fn verdict(&mut self, status: u8) -> &mut Vec<u8> {
        self.buf.truncate(self.entry);
        self.buf.push(status);
        &mut self.buf
    }

    /// Keeps the item unchanged (entry `00`). The default.
    #[inline]
    pub fn pass(&mut self) {
        self.verdict(0);
    }

    /// Removes the item (entry `02`).
    #[inline]
    pub fn drop(&mut self) {
        self.verdict(2);
    }

    /// Fails the item with a message (entry `03`): the item is dead-lettered
    /// with it; the rest of the batch is kept.
    pub fn fail(&mut self, msg: &str) {
        put_bytes(self.verdict(3), msg.as_bytes());
    }

    /// Replaces the item by the one `build` writes (entry `01`). If `build`
    /// writes no attribute, the entry becomes the error [`EMPTY_ITEM`].
    #[inline]
    pub fn modified<F: FnOnce(&mut AttrWriter<'_>)>(&mut self, build: F) {
        let buf = self.verdict(1);
        if write_attrs(buf, build) == 0 {
            self.fail(EMPTY_ITEM);
        }
    }

    /// Replaces the item by a copy of `item` (entry `01`).
    pub fn modified_item(&mut self, item: &Item<'_>) {
        self.verdict(1).extend_from_slice(item.raw());
    }

    /// Replaces the item by the items `build` writes, zero or more (entry
    /// `04`). If one of them has no attribute, the entry becomes the error
    /// [`EMPTY_ITEM`].
    pub fn fan_out<F: FnOnce(&mut FanOut<'_>)>(&mut self, build: F) {
        let buf = self.verdict(4);
        let pos = buf.len();
        buf.push(0);
        let mut f = FanOut { buf, count: 0, empty: false };
        build(&mut f);
        let (n, empty) = (f.count, f.empty);
        if empty {
            self.fail(EMPTY_ITEM);
            return;
        }
        patch_count(&mut self.buf, pos, n);
    }

    /// Writes `item` changed by `set` and `remove`, or passes it when
    /// nothing applies.
    ///
    /// Each attribute named in `set` gets its new value, in its old place
    /// when the item has it and after the item's attributes otherwise (in
    /// `set`'s order); attributes named in `remove` (and not in `set`) are
    /// left out; the others are copied. Names in `set` must be distinct.
    /// With `set` empty and no attribute of `remove` present, the entry is
    /// pass.
    pub fn edit<M: NameMatch + ?Sized>(&mut self, item: &Item<'_>, set: &[(&str, Val<'_>)], remove: &M) -> Edited {
        let removed = |a: &Attr<'_>| remove.matches(a.name_bytes());
        if set.is_empty() && !item.any(removed) {
            self.pass();
            return Edited::Unchanged;
        }
        let n = write_attrs(self.verdict(1), |w| {
            item.for_each(|a| {
                if let Some((name, v)) = set.iter().find(|(n, _)| crate::eq_bytes(n.as_bytes(), a.name_bytes())) {
                    w.put(name, v);
                } else if !removed(&a) {
                    w.attr(&a);
                }
            });
            for (name, v) in set {
                if !item.contains(name) {
                    w.put(name, v);
                }
            }
        });
        if n == 0 {
            self.fail(EMPTY_ITEM);
            return Edited::Empty;
        }
        Edited::Modified
    }
}

/// Writes an attribute list with `build` at the end of `buf` and returns
/// its attribute count.
#[inline]
fn write_attrs<F: FnOnce(&mut AttrWriter<'_>)>(buf: &mut Vec<u8>, build: F) -> u32 {
    let pos = buf.len();
    buf.push(0);
    let n = {
        let mut w = AttrWriter { buf: &mut *buf, count: 0 };
        build(&mut w);
        w.count
    };
    patch_count(buf, pos, n);
    n
}

/// Writes a list's elements with `build` at the end of `buf`.
fn write_list<F: FnOnce(&mut ListWriter<'_>)>(buf: &mut Vec<u8>, build: F) {
    let pos = buf.len();
    buf.push(0);
    let n = {
        let mut w = ListWriter { buf: &mut *buf, count: 0 };
        build(&mut w);
        w.count
    };
    patch_count(buf, pos, n);
}

/// Writes the attributes of an item or of an M value, in the order of the
/// calls. Names must be non-empty and unique within the list.
pub struct AttrWriter<'b> {
    buf: &'b mut Vec<u8>,
    count: u32,
}

impl<'b> AttrWriter<'b> {
    /// The number of attributes written so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Reports whether no attribute was written yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    #[inline]
    fn name(&mut self, name: &str) -> &mut Vec<u8> {
        self.count += 1;
        put_bytes(self.buf, name.as_bytes());
        self.buf
    }

    /// Copies an attribute of the input, name and value.
    #[inline]
    pub fn attr(&mut self, a: &Attr<'_>) {
        self.count += 1;
        self.buf.extend_from_slice(a.raw());
    }

    /// Copies every attribute of `list`, as one block of bytes.
    pub fn copy_all(&mut self, list: &AttrList<'_>) {
        let raw = list.raw();
        let mut p = 0;
        let n = varint::get(raw, &mut p);
        self.count += n;
        self.buf.extend_from_slice(&raw[p..]);
    }

    /// Copies the attributes of `list` not named in `names` (a
    /// [`crate::NameSet`], or a slice of names) and returns how many were
    /// left out.
    pub fn copy_without<M: NameMatch + ?Sized>(&mut self, list: &AttrList<'_>, names: &M) -> usize {
        let mut left = 0;
        list.for_each(|a| {
            if names.matches(a.name_bytes()) {
                left += 1;
            } else {
                self.attr(&a);
            }
        });
        left
    }

    /// Writes an attribute with a value of the input under `name`.
    #[inline]
    pub fn value(&mut self, name: &str, v: &Value<'_>) {
        self.name(name).extend_from_slice(v.raw());
    }

    /// Writes an attribute of any value.
    pub fn put(&mut self, name: &str, v: &Val<'_>) {
        put_val(self.name(name), v);
    }

    /// Writes an S attribute.
    #[inline]
    pub fn s(&mut self, name: &str, s: &str) {
        let buf = self.name(name);
        buf.push(1);
        put_bytes(buf, s.as_bytes());
    }

    /// Writes an N attribute from number text (e.g. `"-12.5e3"`).
    #[inline]
    pub fn n(&mut self, name: &str, num: &str) {
        let buf = self.name(name);
        buf.push(2);
        put_bytes(buf, num.as_bytes());
    }

    /// Writes a B attribute.
    #[inline]
    pub fn b(&mut self, name: &str, b: &[u8]) {
        let buf = self.name(name);
        buf.push(3);
        put_bytes(buf, b);
    }

    /// Writes a BOOL attribute.
    #[inline]
    pub fn bool(&mut self, name: &str, t: bool) {
        self.name(name).extend_from_slice(&[4, t as u8]);
    }

    /// Writes a NULL attribute.
    #[inline]
    pub fn null(&mut self, name: &str) {
        self.name(name).push(5);
    }

    /// Writes an SS attribute. Panics (a trap) if `elems` is empty.
    pub fn ss<T: AsRef<str>>(&mut self, name: &str, elems: &[T]) {
        let buf = self.name(name);
        assert!(!elems.is_empty(), "floe_plugin: DynamoDB sets must not be empty");
        buf.push(6);
        varint::put(buf, elems.len() as u32);
        for e in elems {
            put_bytes(buf, e.as_ref().as_bytes());
        }
    }

    /// Writes an NS attribute of number text. Panics if `elems` is empty.
    pub fn ns<T: AsRef<str>>(&mut self, name: &str, elems: &[T]) {
        let buf = self.name(name);
        assert!(!elems.is_empty(), "floe_plugin: DynamoDB sets must not be empty");
        buf.push(7);
        varint::put(buf, elems.len() as u32);
        for e in elems {
            put_bytes(buf, e.as_ref().as_bytes());
        }
    }

    /// Writes a BS attribute. Panics if `elems` is empty.
    pub fn bs<T: AsRef<[u8]>>(&mut self, name: &str, elems: &[T]) {
        put_set(self.name(name), 8, elems);
    }

    /// Writes an L attribute whose elements `build` writes.
    pub fn list<F: FnOnce(&mut ListWriter<'_>)>(&mut self, name: &str, build: F) {
        let buf = self.name(name);
        buf.push(9);
        write_list(buf, build);
    }

    /// Writes an M attribute whose attributes `build` writes (an empty map
    /// is allowed).
    pub fn map<F: FnOnce(&mut AttrWriter<'_>)>(&mut self, name: &str, build: F) {
        let buf = self.name(name);
        buf.push(10);
        write_attrs(buf, build);
    }
}

/// Writes the elements of an L value, in the order of the calls.
pub struct ListWriter<'b> {
    buf: &'b mut Vec<u8>,
    count: u32,
}

impl<'b> ListWriter<'b> {
    /// The number of elements written so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Reports whether no element was written yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    #[inline]
    fn elem(&mut self) -> &mut Vec<u8> {
        self.count += 1;
        self.buf
    }

    /// Copies a value of the input.
    pub fn value(&mut self, v: &Value<'_>) {
        self.elem().extend_from_slice(v.raw());
    }

    /// Writes a value.
    pub fn put(&mut self, v: &Val<'_>) {
        put_val(self.elem(), v);
    }

    /// Writes an S element.
    pub fn s(&mut self, s: &str) {
        self.put(&Val::S(s));
    }

    /// Writes an N element from number text.
    pub fn n(&mut self, num: &str) {
        self.put(&Val::N(num));
    }

    /// Writes a B element.
    pub fn b(&mut self, b: &[u8]) {
        self.put(&Val::B(b));
    }

    /// Writes a BOOL element.
    pub fn bool(&mut self, t: bool) {
        self.put(&Val::Bool(t));
    }

    /// Writes a NULL element.
    pub fn null(&mut self) {
        self.put(&Val::Null);
    }

    /// Writes an SS element. Panics if `elems` is empty.
    pub fn ss<T: AsRef<str>>(&mut self, elems: &[T]) {
        let buf = self.elem();
        assert!(!elems.is_empty(), "floe_plugin: DynamoDB sets must not be empty");
        buf.push(6);
        varint::put(buf, elems.len() as u32);
        for e in elems {
            put_bytes(buf, e.as_ref().as_bytes());
        }
    }

    /// Writes an NS element of number text. Panics if `elems` is empty.
    pub fn ns<T: AsRef<str>>(&mut self, elems: &[T]) {
        let buf = self.elem();
        assert!(!elems.is_empty(), "floe_plugin: DynamoDB sets must not be empty");
        buf.push(7);
        varint::put(buf, elems.len() as u32);
        for e in elems {
            put_bytes(buf, e.as_ref().as_bytes());
        }
    }

    /// Writes a BS element. Panics if `elems` is empty.
    pub fn bs<T: AsRef<[u8]>>(&mut self, elems: &[T]) {
        put_set(self.elem(), 8, elems);
    }

    /// Writes an L element whose elements `build` writes.
    pub fn list<F: FnOnce(&mut ListWriter<'_>)>(&mut self, build: F) {
        let buf = self.elem();
        buf.push(9);
        write_list(buf, build);
    }

    /// Writes an M element whose attributes `build` writes.
    pub fn map<F: FnOnce(&mut AttrWriter<'_>)>(&mut self, build: F) {
        let buf = self.elem();
        buf.push(10);
        write_attrs(buf, build);
    }
}

/// Writes the items of a fan-out entry.
pub struct FanOut<'b> {
    buf: &'b mut Vec<u8>,
    count: u32,
    empty: bool,
}

impl<'b> FanOut<'b> {
    /// The number of items written so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Reports whether no item was written yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Writes an item whose attributes `build` writes.
    pub fn item<F: FnOnce(&mut AttrWriter<'_>)>(&mut self, build: F) {
        self.count += 1;
        if write_attrs(self.buf, build) == 0 {
            self.empty = true;
        }
    }

    /// Writes a copy of an item of the input.
    pub fn copy(&mut self, item: &Item<'_>) {
        self.count += 1;
        self.buf.extend_from_slice(item.raw());
    }
}

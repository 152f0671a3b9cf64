//! Read-only views over the binary encoding of batches, items and values
//! (ABI.md, "Encoding"). A view borrows the input buffer and copies
//! nothing.
//!
//! [`Batch::parse`] checks the whole batch once: varints, lengths, type
//! tags, UTF-8 of names, S values and SS elements, number text, BOOL bytes,
//! non-empty sets and items, nesting depth, trailing bytes. The views it
//! hands out then decode lazily without re-checking (indexing stays
//! bounds-checked, so even a bug could only trap, never read out of
//! bounds). Names are not checked for uniqueness.

use crate::varint;
use core::fmt;

/// DynamoDB's nesting limit for L and M values: a top-level attribute's
/// value is level 1.
pub const MAX_DEPTH: u32 = 32;

/// A DynamoDB attribute type. The discriminants are the ABI's type tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// String.
    S = 1,
    /// Number, as its exact decimal text.
    N = 2,
    /// Binary.
    B = 3,
    /// Boolean.
    Bool = 4,
    /// Null.
    Null = 5,
    /// String set.
    SS = 6,
    /// Number set.
    NS = 7,
    /// Binary set.
    BS = 8,
    /// List.
    L = 9,
    /// Map.
    M = 10,
}

impl Kind {
    /// The kind of a type tag, or `None` for a tag outside 1–10.
    pub fn from_tag(tag: u8) -> Option<Kind> {
        Some(match tag {
            1 => Kind::S,
            2 => Kind::N,
            3 => Kind::B,
            4 => Kind::Bool,
            5 => Kind::Null,
            6 => Kind::SS,
            7 => Kind::NS,
            8 => Kind::BS,
            9 => Kind::L,
            10 => Kind::M,
            _ => return None,
        })
    }

    /// The ABI's type tag.
    pub fn tag(self) -> u8 {
        self as u8
    }

    /// DynamoDB's name of the type: "S", "N", ..., "BOOL", "NULL", ..., "M".
    pub fn name(self) -> &'static str {
        match self {
            Kind::S => "S",
            Kind::N => "N",
            Kind::B => "B",
            Kind::Bool => "BOOL",
            Kind::Null => "NULL",
            Kind::SS => "SS",
            Kind::NS => "NS",
            Kind::BS => "BS",
            Kind::L => "L",
            Kind::M => "M",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A malformed batch: what is wrong and the byte offset where checking
/// stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset in the input.
    pub offset: usize,
    /// What is wrong.
    pub msg: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.msg)
    }
}

impl std::error::Error for DecodeError {}

// ---------------------------------------------------------------------------
// Checking

struct Checker<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Checker<'a> {
    fn err<T>(&self, msg: &'static str) -> Result<T, DecodeError> {
        Err(DecodeError { offset: self.p, msg })
    }

    fn varint(&mut self) -> Result<u32, DecodeError> {
        let start = self.p;
        varint::check(self.b, &mut self.p).map_err(|msg| DecodeError { offset: start, msg })
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.varint()? as usize;
        if n > self.b.len() - self.p {
            return self.err("length exceeds the bytes left");
        }
        let s = &self.b[self.p..self.p + n];
        self.p += n;
        Ok(s)
    }

    fn utf8(&mut self, what: &'static str) -> Result<(), DecodeError> {
        let start = self.p;
        let s = self.bytes()?;
        if core::str::from_utf8(s).is_err() {
            return Err(DecodeError { offset: start, msg: what });
        }
        Ok(())
    }

    fn number(&mut self) -> Result<(), DecodeError> {
        let start = self.p;
        let s = self.bytes()?;
        if !valid_number(s) {
            return Err(DecodeError { offset: start, msg: "N value is not DynamoDB number text" });
        }
        Ok(())
    }

    /// Checks a count of elements of at least `min` bytes each.
    fn count(&mut self, min: usize) -> Result<u32, DecodeError> {
        let n = self.varint()?;
        if (n as u64) * (min as u64) > (self.b.len() - self.p) as u64 {
            return self.err("count exceeds the bytes left");
        }
        Ok(n)
    }

    /// Checks an attribute list whose values sit at level `depth`.
    fn attrs(&mut self, depth: u32) -> Result<u32, DecodeError> {
        let n = self.count(3)?;
        for _ in 0..n {
            let start = self.p;
            let name = self.bytes()?;
            if name.is_empty() {
                return Err(DecodeError { offset: start, msg: "attribute name is empty" });
            }
            if core::str::from_utf8(name).is_err() {
                return Err(DecodeError { offset: start, msg: "attribute name is not valid UTF-8" });
            }
            self.value(depth)?;
        }
        Ok(n)
    }

    fn value(&mut self, depth: u32) -> Result<(), DecodeError> {
        let tag = match self.b.get(self.p) {
            Some(&t) => t,
            None => return self.err("truncated value: missing type tag"),
        };
        self.p += 1;
        match tag {
            1 => self.utf8("S value is not valid UTF-8"),
            2 => self.number(),
            3 => self.bytes().map(|_| ()),
            4 => match self.b.get(self.p) {
                Some(0) | Some(1) => {
                    self.p += 1;
                    Ok(())
                }
                Some(_) => self.err("BOOL byte is not 0 or 1"),
                None => self.err("truncated BOOL value"),
            },
            5 => Ok(()),
            6..=8 => {
                let n = self.count(1)?;
                if n == 0 {
                    return self.err("empty set");
                }
                for _ in 0..n {
                    match tag {
                        6 => self.utf8("SS element is not valid UTF-8")?,
                        7 => self.number()?,
                        _ => {
                            self.bytes()?;
                        }
                    }
                }
                Ok(())
            }
            9 => {
                if depth > MAX_DEPTH {
                    return self.err("value nested deeper than 32 levels");
                }
                let n = self.count(1)?;
                for _ in 0..n {
                    self.value(depth + 1)?;
                }
                Ok(())
            }
            10 => {
                if depth > MAX_DEPTH {
                    return self.err("value nested deeper than 32 levels");
                }
                self.attrs(depth + 1).map(|_| ())
            }
            _ => {
                self.p -= 1;
                self.err("unknown type tag")
            }
        }
    }
}

/// Reports whether `b` is DynamoDB number text: an optional `-`, digits, an
/// optional `.` and digits, an optional exponent (`e` or `E`, an optional
/// sign, digits).
pub fn valid_number(b: &[u8]) -> bool {
    fn digits(b: &[u8], mut i: usize) -> Option<usize> {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i > start {
            Some(i)
        } else {
            None
        }
    }
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i = 1;
    }
    i = match digits(b, i) {
        Some(i) => i,
        None => return false,
    };
    if i < b.len() && b[i] == b'.' {
        i = match digits(b, i + 1) {
            Some(i) => i,
            None => return false,
        };
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        i = match digits(b, i) {
            Some(i) => i,
            None => return false,
        };
    }
    i == b.len()
}

// ---------------------------------------------------------------------------
// Trusted reading of checked input

#[inline]
fn read_bytes<'a>(b: &'a [u8], p: &mut usize) -> &'a [u8] {
    let n = varint::get(b, p) as usize;
    let s = &b[*p..*p + n];
    *p += n;
    s
}

#[inline]
fn skip_bytes(b: &[u8], p: &mut usize) {
    let n = varint::get(b, p) as usize;
    *p += n;
}

/// Advances `p` over one trusted value (tag and payload). Counted loops
/// are unrolled, and the recursion into lists and maps goes through
/// functions that are never inlined here: a self-recursive tail call would
/// become a WebAssembly loop around the whole function, and the host's
/// deadline check at every loop iteration costs far more than a call.
fn skip_value(b: &[u8], p: &mut usize) {
    let tag = b[*p];
    *p += 1;
    match tag {
        1..=3 => skip_bytes(b, p),
        4 => *p += 1,
        6..=8 => {
            let n = varint::get(b, p);
            unrolled!(n, { skip_bytes(b, p) });
        }
        9 => skip_list(b, p),
        10 => skip_attrs(b, p),
        _ => {}
    }
}

#[inline(never)]
fn skip_list(b: &[u8], p: &mut usize) {
    let n = varint::get(b, p);
    unrolled!(n, { skip_value(b, p) });
}

#[inline(always)]
fn skip_attr(b: &[u8], p: &mut usize) {
    skip_bytes(b, p);
    skip_value(b, p);
}

#[inline(never)]
fn skip_attrs(b: &[u8], p: &mut usize) {
    let n = varint::get(b, p);
    unrolled!(n, { skip_attr(b, p) });
}

/// Reads the attribute at `*p` of trusted input.
#[inline(always)]
fn next_attr<'a>(b: &'a [u8], p: &mut usize) -> Attr<'a> {
    let start = *p;
    let name = read_bytes(b, p);
    let vstart = *p;
    skip_value(b, p);
    Attr { raw: &b[start..*p], name, value: Value { raw: &b[vstart..*p] } }
}

#[inline(always)]
fn load64(a: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&a[i..i + 8]);
    u64::from_le_bytes(w)
}

#[inline(always)]
fn load32(a: &[u8], i: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&a[i..i + 4]);
    u32::from_le_bytes(w)
}

/// Reports whether `a` and `b` are the same bytes, without a loop for up to
/// 16 bytes (`==` on slices calls a byte loop, costly under the host's
/// deadline checks).
#[inline]
pub fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        if n > 16 {
            return eq_long(a, b);
        }
        return load64(a, 0) == load64(b, 0) && load64(a, n - 8) == load64(b, n - 8);
    }
    if n >= 4 {
        return load32(a, 0) == load32(b, 0) && load32(a, n - 4) == load32(b, n - 4);
    }
    n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1])
}

#[inline(never)]
fn eq_long(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    let mut i = 0;
    while i + 16 <= n {
        if load64(a, i) != load64(b, i) || load64(a, i + 8) != load64(b, i + 8) {
            return false;
        }
        i += 16;
    }
    load64(a, n - 16) == load64(b, n - 16) && load64(a, n - 8) == load64(b, n - 8)
}

/// Converts bytes that [`Batch::parse`] (or [`parse_item`], [`parse_value`])
/// checked to be UTF-8.
#[inline]
fn checked_str(s: &[u8]) -> &str {
    // The bytes come from a Batch, which checked their UTF-8; views cannot
    // be built over unchecked bytes.
    debug_assert!(core::str::from_utf8(s).is_ok());
    unsafe { core::str::from_utf8_unchecked(s) }
}

// ---------------------------------------------------------------------------
// Batch

/// A checked batch of items (ABI.md, "Batch").
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    count: u32,
    body: &'a [u8],
}

impl<'a> Batch<'a> {
    /// Checks the batch encoding in `b` and returns a view of it.
    pub fn parse(b: &'a [u8]) -> Result<Batch<'a>, DecodeError> {
        let mut c = Checker { b, p: 0 };
        let count = c.count(4)?;
        let body_start = c.p;
        for _ in 0..count {
            let start = c.p;
            if c.attrs(1)? == 0 {
                return Err(DecodeError { offset: start, msg: "item has no attributes" });
            }
        }
        if c.p != b.len() {
            return c.err("trailing bytes after the last item");
        }
        Ok(Batch { count, body: &b[body_start..] })
    }

    /// A view of a batch without checking it: what the exports do, since
    /// the host checks everything it sends (ABI.md: "a guest may assume
    /// them"). Malformed input makes the views panic (a trap) rather than
    /// read out of bounds.
    ///
    /// # Safety
    ///
    /// `b` must be a batch that [`Batch::parse`] accepts: the views hand out
    /// names, S values and SS elements as `&str` without checking their
    /// UTF-8.
    pub unsafe fn trusted(b: &'a [u8]) -> Batch<'a> {
        let mut p = 0;
        let count = varint::get(b, &mut p);
        Batch { count, body: &b[p..] }
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Reports whether the batch has no items.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The items, in order.
    pub fn items(&self) -> Items<'a> {
        Items { left: self.count, b: self.body, p: 0 }
    }
}

/// Iterator over the items of a [`Batch`].
#[derive(Clone, Debug)]
pub struct Items<'a> {
    left: u32,
    b: &'a [u8],
    p: usize,
}

impl<'a> Iterator for Items<'a> {
    type Item = Item<'a>;

    #[inline]
    fn next(&mut self) -> Option<Item<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let start = self.p;
        skip_attrs(self.b, &mut self.p);
        Some(AttrList::at(&self.b[start..self.p]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl<'a> ExactSizeIterator for Items<'a> {}

// ---------------------------------------------------------------------------
// Attribute lists: items and maps

/// An attribute list: the attributes of an item or of an M value, in
/// order.
#[derive(Clone, Copy, Debug)]
pub struct AttrList<'a> {
    raw: &'a [u8],
    count: u32,
    body: usize,
}

/// An item: a non-empty attribute list.
pub type Item<'a> = AttrList<'a>;

/// The content of an M value.
pub type Map<'a> = AttrList<'a>;

impl<'a> AttrList<'a> {
    /// `raw` is exactly one checked attribute list.
    #[inline]
    fn at(raw: &'a [u8]) -> AttrList<'a> {
        let mut p = 0;
        let count = varint::get(raw, &mut p);
        AttrList { raw, count, body: p }
    }

    /// The number of attributes.
    #[inline]
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Reports whether there are no attributes (never for an item).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The attributes, in order.
    #[inline]
    pub fn iter(&self) -> Attrs<'a> {
        Attrs { left: self.count, b: self.raw, p: self.body }
    }

    /// Calls `f` on every attribute, in order. Faster than a `for` loop
    /// over [`AttrList::iter`] in WebAssembly: unrolled by 16, so that the
    /// host's deadline check (which leaves the compiled code at the head of
    /// every loop iteration) runs once per 16 attributes, not per attribute.
    #[inline]
    pub fn for_each<F: FnMut(Attr<'a>)>(&self, mut f: F) {
        let b = self.raw;
        let mut p = self.body;
        unrolled!(self.count, { f(next_attr(b, &mut p)) });
    }

    /// The first attribute for which `f` is true (unrolled like
    /// [`AttrList::for_each`]).
    #[inline]
    pub fn find<F: FnMut(&Attr<'a>) -> bool>(&self, mut f: F) -> Option<Attr<'a>> {
        let b = self.raw;
        let mut p = self.body;
        unrolled!(self.count, {
            let a = next_attr(b, &mut p);
            if f(&a) {
                return Some(a);
            }
        });
        None
    }

    /// Reports whether `f` is true for some attribute.
    #[inline]
    pub fn any<F: FnMut(&Attr<'a>) -> bool>(&self, f: F) -> bool {
        self.find(f).is_some()
    }

    /// The attribute named `name`, if any.
    #[inline]
    pub fn attr(&self, name: &str) -> Option<Attr<'a>> {
        let name = name.as_bytes();
        self.find(|a| eq_bytes(a.name, name))
    }

    /// The value of the attribute named `name`, if any.
    #[inline]
    pub fn get(&self, name: &str) -> Option<Value<'a>> {
        self.attr(name).map(|a| a.value)
    }

    /// Reports whether an attribute is named `name`.
    #[inline]
    pub fn contains(&self, name: &str) -> bool {
        self.attr(name).is_some()
    }

    /// The encoded attribute list: count and attributes.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
}

impl<'a> IntoIterator for AttrList<'a> {
    type Item = Attr<'a>;
    type IntoIter = Attrs<'a>;
    fn into_iter(self) -> Attrs<'a> {
        self.iter()
    }
}

impl<'a, 'b> IntoIterator for &'b AttrList<'a> {
    type Item = Attr<'a>;
    type IntoIter = Attrs<'a>;
    fn into_iter(self) -> Attrs<'a> {
        self.iter()
    }
}

/// Iterator over the attributes of an [`AttrList`].
#[derive(Clone, Debug)]
pub struct Attrs<'a> {
    left: u32,
    b: &'a [u8],
    p: usize,
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Attr<'a>;

    #[inline]
    fn next(&mut self) -> Option<Attr<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(next_attr(self.b, &mut self.p))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl<'a> ExactSizeIterator for Attrs<'a> {}

/// One attribute: a name and a value.
#[derive(Clone, Copy, Debug)]
pub struct Attr<'a> {
    raw: &'a [u8],
    name: &'a [u8],
    value: Value<'a>,
}

impl<'a> Attr<'a> {
    /// The attribute's name (never empty).
    #[inline]
    pub fn name(&self) -> &'a str {
        checked_str(self.name)
    }

    /// The name's UTF-8 bytes.
    #[inline]
    pub fn name_bytes(&self) -> &'a [u8] {
        self.name
    }

    /// The attribute's value.
    #[inline]
    pub fn value(&self) -> Value<'a> {
        self.value
    }

    /// The encoded attribute: name length, name, type tag, payload.
    #[inline]
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
}

// ---------------------------------------------------------------------------
// Values

/// One value of any type. The `as_*` accessors return `None` when the value
/// is of another type.
#[derive(Clone, Copy)]
pub struct Value<'a> {
    raw: &'a [u8],
}

impl<'a> Value<'a> {
    /// The value's type.
    #[inline]
    pub fn kind(&self) -> Kind {
        match Kind::from_tag(self.raw[0]) {
            Some(k) => k,
            None => unreachable!(),
        }
    }

    /// The encoded value: type tag and payload.
    #[inline]
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    #[inline]
    fn payload(&self, tag: u8) -> Option<&'a [u8]> {
        if self.raw[0] != tag {
            return None;
        }
        let mut p = 1;
        Some(read_bytes(self.raw, &mut p))
    }

    /// The text of an S value.
    #[inline]
    pub fn as_s(&self) -> Option<&'a str> {
        self.payload(1).map(checked_str)
    }

    /// The exact number text of an N value, e.g. `-12.50e+3`.
    #[inline]
    pub fn as_n(&self) -> Option<&'a str> {
        self.payload(2).map(checked_str)
    }

    /// The bytes of a B value.
    #[inline]
    pub fn as_b(&self) -> Option<&'a [u8]> {
        self.payload(3)
    }

    /// The truth of a BOOL value.
    #[inline]
    pub fn as_bool(&self) -> Option<bool> {
        if self.raw[0] != 4 {
            return None;
        }
        Some(self.raw[1] == 1)
    }

    /// Reports whether this is a NULL value.
    #[inline]
    pub fn is_null(&self) -> bool {
        self.raw[0] == 5
    }

    fn set(&self, tag: u8) -> Option<Set<'a>> {
        if self.raw[0] != tag {
            return None;
        }
        let mut p = 1;
        let count = varint::get(self.raw, &mut p);
        Some(Set { count, b: &self.raw[p..] })
    }

    /// The elements of an SS value.
    pub fn as_ss(&self) -> Option<StrSet<'a>> {
        self.set(6).map(|s| StrSet(s))
    }

    /// The elements (number text) of an NS value.
    pub fn as_ns(&self) -> Option<StrSet<'a>> {
        self.set(7).map(|s| StrSet(s))
    }

    /// The elements of a BS value.
    pub fn as_bs(&self) -> Option<BytesSet<'a>> {
        self.set(8).map(|s| BytesSet(s))
    }

    /// The elements of an L value.
    pub fn as_l(&self) -> Option<List<'a>> {
        if self.raw[0] != 9 {
            return None;
        }
        let mut p = 1;
        let count = varint::get(self.raw, &mut p);
        Some(List { count, b: &self.raw[p..] })
    }

    /// The attributes of an M value.
    pub fn as_m(&self) -> Option<Map<'a>> {
        if self.raw[0] != 10 {
            return None;
        }
        Some(AttrList::at(&self.raw[1..]))
    }
}

impl<'a> PartialEq for Value<'a> {
    /// Values are equal when their encodings are: same type, same content,
    /// N compared as text, maps in order.
    fn eq(&self, o: &Value<'_>) -> bool {
        self.raw == o.raw
    }
}

impl<'a> Eq for Value<'a> {}

impl<'a> fmt::Debug for Value<'a> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            Kind::S => write!(f, "S({:?})", self.as_s().unwrap_or_default()),
            Kind::N => write!(f, "N({})", self.as_n().unwrap_or_default()),
            Kind::B => write!(f, "B({:?})", self.as_b().unwrap_or_default()),
            Kind::Bool => write!(f, "BOOL({})", self.raw[1] == 1),
            Kind::Null => f.write_str("NULL"),
            Kind::SS | Kind::NS => {
                f.write_str(self.kind().name())?;
                f.debug_list().entries(StrSet(self.set(self.raw[0]).unwrap()).iter()).finish()
            }
            Kind::BS => {
                f.write_str("BS")?;
                f.debug_list().entries(BytesSet(self.set(8).unwrap()).iter()).finish()
            }
            Kind::L => {
                f.write_str("L")?;
                f.debug_list().entries(self.as_l().unwrap().iter()).finish()
            }
            Kind::M => {
                f.write_str("M")?;
                f.debug_map()
                    .entries(self.as_m().unwrap().iter().map(|a| (a.name(), a.value())))
                    .finish()
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Set<'a> {
    count: u32,
    b: &'a [u8],
}

/// The elements of an SS or NS value (NS elements are number text).
#[derive(Clone, Copy, Debug)]
pub struct StrSet<'a>(Set<'a>);

impl<'a> StrSet<'a> {
    /// The number of elements (at least 1).
    pub fn len(&self) -> usize {
        self.0.count as usize
    }

    /// Always false: DynamoDB sets are never empty.
    pub fn is_empty(&self) -> bool {
        self.0.count == 0
    }

    /// The elements, in order.
    pub fn iter(&self) -> StrSetIter<'a> {
        StrSetIter(BytesSetIter { left: self.0.count, b: self.0.b, p: 0 })
    }

    /// Reports whether `s` is an element.
    pub fn contains(&self, s: &str) -> bool {
        self.iter().any(|e| e == s)
    }
}

impl<'a> IntoIterator for StrSet<'a> {
    type Item = &'a str;
    type IntoIter = StrSetIter<'a>;
    fn into_iter(self) -> StrSetIter<'a> {
        self.iter()
    }
}

/// Iterator over a [`StrSet`].
#[derive(Clone, Debug)]
pub struct StrSetIter<'a>(BytesSetIter<'a>);

impl<'a> Iterator for StrSetIter<'a> {
    type Item = &'a str;
    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        self.0.next().map(checked_str)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<'a> ExactSizeIterator for StrSetIter<'a> {}

/// The elements of a BS value.
#[derive(Clone, Copy, Debug)]
pub struct BytesSet<'a>(Set<'a>);

impl<'a> BytesSet<'a> {
    /// The number of elements (at least 1).
    pub fn len(&self) -> usize {
        self.0.count as usize
    }

    /// Always false: DynamoDB sets are never empty.
    pub fn is_empty(&self) -> bool {
        self.0.count == 0
    }

    /// The elements, in order.
    pub fn iter(&self) -> BytesSetIter<'a> {
        BytesSetIter { left: self.0.count, b: self.0.b, p: 0 }
    }
}

impl<'a> IntoIterator for BytesSet<'a> {
    type Item = &'a [u8];
    type IntoIter = BytesSetIter<'a>;
    fn into_iter(self) -> BytesSetIter<'a> {
        self.iter()
    }
}

/// Iterator over a [`BytesSet`].
#[derive(Clone, Debug)]
pub struct BytesSetIter<'a> {
    left: u32,
    b: &'a [u8],
    p: usize,
}

impl<'a> Iterator for BytesSetIter<'a> {
    type Item = &'a [u8];
    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(read_bytes(self.b, &mut self.p))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl<'a> ExactSizeIterator for BytesSetIter<'a> {}

/// The elements of an L value.
#[derive(Clone, Copy, Debug)]
pub struct List<'a> {
    count: u32,
    b: &'a [u8],
}

impl<'a> List<'a> {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Reports whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The elements, in order.
    pub fn iter(&self) -> Values<'a> {
        Values { left: self.count, b: self.b, p: 0 }
    }
}

impl<'a> IntoIterator for List<'a> {
    type Item = Value<'a>;
    type IntoIter = Values<'a>;
    fn into_iter(self) -> Values<'a> {
        self.iter()
    }
}

/// Iterator over a [`List`].
#[derive(Clone, Debug)]
pub struct Values<'a> {
    left: u32,
    b: &'a [u8],
    p: usize,
}

impl<'a> Iterator for Values<'a> {
    type Item = Value<'a>;
    #[inline]
    fn next(&mut self) -> Option<Value<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let start = self.p;
        skip_value(self.b, &mut self.p);
        Some(Value { raw: &self.b[start..self.p] })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl<'a> ExactSizeIterator for Values<'a> {}

/// Checks one encoded value (tag and payload, nothing after it) and returns
/// a view of it, for values built outside a batch.
pub fn parse_value(b: &[u8]) -> Result<Value<'_>, DecodeError> {
    let mut c = Checker { b, p: 0 };
    c.value(1)?;
    if c.p != b.len() {
        return c.err("trailing bytes after the value");
    }
    Ok(Value { raw: b })
}

/// Checks one encoded item (a non-empty attribute list, nothing after it)
/// and returns a view of it.
pub fn parse_item(b: &[u8]) -> Result<Item<'_>, DecodeError> {
    let mut c = Checker { b, p: 0 };
    if c.attrs(1)? == 0 {
        return Err(DecodeError { offset: 0, msg: "item has no attributes" });
    }
    if c.p != b.len() {
        return c.err("trailing bytes after the item");
    }
    Ok(AttrList::at(b))
}

/// Checks the item that starts at `*p` in `b` and advances `*p` past it.
pub(crate) fn check_item_at(b: &[u8], p: &mut usize) -> Result<(), DecodeError> {
    let mut c = Checker { b, p: *p };
    let start = c.p;
    if c.attrs(1)? == 0 {
        return Err(DecodeError { offset: start, msg: "item has no attributes" });
    }
    *p = c.p;
    Ok(())
}

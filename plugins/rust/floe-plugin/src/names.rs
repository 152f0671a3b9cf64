//! Sets of attribute names, for plugins that act on configured attributes.

use crate::view::eq_bytes;

/// Something that says whether an attribute name is in it: a [`NameSet`],
/// or a slice, array or Vec of names.
pub trait NameMatch {
    /// Reports whether `name` (UTF-8 bytes) is one of the names.
    fn matches(&self, name: &[u8]) -> bool;
}

impl<N: AsRef<str>> NameMatch for [N] {
    fn matches(&self, name: &[u8]) -> bool {
        self.iter().any(|n| eq_bytes(n.as_ref().as_bytes(), name))
    }
}

impl<N: AsRef<str>, const K: usize> NameMatch for [N; K] {
    fn matches(&self, name: &[u8]) -> bool {
        self[..].matches(name)
    }
}

impl<N: AsRef<str>> NameMatch for Vec<N> {
    fn matches(&self, name: &[u8]) -> bool {
        self[..].matches(name)
    }
}

impl<T: NameMatch + ?Sized> NameMatch for &T {
    fn matches(&self, name: &[u8]) -> bool {
        (**self).matches(name)
    }
}

/// A set of names with a loop-free test for most names that are not in
/// it: a bitmap of the names' lengths and one of their first bytes reject
/// them before any comparison.
#[derive(Clone, Debug, Default)]
pub struct NameSet {
    names: Vec<String>,
    /// Bit l for a name of length l < 63; bit 63 for any longer one.
    lens: u64,
    /// Bit c for a name whose first byte is c.
    first: [u64; 4],
    has_empty: bool,
}

#[inline]
fn len_bit(n: usize) -> u64 {
    1u64 << n.min(63)
}

impl NameSet {
    /// A set of the given names (duplicates are kept once).
    pub fn new<I, S>(names: I) -> NameSet
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = NameSet::default();
        for n in names {
            let n = n.as_ref();
            if set.contains(n.as_bytes()) {
                continue;
            }
            set.lens |= len_bit(n.len());
            match n.as_bytes().first() {
                Some(&c) => set.first[(c >> 6) as usize] |= 1 << (c & 63),
                None => set.has_empty = true,
            }
            set.names.push(n.to_string());
        }
        set
    }

    /// Reports whether `name` is in the set.
    #[inline]
    pub fn contains(&self, name: &[u8]) -> bool {
        if self.lens & len_bit(name.len()) == 0 {
            return false;
        }
        match name.first() {
            Some(&c) if self.first[(c >> 6) as usize] & (1 << (c & 63)) == 0 => false,
            Some(_) => self.compare(name),
            None => self.has_empty,
        }
    }

    #[inline(never)]
    fn compare(&self, name: &[u8]) -> bool {
        self.names.iter().any(|n| eq_bytes(n.as_bytes(), name))
    }

    /// The number of names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Reports whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The names, in the order first given.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|s| s.as_str())
    }
}

impl NameMatch for NameSet {
    #[inline]
    fn matches(&self, name: &[u8]) -> bool {
        self.contains(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership() {
        let long = "x".repeat(100);
        let set = NameSet::new(["email", "phone", "e", "émoji", &long, "email"]);
        assert_eq!(set.len(), 5);
        for n in ["email", "phone", "e", "émoji", &long] {
            assert!(set.contains(n.as_bytes()), "{}", n);
        }
        for n in ["", "emai", "emails", "Email", "f", "phonf", "x", &"x".repeat(99), &"x".repeat(101), &"y".repeat(100)] {
            assert!(!set.contains(n.as_bytes()), "{}", n);
        }
        assert!(NameSet::new([""]).contains(b""));
        assert!(!NameSet::new(Vec::<String>::new()).contains(b"a"));
        assert!(["a", "bc"].matches(b"bc"));
        assert!(!vec!["a".to_string()].matches(b"b"));
        assert!((&set).matches(b"phone"));
        assert_eq!(set.iter().collect::<Vec<_>>(), ["email", "phone", "e", "émoji", &long[..]]);
    }

    #[test]
    fn eq_bytes_every_length() {
        let a: Vec<u8> = (0..64).collect();
        for n in 0..64 {
            let x = &a[..n];
            assert!(eq_bytes(x, &a[..n]));
            for i in 0..n {
                let mut y = x.to_vec();
                y[i] ^= 1;
                assert!(!eq_bytes(x, &y), "len {} differing at {}", n, i);
            }
            if n > 0 {
                assert!(!eq_bytes(x, &a[..n - 1]));
            }
        }
    }
}

//! Unsigned LEB128 varints of 32-bit values (ABI.md, "Varints").

/// The longest varint the ABI allows: 5 bytes carry 32 bits.
pub(crate) const MAX_LEN: usize = 5;

/// Appends `v` as a minimal unsigned LEB128. Loop-free: under the host's
/// deadline checks every WebAssembly loop iteration costs about 25 ns.
#[inline]
pub(crate) fn put(buf: &mut Vec<u8>, v: u32) {
    if v < 0x80 {
        buf.push(v as u8);
    } else {
        put_long(buf, v);
    }
}

#[inline(never)]
fn put_long(buf: &mut Vec<u8>, v: u32) {
    let mut tmp = [0u8; MAX_LEN];
    let n = encode(v, &mut tmp);
    buf.extend_from_slice(&tmp[..n]);
}

/// Encodes `v` into `tmp` and returns its length, without a loop.
#[inline]
pub(crate) fn encode(v: u32, tmp: &mut [u8; MAX_LEN]) -> usize {
    tmp[0] = v as u8 | 0x80;
    tmp[1] = (v >> 7) as u8 | 0x80;
    tmp[2] = (v >> 14) as u8 | 0x80;
    tmp[3] = (v >> 21) as u8 | 0x80;
    tmp[4] = (v >> 28) as u8;
    let n = if v < 1 << 7 {
        1
    } else if v < 1 << 14 {
        2
    } else if v < 1 << 21 {
        3
    } else if v < 1 << 28 {
        4
    } else {
        5
    };
    tmp[n - 1] &= 0x7f;
    n
}

/// Reads a varint of trusted input (a batch the host checked), without a
/// loop. Out-of-bounds input panics (a trap), never reads beyond `b`.
#[inline]
pub(crate) fn get(b: &[u8], p: &mut usize) -> u32 {
    let c = b[*p];
    if c < 0x80 {
        *p += 1;
        return c as u32;
    }
    get_long(b, p)
}

#[inline(never)]
fn get_long(b: &[u8], p: &mut usize) -> u32 {
    let i = *p;
    let mut v = (b[i] & 0x7f) as u32;
    let c = b[i + 1];
    v |= ((c & 0x7f) as u32) << 7;
    if c < 0x80 {
        *p = i + 2;
        return v;
    }
    let c = b[i + 2];
    v |= ((c & 0x7f) as u32) << 14;
    if c < 0x80 {
        *p = i + 3;
        return v;
    }
    let c = b[i + 3];
    v |= ((c & 0x7f) as u32) << 21;
    if c < 0x80 {
        *p = i + 4;
        return v;
    }
    v |= (b[i + 4] as u32) << 28;
    *p = i + 5;
    v
}

/// Reads and checks a varint: at most 5 bytes, fitting 32 bits, minimal.
pub(crate) fn check(b: &[u8], p: &mut usize) -> Result<u32, &'static str> {
    let mut v: u32 = 0;
    for i in 0..MAX_LEN {
        let c = match b.get(*p) {
            Some(&c) => c,
            None => return Err("truncated varint"),
        };
        if i == MAX_LEN - 1 && c > 0x0f {
            return Err("varint overflows 32 bits");
        }
        *p += 1;
        v |= ((c & 0x7f) as u32) << (7 * i);
        if c < 0x80 {
            if c == 0 && i > 0 {
                return Err("varint is not minimal");
            }
            return Ok(v);
        }
    }
    Err("varint is too long")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let cases: &[(u32, &[u8])] = &[
            (0, &[0x00]),
            (5, &[0x05]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (u32::MAX, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
            (16383, &[0xff, 0x7f]),
            (16384, &[0x80, 0x80, 0x01]),
            (1 << 21, &[0x80, 0x80, 0x80, 0x01]),
            (1 << 28, &[0x80, 0x80, 0x80, 0x80, 0x01]),
        ];
        for &(v, enc) in cases {
            let mut buf = Vec::new();
            put(&mut buf, v);
            assert_eq!(buf, enc, "put({})", v);
            let mut tmp = [0; MAX_LEN];
            let n = encode(v, &mut tmp);
            assert_eq!(&tmp[..n], enc);
            let mut p = 0;
            assert_eq!(get(enc, &mut p), v);
            assert_eq!(p, enc.len());
            let mut p = 0;
            assert_eq!(check(enc, &mut p), Ok(v));
            assert_eq!(p, enc.len());
        }
    }

    #[test]
    fn refuses_bad_varints() {
        for bad in [&[0x80u8][..], &[0x80, 0x00], &[0xff, 0xff, 0xff, 0xff, 0x10], &[]] {
            let mut p = 0;
            assert!(check(bad, &mut p).is_err(), "{:?}", bad);
        }
    }
}

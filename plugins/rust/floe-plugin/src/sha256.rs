//! SHA-256 (FIPS 180-4, section 6.2), written from the standard, and
//! lowercase hex.

/// The round constants K (FIPS 180-4, 4.2.2): the first 32 bits of the
/// fractional parts of the cube roots of the first 64 primes.
const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// The initial hash value H(0) (FIPS 180-4, 5.3.3): the first 32 bits of
/// the fractional parts of the square roots of the first 8 primes.
const H0: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// One round t of the compression (FIPS 180-4, 6.2.2 step 3), with the
/// message schedule (step 1) computed on the way in a 16-word ring. The
/// working variables rotate by renaming instead of moving.
macro_rules! round {
    ($w:ident, $t:expr, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident) => {
        if $t >= 16 {
            let w15 = $w[($t + 1) & 15];
            let w2 = $w[($t + 14) & 15];
            let s0 = w15.rotate_right(7) ^ w15.rotate_right(18) ^ (w15 >> 3);
            let s1 = w2.rotate_right(17) ^ w2.rotate_right(19) ^ (w2 >> 10);
            $w[$t & 15] = $w[$t & 15].wrapping_add(s0).wrapping_add($w[($t + 9) & 15]).wrapping_add(s1);
        }
        let t1 = $h
            .wrapping_add($e.rotate_right(6) ^ $e.rotate_right(11) ^ $e.rotate_right(25))
            .wrapping_add(($e & $f) ^ (!$e & $g))
            .wrapping_add(K[$t])
            .wrapping_add($w[$t & 15]);
        let t2 = ($a.rotate_right(2) ^ $a.rotate_right(13) ^ $a.rotate_right(22))
            .wrapping_add(($a & $b) ^ ($a & $c) ^ ($b & $c));
        $d = $d.wrapping_add(t1);
        $h = t1.wrapping_add(t2);
    };
}

/// Eight rounds from t: one full rotation of the working variables.
macro_rules! rounds8 {
    ($w:ident, $t:expr, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident) => {
        round!($w, $t, $a, $b, $c, $d, $e, $f, $g, $h);
        round!($w, $t + 1, $h, $a, $b, $c, $d, $e, $f, $g);
        round!($w, $t + 2, $g, $h, $a, $b, $c, $d, $e, $f);
        round!($w, $t + 3, $f, $g, $h, $a, $b, $c, $d, $e);
        round!($w, $t + 4, $e, $f, $g, $h, $a, $b, $c, $d);
        round!($w, $t + 5, $d, $e, $f, $g, $h, $a, $b, $c);
        round!($w, $t + 6, $c, $d, $e, $f, $g, $h, $a, $b);
        round!($w, $t + 7, $b, $c, $d, $e, $f, $g, $h, $a);
    };
}

#[inline(always)]
fn be32(b: &[u8; 64], i: usize) -> u32 {
    u32::from_be_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
}

/// Processes one 64-byte block (FIPS 180-4, 6.2.2), fully unrolled: under
/// the host's deadline checks a WebAssembly loop iteration costs more than
/// a round.
#[inline(never)]
fn compress(h: &mut [u32; 8], block: &[u8; 64]) {
    let mut w = [
        be32(block, 0),
        be32(block, 1),
        be32(block, 2),
        be32(block, 3),
        be32(block, 4),
        be32(block, 5),
        be32(block, 6),
        be32(block, 7),
        be32(block, 8),
        be32(block, 9),
        be32(block, 10),
        be32(block, 11),
        be32(block, 12),
        be32(block, 13),
        be32(block, 14),
        be32(block, 15),
    ];
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = *h;
    rounds8!(w, 0, a, b, c, d, e, f, g, hh);
    rounds8!(w, 8, a, b, c, d, e, f, g, hh);
    rounds8!(w, 16, a, b, c, d, e, f, g, hh);
    rounds8!(w, 24, a, b, c, d, e, f, g, hh);
    rounds8!(w, 32, a, b, c, d, e, f, g, hh);
    rounds8!(w, 40, a, b, c, d, e, f, g, hh);
    rounds8!(w, 48, a, b, c, d, e, f, g, hh);
    rounds8!(w, 56, a, b, c, d, e, f, g, hh);
    h[0] = h[0].wrapping_add(a);
    h[1] = h[1].wrapping_add(b);
    h[2] = h[2].wrapping_add(c);
    h[3] = h[3].wrapping_add(d);
    h[4] = h[4].wrapping_add(e);
    h[5] = h[5].wrapping_add(f);
    h[6] = h[6].wrapping_add(g);
    h[7] = h[7].wrapping_add(hh);
}

/// Hashes `data` and returns the final state words (the digest, big
/// endian).
fn digest_words(data: &[u8]) -> [u32; 8] {
    let mut h = H0;
    let whole = data.len() & !63;
    if whole > 0 {
        for block in data[..whole].chunks_exact(64) {
            compress(&mut h, block.try_into().unwrap_or(&[0; 64]));
        }
    }
    let rest = &data[whole..];
    let mut tail = [0u8; 128];
    tail[..rest.len()].copy_from_slice(rest);
    tail[rest.len()] = 0x80;
    let n = if rest.len() < 56 { 64 } else { 128 };
    tail[n - 8..n].copy_from_slice(&((data.len() as u64).wrapping_mul(8)).to_be_bytes());
    let (t0, t1) = tail.split_at(64);
    compress(&mut h, t0.try_into().unwrap_or(&[0; 64]));
    if n == 128 {
        compress(&mut h, t1.try_into().unwrap_or(&[0; 64]));
    }
    h
}

/// An incremental SHA-256 computation.
#[derive(Clone, Debug)]
pub struct Sha256 {
    h: [u32; 8],
    buf: [u8; 64],
    used: usize,
    len: u64,
}

impl Default for Sha256 {
    fn default() -> Self {
        Sha256::new()
    }
}

impl Sha256 {
    /// A new computation.
    pub fn new() -> Sha256 {
        Sha256 { h: H0, buf: [0; 64], used: 0, len: 0 }
    }

    /// Hashes more bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u64);
        if self.used > 0 {
            let k = (64 - self.used).min(data.len());
            self.buf[self.used..self.used + k].copy_from_slice(&data[..k]);
            self.used += k;
            data = &data[k..];
            if self.used < 64 {
                return;
            }
            let block = self.buf;
            compress(&mut self.h, &block);
            self.used = 0;
        }
        let mut blocks = data.chunks_exact(64);
        for block in &mut blocks {
            compress(&mut self.h, block.try_into().unwrap_or(&[0; 64]));
        }
        let rest = blocks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.used = rest.len();
    }

    /// Pads the message (FIPS 180-4, 5.1.1) and returns the digest.
    pub fn finish(mut self) -> [u8; 32] {
        let bits = self.len.wrapping_mul(8);
        let mut tail = [0u8; 128];
        tail[..self.used].copy_from_slice(&self.buf[..self.used]);
        tail[self.used] = 0x80;
        let n = if self.used < 56 { 64 } else { 128 };
        tail[n - 8..n].copy_from_slice(&bits.to_be_bytes());
        let (t0, t1) = tail.split_at(64);
        compress(&mut self.h, t0.try_into().unwrap_or(&[0; 64]));
        if n == 128 {
            compress(&mut self.h, t1.try_into().unwrap_or(&[0; 64]));
        }
        let mut out = [0u8; 32];
        for (o, x) in out.chunks_exact_mut(4).zip(self.h) {
            o.copy_from_slice(&x.to_be_bytes());
        }
        out
    }
}

/// The SHA-256 digest of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let h = digest_words(data);
    let mut out = [0u8; 32];
    for (o, x) in out.chunks_exact_mut(4).zip(h) {
        o.copy_from_slice(&x.to_be_bytes());
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` as lowercase hex into `out`, which must be at least
/// twice as long, and returns the hex.
pub fn hex_into<'o>(bytes: &[u8], out: &'o mut [u8]) -> &'o str {
    let out = &mut out[..bytes.len() * 2];
    for (o, b) in out.chunks_exact_mut(2).zip(bytes) {
        o[0] = HEX[(b >> 4) as usize];
        o[1] = HEX[(b & 15) as usize];
    }
    // Only ASCII hex digits were written.
    core::str::from_utf8(out).unwrap_or_default()
}

/// The 8 lowercase hex digits of `x`, most significant first, computed
/// with word arithmetic instead of a loop.
#[inline(always)]
fn hex_word(x: u32) -> [u8; 8] {
    // Spread the 8 nibbles into the 8 bytes of a u64, most significant
    // nibble in the lowest byte (the first character).
    let x = x.swap_bytes() as u64; // byte 0 of x is now the top byte
    let spread = ((x & 0x0000_00ff) << 0)
        | ((x & 0x0000_ff00) << 8)
        | ((x & 0x00ff_0000) << 16)
        | ((x & 0xff00_0000) << 24);
    // Per 16-bit lane: the high nibble to the low byte, the low nibble to
    // the high byte.
    let n = ((spread >> 4) & 0x000f_000f_000f_000f) | ((spread & 0x000f_000f_000f_000f) << 8);
    // '0' + n, plus 39 more ('a' - '9' - 1) for nibbles above 9.
    let over9 = ((n + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    (n + 0x3030_3030_3030_3030 + over9 * 39).to_le_bytes()
}

/// The lowercase hex of SHA-256 of `data`, 64 characters, written into
/// `out`, without loops (but one per 64 bytes of input).
pub fn sha256_hex<'o>(data: &[u8], out: &'o mut [u8; 64]) -> &'o str {
    let h = digest_words(data);
    out[0..8].copy_from_slice(&hex_word(h[0]));
    out[8..16].copy_from_slice(&hex_word(h[1]));
    out[16..24].copy_from_slice(&hex_word(h[2]));
    out[24..32].copy_from_slice(&hex_word(h[3]));
    out[32..40].copy_from_slice(&hex_word(h[4]));
    out[40..48].copy_from_slice(&hex_word(h[5]));
    out[48..56].copy_from_slice(&hex_word(h[6]));
    out[56..64].copy_from_slice(&hex_word(h[7]));
    // SAFETY: only ASCII hex digits were written (from_utf8 would loop).
    unsafe { core::str::from_utf8_unchecked(&out[..]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(data: &[u8]) -> String {
        let mut out = [0u8; 64];
        sha256_hex(data, &mut out).to_string()
    }

    #[test]
    fn constants_are_the_roots_of_the_primes() {
        let mut primes = Vec::new();
        let mut n = 2u32;
        while primes.len() < 64 {
            if (2..n).all(|d| n % d != 0) {
                primes.push(n);
            }
            n += 1;
        }
        for (i, &p) in primes.iter().enumerate() {
            let c = (p as f64).cbrt();
            assert_eq!(((c - c.floor()) * 4294967296.0) as u32, K[i], "K[{}]", i);
        }
        for (i, &p) in primes[..8].iter().enumerate() {
            let s = (p as f64).sqrt();
            assert_eq!(((s - s.floor()) * 4294967296.0) as u32, H0[i], "H0[{}]", i);
        }
    }

    #[test]
    fn test_vectors() {
        // FIPS 180-4 examples (NIST CSRC "SHA256.pdf") and the empty message.
        assert_eq!(hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            hex(b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        );
        assert_eq!(hex(&vec![b'a'; 1_000_000]), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }

    #[test]
    fn hex_of_words() {
        for x in [0u32, 1, 9, 10, 15, 0x12345678, 0x9abcdef0, 0xffffffff, 0xa0b1c2d3] {
            assert_eq!(std::str::from_utf8(&hex_word(x)).unwrap(), format!("{:08x}", x));
        }
        let mut out = [0u8; 8];
        assert_eq!(hex_into(&[0x00, 0xab, 0x9f, 0xff], &mut out), "00ab9fff");
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 129, 1000] {
            for split in [0, 1, 17, 63, 64, 65] {
                let split = split.min(len);
                let mut s = Sha256::new();
                s.update(&data[..split]);
                s.update(&data[split..len]);
                assert_eq!(s.finish(), sha256(&data[..len]), "len {} split {}", len, split);
            }
        }
    }
}

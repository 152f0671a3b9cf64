//! A small JSON reader for plugin configurations (RFC 8259), and JSON
//! string quoting.
//!
//! Configurations are small and read once per instance, so the reader
//! builds an owned tree. Numbers keep their text. Object members keep
//! their order; [`Json::get`] returns the last member of a name, like Go's
//! `encoding/json`. Escaped lone surrogates become U+FFFD and invalid UTF-8
//! is replaced by U+FFFD, as Go does (the host checks configurations with
//! Go's `json.Valid`, which accepts both).

use core::fmt;

/// Arrays and objects nest at most this deep.
pub const MAX_DEPTH: usize = 512;

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, as its JSON text.
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object's members, in order.
    Object(Vec<(String, Json)>),
}

/// Malformed JSON: what is wrong and the byte offset where reading stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset in the input.
    pub offset: usize,
    /// What is wrong.
    pub msg: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.msg)
    }
}

impl std::error::Error for JsonError {}

impl Json {
    /// Parses one JSON value, with optional whitespace around it.
    pub fn parse(b: &[u8]) -> Result<Json, JsonError> {
        let mut r = Reader { b, p: 0, depth: 0 };
        r.ws();
        let v = r.value()?;
        r.ws();
        if r.p != b.len() {
            return r.err("unexpected data after the value");
        }
        Ok(v)
    }

    /// The value's type in JSON Schema words: "null", "boolean", "number",
    /// "string", "array" or "object".
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }

    /// The member `key` of an object (the last one if repeated), or `None`
    /// if there is none or this is not an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(m) => m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The first member name of an object that is not in `allowed`.
    pub fn unknown_key(&self, allowed: &[&str]) -> Option<&str> {
        match self {
            Json::Object(m) => m.iter().map(|(k, _)| k.as_str()).find(|k| !allowed.contains(k)),
            _ => None,
        }
    }

    /// Reports whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    /// The value of a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The text of a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements of an array.
    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The members of an object.
    pub fn as_object(&self) -> Option<&[(String, Json)]> {
        match self {
            Json::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The JSON text of a number.
    pub fn as_number_text(&self) -> Option<&str> {
        match self {
            Json::Number(n) => Some(n),
            _ => None,
        }
    }

    /// A number as the nearest f64.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number_text().and_then(|n| n.parse().ok())
    }

    /// A number written as an integer (no fraction or exponent) that fits
    /// an i64.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number_text().and_then(|n| n.parse().ok())
    }

    /// A number written as a non-negative integer that fits a u64.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number_text().and_then(|n| n.parse().ok())
    }
}

struct Reader<'a> {
    b: &'a [u8],
    p: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    fn err<T>(&self, msg: &'static str) -> Result<T, JsonError> {
        Err(JsonError { offset: self.p, msg })
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.p) {
            self.p += 1;
        }
    }

    fn literal(&mut self, word: &'static [u8], v: Json) -> Result<Json, JsonError> {
        if self.b[self.p..].starts_with(word) {
            self.p += word.len();
            Ok(v)
        } else {
            self.err("invalid literal")
        }
    }

    fn value(&mut self) -> Result<Json, JsonError> {
        match self.b.get(self.p) {
            None => self.err("unexpected end of input"),
            Some(b'n') => self.literal(b"null", Json::Null),
            Some(b't') => self.literal(b"true", Json::Bool(true)),
            Some(b'f') => self.literal(b"false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => {
                self.enter()?;
                let mut a = Vec::new();
                self.ws();
                if self.b.get(self.p) == Some(&b']') {
                    self.p += 1;
                } else {
                    loop {
                        self.ws();
                        a.push(self.value()?);
                        self.ws();
                        match self.b.get(self.p) {
                            Some(b',') => self.p += 1,
                            Some(b']') => {
                                self.p += 1;
                                break;
                            }
                            _ => return self.err("expected ',' or ']' in array"),
                        }
                    }
                }
                self.depth -= 1;
                Ok(Json::Array(a))
            }
            Some(b'{') => {
                self.enter()?;
                let mut m = Vec::new();
                self.ws();
                if self.b.get(self.p) == Some(&b'}') {
                    self.p += 1;
                } else {
                    loop {
                        self.ws();
                        if self.b.get(self.p) != Some(&b'"') {
                            return self.err("expected a string as object key");
                        }
                        let k = self.string()?;
                        self.ws();
                        if self.b.get(self.p) != Some(&b':') {
                            return self.err("expected ':' after object key");
                        }
                        self.p += 1;
                        self.ws();
                        let v = self.value()?;
                        m.push((k, v));
                        self.ws();
                        match self.b.get(self.p) {
                            Some(b',') => self.p += 1,
                            Some(b'}') => {
                                self.p += 1;
                                break;
                            }
                            _ => return self.err("expected ',' or '}' in object"),
                        }
                    }
                }
                self.depth -= 1;
                Ok(Json::Object(m))
            }
            Some(_) => self.err("unexpected character"),
        }
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("arrays and objects nested too deeply");
        }
        self.p += 1;
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let start = self.p;
        while let Some(b'0'..=b'9') = self.b.get(self.p) {
            self.p += 1;
        }
        self.p - start
    }

    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.p;
        if self.b[self.p] == b'-' {
            self.p += 1;
        }
        match self.b.get(self.p) {
            Some(b'0') => self.p += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.err("expected a digit"),
        }
        if self.b.get(self.p) == Some(&b'.') {
            self.p += 1;
            if self.digits() == 0 {
                return self.err("expected a digit after '.'");
            }
        }
        if let Some(b'e' | b'E') = self.b.get(self.p) {
            self.p += 1;
            if let Some(b'+' | b'-') = self.b.get(self.p) {
                self.p += 1;
            }
            if self.digits() == 0 {
                return self.err("expected a digit in the exponent");
            }
        }
        // ASCII only, so this cannot fail.
        let text = String::from_utf8_lossy(&self.b[start..self.p]).into_owned();
        Ok(Json::Number(text))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0;
        for _ in 0..4 {
            let d = match self.b.get(self.p) {
                Some(&c @ b'0'..=b'9') => c - b'0',
                Some(&c @ b'a'..=b'f') => c - b'a' + 10,
                Some(&c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return self.err("expected 4 hex digits after \\u"),
            };
            v = v * 16 + d as u32;
            self.p += 1;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.p += 1; // the opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let start = self.p;
            while let Some(&c) = self.b.get(self.p) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.p += 1;
            }
            out.extend_from_slice(&self.b[start..self.p]);
            match self.b.get(self.p) {
                None => return self.err("unterminated string"),
                Some(b'"') => {
                    self.p += 1;
                    break;
                }
                Some(b'\\') => {
                    self.p += 1;
                    let c = match self.b.get(self.p) {
                        Some(&c) => c,
                        None => return self.err("unterminated string"),
                    };
                    self.p += 1;
                    let simple = match c {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => 0,
                        _ => {
                            self.p -= 1;
                            return self.err("invalid escape in string");
                        }
                    };
                    if c != b'u' {
                        out.push(simple);
                        continue;
                    }
                    let mut cp = self.hex4()?;
                    if (0xd800..0xdc00).contains(&cp) {
                        // A high surrogate: a low one must follow to make a
                        // pair, else it stands for U+FFFD.
                        if self.b[self.p..].starts_with(b"\\u") {
                            let save = self.p;
                            self.p += 2;
                            let lo = self.hex4()?;
                            if (0xdc00..0xe000).contains(&lo) {
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                            } else {
                                self.p = save;
                                cp = 0xfffd;
                            }
                        } else {
                            cp = 0xfffd;
                        }
                    } else if (0xdc00..0xe000).contains(&cp) {
                        cp = 0xfffd;
                    }
                    let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                }
                Some(_) => return self.err("control character in string"),
            }
        }
        Ok(match String::from_utf8(out) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }
}

/// Appends `s` to `out` as a JSON string, with quotes.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `s` as a JSON string, with quotes.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_string(&mut out, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Json {
        Json::String(x.to_string())
    }

    #[test]
    fn parses_values() {
        let j = Json::parse(br#" {"a": [1, -2.5e+3, true, false, null, "x"], "b": {}, "c": [], "a": 0} "#).unwrap();
        assert_eq!(j.get("a"), Some(&Json::Number("0".into())));
        assert_eq!(j.get("b"), Some(&Json::Object(vec![])));
        assert_eq!(j.get("c"), Some(&Json::Array(vec![])));
        let first = &j.as_object().unwrap()[0].1;
        assert_eq!(
            first,
            &Json::Array(vec![
                Json::Number("1".into()),
                Json::Number("-2.5e+3".into()),
                Json::Bool(true),
                Json::Bool(false),
                Json::Null,
                s("x"),
            ])
        );
        assert_eq!(first.as_array().unwrap()[1].as_f64(), Some(-2500.0));
        assert_eq!(first.as_array().unwrap()[0].as_i64(), Some(1));
        assert_eq!(first.as_array().unwrap()[1].as_i64(), None);
        assert_eq!(j.unknown_key(&["a", "b"]), Some("c"));
        assert_eq!(j.unknown_key(&["a", "b", "c"]), None);
        assert_eq!(Json::parse(b"0").unwrap().as_u64(), Some(0));
        assert_eq!(Json::parse(b"\"\"").unwrap(), s(""));
    }

    #[test]
    fn unescapes_strings() {
        let cases: &[(&str, &str)] = &[
            (r#""a\"b\\c\/d""#, "a\"b\\c/d"),
            (r#""\b\f\n\r\t""#, "\u{8}\u{c}\n\r\t"),
            (r#""\u00e9\u20AC""#, "é€"),
            (r#""\ud83d\ude00""#, "😀"),
            (r#""\ud83dx""#, "\u{fffd}x"),
            (r#""\ude00""#, "\u{fffd}"),
            (r#""\ud83d\u0041""#, "\u{fffd}A"),
            ("\"é😀\"", "é😀"),
        ];
        for (inp, want) in cases {
            assert_eq!(Json::parse(inp.as_bytes()).unwrap(), s(want), "{}", inp);
        }
        assert_eq!(Json::parse(b"\"\xff\"").unwrap(), s("\u{fffd}"));
    }

    #[test]
    fn refuses_bad_json() {
        for bad in [
            "", " ", "{", "[1,]", "[1 2]", "{\"a\"}", "{\"a\":}", "{a:1}", "01", "1.", "-", "1e", ".5", "+1", "tru",
            "nul", "\"abc", "\"\\x\"", "\"\\u12g4\"", "\"a\nb\"", "1 2", "[", "{\"a\":1,}", "NaN",
        ] {
            assert!(Json::parse(bad.as_bytes()).is_err(), "{:?} parsed", bad);
        }
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(Json::parse(deep.as_bytes()).is_err());
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(Json::parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn quotes_strings() {
        assert_eq!(quote("a\"b\\c\n\u{1}é"), r#""a\"b\\c\n\u0001é""#);
        let q = quote("x\u{1f}\"y");
        assert_eq!(Json::parse(q.as_bytes()).unwrap(), s("x\u{1f}\"y"));
    }
}

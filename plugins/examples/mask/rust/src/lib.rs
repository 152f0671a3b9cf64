//! The mask example plugin in Rust (see ../README.md): replaces the
//! configured top-level S attributes by the lowercase hex SHA-256 of their
//! UTF-8 bytes.
//!
//! Configuration: `{"attributes":["email"]}`.

use floe_plugin::json::{quote, Json};
use floe_plugin::sha256::sha256_hex;
use floe_plugin::{export_plugin, Info, Item, NameSet, Output, Plugin};

/// The plugin: the configured attribute names.
#[derive(Default)]
pub struct Mask {
    attributes: NameSet,
}

export_plugin!(Mask);

const PARAMETERS: &str = concat!(
    r#"{"type":"object","properties":{"attributes":{"type":"array","minItems":1,"#,
    r#""items":{"type":"string","minLength":1},"#,
    r#""description":"top-level S attributes to replace by the hex SHA-256 of their value"}},"#,
    r#""required":["attributes"],"additionalProperties":false}"#
);

/// "a string", "an array", ...: a JSON value's type for messages.
fn a(j: &Json) -> &'static str {
    match j {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

impl Plugin for Mask {
    fn info(&self) -> Info {
        Info { name: "mask", version: "1.0.0", parameters: Some(PARAMETERS) }
    }

    fn configure(&mut self, config: &[u8]) -> Result<(), String> {
        let cfg = match Json::parse(config) {
            Ok(j @ Json::Object(_)) => j,
            _ => return Err(r#"mask: the configuration must be a JSON object such as {"attributes":["email"]}"#.into()),
        };
        if let Some(k) = cfg.unknown_key(&["attributes"]) {
            return Err(format!(r#"mask: unknown configuration key {} (the only key is "attributes")"#, quote(k)));
        }
        let list = match cfg.get("attributes") {
            None => {
                return Err(r#"mask: "attributes" is missing: list the attributes to mask, e.g. {"attributes":["email"]}"#.into())
            }
            Some(Json::Array(l)) => l,
            Some(j) => return Err(format!(r#"mask: "attributes" must be an array of attribute names, not {}"#, a(j))),
        };
        if list.is_empty() {
            return Err(r#"mask: "attributes" is empty: list at least one attribute"#.into());
        }
        let mut names = Vec::with_capacity(list.len());
        for (i, e) in list.iter().enumerate() {
            match e {
                Json::String(s) if s.is_empty() => return Err(format!(r#"mask: "attributes"[{}] is an empty name"#, i)),
                Json::String(s) => names.push(s.clone()),
                j => return Err(format!(r#"mask: "attributes"[{}] must be a string, not {}"#, i, a(j))),
            }
        }
        self.attributes = NameSet::new(names);
        Ok(())
    }

    fn transform(&mut self, item: &Item<'_>, out: &mut Output) {
        // One pass: write the item with the listed S values hashed, then
        // take it back (pass) if there was none.
        let names = &self.attributes;
        let mut masked = false;
        out.modified(|w| {
            let mut hex = [0u8; 64];
            item.for_each(|a| {
                if names.contains(a.name_bytes()) {
                    if let Some(s) = a.value().as_s() {
                        masked = true;
                        return w.s(a.name(), sha256_hex(s.as_bytes(), &mut hex));
                    }
                }
                w.attr(&a)
            });
        });
        if !masked {
            out.pass();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_plugin::testing::{item, Entry, Harness};
    use floe_plugin::Val;

    fn harness(config: &str) -> Harness<Mask> {
        let mut h = Harness::new(Mask::default());
        h.configure(config).unwrap();
        h
    }

    #[test]
    fn masks_listed_s_attributes() {
        let mut h = harness(r#"{"attributes":["email","phone"]}"#);
        let got = h.transform(&[
            item(&[("id", Val::S("u1")), ("email", Val::S("a@x.io")), ("n", Val::N("1"))]),
            item(&[("id", Val::S("u2")), ("email", Val::N("5"))]),
            item(&[("id", Val::S("u3"))]),
            item(&[("phone", Val::S("")), ("email", Val::S("abc")), ("m", Val::M(&[("email", Val::S("x"))]))]),
        ]);
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let mut hex = [0u8; 64];
        let a = sha256_hex(b"a@x.io", &mut hex).to_string();
        assert_eq!(
            got,
            vec![
                Entry::Modified(item(&[("id", Val::S("u1")), ("email", Val::S(&a)), ("n", Val::N("1"))])),
                Entry::Pass,
                Entry::Pass,
                Entry::Modified(item(&[
                    ("phone", Val::S(empty)),
                    ("email", Val::S(abc)),
                    ("m", Val::M(&[("email", Val::S("x"))])),
                ])),
            ]
        );
    }

    #[test]
    fn refuses_bad_configurations() {
        for (cfg, want) in [
            ("{}", r#""attributes" is missing"#),
            ("[]", "must be a JSON object"),
            ("null", "must be a JSON object"),
            (r#"{"attributes":[]}"#, "is empty"),
            (r#"{"attributes":"email"}"#, "must be an array of attribute names, not a string"),
            (r#"{"attributes":["a",1]}"#, r#""attributes"[1] must be a string, not a number"#),
            (r#"{"attributes":[""]}"#, r#""attributes"[0] is an empty name"#),
            (r#"{"attributes":["a"],"x":1}"#, r#"unknown configuration key "x""#),
        ] {
            let err = Harness::new(Mask::default()).configure(cfg).unwrap_err();
            assert!(err.starts_with("mask: ") && err.contains(want), "{}: {}", cfg, err);
        }
    }

    #[test]
    fn describes_itself() {
        let d = Harness::new(Mask::default()).describe();
        assert!(d.starts_with(r#"{"name":"mask","version":"1.0.0","parameters":{"#), "{}", d);
    }
}

//! The flatten example plugin in Rust (see ../README.md): replaces a
//! top-level M attribute by one top-level attribute per map entry, named
//! `<attribute><separator><key>`.
//!
//! Configuration: `{"attribute":"address","separator":"_"}` (separator
//! optional, default `"_"`).

use floe_plugin::json::{quote, Json};
use floe_plugin::{export_plugin, Info, Item, Output, Plugin};

/// The plugin: the configured attribute, its prefix and a scratch buffer.
#[derive(Default)]
pub struct Flatten {
    attribute: String,
    /// attribute + separator
    prefix: String,
    /// The name being produced, reused.
    name: String,
}

export_plugin!(Flatten);

const PARAMETERS: &str = concat!(
    r#"{"type":"object","properties":{"#,
    r#""attribute":{"type":"string","minLength":1,"description":"top-level M attribute to flatten"},"#,
    r#""separator":{"type":"string","default":"_","description":"put between the attribute's name and each key"}},"#,
    r#""required":["attribute"],"additionalProperties":false}"#
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

/// Sets `name` to `prefix` + `key` and returns it.
#[inline]
fn produce<'n>(name: &'n mut String, prefix: &str, key: &str) -> &'n str {
    name.clear();
    name.push_str(prefix);
    name.push_str(key);
    name
}

impl Plugin for Flatten {
    fn info(&self) -> Info {
        Info { name: "flatten", version: "1.0.0", parameters: Some(PARAMETERS) }
    }

    fn configure(&mut self, config: &[u8]) -> Result<(), String> {
        let cfg = match Json::parse(config) {
            Ok(j @ Json::Object(_)) => j,
            _ => {
                return Err(
                    r#"flatten: the configuration must be a JSON object such as {"attribute":"address","separator":"_"}"#.into(),
                )
            }
        };
        if let Some(k) = cfg.unknown_key(&["attribute", "separator"]) {
            return Err(format!(
                r#"flatten: unknown configuration key {} (the keys are "attribute" and "separator")"#,
                quote(k)
            ));
        }
        let attribute = match cfg.get("attribute") {
            None => {
                return Err(
                    r#"flatten: "attribute" is missing: name the M attribute to flatten, e.g. {"attribute":"address"}"#.into(),
                )
            }
            Some(Json::String(s)) => s.clone(),
            Some(j) => return Err(format!(r#"flatten: "attribute" must be a string, not {}"#, a(j))),
        };
        if attribute.is_empty() {
            return Err(r#"flatten: "attribute" is empty"#.into());
        }
        let separator = match cfg.get("separator") {
            None => "_",
            Some(Json::String(s)) => s.as_str(),
            Some(j) => return Err(format!(r#"flatten: "separator" must be a string, not {}"#, a(j))),
        };
        self.prefix = format!("{}{}", attribute, separator);
        self.attribute = attribute;
        Ok(())
    }

    fn transform(&mut self, item: &Item<'_>, out: &mut Output) {
        let map = match item.get(&self.attribute).and_then(|v| v.as_m()) {
            Some(m) => m,
            None => return, // pass
        };
        if map.is_empty() && item.len() == 1 {
            return out.fail(&format!(
                r#"flatten: removing the empty map "{}" would leave the item with no attributes"#,
                self.attribute
            ));
        }
        // Refuse a produced name that an attribute of the item already has
        // (the first in the map's order).
        let (prefix, name) = (&self.prefix, &mut self.name);
        if let Some(e) = map.find(|e| item.contains(produce(name, prefix, e.name()))) {
            return out.fail(&format!(r#"flatten: attribute "{}{}" already exists"#, prefix, e.name()));
        }
        let attribute = self.attribute.as_bytes();
        out.modified(|w| {
            item.for_each(|a| {
                if !floe_plugin::eq_bytes(a.name_bytes(), attribute) {
                    return w.attr(&a);
                }
                map.for_each(|e| w.value(produce(name, prefix, e.name()), &e.value()));
            })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_plugin::testing::{item, Entry, Harness};
    use floe_plugin::Val;

    fn run(config: &str, items: &[Vec<u8>]) -> Vec<Entry> {
        let mut h = Harness::new(Flatten::default());
        h.configure(config).unwrap();
        h.transform(items)
    }

    #[test]
    fn flattens_one_level() {
        let got = run(
            r#"{"attribute":"address"}"#,
            &[
                item(&[
                    ("id", Val::S("u1")),
                    ("address", Val::M(&[("city", Val::S("Oslo")), ("zip", Val::N("150"))])),
                    ("n", Val::N("1")),
                ]),
                item(&[("id", Val::S("u2")), ("address", Val::S("Main St"))]),
                item(&[("id", Val::S("u3"))]),
                item(&[("address", Val::M(&[("city", Val::S("X"))])), ("address_city", Val::S("Y"))]),
                item(&[("address", Val::M(&[])), ("id", Val::S("u4"))]),
                item(&[("address", Val::M(&[]))]),
                item(&[("address", Val::M(&[("geo", Val::M(&[("lat", Val::N("1"))])), ("l", Val::L(&[Val::M(&[])]))]))]),
            ],
        );
        assert_eq!(
            got,
            vec![
                Entry::Modified(item(&[
                    ("id", Val::S("u1")),
                    ("address_city", Val::S("Oslo")),
                    ("address_zip", Val::N("150")),
                    ("n", Val::N("1")),
                ])),
                Entry::Pass,
                Entry::Pass,
                Entry::Error(r#"flatten: attribute "address_city" already exists"#.into()),
                Entry::Modified(item(&[("id", Val::S("u4"))])),
                Entry::Error(r#"flatten: removing the empty map "address" would leave the item with no attributes"#.into()),
                Entry::Modified(item(&[
                    ("address_geo", Val::M(&[("lat", Val::N("1"))])),
                    ("address_l", Val::L(&[Val::M(&[])])),
                ])),
            ]
        );
    }

    #[test]
    fn custom_separator() {
        let got = run(
            r#"{"attribute":"a","separator":""}"#,
            &[item(&[("a", Val::M(&[("b", Val::S("x")), ("c", Val::Bool(false))])), ("z", Val::Null)])],
        );
        assert_eq!(got, vec![Entry::Modified(item(&[("ab", Val::S("x")), ("ac", Val::Bool(false)), ("z", Val::Null)]))]);
        let got = run(
            r#"{"attribute":"a","separator":"."}"#,
            &[item(&[("a", Val::M(&[("b", Val::S("x"))])), ("a.c", Val::Null)])],
        );
        assert_eq!(got, vec![Entry::Modified(item(&[("a.b", Val::S("x")), ("a.c", Val::Null)]))]);
    }

    #[test]
    fn refuses_bad_configurations() {
        for (cfg, want) in [
            ("{}", r#""attribute" is missing"#),
            (r#"{"separator":"_"}"#, r#""attribute" is missing"#),
            (r#"{"attribute":""}"#, r#""attribute" is empty"#),
            (r#"{"attribute":1}"#, r#""attribute" must be a string, not a number"#),
            (r#"{"attribute":"a","separator":null}"#, r#""separator" must be a string, not null"#),
            (r#"{"attribute":"a","sep":"_"}"#, r#"unknown configuration key "sep""#),
            ("\"a\"", "must be a JSON object"),
        ] {
            let err = Harness::new(Flatten::default()).configure(cfg).unwrap_err();
            assert!(err.starts_with("flatten: ") && err.contains(want), "{}: {}", cfg, err);
        }
        assert!(Harness::new(Flatten::default()).describe().contains(r#""name":"flatten""#));
    }
}

//! The drop example plugin in Rust (see ../README.md): removes the
//! configured top-level attributes.
//!
//! Configuration: `{"attributes":["notes"]}`.

use floe_plugin::json::{quote, Json};
use floe_plugin::{export_plugin, Info, Item, NameSet, Output, Plugin};

/// The plugin: the configured attribute names.
#[derive(Default)]
pub struct DropAttrs {
    attributes: NameSet,
}

export_plugin!(DropAttrs);

const PARAMETERS: &str = concat!(
    r#"{"type":"object","properties":{"attributes":{"type":"array","minItems":1,"#,
    r#""items":{"type":"string","minLength":1},"#,
    r#""description":"top-level attributes to remove"}},"#,
    r#""required":["attributes"],"additionalProperties":false}"#
);

/// The message of the error entry for an item every attribute of which is
/// listed (exactly as the Go version and ../README.md say).
pub const EMPTY_ITEM: &str = "drop: removing the configured attributes would leave the item with no attributes";

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

impl Plugin for DropAttrs {
    fn info(&self) -> Info {
        Info { name: "drop", version: "1.0.0", parameters: Some(PARAMETERS) }
    }

    fn configure(&mut self, config: &[u8]) -> Result<(), String> {
        let cfg = match Json::parse(config) {
            Ok(j @ Json::Object(_)) => j,
            _ => return Err(r#"drop: the configuration must be a JSON object such as {"attributes":["notes"]}"#.into()),
        };
        if let Some(k) = cfg.unknown_key(&["attributes"]) {
            return Err(format!(r#"drop: unknown configuration key {} (the only key is "attributes")"#, quote(k)));
        }
        let list = match cfg.get("attributes") {
            None => {
                return Err(r#"drop: "attributes" is missing: list the attributes to remove, e.g. {"attributes":["notes"]}"#.into())
            }
            Some(Json::Array(l)) => l,
            Some(j) => return Err(format!(r#"drop: "attributes" must be an array of attribute names, not {}"#, a(j))),
        };
        if list.is_empty() {
            return Err(r#"drop: "attributes" is empty: list at least one attribute"#.into());
        }
        let mut names = Vec::with_capacity(list.len());
        for (i, e) in list.iter().enumerate() {
            match e {
                Json::String(s) if s.is_empty() => return Err(format!(r#"drop: "attributes"[{}] is an empty name"#, i)),
                Json::String(s) => names.push(s.as_str()),
                j => return Err(format!(r#"drop: "attributes"[{}] must be a string, not {}"#, i, a(j))),
            }
        }
        self.attributes = NameSet::new(names);
        Ok(())
    }

    fn transform(&mut self, item: &Item<'_>, out: &mut Output) {
        let names = &self.attributes;
        let mut removed = 0;
        item.for_each(|a| {
            if names.contains(a.name_bytes()) {
                removed += 1;
            }
        });
        if removed == 0 {
            return; // pass
        }
        if removed == item.len() {
            return out.fail(EMPTY_ITEM);
        }
        out.modified(|w| {
            w.copy_without(item, names);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_plugin::testing::{item, Entry, Harness};
    use floe_plugin::Val;

    #[test]
    fn removes_listed_attributes() {
        let mut h = Harness::new(DropAttrs::default());
        h.configure(r#"{"attributes":["notes","debug"]}"#).unwrap();
        let got = h.transform(&[
            item(&[("id", Val::S("u1")), ("notes", Val::S("long text")), ("n", Val::N("1"))]),
            item(&[("id", Val::S("u2"))]),
            item(&[("notes", Val::S("x"))]),
            item(&[("debug", Val::M(&[])), ("notes", Val::L(&[]))]),
            item(&[("debug", Val::Bool(true)), ("id", Val::S("u3")), ("m", Val::M(&[("notes", Val::S("kept"))]))]),
        ]);
        assert_eq!(
            got,
            vec![
                Entry::Modified(item(&[("id", Val::S("u1")), ("n", Val::N("1"))])),
                Entry::Pass,
                Entry::Error(EMPTY_ITEM.into()),
                Entry::Error(EMPTY_ITEM.into()),
                Entry::Modified(item(&[("id", Val::S("u3")), ("m", Val::M(&[("notes", Val::S("kept"))]))])),
            ]
        );
    }

    #[test]
    fn refuses_bad_configurations() {
        for (cfg, want) in [
            ("{}", r#""attributes" is missing"#),
            ("true", "must be a JSON object"),
            (r#"{"attributes":[]}"#, "is empty"),
            (r#"{"attributes":{}}"#, "not an object"),
            (r#"{"attributes":[null]}"#, r#""attributes"[0] must be a string, not null"#),
            (r#"{"attributes":["a",""]}"#, r#""attributes"[1] is an empty name"#),
            (r#"{"attributes":["a"],"b":2}"#, r#"unknown configuration key "b""#),
        ] {
            let err = Harness::new(DropAttrs::default()).configure(cfg).unwrap_err();
            assert!(err.starts_with("drop: ") && err.contains(want), "{}: {}", cfg, err);
        }
        assert!(Harness::new(DropAttrs::default()).describe().contains(r#""name":"drop""#));
    }
}

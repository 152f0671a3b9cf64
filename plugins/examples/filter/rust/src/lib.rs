//! The filter example plugin in Rust (see ../README.md): drops the items
//! whose configured top-level attribute is an S value equal to the
//! configured string.
//!
//! Configuration: `{"attribute":"status","equals":"CANCELLED"}`.

use floe_plugin::json::{quote, Json};
use floe_plugin::{export_plugin, Info, Item, Output, Plugin};

/// The plugin: the configured attribute and value.
#[derive(Default)]
pub struct Filter {
    attribute: String,
    equals: String,
}

export_plugin!(Filter);

const PARAMETERS: &str = concat!(
    r#"{"type":"object","properties":{"#,
    r#""attribute":{"type":"string","minLength":1,"description":"top-level attribute to test"},"#,
    r#""equals":{"type":"string","description":"items whose attribute is this S value are dropped"}},"#,
    r#""required":["attribute","equals"],"additionalProperties":false}"#
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

impl Plugin for Filter {
    fn info(&self) -> Info {
        Info { name: "filter", version: "1.0.0", parameters: Some(PARAMETERS) }
    }

    fn configure(&mut self, config: &[u8]) -> Result<(), String> {
        let cfg = match Json::parse(config) {
            Ok(j @ Json::Object(_)) => j,
            _ => {
                return Err(
                    r#"filter: the configuration must be a JSON object such as {"attribute":"status","equals":"CANCELLED"}"#.into(),
                )
            }
        };
        if let Some(k) = cfg.unknown_key(&["attribute", "equals"]) {
            return Err(format!(r#"filter: unknown configuration key {} (the keys are "attribute" and "equals")"#, quote(k)));
        }
        let mut vals = [String::new(), String::new()];
        for (k, v) in ["attribute", "equals"].iter().zip(vals.iter_mut()) {
            match cfg.get(k) {
                None => return Err(format!("filter: {} is missing", quote(k))),
                Some(Json::String(s)) => *v = s.clone(),
                Some(j) => return Err(format!("filter: {} must be a string, not {}", quote(k), a(j))),
            }
        }
        let [attribute, equals] = vals;
        if attribute.is_empty() {
            return Err(r#"filter: "attribute" is empty"#.into());
        }
        self.attribute = attribute;
        self.equals = equals;
        Ok(())
    }

    fn transform(&mut self, item: &Item<'_>, out: &mut Output) {
        if item.get(&self.attribute).and_then(|v| v.as_s()) == Some(self.equals.as_str()) {
            out.drop();
        }
        // Otherwise the item passes (the default verdict).
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_plugin::testing::{item, Entry, Harness};
    use floe_plugin::Val;

    #[test]
    fn drops_equal_s_values() {
        let mut h = Harness::new(Filter::default());
        h.configure(r#"{"attribute":"status","equals":"CANCELLED"}"#).unwrap();
        let got = h.transform(&[
            item(&[("id", Val::S("o1")), ("status", Val::S("CANCELLED"))]),
            item(&[("id", Val::S("o2")), ("status", Val::S("cancelled"))]),
            item(&[("id", Val::S("o3"))]),
            item(&[("status", Val::SS(&["CANCELLED"]))]),
        ]);
        assert_eq!(got, vec![Entry::Drop, Entry::Pass, Entry::Pass, Entry::Pass]);
    }

    #[test]
    fn empty_equals() {
        let mut h = Harness::new(Filter::default());
        h.configure(r#"{"attribute":"n","equals":""}"#).unwrap();
        let got = h.transform(&[item(&[("n", Val::S(""))]), item(&[("n", Val::N("5"))])]);
        assert_eq!(got, vec![Entry::Drop, Entry::Pass]);
    }

    #[test]
    fn refuses_bad_configurations() {
        for (cfg, want) in [
            ("{}", r#""attribute" is missing"#),
            (r#"{"attribute":"a"}"#, r#""equals" is missing"#),
            (r#"{"attribute":"","equals":""}"#, r#""attribute" is empty"#),
            (r#"{"attribute":"a","equals":5}"#, r#""equals" must be a string, not a number"#),
            (r#"{"attribute":"a","equals":"","x":null}"#, r#"unknown configuration key "x""#),
            ("[1]", "must be a JSON object"),
        ] {
            let err = Harness::new(Filter::default()).configure(cfg).unwrap_err();
            assert!(err.starts_with("filter: ") && err.contains(want), "{}: {}", cfg, err);
        }
        assert!(Harness::new(Filter::default()).describe().contains(r#""name":"filter""#));
    }
}

//! Unit tests of the SDK.

use crate::json::Json;
use crate::testing::{batch, decode_results, encode_results, item, Entry, Harness};
use crate::view::{parse_item, parse_value, Batch};
use crate::write::EMPTY_ITEM;
use crate::{Edited, Info, Item, Kind, Output, Plugin, Val};

/// An item holding every type, nested lists and maps included.
fn rich() -> Vec<u8> {
    item(&[
        ("s", Val::S("héllo")),
        ("empty", Val::S("")),
        ("n", Val::N("-12.50e+3")),
        ("b", Val::B(&[0, 1, 255])),
        ("t", Val::Bool(true)),
        ("f", Val::Bool(false)),
        ("z", Val::Null),
        ("ss", Val::SS(&["a", "b"])),
        ("ns", Val::NS(&["1", "2.5"])),
        ("bs", Val::BS(&[b"x", b""])),
        ("l", Val::L(&[Val::S("x"), Val::N("1"), Val::L(&[]), Val::M(&[("k", Val::Null)])])),
        ("m", Val::M(&[("city", Val::S("Paris")), ("geo", Val::M(&[("lat", Val::N("48.8"))]))])),
        ("em", Val::M(&[])),
    ])
}

#[test]
fn abi_worked_example() {
    // ABI.md, section 8.
    let it = item(&[("id", Val::S("u1")), ("email", Val::S("a@x.io"))]);
    let b = batch(&[&it]);
    assert_eq!(
        b,
        [0x01, 0x02, 0x02, 0x69, 0x64, 0x01, 0x02, 0x75, 0x31, 0x05, 0x65, 0x6d, 0x61, 0x69, 0x6c, 0x01, 0x06, 0x61, 0x40, 0x78, 0x2e, 0x69, 0x6f]
    );
    struct Mask;
    impl Plugin for Mask {
        fn info(&self) -> Info {
            Info { name: "mask", version: "1.0.0", parameters: None }
        }
        fn configure(&mut self, _: &[u8]) -> Result<(), String> {
            Ok(())
        }
        fn transform(&mut self, it: &Item<'_>, out: &mut Output) {
            match it.get("status").and_then(|v| v.as_s()) {
                Some("DROP") => return out.drop(),
                Some("ERROR") => return out.fail("bad"),
                _ => {}
            }
            if it.get("email").and_then(|v| v.as_s()).is_some() {
                out.edit(it, &[("email", Val::S("***"))], &[] as &[&str]);
            }
        }
    }
    let got = crate::testing::run(Mask, "", &b).unwrap();
    assert_eq!(got, [0x01, 0x01, 0x02, 0x02, 0x69, 0x64, 0x01, 0x02, 0x75, 0x31, 0x05, 0x65, 0x6d, 0x61, 0x69, 0x6c, 0x01, 0x03, 0x2a, 0x2a, 0x2a]);
    let mut h = Harness::new(Mask);
    h.configure("{}").unwrap();
    assert_eq!(h.transform_batch(&batch(&[item(&[("id", Val::S("u1"))])])), [0x01, 0x00]);
    assert_eq!(h.transform_batch(&batch(&[item(&[("status", Val::S("DROP"))])])), [0x01, 0x02]);
    assert_eq!(h.transform_batch(&batch(&[item(&[("status", Val::S("ERROR"))])])), [0x01, 0x03, 0x03, 0x62, 0x61, 0x64]);
    assert!(h.describe().contains("\"mask\""));
}

#[test]
fn views_read_every_type() {
    let raw = rich();
    let it = parse_item(&raw).unwrap();
    assert_eq!(it.len(), 13);
    assert_eq!(it.raw(), &raw[..]);
    let names: Vec<&str> = it.iter().map(|a| a.name()).collect();
    assert_eq!(names, ["s", "empty", "n", "b", "t", "f", "z", "ss", "ns", "bs", "l", "m", "em"]);
    let g = |n: &str| it.get(n).unwrap();
    assert_eq!(g("s").kind(), Kind::S);
    assert_eq!(g("s").as_s(), Some("héllo"));
    assert_eq!(g("s").as_n(), None);
    assert_eq!(g("empty").as_s(), Some(""));
    assert_eq!(g("n").as_n(), Some("-12.50e+3"));
    assert_eq!(g("n").as_s(), None);
    assert_eq!(g("b").as_b(), Some(&[0u8, 1, 255][..]));
    assert_eq!(g("t").as_bool(), Some(true));
    assert_eq!(g("f").as_bool(), Some(false));
    assert_eq!(g("s").as_bool(), None);
    assert!(g("z").is_null());
    assert!(!g("s").is_null());
    assert_eq!(g("ss").as_ss().unwrap().iter().collect::<Vec<_>>(), ["a", "b"]);
    assert!(g("ss").as_ss().unwrap().contains("b"));
    assert!(g("ss").as_ns().is_none());
    assert_eq!(g("ns").as_ns().unwrap().iter().collect::<Vec<_>>(), ["1", "2.5"]);
    assert_eq!(g("bs").as_bs().unwrap().iter().collect::<Vec<_>>(), [&b"x"[..], b""]);
    let l = g("l").as_l().unwrap();
    assert_eq!(l.len(), 4);
    let els: Vec<_> = l.iter().collect();
    assert_eq!(els[0].as_s(), Some("x"));
    assert_eq!(els[1].as_n(), Some("1"));
    assert!(els[2].as_l().unwrap().is_empty());
    assert!(els[3].as_m().unwrap().get("k").unwrap().is_null());
    let m = g("m").as_m().unwrap();
    assert_eq!(m.get("city").unwrap().as_s(), Some("Paris"));
    assert_eq!(m.get("geo").unwrap().as_m().unwrap().get("lat").unwrap().as_n(), Some("48.8"));
    assert!(m.get("nope").is_none());
    assert!(g("em").as_m().unwrap().is_empty());
    assert!(it.get("missing").is_none());
    assert!(it.contains("em") && !it.contains("e"));
    // Every kind's tag and name.
    for (i, k) in [Kind::S, Kind::N, Kind::B, Kind::Bool, Kind::Null, Kind::SS, Kind::NS, Kind::BS, Kind::L, Kind::M]
        .iter()
        .enumerate()
    {
        assert_eq!(Kind::from_tag(i as u8 + 1), Some(*k));
        assert_eq!(k.tag(), i as u8 + 1);
    }
    assert_eq!(Kind::from_tag(11), None);
    assert_eq!(Kind::Bool.name(), "BOOL");
    let dbg = format!("{:?}", g("m"));
    assert!(dbg.contains("Paris") && dbg.contains("48.8"), "{}", dbg);
}

#[test]
fn batches_are_checked() {
    let ok = batch(&[rich(), item(&[("a", Val::N("1"))])]);
    let b = Batch::parse(&ok).unwrap();
    assert_eq!(b.len(), 2);
    let items: Vec<Item<'_>> = b.items().collect();
    assert_eq!(items[0].raw(), &rich()[..]);
    assert_eq!(items[1].get("a").unwrap().as_n(), Some("1"));
    assert!(Batch::parse(&[0]).unwrap().is_empty());

    let bad: &[(&[u8], &str)] = &[
        (&[], "truncated varint"),
        (&[1], "count exceeds"),
        (&[1, 0, 0, 0, 0], "item has no attributes"),
        (&[1, 1, 1, b'a', 5, 0], "trailing bytes"),
        (&[1, 1, 1, b'a', 11], "unknown type tag"),
        (&[1, 1, 0, 5, 5], "attribute name is empty"),
        (&[1, 1, 1, 0xff, 5], "attribute name is not valid UTF-8"),
        (&[1, 1, 1, b'a', 1, 1, 0xc3], "S value is not valid UTF-8"),
        (&[1, 1, 1, b'a', 2, 1, b'x'], "N value is not DynamoDB number text"),
        (&[1, 1, 1, b'a', 2, 2, b'1', b'.'], "N value is not DynamoDB number text"),
        (&[1, 1, 1, b'a', 4, 2], "BOOL byte"),
        (&[1, 1, 1, b'a', 6, 0], "empty set"),
        (&[1, 1, 1, b'a', 7, 1, 1, b'-'], "N value is not DynamoDB number text"),
        (&[1, 1, 1, b'a', 1, 5, b'x'], "length exceeds"),
        (&[1, 1, 1, b'a', 1, 0x80, 0], "not minimal"),
    ];
    for (b, want) in bad {
        let e = Batch::parse(b).unwrap_err();
        assert!(e.msg.contains(want), "{:?}: got {:?}, want {:?}", b, e, want);
    }
    // Nesting: 32 levels of L are fine, 33 are not.
    let nest = |levels: usize| {
        let mut v = vec![5u8];
        for _ in 0..levels {
            let mut w = vec![9u8, 1];
            w.extend_from_slice(&v);
            v = w;
        }
        let mut b = vec![1, 1, 1, b'a'];
        b.extend_from_slice(&v);
        b
    };
    assert!(Batch::parse(&nest(32)).is_ok());
    assert!(Batch::parse(&nest(33)).unwrap_err().msg.contains("nested"));
    assert!(parse_value(&[4, 1]).unwrap().as_bool().unwrap());
    assert!(parse_value(&[4, 1, 0]).is_err());
}

/// A plugin whose transform is a closure, for writer tests.
struct F<T: FnMut(&Item<'_>, &mut Output)>(T);

impl<T: FnMut(&Item<'_>, &mut Output)> Plugin for F<T> {
    fn info(&self) -> Info {
        Info { name: "f", version: "0", parameters: Some("{}") }
    }
    fn configure(&mut self, _: &[u8]) -> Result<(), String> {
        Ok(())
    }
    fn transform(&mut self, it: &Item<'_>, out: &mut Output) {
        (self.0)(it, out)
    }
}

fn run1<T: FnMut(&Item<'_>, &mut Output)>(it: &[u8], f: T) -> Entry {
    let mut h = Harness::new(F(f));
    h.configure("{}").unwrap();
    h.transform(&[it]).pop().unwrap()
}

#[test]
fn writer_builds_every_type() {
    let want = rich();
    // Built with the typed methods.
    let got = run1(&item(&[("x", Val::Null)]), |_, out| {
        out.modified(|w| {
            w.s("s", "héllo");
            w.s("empty", "");
            w.n("n", "-12.50e+3");
            w.b("b", &[0, 1, 255]);
            w.bool("t", true);
            w.bool("f", false);
            w.null("z");
            w.ss("ss", &["a", "b"]);
            w.ns("ns", &["1".to_string(), "2.5".to_string()]);
            w.bs("bs", &[&b"x"[..], b""]);
            w.list("l", |l| {
                l.s("x");
                l.n("1");
                l.list(|_| {});
                l.map(|m| m.null("k"));
                assert_eq!(l.len(), 4);
            });
            w.map("m", |m| {
                m.s("city", "Paris");
                m.map("geo", |g| g.n("lat", "48.8"));
            });
            w.map("em", |_| {});
        })
    });
    assert_eq!(got, Entry::Modified(want.clone()));
    // Copied from the input.
    let got = run1(&want, |it, out| out.modified(|w| w.copy_all(it)));
    assert_eq!(got, Entry::Modified(want.clone()));
    let got = run1(&want, |it, out| out.modified_item(it));
    assert_eq!(got, Entry::Modified(want.clone()));
    // Values copied under new names, list elements of every type.
    let got = run1(&want, |it, out| {
        out.modified(|w| {
            w.value("copy", &it.get("m").unwrap());
            w.list("all", |l| {
                for a in it.iter() {
                    l.value(&a.value());
                }
                l.b(b"q");
                l.bool(true);
                l.null();
                l.ss(&["s"]);
                l.ns(&["7"]);
                l.bs(&[b"z"]);
                l.put(&Val::M(&[("k", Val::SS(&["v"]))]));
            });
        })
    });
    let got = match got {
        Entry::Modified(got) => got,
        e => panic!("{:?}", e),
    };
    let it = parse_item(&got).unwrap();
    assert_eq!(it.get("copy").unwrap().raw(), parse_item(&want).unwrap().get("m").unwrap().raw());
    assert_eq!(it.get("all").unwrap().as_l().unwrap().len(), 13 + 7);
}

#[test]
fn verdicts() {
    let it = item(&[("a", Val::S("x")), ("b", Val::N("1"))]);
    assert_eq!(run1(&it, |_, _| {}), Entry::Pass);
    assert_eq!(run1(&it, |_, out| out.pass()), Entry::Pass);
    assert_eq!(run1(&it, |_, out| out.drop()), Entry::Drop);
    assert_eq!(run1(&it, |_, out| out.fail("no: \u{e9}")), Entry::Error("no: \u{e9}".into()));
    // The last verdict wins.
    assert_eq!(
        run1(&it, |_, out| {
            out.modified(|w| w.null("q"));
            out.fail("x");
            out.drop();
        }),
        Entry::Drop
    );
    assert_eq!(
        run1(&it, |_, out| {
            out.fail("x");
            out.modified(|w| w.null("q"));
        }),
        Entry::Modified(item(&[("q", Val::Null)]))
    );
    // An item without attributes becomes an error entry.
    assert_eq!(run1(&it, |_, out| out.modified(|_| {})), Entry::Error(EMPTY_ITEM.into()));
    assert_eq!(
        run1(&it, |it, out| out.fan_out(|f| {
            f.copy(it);
            f.item(|_| {});
        })),
        Entry::Error(EMPTY_ITEM.into())
    );
    // Fan-out of zero, one and two items.
    assert_eq!(run1(&it, |_, out| out.fan_out(|_| {})), Entry::FanOut(vec![]));
    assert_eq!(
        run1(&it, |it, out| out.fan_out(|f| {
            f.copy(it);
            f.item(|w| {
                w.copy_all(it);
                w.n("part", "2");
            });
            assert_eq!(f.len(), 2);
        })),
        Entry::FanOut(vec![it.clone(), item(&[("a", Val::S("x")), ("b", Val::N("1")), ("part", Val::N("2"))])])
    );
}

#[test]
fn many_entries_and_attributes() {
    // Counts of 128 and more take several varint bytes.
    let names: Vec<String> = (0..300).map(|i| format!("a{}", i)).collect();
    let attrs: Vec<(&str, Val<'_>)> = names.iter().map(|n| (n.as_str(), Val::N("1"))).collect();
    let big = item(&attrs);
    let ss: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let got = run1(&big, |it, out| {
        out.modified(|w| {
            w.copy_all(it);
            w.ss("set", &ss);
            w.list("l", |l| {
                for _ in 0..200 {
                    l.null();
                }
            });
            w.map("m", |m| {
                for n in &names {
                    m.bool(n, true);
                }
            });
        })
    });
    let got = match got {
        Entry::Modified(got) => got,
        e => panic!("{:?}", e),
    };
    let it = parse_item(&got).unwrap();
    assert_eq!(it.len(), 303);
    assert_eq!(it.get("a299").unwrap().as_n(), Some("1"));
    assert_eq!(it.get("set").unwrap().as_ss().unwrap().len(), 300);
    assert_eq!(it.get("l").unwrap().as_l().unwrap().len(), 200);
    assert_eq!(it.get("m").unwrap().as_m().unwrap().len(), 300);
    // A batch of 1000 items.
    let items: Vec<Vec<u8>> = (0..1000).map(|i| item(&[("i", Val::N(&i.to_string()))])).collect();
    let mut h = Harness::new(F(|it: &Item<'_>, out: &mut Output| {
        if it.get("i").unwrap().as_n().unwrap().ends_with('7') {
            out.drop()
        }
    }));
    h.configure("").unwrap();
    let got = h.transform(&items);
    assert_eq!(got.len(), 1000);
    assert_eq!(got.iter().filter(|e| **e == Entry::Drop).count(), 100);
    let res = h.transform_batch(&batch(&items));
    assert_eq!(&res[..2], &[0xe8, 0x07]);
}

#[test]
fn edit() {
    let it = item(&[("a", Val::S("x")), ("b", Val::N("1")), ("c", Val::Null)]);
    let run = |set: &'static [(&'static str, Val<'static>)], remove: &'static [&'static str], want_edited: Edited| {
        run1(&it, move |it, out| assert_eq!(out.edit(it, set, remove), want_edited))
    };
    assert_eq!(run(&[], &["zz"], Edited::Unchanged), Entry::Pass);
    assert_eq!(run(&[], &["b"], Edited::Modified), Entry::Modified(item(&[("a", Val::S("x")), ("c", Val::Null)])));
    assert_eq!(
        run(&[("b", Val::S("new")), ("d", Val::Bool(true))], &["a"], Edited::Modified),
        Entry::Modified(item(&[("b", Val::S("new")), ("c", Val::Null), ("d", Val::Bool(true))]))
    );
    // A name both set and removed is set.
    assert_eq!(
        run(&[("a", Val::N("2"))], &["a", "c"], Edited::Modified),
        Entry::Modified(item(&[("a", Val::N("2")), ("b", Val::N("1"))]))
    );
    assert_eq!(run(&[], &["a", "b", "c"], Edited::Empty), Entry::Error(EMPTY_ITEM.into()));
}

#[test]
fn results_are_checked_like_the_host() {
    let it = item(&[("a", Val::Null)]);
    let ok = encode_results(&[Entry::Pass, Entry::Modified(it.clone()), Entry::Drop, Entry::Error("e".into()), Entry::FanOut(vec![it.clone(), it.clone()])]);
    assert_eq!(decode_results(&ok, 5).unwrap().len(), 5);
    assert!(decode_results(&ok, 4).is_err());
    let mut trailing = ok.clone();
    trailing.push(0);
    assert!(decode_results(&trailing, 5).is_err());
    let dup = item(&[("a", Val::Null), ("a", Val::Null)]);
    assert!(decode_results(&encode_results(&[Entry::Modified(dup)]), 1).unwrap_err().contains("more than once"));
    let nested_dup = item(&[("m", Val::L(&[Val::M(&[("k", Val::Null), ("k", Val::Null)])]))]);
    assert!(decode_results(&encode_results(&[Entry::Modified(nested_dup)]), 1).is_err());
    assert!(decode_results(&[1, 5], 1).is_err());
    assert!(decode_results(&[1, 3, 1, 0xff], 1).is_err());
    assert!(decode_results(&[1, 1, 0], 1).is_err());
}

#[test]
fn describe_json() {
    let mut h = Harness::new(F(|_: &Item<'_>, _: &mut Output| {}));
    let d = h.describe();
    assert_eq!(d, r#"{"name":"f","version":"0","parameters":{}}"#);
    assert!(Json::parse(d.as_bytes()).is_ok());
}

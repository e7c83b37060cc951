//! config.json's `hooks` into the runtime's `Hooks` (hooks.rs runs them). The state each is
//! given is filled in by `create`, once the container has its pid.

use super::field::Field;
use super::json::Value;
use crate::container::hooks::{Hook, Hooks};
use crate::error::Result;

/// The hooks of `f` (config.json's `hooks`, or the copy kept in the record); None when it
/// names none.
pub fn parse(f: &Field<'_>) -> Result<Option<Box<Hooks>>> {
    let mut h = Hooks {
        create_runtime: Vec::new(),
        create_container: Vec::new(),
        start_container: Vec::new(),
        poststart: Vec::new(),
        poststop: Vec::new(),
        state: Value::Null,
    };
    for (name, list) in f.members()? {
        let (phase, into): (&'static str, &mut Vec<Hook>) = match name {
            "prestart" => ("prestart", &mut h.create_runtime),
            "createRuntime" => ("createRuntime", &mut h.create_runtime),
            "createContainer" => ("createContainer", &mut h.create_container),
            "startContainer" => ("startContainer", &mut h.start_container),
            "poststart" => ("poststart", &mut h.poststart),
            "poststop" => ("poststop", &mut h.poststop),
            // Unknown members are ignored, as the spec asks.
            _ => continue,
        };
        let mut hooks = list
            .items()?
            .iter()
            .map(|item| hook(phase, item))
            .collect::<Result<Vec<_>>>()?;
        // prestart (deprecated) runs before createRuntime, whichever the config lists first.
        match phase {
            "prestart" => {
                hooks.append(into);
                *into = hooks;
            }
            _ => into.append(&mut hooks),
        }
    }
    let none = h.create_runtime.is_empty()
        && h.create_container.is_empty()
        && h.start_container.is_empty()
        && h.poststart.is_empty()
        && h.poststop.is_empty();
    Ok((!none).then(|| Box::new(h)))
}

fn hook(phase: &'static str, item: &Field<'_>) -> Result<Hook> {
    let p = item.need("path")?;
    let path = p.str()?.to_string();
    if !path.starts_with('/') {
        return Err(p.error("must be an absolute path"));
    }
    let list = |key| -> Result<Vec<String>> {
        Ok(match item.get(key) {
            Some(f) => f.strs()?.into_iter().map(String::from).collect(),
            None => Vec::new(),
        })
    };
    let mut args = list("args")?;
    if args.is_empty() {
        args.push(path.clone());
    }
    let timeout = match item.get("timeout") {
        Some(t) => match t.u32()? {
            0 => return Err(t.error("must be greater than zero (seconds)")),
            secs => Some(secs),
        },
        None => None,
    };
    Ok(Hook {
        phase,
        path,
        args,
        env: list("env")?,
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::json::parse as json;

    #[test]
    fn phases_in_order_and_bad_hooks() {
        let v = json(
            br#"{"createRuntime":[{"path":"/b"}],"prestart":[{"path":"/a","args":["a","x"],"timeout":3}],"poststop":[{"path":"/c","env":["K=V"]}],"future":[{}]}"#,
        )
        .unwrap();
        let h = parse(&Field::root("config.json", &v)).unwrap().unwrap();
        let paths: Vec<_> = h.create_runtime.iter().map(|h| h.path.as_str()).collect();
        assert_eq!(paths, ["/a", "/b"]);
        assert_eq!(h.create_runtime[0].args, ["a", "x"]);
        assert_eq!(h.create_runtime[0].timeout, Some(3));
        assert_eq!(h.create_runtime[1].args, ["/b"]);
        assert_eq!(h.poststop[0].env, ["K=V"]);
        let empty = json(br#"{"prestart":[]}"#).unwrap();
        assert!(
            parse(&Field::root("config.json", &empty))
                .unwrap()
                .is_none()
        );
        for (bad, why) in [
            (
                &br#"{"poststart":[{"path":"rel"}]}"#[..],
                "poststart[0].path: must be an absolute path",
            ),
            (
                br#"{"poststart":[{"path":"/x","timeout":0}]}"#,
                "timeout: must be greater than zero",
            ),
            (br#"{"poststart":[{"args":["x"]}]}"#, "\"path\" is missing"),
        ] {
            let v = json(bad).unwrap();
            let e = parse(&Field::root("config.json", &v))
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{e}");
        }
    }
}

//! Typed access to a JSON document with the path of each value, so that every error names the
//! field: `config.json: linux.resources.memory.limit: expected a number, found a string`.

use super::json::Value;
use crate::error::{Error, Result};

/// A value and where it is in its file.
#[derive(Clone, Copy)]
pub struct Field<'a> {
    pub value: &'a Value,
    file: &'a str,
    parent: Option<&'a Field<'a>>,
    name: Name<'a>,
}

#[derive(Clone, Copy)]
enum Name<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl<'a> Field<'a> {
    pub fn root(file: &'a str, value: &'a Value) -> Field<'a> {
        Field {
            value,
            file,
            parent: None,
            name: Name::Root,
        }
    }

    /// `linux.resources.memory`, `mounts[2].type`.
    pub fn path(&self) -> String {
        let mut parts = Vec::new();
        let mut at = Some(self);
        while let Some(f) = at {
            parts.push(f.name);
            at = f.parent;
        }
        let mut out = String::new();
        for name in parts.iter().rev() {
            match name {
                Name::Root => {}
                Name::Key(k) if out.is_empty() => out.push_str(k),
                Name::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Name::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    /// An error about this field.
    pub fn error(&self, why: impl Into<String>) -> Error {
        let path = self.path();
        let what = match path.is_empty() {
            true => self.file.to_string(),
            false => format!("{}: {path}", self.file),
        };
        Error::new(what, why)
    }

    fn expected(&self, kind: &str) -> Error {
        self.error(format!("expected {kind}, found {}", self.value.kind()))
    }

    /// The member `key`, when present and not null.
    pub fn get(&'a self, key: &'a str) -> Option<Field<'a>> {
        match self.value.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some(Field {
                value,
                file: self.file,
                parent: Some(self),
                name: Name::Key(key),
            }),
        }
    }

    /// The member `key`, which must be there.
    pub fn need(&'a self, key: &'a str) -> Result<Field<'a>> {
        self.get(key)
            .ok_or_else(|| self.error(format!("the member {key:?} is missing")))
    }

    pub fn items(&'a self) -> Result<Vec<Field<'a>>> {
        match self.value {
            Value::Arr(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, value)| Field {
                    value,
                    file: self.file,
                    parent: Some(self),
                    name: Name::Index(i),
                })
                .collect()),
            _ => Err(self.expected("an array")),
        }
    }

    /// An object's members, in order.
    pub fn members(&'a self) -> Result<Vec<(&'a str, Field<'a>)>> {
        match self.value {
            Value::Obj(members) => Ok(members
                .iter()
                .map(|(k, value)| {
                    let f = Field {
                        value,
                        file: self.file,
                        parent: Some(self),
                        name: Name::Key(k),
                    };
                    (k.as_str(), f)
                })
                .collect()),
            _ => Err(self.expected("an object")),
        }
    }

    pub fn str(&self) -> Result<&'a str> {
        match self.value {
            Value::Str(s) => Ok(s),
            _ => Err(self.expected("a string")),
        }
    }

    pub fn bool(&self) -> Result<bool> {
        match self.value {
            Value::Bool(b) => Ok(*b),
            _ => Err(self.expected("true or false")),
        }
    }

    pub fn u64(&self) -> Result<u64> {
        match self.value {
            Value::Num(n) => n
                .parse()
                .map_err(|_| self.error(format!("{n} is not a whole number from 0 to 2^64-1"))),
            _ => Err(self.expected("a number")),
        }
    }

    pub fn i64(&self) -> Result<i64> {
        match self.value {
            Value::Num(n) => n
                .parse()
                .map_err(|_| self.error(format!("{n} is not a whole number of 64 bits"))),
            _ => Err(self.expected("a number")),
        }
    }

    pub fn u32(&self) -> Result<u32> {
        let n = self.u64()?;
        u32::try_from(n).map_err(|_| self.error(format!("{n} is more than 2^32-1")))
    }

    /// An array of strings.
    pub fn strs(&self) -> Result<Vec<&'a str>> {
        match self.value {
            Value::Arr(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Str(s) => Ok(s.as_str()),
                    other => {
                        Err(self.error(format!("[{i}]: expected a string, found {}", other.kind())))
                    }
                })
                .collect(),
            _ => Err(self.expected("an array of strings")),
        }
    }

    /// The error for a field nsbox knows but cannot honour.
    pub fn unsupported(&self, why: &str) -> Error {
        self.error(format!("not supported: {why}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::json::parse;

    #[test]
    fn errors_name_the_field() {
        let v = parse(br#"{"mounts":[{"type":"bind"},{"type":7}],"n":"x"}"#).unwrap();
        let root = Field::root("config.json", &v);
        let mounts = root.need("mounts").unwrap();
        let items = mounts.items().unwrap();
        let t = items[1].need("type").unwrap();
        assert_eq!(
            t.str().unwrap_err().to_string(),
            "config.json: mounts[1].type: expected a string, found a number"
        );
        let n = root.need("n").unwrap();
        assert!(n.u64().is_err());
        assert_eq!(
            root.need("root").err().unwrap().to_string(),
            "config.json: the member \"root\" is missing"
        );
    }
}

//! Reading a request body property by property.
//!
//! Every request is one JSON object. [`Object`] hands out its properties already
//! checked, and every error it returns names the property by its full path
//! (`Limitation.Count`, `Messages[3].Text`), as the API's errors do.
//! `null` on a property reads the same as an absent property.

use serde_json::{Map, Value};
use uuid::Uuid;

/// A rule of the request format was broken; the text is the client-facing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(pub String);

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

pub type Input<T> = Result<T, InputError>;

/// A JSON object seen from one property path.
#[derive(Clone, Copy)]
pub struct Object<'a> {
    map: &'a Map<String, Value>,
    prefix: Option<&'a str>,
}

/// Owned path of a nested object, so that a child [`Object`] can borrow it.
pub struct Path(String);

impl Path {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'a> Object<'a> {
    /// The request body itself.
    pub fn root(value: &'a Value) -> Input<Self> {
        match value {
            Value::Object(map) => Ok(Self { map, prefix: None }),
            _ => Err(InputError::new("The request body must be a JSON object.")),
        }
    }

    /// The full path of a property of this object.
    pub fn path(&self, name: &str) -> Path {
        Path(match self.prefix {
            Some(prefix) => format!("{prefix}.{name}"),
            None => name.to_owned(),
        })
    }

    /// A property's value; `null` counts as absent.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// A property as sent, `null` included: for the few properties where
    /// `null` means something (a webhook URL that `null` clears).
    pub fn as_sent(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name)
    }

    pub fn required(&self, name: &str) -> Input<&'a Value> {
        self.get(name)
            .ok_or_else(|| InputError(format!("{} is required.", self.path(name).0)))
    }

    pub fn optional_str(&self, name: &str) -> Input<Option<&'a str>> {
        self.get(name)
            .map(|v| as_str(v, self.path(name).as_str()))
            .transpose()
    }

    pub fn required_str(&self, name: &str) -> Input<&'a str> {
        as_str(self.required(name)?, self.path(name).as_str())
    }

    pub fn optional_bool(&self, name: &str) -> Input<Option<bool>> {
        self.get(name)
            .map(|v| {
                v.as_bool().ok_or_else(|| {
                    InputError(format!("{} must be true or false.", self.path(name).0))
                })
            })
            .transpose()
    }

    pub fn required_bool(&self, name: &str) -> Input<bool> {
        self.required(name)?;
        Ok(self.optional_bool(name)?.unwrap_or_default())
    }

    /// An integer from `min` to `max` (inclusive), if present.
    pub fn optional_integer(&self, name: &str, min: u32, max: u32) -> Input<Option<u32>> {
        self.get(name)
            .map(|v| {
                v.as_u64()
                    .filter(|n| (u64::from(min)..=u64::from(max)).contains(n))
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        InputError(format!(
                            "{} must be an integer between {min} and {max}.",
                            self.path(name).0
                        ))
                    })
            })
            .transpose()
    }

    /// A whole number of 0 or more, if present (a sequence number).
    pub fn optional_sequence(&self, name: &str) -> Input<Option<u64>> {
        self.get(name)
            .map(|v| {
                v.as_u64().ok_or_else(|| {
                    InputError(format!(
                        "{} must be a whole number of 0 or more.",
                        self.path(name).0
                    ))
                })
            })
            .transpose()
    }

    pub fn required_integer(&self, name: &str, min: u32, max: u32) -> Input<u32> {
        self.required(name)?;
        Ok(self.optional_integer(name, min, max)?.unwrap_or_default())
    }

    pub fn optional_uuid(&self, name: &str) -> Input<Option<Uuid>> {
        self.get(name)
            .map(|v| as_uuid(v, self.path(name).as_str()))
            .transpose()
    }

    pub fn required_uuid(&self, name: &str) -> Input<Uuid> {
        as_uuid(self.required(name)?, self.path(name).as_str())
    }

    /// A nested object, read with `path` as its prefix (get `path` from [`Object::path`]).
    pub fn object_at(&self, name: &str, path: &'a Path) -> Input<Option<Object<'a>>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Object {
                map,
                prefix: Some(path.as_str()),
            })),
            Some(_) => Err(InputError(format!("{} must be an object.", path.0))),
        }
    }

    /// An array property holding between 1 and `max` items.
    pub fn optional_array(&self, name: &str, max: usize) -> Input<Option<&'a [Value]>> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let path = self.path(name);
        let items = value
            .as_array()
            .ok_or_else(|| InputError(format!("{} must be an array.", path.0)))?;
        if items.is_empty() || items.len() > max {
            return Err(InputError(format!(
                "{} must contain between 1 and {max} items.",
                path.0
            )));
        }
        Ok(Some(items))
    }

    pub fn required_array(&self, name: &str, max: usize) -> Input<&'a [Value]> {
        self.required(name)?;
        Ok(self.optional_array(name, max)?.unwrap_or_default())
    }

    /// An array of 1 to `max` UUIDs, in the order given (duplicates kept).
    pub fn optional_uuid_list(&self, name: &str, max: usize) -> Input<Option<Vec<Uuid>>> {
        let Some(items) = self.optional_array(name, max)? else {
            return Ok(None);
        };
        let path = self.path(name);
        items
            .iter()
            .enumerate()
            .map(|(i, v)| as_uuid(v, &format!("{}[{i}]", path.0)))
            .collect::<Input<Vec<_>>>()
            .map(Some)
    }

    pub fn required_uuid_list(&self, name: &str, max: usize) -> Input<Vec<Uuid>> {
        self.required(name)?;
        Ok(self.optional_uuid_list(name, max)?.unwrap_or_default())
    }
}

/// Reads an array item as an object whose path is `path` (e.g. `Messages[2]`).
pub fn item_object<'a>(value: &'a Value, path: &'a Path) -> Input<Object<'a>> {
    match value {
        Value::Object(map) => Ok(Object {
            map,
            prefix: Some(path.as_str()),
        }),
        _ => Err(InputError(format!("{} must be an object.", path.0))),
    }
}

pub fn indexed_path(name: &str, index: usize) -> Path {
    Path(format!("{name}[{index}]"))
}

fn as_str<'a>(value: &'a Value, path: &str) -> Input<&'a str> {
    let s = value
        .as_str()
        .ok_or_else(|| InputError(format!("{path} must be a string.")))?;
    if s.contains('\0') {
        return Err(InputError(format!("{path} must not contain U+0000.")));
    }
    Ok(s)
}

/// Identifiers are hyphenated UUIDs; upper and lower case are both accepted.
fn as_uuid(value: &Value, path: &str) -> Input<Uuid> {
    let s = value
        .as_str()
        .ok_or_else(|| InputError(format!("{path} must be a string holding a UUID.")))?;
    let invalid = || InputError(format!("{path} is not a valid UUID."));
    if s.len() != 36 {
        return Err(invalid());
    }
    Uuid::try_parse(s).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_reads_as_absent() {
        let body = json!({"A": null});
        let obj = Object::root(&body).unwrap();
        assert_eq!(obj.optional_str("A"), Ok(None));
        assert_eq!(obj.required_str("A").unwrap_err().0, "A is required.");
    }

    #[test]
    fn nested_paths_name_the_property() {
        let body = json!({"Limitation": {"Cursor": 7}});
        let obj = Object::root(&body).unwrap();
        let path = obj.path("Limitation");
        let lim = obj.object_at("Limitation", &path).unwrap().unwrap();
        assert_eq!(
            lim.optional_uuid("Cursor").unwrap_err().0,
            "Limitation.Cursor must be a string holding a UUID."
        );
    }

    #[test]
    fn uuids_accept_any_case_but_only_the_hyphenated_form() {
        let body = json!({
            "Upper": "3FA85F64-5717-4562-B3FC-2C963F66AFA6",
            "Simple": "3fa85f6457174562b3fc2c963f66afa6",
        });
        let obj = Object::root(&body).unwrap();
        assert!(obj.required_uuid("Upper").is_ok());
        assert_eq!(
            obj.required_uuid("Simple").unwrap_err().0,
            "Simple is not a valid UUID."
        );
    }

    #[test]
    fn uuid_lists_name_the_bad_item() {
        let body = json!({"Ids": ["3fa85f64-5717-4562-b3fc-2c963f66afa6", "nope"], "Empty": []});
        let obj = Object::root(&body).unwrap();
        assert_eq!(
            obj.optional_uuid_list("Ids", 1000).unwrap_err().0,
            "Ids[1] is not a valid UUID."
        );
        assert_eq!(
            obj.optional_uuid_list("Empty", 1000).unwrap_err().0,
            "Empty must contain between 1 and 1000 items."
        );
    }

    #[test]
    fn strings_must_not_hold_nul() {
        let body = json!({"S": "a\u{0}b"});
        let obj = Object::root(&body).unwrap();
        assert_eq!(
            obj.required_str("S").unwrap_err().0,
            "S must not contain U+0000."
        );
    }
}

/// The properties a request may carry, as a tree: a property the tree does not
/// name is unknown. Each request type declares its own
/// ([`super::Request::SHAPE`]).
#[derive(Debug)]
pub enum Shape {
    /// A value whose inside is not looked into (a string, a number, a list of
    /// ids).
    Value,
    /// An object with these properties.
    Object(&'static [(&'static str, Shape)]),
    /// A list of items of this shape.
    List(&'static Shape),
}

/// `Limitation` of every `getAll`.
pub const LIMITATION: Shape = Shape::Object(&[("Count", Shape::Value), ("Cursor", Shape::Value)]);
/// A time interval filter.
pub const INTERVAL: Shape = Shape::Object(&[("StartUtc", Shape::Value), ("EndUtc", Shape::Value)]);

/// A property a request carried that its operation does not take.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Unknown {
    /// Its full path, such as `Limitation.count` or `Messages[2].text`.
    pub property: String,
    /// The name it differs from only by case or one letter, if there is one.
    pub did_you_mean: Option<String>,
}

impl std::fmt::Display for Unknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.property)?;
        match &self.did_you_mean {
            Some(name) => write!(f, " (did you mean {name}?)"),
            None => Ok(()),
        }
    }
}

/// The properties of `body` that `shape` (and, at the top, `extra`) does not
/// name, in the body's order. Costs a look at each property's name, and
/// allocates only for an unknown one.
pub fn unknown(body: &Value, shape: &Shape, extra: &[&str]) -> Vec<Unknown> {
    let mut found = Vec::new();
    walk(body, shape, extra, &mut String::new(), &mut found);
    found
}

fn walk(value: &Value, shape: &Shape, extra: &[&str], path: &mut String, found: &mut Vec<Unknown>) {
    match (value, shape) {
        (Value::Object(map), Shape::Object(known)) => {
            for (name, value) in map {
                let at = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                match known.iter().find(|(k, _)| k == name) {
                    Some((_, inner)) => walk(value, inner, &[], path, found),
                    None if extra.contains(&name.as_str()) => {}
                    None => {
                        let names = known.iter().map(|(k, _)| *k).chain(extra.iter().copied());
                        found.push(Unknown {
                            property: path.clone(),
                            did_you_mean: names
                                .into_iter()
                                .find(|k| nearly(k, name))
                                .map(str::to_owned),
                        });
                    }
                }
                path.truncate(at);
            }
        }
        (Value::Array(items), Shape::List(inner)) => {
            for (i, item) in items.iter().enumerate() {
                let at = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, inner, &[], path, found);
                path.truncate(at);
            }
        }
        _ => {}
    }
}

/// Whether `a` and `b` differ only by case, or by one letter (one added,
/// left out or changed).
fn nearly(a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    match long.len() - short.len() {
        0 => short.iter().zip(long).filter(|(x, y)| x != y).count() == 1,
        1 => {
            let first = short.iter().zip(long).take_while(|(x, y)| x == y).count();
            short[first..] == long[first + 1..]
        }
        _ => false,
    }
}

#[cfg(test)]
mod shape_tests {
    use super::*;
    use serde_json::json;

    const ADD: Shape = Shape::Object(&[
        (
            "Messages",
            Shape::List(&Shape::Object(&[("Text", Shape::Value)])),
        ),
        ("Limitation", LIMITATION),
    ]);

    #[test]
    fn unknown_properties_are_named_with_a_hint_at_any_depth() {
        let body = json!({
            "messages": [],
            "Messages": [{"Text": "a"}, {"Txt": "b", "Other": 1}],
            "Limitation": {"count": 1, "Cursor": null},
            "Client": "app",
        });
        let found: Vec<String> = unknown(&body, &ADD, &["Client"])
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            vec![
                "messages (did you mean Messages?)",
                "Messages[1].Txt (did you mean Text?)",
                "Messages[1].Other",
                "Limitation.count (did you mean Count?)",
            ],
            "in the body's order"
        );
        assert!(unknown(&json!({"Messages": [{"Text": "a"}]}), &ADD, &[]).is_empty());
    }

    #[test]
    fn nearly_means_case_or_one_letter() {
        assert!(nearly("IsResolved", "IsResolve"));
        assert!(nearly("IsResolved", "isresolved"));
        assert!(nearly("Count", "Coumt"));
        assert!(nearly("Text", "Texts"));
        assert!(!nearly("Text", "Tex__"));
        assert!(!nearly("Subject", "Sender"));
    }
}

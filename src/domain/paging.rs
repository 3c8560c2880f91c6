//! `Limitation`, the request side of cursor pagination: how many items, and
//! after which one. How a page is then read (its bounds and the cursor's
//! position) is written once, in `store::content`, for every `getAll` of both
//! backends.

use uuid::Uuid;

use super::fields::{Input, InputError, Object};

pub const MAX_COUNT: i64 = 1000;

/// How many items a page holds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(u32);

impl Count {
    /// A page size of the server's own (a request's comes from [`Limitation`]).
    pub const fn new(n: u32) -> Self {
        Self(n)
    }

    pub fn get(self) -> u32 {
        self.0
    }

    pub fn usize(self) -> usize {
        self.0 as usize
    }

    pub fn i64(self) -> i64 {
        i64::from(self.0)
    }
}

/// `Limitation`: how many items, starting after which one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limitation {
    pub count: Count,
    pub cursor: Option<Uuid>,
}

impl Limitation {
    pub fn parse(obj: &Object<'_>) -> Input<Self> {
        let path = obj.path("Limitation");
        let limitation = obj
            .object_at("Limitation", &path)?
            .ok_or_else(|| InputError::new("Limitation is required."))?;
        // 10.0 is the integer 10 (as JSON Schema counts it), 10.5 is not.
        let count = limitation.required("Count")?;
        let count = count
            .as_i64()
            .or_else(|| {
                count
                    .as_f64()
                    .filter(|n| n.fract() == 0.0 && n.abs() <= MAX_COUNT as f64)
                    .map(|n| n as i64)
            })
            .filter(|n| (1..=MAX_COUNT).contains(n))
            .ok_or_else(|| {
                InputError(format!(
                    "Limitation.Count must be an integer between 1 and {MAX_COUNT}."
                ))
            })?;
        let cursor = limitation.optional_uuid("Cursor")?;
        Ok(Self {
            count: Count(u32::try_from(count).unwrap_or(1)),
            cursor,
        })
    }
}

/// Where an item stands in the newest-first order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub created: i64,
    pub seq: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(limitation: serde_json::Value) -> Input<Limitation> {
        let body = json!({ "Limitation": limitation });
        Limitation::parse(&Object::root(&body).unwrap())
    }

    #[test]
    fn count_must_be_between_1_and_1000() {
        let message = "Limitation.Count must be an integer between 1 and 1000.";
        for bad in [json!(0), json!(1001), json!(-1), json!(2.5), json!("10")] {
            assert_eq!(parse(json!({ "Count": bad })).unwrap_err().0, message);
        }
        assert_eq!(parse(json!({ "Count": 1000 })).unwrap().count.get(), 1000);
        assert_eq!(parse(json!({ "Count": 10.0 })).unwrap().count.get(), 10);
        assert_eq!(parse(json!({ "Count": 1001.0 })).unwrap_err().0, message);
        assert_eq!(
            parse(json!({})).unwrap_err().0,
            "Limitation.Count is required."
        );
    }

    #[test]
    fn limitation_itself_is_required() {
        let body = json!({});
        assert_eq!(
            Limitation::parse(&Object::root(&body).unwrap())
                .unwrap_err()
                .0,
            "Limitation is required."
        );
    }
}

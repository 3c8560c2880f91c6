//! Staff accounts (SPEC §15.1): who logs in to the inbox, what they may see,
//! and the requests that manage them (`staff/add`, `staff/update`).

use serde::Serialize;
use uuid::Uuid;

use super::Request;
use super::fields::{Input, InputError, Object, Shape};
use super::text::ShortText;
use super::thread::MAX_FILTER_IDS;

/// What a member may do beyond answering guests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Role {
    /// Manages the team, too.
    Admin,
    /// Answers guests.
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "Admin",
            Self::Agent => "Agent",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Admin" => Some(Self::Admin),
            "Agent" => Some(Self::Agent),
            _ => None,
        }
    }
}

/// The enterprises a member sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// These, and no other (never empty).
    Enterprises(Vec<Uuid>),
}

impl Scope {
    /// The scope of a stored list: empty means all.
    pub fn of(ids: Vec<Uuid>) -> Self {
        if ids.is_empty() {
            Self::All
        } else {
            Self::Enterprises(ids)
        }
    }

    pub fn allows(&self, enterprise: Uuid) -> bool {
        match self {
            Self::All => true,
            Self::Enterprises(ids) => ids.contains(&enterprise),
        }
    }

    /// The list a query filters by (`None`: no filter).
    pub fn filter(&self) -> Option<&[Uuid]> {
        match self {
            Self::All => None,
            Self::Enterprises(ids) => Some(ids),
        }
    }

    /// As stored and shown: empty for all.
    pub fn ids(&self) -> &[Uuid] {
        self.filter().unwrap_or_default()
    }
}

/// A member as stored (without the password's hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: Uuid,
    pub name: String,
    /// Lower case.
    pub login: String,
    pub role: Role,
    pub scope: Scope,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_ms: i64,
    /// Sessions issued before this (real time) are over.
    pub sessions_from_ms: i64,
}

/// Who did something in the inbox: a member, or the operator (the operator
/// token, in the inbox or through the operator API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub member: Option<Uuid>,
    pub name: String,
}

impl Actor {
    /// The built-in admin that the operator token logs in as.
    pub fn operator() -> Self {
        Self {
            member: None,
            name: OPERATOR_NAME.to_owned(),
        }
    }
}

/// The name the operator token acts under.
pub const OPERATOR_NAME: &str = "Operator";

/// Passwords have at least this many characters.
pub const MIN_PASSWORD: usize = 12;
/// And at most this many (Argon2 takes any, but a form need not).
pub const MAX_PASSWORD: usize = 1000;

/// A password a member may choose, or why not.
pub fn check_password(password: &str) -> Result<(), InputError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD {
        return Err(InputError(format!(
            "A password has at least {MIN_PASSWORD} characters."
        )));
    }
    if length > MAX_PASSWORD {
        return Err(InputError(format!(
            "A password has at most {MAX_PASSWORD} characters."
        )));
    }
    Ok(())
}

/// A login as kept: trimmed, lower case, 1 to 100 of letters, digits and
/// `. _ - @`.
pub fn login(text: &str, name: &str) -> Input<String> {
    let login = text.trim().to_lowercase();
    let length = login.chars().count();
    if length == 0 || length > 100 {
        return Err(InputError(format!(
            "{name} must be between 1 and 100 characters long."
        )));
    }
    if !login
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(InputError(format!(
            "{name} may hold only letters, digits and . _ - @"
        )));
    }
    Ok(login)
}

fn role(obj: &Object<'_>) -> Input<Option<Role>> {
    obj.optional_str("Role")?
        .map(|r| {
            Role::parse(r).ok_or_else(|| InputError::new("Role must be \"Admin\" or \"Agent\"."))
        })
        .transpose()
}

/// `EnterpriseIds`: absent, null or `[]` for all enterprises.
fn scope(obj: &Object<'_>) -> Input<Option<Scope>> {
    match obj.as_sent("EnterpriseIds") {
        None => Ok(None),
        Some(serde_json::Value::Array(items)) if items.is_empty() => Ok(Some(Scope::All)),
        Some(serde_json::Value::Null) => Ok(Some(Scope::All)),
        Some(_) => {
            let mut ids = obj
                .optional_uuid_list("EnterpriseIds", MAX_FILTER_IDS)?
                .unwrap_or_default();
            let mut seen = std::collections::HashSet::new();
            ids.retain(|id| seen.insert(*id));
            Ok(Some(Scope::of(ids)))
        }
    }
}

/// `staff/add`: a new member, who gets a one-time password.
#[derive(Debug, Clone)]
pub struct AddStaff {
    pub name: ShortText,
    pub login: String,
    pub role: Role,
    pub scope: Scope,
}

impl Request for AddStaff {
    const SHAPE: Shape = Shape::Object(&[
        ("Name", Shape::Value),
        ("Login", Shape::Value),
        ("Role", Shape::Value),
        ("EnterpriseIds", Shape::Value),
    ]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        Ok(Self {
            name: ShortText::parse(obj, "Name")?,
            login: login(obj.required_str("Login")?, "Login")?,
            role: role(obj)?.ok_or_else(|| InputError::new("Role is required."))?,
            scope: scope(obj)?.unwrap_or(Scope::All),
        })
    }
}

/// `staff/update`: what changes (what is absent stays).
#[derive(Debug, Clone, Default)]
pub struct UpdateStaff {
    pub login: String,
    pub change: StaffChange,
}

/// A change of a member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffChange {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub disabled: Option<bool>,
}

impl Request for UpdateStaff {
    const SHAPE: Shape = Shape::Object(&[
        ("Login", Shape::Value),
        ("Name", Shape::Value),
        ("Role", Shape::Value),
        ("EnterpriseIds", Shape::Value),
        ("Disabled", Shape::Value),
    ]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        let name = match obj.get("Name") {
            None => None,
            Some(_) => Some(
                ShortText::parse(obj, "Name")?
                    .into_string()
                    .trim()
                    .to_owned(),
            ),
        };
        Ok(Self {
            login: login(obj.required_str("Login")?, "Login")?,
            change: StaffChange {
                name,
                role: role(obj)?,
                scope: scope(obj)?,
                disabled: obj.optional_bool("Disabled")?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn add(body: serde_json::Value) -> Input<AddStaff> {
        AddStaff::parse(&Object::root(&body).unwrap())
    }

    #[test]
    fn a_member_has_a_name_a_login_a_role_and_a_scope() {
        let ok = add(json!({"Name": "Anna Novak", "Login": " Anna.Novak@Hotel ", "Role": "Agent"}))
            .unwrap();
        assert_eq!(ok.login, "anna.novak@hotel");
        assert_eq!(ok.scope, Scope::All);
        let e = Uuid::new_v4();
        let scoped =
            add(json!({"Name": "A", "Login": "a", "Role": "Admin", "EnterpriseIds": [e, e]}))
                .unwrap();
        assert_eq!(scoped.scope, Scope::Enterprises(vec![e]));
        for (bad, message) in [
            (
                json!({"Name": "A", "Login": "a b", "Role": "Agent"}),
                "Login may hold only",
            ),
            (
                json!({"Name": "A", "Login": "", "Role": "Agent"}),
                "Login must be between",
            ),
            (
                json!({"Name": "A", "Login": "a", "Role": "Boss"}),
                "Role must be",
            ),
            (json!({"Name": "A", "Login": "a"}), "Role is required."),
            (json!({"Login": "a", "Role": "Agent"}), "Name is required."),
        ] {
            let error = add(bad.clone()).unwrap_err().0;
            assert!(error.starts_with(message), "{bad}: {error}");
        }
    }

    #[test]
    fn passwords_have_twelve_characters_at_least() {
        assert!(check_password("correct horse").is_ok());
        assert!(check_password("short").is_err());
        assert!(check_password("ééééééééééé").is_err(), "11 characters");
    }
}

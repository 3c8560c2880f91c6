//! The requests of the administration over HTTP (SPEC §17): enterprises,
//! integrations and access tokens.

use uuid::Uuid;

use super::Request;
use super::fields::{Input, InputError, Object, Shape};
use super::text::ShortText;
use super::thread::MAX_FILTER_IDS;
use super::webhook::WebhookUrl;

/// `enterprises/add`.
#[derive(Debug, Clone)]
pub struct AddEnterprise {
    pub name: ShortText,
    /// A new one is made when absent.
    pub id: Option<Uuid>,
}

impl Request for AddEnterprise {
    const SHAPE: Shape = Shape::Object(&[("Name", Shape::Value), ("Id", Shape::Value)]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        Ok(Self {
            name: ShortText::parse(obj, "Name")?,
            id: obj.optional_uuid("Id")?,
        })
    }
}

/// A webhook URL property, checked as the CLI checks one.
fn webhook_url(obj: &Object<'_>, name: &str) -> Input<Option<WebhookUrl>> {
    obj.optional_str(name)?
        .map(|text| WebhookUrl::parse(text).map_err(|e| InputError(format!("{name}: {e}."))))
        .transpose()
}

/// `integrations/add`.
#[derive(Debug, Clone)]
pub struct AddIntegration {
    pub name: ShortText,
    pub webhook_url: Option<WebhookUrl>,
}

impl Request for AddIntegration {
    const SHAPE: Shape = Shape::Object(&[("Name", Shape::Value), ("WebhookUrl", Shape::Value)]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        Ok(Self {
            name: ShortText::parse(obj, "Name")?,
            webhook_url: webhook_url(obj, "WebhookUrl")?,
        })
    }
}

/// `integrations/update`: what changes (what is absent stays).
#[derive(Debug, Clone)]
pub struct UpdateIntegration {
    pub integration_id: Uuid,
    pub name: Option<ShortText>,
    /// `Some(None)`: the URL is cleared (`null`).
    pub webhook_url: Option<Option<WebhookUrl>>,
    pub signing: Option<SigningChange>,
}

/// `WebhookSigning` of `integrations/update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningChange {
    /// Webhooks go unsigned; every secret is forgotten.
    Off,
    /// A new secret signs from now on (shown once); the one it replaces
    /// signs beside it for 24 hours.
    NewSecret,
}

impl Request for UpdateIntegration {
    const SHAPE: Shape = Shape::Object(&[
        ("IntegrationId", Shape::Value),
        ("Name", Shape::Value),
        ("WebhookUrl", Shape::Value),
        ("WebhookSigning", Shape::Value),
    ]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        let name = match obj.get("Name") {
            None => None,
            Some(_) => Some(ShortText::parse(obj, "Name")?),
        };
        let webhook_url = match obj.as_sent("WebhookUrl") {
            None => None,
            Some(serde_json::Value::Null) => Some(None),
            Some(_) => Some(webhook_url(obj, "WebhookUrl")?),
        };
        let signing = match obj.optional_str("WebhookSigning")? {
            None => None,
            Some("Off") => Some(SigningChange::Off),
            Some("NewSecret") => Some(SigningChange::NewSecret),
            Some(_) => {
                return Err(InputError::new(
                    "WebhookSigning must be \"Off\" or \"NewSecret\".",
                ));
            }
        };
        Ok(Self {
            integration_id: obj.required_uuid("IntegrationId")?,
            name,
            webhook_url,
            signing,
        })
    }
}

/// `webhooks/test`, `webhooks/pause`, `webhooks/resume`: one integration.
#[derive(Debug, Clone, Copy)]
pub struct IntegrationRef {
    pub integration_id: Uuid,
}

impl Request for IntegrationRef {
    const SHAPE: Shape = Shape::Object(&[("IntegrationId", Shape::Value)]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        Ok(Self {
            integration_id: obj.required_uuid("IntegrationId")?,
        })
    }
}

/// The enterprises of a new access token: 1 to 1000, each once, the home
/// enterprise first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenScope(Vec<Uuid>);

/// Why a token's enterprises are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeError {
    Empty,
    TooMany,
    Repeated(Uuid),
}

impl TokenScope {
    pub fn new(ids: Vec<Uuid>) -> Result<Self, ScopeError> {
        if ids.is_empty() {
            return Err(ScopeError::Empty);
        }
        if ids.len() > MAX_FILTER_IDS {
            return Err(ScopeError::TooMany);
        }
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                return Err(ScopeError::Repeated(*id));
            }
        }
        Ok(Self(ids))
    }

    pub fn into_ids(self) -> Vec<Uuid> {
        self.0
    }
}

/// `accessTokens/add`.
#[derive(Debug, Clone)]
pub struct AddAccessToken {
    pub integration_id: Uuid,
    pub enterprises: TokenScope,
}

impl Request for AddAccessToken {
    const SHAPE: Shape = Shape::Object(&[
        ("IntegrationId", Shape::Value),
        ("EnterpriseIds", Shape::Value),
    ]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        let integration_id = obj.required_uuid("IntegrationId")?;
        let ids = obj.required_uuid_list("EnterpriseIds", MAX_FILTER_IDS)?;
        let enterprises = TokenScope::new(ids).map_err(|e| match e {
            ScopeError::Repeated(id) => {
                InputError(format!("EnterpriseIds names {id} more than once."))
            }
            ScopeError::Empty | ScopeError::TooMany => InputError(format!(
                "EnterpriseIds must contain between 1 and {MAX_FILTER_IDS} items."
            )),
        })?;
        Ok(Self {
            integration_id,
            enterprises,
        })
    }
}

/// `accessTokens/getAll`: the tokens of some integrations (all when absent).
#[derive(Debug, Clone)]
pub struct TokenFilter {
    pub integration_ids: Option<Vec<Uuid>>,
}

impl Request for TokenFilter {
    const SHAPE: Shape = Shape::Object(&[("IntegrationIds", Shape::Value)]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        Ok(Self {
            integration_ids: obj.optional_uuid_list("IntegrationIds", MAX_FILTER_IDS)?,
        })
    }
}

/// `accessTokens/revoke`.
#[derive(Debug, Clone)]
pub struct RevokeAccessTokens {
    pub ids: Vec<Uuid>,
}

impl Request for RevokeAccessTokens {
    const SHAPE: Shape = Shape::Object(&[("AccessTokenIds", Shape::Value)]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        Ok(Self {
            ids: obj.required_uuid_list("AccessTokenIds", MAX_FILTER_IDS)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_token_reaches_each_enterprise_once() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(TokenScope::new(vec![a, b]).is_ok());
        assert_eq!(TokenScope::new(vec![]), Err(ScopeError::Empty));
        assert_eq!(TokenScope::new(vec![a, b, a]), Err(ScopeError::Repeated(a)));
    }

    #[test]
    fn null_clears_a_webhook_url_and_absent_keeps_it() {
        let id = Uuid::new_v4();
        let parse = |body: serde_json::Value| {
            UpdateIntegration::parse(&Object::root(&body).unwrap()).unwrap()
        };
        let cleared = parse(json!({"IntegrationId": id, "WebhookUrl": null}));
        assert_eq!(cleared.webhook_url, Some(None));
        let kept = parse(json!({"IntegrationId": id, "Name": "New"}));
        assert_eq!(kept.webhook_url, None);
        let set = parse(json!({"IntegrationId": id, "WebhookUrl": "https://example.com/h?s=1"}));
        assert_eq!(
            set.webhook_url.flatten().map(|u| u.as_str().to_owned()),
            Some("https://example.com/h?s=1".to_owned())
        );
        let bad = UpdateIntegration::parse(
            &Object::root(&json!({"IntegrationId": id, "WebhookUrl": "ftp://x"})).unwrap(),
        );
        assert!(bad.unwrap_err().0.starts_with("WebhookUrl: "));
    }
}

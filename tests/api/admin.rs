//! SPEC §17: administration over HTTP. A test harness with switchboard in a
//! container makes its own tenant: an enterprise, an integration with its
//! receiver's URL, an access token; and revokes it again.

use serde_json::{Value, json};

use crate::helpers::paths::*;
use crate::helpers::*;
use crate::receiver::Receiver;

/// A Connector API body with tokens that are not the demo's.
fn signed(client_token: &str, access_token: &str, fields: Value) -> Value {
    let mut body =
        json!({"ClientToken": client_token, "AccessToken": access_token, "Client": "harness"});
    merge(&mut body, fields);
    body
}

#[tokio::test]
async fn a_harness_makes_its_own_tenant_and_uses_it() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;

    let enterprise = app
        .staff(ENTERPRISES_ADD, json!({"Name": "  Harbour Hotel  "}))
        .await
        .ok()["Enterprise"]
        .clone();
    assert_eq!(enterprise["Name"], "Harbour Hotel", "trimmed");
    assert_eq!(enterprise["CreatedUtc"], "2026-03-10T12:00:00Z");
    let chosen = uuid::Uuid::new_v4();
    let second = app
        .staff(ENTERPRISES_ADD, json!({"Name": "Annex", "Id": chosen}))
        .await
        .ok();
    assert_eq!(second["Enterprise"]["Id"], json!(chosen));
    let listed = app.staff(ENTERPRISES_GET_ALL, json!({})).await.ok();
    let names: Vec<&str> = listed["Enterprises"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Harbour Hotel") && names.contains(&"Annex"),
        "{listed}"
    );

    let url = format!("{}/hooks?secret=s3cr3t-in-query", receiver.base);
    let added = app
        .staff(
            INTEGRATIONS_ADD,
            json!({"Name": "Concierge bot", "WebhookUrl": url}),
        )
        .await
        .ok();
    let integration = added["Integration"].clone();
    let client_token = added["ClientToken"].as_str().unwrap().to_owned();
    assert_eq!(
        integration["WebhookUrl"],
        format!("{}/hooks", receiver.base),
        "the query (its secret) never shows"
    );
    let token = app
        .staff(
            ACCESS_TOKENS_ADD,
            json!({"IntegrationId": integration["Id"], "EnterpriseIds": [enterprise["Id"], chosen]}),
        )
        .await
        .ok();
    let access_token = token["AccessToken"].as_str().unwrap().to_owned();
    assert_eq!(
        token["Token"]["EnterpriseIds"],
        json!([enterprise["Id"], chosen])
    );
    assert_eq!(token["Token"]["RevokedUtc"], Value::Null);

    // The new credentials work on the Connector API, and the receiver hears.
    let thread = app
        .post(
            ADD,
            &signed(
                &client_token,
                &access_token,
                json!({"OriginalSender": "Guest", "Subject": "Towels"}),
            ),
        )
        .await
        .ok()["MessageThreads"][0]
        .clone();
    let message = app.reply(&thread, "On their way.").await;
    let received = receiver
        .wait_for_events(&[message["Id"].as_str().unwrap().to_owned()])
        .await;
    assert_eq!(received[0].path, "/hooks");
    assert_eq!(received[0].query.as_deref(), Some("secret=s3cr3t-in-query"));

    // Listed: ids and URLs without secrets, never a token.
    let integrations = app.staff(INTEGRATIONS_GET_ALL, json!({})).await.ok();
    let tokens = app
        .staff(
            ACCESS_TOKENS_GET_ALL,
            json!({"IntegrationIds": [integration["Id"]]}),
        )
        .await
        .ok();
    assert_eq!(tokens["AccessTokens"], json!([token["Token"]]));
    for text in [integrations.to_string(), tokens.to_string()] {
        assert!(!text.contains(&client_token) && !text.contains(&access_token));
        assert!(!text.contains("s3cr3t-in-query"));
    }

    // Renamed; its URL cleared with null; then the token revoked.
    let updated = app
        .staff(
            INTEGRATIONS_UPDATE,
            json!({"IntegrationId": integration["Id"], "Name": "Night bot", "WebhookUrl": null}),
        )
        .await
        .ok();
    assert_eq!(updated["Integration"]["Name"], "Night bot");
    assert_eq!(updated["Integration"]["WebhookUrl"], Value::Null);
    let kept = app
        .staff(
            INTEGRATIONS_UPDATE,
            json!({"IntegrationId": integration["Id"], "WebhookUrl": url}),
        )
        .await
        .ok();
    assert_eq!(
        kept["Integration"]["Name"], "Night bot",
        "a property not given is kept"
    );
    let revoked = app
        .staff(
            ACCESS_TOKENS_REVOKE,
            json!({"AccessTokenIds": [token["Token"]["Id"]]}),
        )
        .await
        .ok();
    assert_eq!(
        revoked["AccessTokens"][0]["RevokedUtc"],
        "2026-03-10T12:00:00Z"
    );
    app.post(
        GET_ALL,
        &signed(
            &client_token,
            &access_token,
            json!({"Limitation": {"Count": 1}}),
        ),
    )
    .await
    .assert_error(401);
}

#[tokio::test]
async fn administration_refuses_bad_input_and_changes_nothing() {
    let app = spawn_app().await;
    let integration = app
        .staff(INTEGRATIONS_ADD, json!({"Name": "Bot"}))
        .await
        .ok()["Integration"]
        .clone();
    let enterprise = app
        .staff(ENTERPRISES_ADD, json!({"Name": "Inn"}))
        .await
        .ok()["Enterprise"]
        .clone();
    let token = app
        .staff(
            ACCESS_TOKENS_ADD,
            json!({"IntegrationId": integration["Id"], "EnterpriseIds": [enterprise["Id"]]}),
        )
        .await
        .ok()["Token"]
        .clone();
    let unknown = uuid::Uuid::new_v4();
    let cases = [
        (ENTERPRISES_ADD, json!({}), "Name is required."),
        (
            ENTERPRISES_ADD,
            json!({"Name": "   "}),
            "Name must not be only whitespace.",
        ),
        (
            ENTERPRISES_ADD,
            json!({"Name": "Twin", "Id": enterprise["Id"]}),
            "Id is already the id of an enterprise.",
        ),
        (
            ENTERPRISES_ADD,
            json!({"Name": "Inn", "name": "inn"}),
            "The operator API takes no property name (did you mean Name?): ",
        ),
        (
            INTEGRATIONS_ADD,
            json!({"Name": "Bot", "WebhookUrl": "ftp://example.com/hook"}),
            "WebhookUrl: a webhook URL must be http or https, not ftp.",
        ),
        (
            INTEGRATIONS_UPDATE,
            json!({"IntegrationId": unknown, "Name": "X"}),
            "IntegrationId is not the id of an integration.",
        ),
        (
            ACCESS_TOKENS_ADD,
            json!({"IntegrationId": unknown, "EnterpriseIds": [enterprise["Id"]]}),
            "IntegrationId is not the id of an integration.",
        ),
        (
            ACCESS_TOKENS_ADD,
            json!({"IntegrationId": integration["Id"], "EnterpriseIds": [unknown]}),
            &format!("EnterpriseIds: {unknown} is not the id of an enterprise."),
        ),
        (
            ACCESS_TOKENS_ADD,
            json!({"IntegrationId": integration["Id"], "EnterpriseIds": []}),
            "EnterpriseIds must contain between 1 and 1000 items.",
        ),
        (
            ACCESS_TOKENS_REVOKE,
            json!({"AccessTokenIds": [token["Id"], unknown]}),
            "AccessTokenIds[1] is not the id of an active access token.",
        ),
        (
            ACCESS_TOKENS_GET_ALL,
            json!({"IntegrationIds": ["not-an-id"]}),
            "IntegrationIds[0] is not a valid UUID.",
        ),
    ];
    for (path, body, message) in &cases {
        let reply = app.staff(path, body.clone()).await;
        let message: &str = message;
        let said = reply.assert_error(400);
        assert!(said.starts_with(message), "{path} {body}: {said}");
    }
    // Nothing changed: the token is active, nothing was added.
    let tokens = app
        .staff(
            ACCESS_TOKENS_GET_ALL,
            json!({"IntegrationIds": [integration["Id"]]}),
        )
        .await
        .ok();
    assert_eq!(tokens["AccessTokens"], json!([token]));
    let enterprises = app.staff(ENTERPRISES_GET_ALL, json!({})).await.ok();
    assert_eq!(
        enterprises.to_string().matches("\"Inn\"").count(),
        1,
        "{enterprises}"
    );
    let integrations = app.staff(INTEGRATIONS_GET_ALL, json!({})).await.ok();
    assert_eq!(integrations.to_string().matches("\"Bot\"").count(), 1);
    // A revoked token cannot be revoked again.
    app.staff(
        ACCESS_TOKENS_REVOKE,
        json!({"AccessTokenIds": [token["Id"]]}),
    )
    .await
    .ok();
    app.staff(
        ACCESS_TOKENS_REVOKE,
        json!({"AccessTokenIds": [token["Id"]]}),
    )
    .await
    .assert_message(
        400,
        "AccessTokenIds[0] is not the id of an active access token.",
    );
    // Without the operator token: 401.
    let anonymous = app
        .send(
            app.client
                .post(format!("{}{ENTERPRISES_ADD}", app.base))
                .header("content-type", "application/json")
                .body(json!({"Name": "Sneaky"}).to_string()),
        )
        .await;
    anonymous.assert_error(401);
}

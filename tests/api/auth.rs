//! SPEC §2 (credentials) and issue rule 5: one 401 for every credential failure.

use serde_json::json;
use switchboard::domain::time::Timestamp;
use switchboard::store::TokenRef;
use switchboard::tokens::TokenHash;

use crate::helpers::*;

const UNAUTHORIZED: &str =
    "The ClientToken or AccessToken is invalid, or the AccessToken does not belong to the client.";

#[tokio::test]
async fn every_credential_failure_gets_the_same_401() {
    let app = spawn_app().await;
    let cases = [
        (
            "unknown client token",
            Creds {
                client: "NOT-A-TOKEN",
                access: PORTFOLIO.access,
            },
        ),
        (
            "unknown access token",
            Creds {
                client: PORTFOLIO.client,
                access: "NOT-A-TOKEN",
            },
        ),
        (
            "both unknown",
            Creds {
                client: "X",
                access: "Y",
            },
        ),
        (
            "access token of another integration",
            Creds {
                client: PORTFOLIO.client,
                access: OTHER_CLIENT.access,
            },
        ),
        (
            "tokens swapped",
            Creds {
                client: PORTFOLIO.access,
                access: PORTFOLIO.client,
            },
        ),
        (
            "lower-cased token",
            Creds {
                client: PORTFOLIO.client,
                access: "c66ef7b239d24632943d115ede9cb810-ea00f8fd8294692c940f6b5a8f9453d",
            },
        ),
    ];
    for (case, creds) in cases {
        for path in [ADD, GET_ALL] {
            let reply = app
                .call(path, creds, json!({"OriginalSender": "A", "Subject": "B", "CreatedUtc": everything(), "Limitation": {"Count": 1}}))
                .await;
            assert_eq!(reply.assert_error(401), UNAUTHORIZED, "{case}");
        }
    }
    assert!(app.visible_thread_ids(PORTFOLIO).await.is_empty());
}

#[tokio::test]
async fn a_revoked_token_is_refused() {
    let app = spawn_app().await;
    app.add_thread(NET_ONLY, "A", "B").await;
    app.store
        .revoke_access_token(
            TokenRef::Secret(TokenHash::of(NET_ONLY.access)),
            Timestamp::from_unix(0),
        )
        .await
        .expect("the token was active");
    // The node had admitted the token: it sends the write with the admission
    // (see `store::admission`), and the write must not happen.
    app.call(
        ADD,
        NET_ONLY,
        json!({"OriginalSender": "A", "Subject": "B"}),
    )
    .await
    .assert_message(401, UNAUTHORIZED);
    app.get_threads(NET_ONLY, json!({}))
        .await
        .assert_message(401, UNAUTHORIZED);
    // The integration's other token still works and still sees the thread.
    assert_eq!(app.visible_thread_ids(PORTFOLIO).await.len(), 1);
}

#[tokio::test]
async fn credentials_are_checked_before_the_rest_of_the_body() {
    let app = spawn_app().await;
    let reply = app
        .call(
            ADD,
            Creds {
                client: "X",
                access: "Y",
            },
            json!({"Subject": 5}),
        )
        .await;
    reply.assert_message(401, UNAUTHORIZED);
}

//! The demo tenant: the public tokens of the vendor's documentation,
//! so that the reference pages' example requests work as printed.

use uuid::{Uuid, uuid};

use crate::domain::time::Timestamp;
use crate::store::{
    AccessTokenInfo, Enterprise, Integration, NewAccessToken, NewIntegration, Store,
};
use crate::tokens::TokenHash;

pub const GROSS: Uuid = uuid!("3fa85f64-5717-4562-b3fc-2c963f66afa6");
pub const NET: Uuid = uuid!("4d0201db-36f5-428b-8d11-4f0a65e960cc");
pub const SAMPLE_CLIENT: Uuid = uuid!("c8bee838-7fb1-4f4e-8fac-ac87008b2f90");
pub const CLIENT_TOKEN: &str = "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D";
/// Portfolio token of Sample Client: home Gross, also Net.
pub const PORTFOLIO_ACCESS_TOKEN: &str =
    "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D";
pub const NET_ACCESS_TOKEN: &str =
    "4D6C7ABE0E6A4681B0AFB16900AE5D86-DF50CBC89E1D4FF5859DDF021649ED5";
pub const TEST_CLIENT_2: Uuid = uuid!("5a3c1f1e-2b7d-4c1e-9a57-0c1d2e3f4a5b");
pub const CLIENT_TOKEN_2: &str = "E916C341431C4D28A866AD200152DBD3-A046EB5583FFBE94DE1172237763712";
/// Test Client 2's token for Gross only.
pub const GROSS_ACCESS_TOKEN_2: &str =
    "CC150C355D6A4048A220AD20015483AB-B6D09C0C84B09538077CB8FFBB907B4";

/// Creates the demo enterprises, integrations and tokens.
pub async fn seed(store: &dyn Store, now: Timestamp) -> anyhow::Result<()> {
    for (id, name) in [(GROSS, "Demo Hotel Gross"), (NET, "Demo Hotel Net")] {
        store
            .add_enterprise(Enterprise {
                id,
                name: name.to_owned(),
                created: now,
            })
            .await?;
    }
    for (id, name, token) in [
        (SAMPLE_CLIENT, "Sample Client", CLIENT_TOKEN),
        (TEST_CLIENT_2, "Test Client 2", CLIENT_TOKEN_2),
    ] {
        store
            .add_integration(NewIntegration {
                integration: Integration {
                    id,
                    name: name.to_owned(),
                    created: now,
                    webhook_url: None,
                },
                client_token: TokenHash::of(token),
            })
            .await?;
    }
    for (integration_id, token, enterprises) in [
        (SAMPLE_CLIENT, PORTFOLIO_ACCESS_TOKEN, vec![GROSS, NET]),
        (SAMPLE_CLIENT, NET_ACCESS_TOKEN, vec![NET]),
        (TEST_CLIENT_2, GROSS_ACCESS_TOKEN_2, vec![GROSS]),
    ] {
        store
            .add_access_token(NewAccessToken {
                info: AccessTokenInfo {
                    id: Uuid::new_v4(),
                    integration_id,
                    enterprises,
                    created: now,
                    revoked: None,
                },
                token: TokenHash::of(token),
            })
            .await?;
    }
    Ok(())
}

/// What `serve` prints after creating the demo tenant.
pub fn banner(base: &str) -> String {
    format!(
        "Created the demo tenant: enterprises Demo Hotel Gross ({GROSS}) and Demo Hotel Net ({NET}).\n\
         Sample Client:  ClientToken {CLIENT_TOKEN}\n\
         \x20               AccessToken {PORTFOLIO_ACCESS_TOKEN} (portfolio: Gross, Net)\n\
         \x20               AccessToken {NET_ACCESS_TOKEN} (Net only)\n\
         Test Client 2:  ClientToken {CLIENT_TOKEN_2}\n\
         \x20               AccessToken {GROSS_ACCESS_TOKEN_2} (Gross only)\n\
         Try: curl -s {base}/api/connector/v1/messageThreads/add -H 'Content-Type: application/json' \\\n\
         \x20     -d '{{\"ClientToken\":\"{CLIENT_TOKEN}\",\"AccessToken\":\"{PORTFOLIO_ACCESS_TOKEN}\",\"Client\":\"Sample Client 1.0.0\",\"OriginalSender\":\"John Doe\",\"Subject\":\"Example subject\"}}'"
    )
}

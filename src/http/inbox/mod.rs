//! The staff web inbox (SPEC §15): the operator API in a browser. Pages are
//! rendered on the server and work without JavaScript (plain forms, each
//! answered with a redirect); a small script of our own adds keys and local
//! times. A reply and a resolve go through the same code as the operator API's
//! `messages/add` and `messageThreads/update`, with all their effects.
//!
//! A handler gets its session from an extractor (`LoggedIn` for a page,
//! `Posted` for a change, which also checks the form's CSRF token), and
//! answers what went wrong with one error type, [`InboxError`].

mod error;
mod extract;
pub mod live;
mod pages;
pub mod session;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::messages::store_messages;
use crate::domain::message::{MessageText, NewMessage, Sender};
use crate::domain::paging::Count;
use crate::domain::scope::Visibility;
use crate::domain::time::Timestamp;
use crate::store::MessageQuery;
use crate::store::inbox::InboxQuery;
use crate::tokens::TokenHash;
pub use error::InboxError;
use extract::{LoggedIn, Posted};
use live::{Live, Refused};
use pages::{Filters, ListPage, ThreadPage};
use session::{COOKIE, LIFETIME, Sessions, Throttle};

/// Threads on a page of the list.
const PAGE: u32 = 50;
/// The most messages a thread's page shows (its newest ones).
const MOST_MESSAGES: Count = Count::new(1000);

/// What the inbox keeps per node: its sessions' key, the login throttle, and
/// whether cookies are sent over https only.
pub struct Inbox {
    sessions: Sessions,
    throttle: Throttle,
    secure: bool,
    /// Changes for the open pages.
    pub live: Live,
}

impl Inbox {
    /// `secure`: the server's public URL is https, so its cookie is `Secure`;
    /// `live_streams`: how many live pages this node serves at once.
    pub fn new(operator_token: &TokenHash, secure: bool, live_streams: usize) -> Self {
        Self {
            sessions: Sessions::new(operator_token),
            throttle: Throttle::default(),
            secure,
            live: Live::new(live_streams),
        }
    }

    fn cookie(&self, value: &str, max_age: u64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{COOKIE}={value}; Path=/inbox; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        )
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/inbox", get(list))
        .route("/inbox/login", post(login))
        .route("/inbox/logout", post(logout))
        .route("/inbox/threads/{id}", get(thread))
        .route("/inbox/threads/{id}/reply", post(reply))
        .route("/inbox/threads/{id}/resolve", post(resolve))
        .route("/inbox/events", get(events))
        .route("/inbox/assets/inbox.css", get(stylesheet))
        .route("/inbox/assets/inbox.js", get(script))
        .layer(axum::middleware::from_fn(error::security_headers))
}

/// The names of the enterprises and integrations the list's filters offer.
async fn names(app: &AppState) -> Result<(Vec<(Uuid, String)>, Vec<(Uuid, String)>), InboxError> {
    let enterprises = app.store.enterprises().await?;
    let integrations = app.store.integrations().await?;
    Ok((
        enterprises.into_iter().map(|e| (e.id, e.name)).collect(),
        integrations.into_iter().map(|i| (i.id, i.name)).collect(),
    ))
}

async fn list(
    State(app): State<AppState>,
    session: Result<LoggedIn, InboxError>,
    filters: Result<Query<Filters>, QueryRejection>,
) -> Result<Response, InboxError> {
    let LoggedIn(session) = match session {
        Ok(session) => session,
        Err(InboxError::NotLoggedIn) => return Ok(error::page(StatusCode::OK, pages::login(None))),
        Err(e) => return Err(e),
    };
    let Query(filters) = filters.map_err(|_| InboxError::BadRequest {
        title: "Not a filter",
        message: "The address holds a filter the inbox does not know.".to_owned(),
    })?;
    let query = InboxQuery {
        resolved: filters.state.resolved(),
        awaiting: filters.awaiting(),
        enterprise: filters.enterprise,
        integration: filters.integration,
        search: filters.q.clone(),
        after: filters.after,
        count: Count::new(PAGE + 1),
    };
    let rows = match app.store.inbox_page(query).await {
        Ok(rows) => rows,
        // A cursor of a thread that is gone: start again at the top.
        Err(crate::store::StoreError::Missing(_)) => {
            return Ok(Redirect::to("/inbox").into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let awaiting_count = app.store.awaiting_count().await?;
    let (enterprises, integrations) = names(&app).await?;
    let more = rows.len() > PAGE as usize;
    let rows = &rows[..rows.len().min(PAGE as usize)];
    let csrf = app.inbox.sessions.csrf(&session);
    Ok(error::page(
        StatusCode::OK,
        pages::list(&ListPage {
            rows,
            awaiting_count,
            filters: &filters,
            enterprises: &enterprises,
            integrations: &integrations,
            next: more.then(|| rows.last().map(|r| r.thread.id)).flatten(),
            csrf: &csrf,
        }),
    ))
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: String,
}

async fn login(
    State(app): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    body: axum::body::Bytes,
) -> Result<Response, InboxError> {
    let address = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.0.0.ip());
    let now = app.real_clock.instant();
    if app.inbox.throttle.is_blocked(address, now) {
        return Ok(error::page(
            StatusCode::TOO_MANY_REQUESTS,
            pages::login(Some(
                "Too many wrong tokens from this address: wait a minute, then try again.",
            )),
        ));
    }
    let token = serde_urlencoded::from_bytes::<LoginForm>(&body)
        .map(|f| f.token)
        .unwrap_or_default();
    if !TokenHash::of(token.trim()).matches(&app.settings.operator_token.0) {
        app.inbox.throttle.wrong_try(address, now);
        return Ok(error::page(
            StatusCode::UNAUTHORIZED,
            pages::login(Some("That is not the operator token.")),
        ));
    }
    // Sessions last 12 hours of real time, whatever the manual clock says.
    let value = app
        .inbox
        .sessions
        .issue(app.real_clock.now_unix())
        .map_err(|e| InboxError::Internal(e.to_string()))?;
    let cookie = app.inbox.cookie(&value, LIFETIME.as_secs());
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/inbox")).into_response())
}

#[derive(Deserialize)]
pub(super) struct NoFields {}

async fn logout(
    State(app): State<AppState>,
    Posted(session, NoFields {}): Posted<NoFields>,
) -> Result<Response, InboxError> {
    // Ended on every node, a copy of the cookie too.
    let now = app.real_clock.now_unix();
    app.store
        .end_session(session.id, session.expires_unix, now)
        .await?;
    let cookie = app.inbox.cookie("", 0);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/inbox")).into_response())
}

/// A thread's page: `refused` is a reply that was not sent, and why.
async fn thread_page(
    app: &AppState,
    session: &session::Session,
    id: Uuid,
    refused: Option<(&str, &str)>,
    status: StatusCode,
) -> Result<Response, InboxError> {
    let row = app.store.inbox_thread(id).await?;
    let mut messages = app
        .store
        .messages(MessageQuery {
            visibility: Visibility::staff(),
            thread_ids: vec![id],
            enterprises: None,
            created: None,
            cursor: None,
            count: MOST_MESSAGES,
        })
        .await?;
    messages.reverse();
    let awaiting_count = app.store.awaiting_count().await?;
    let csrf = app.inbox.sessions.csrf(session);
    Ok(error::page(
        status,
        pages::thread(&ThreadPage {
            thread: &row.thread,
            enterprise_name: &row.enterprise_name,
            integration_name: &row.integration_name,
            messages: &messages,
            awaiting_count,
            csrf: &csrf,
            refused,
        }),
    ))
}

/// A thread's id in an address; one that is not an id names no thread.
fn thread_id(text: &str) -> Result<Uuid, InboxError> {
    Uuid::try_parse(text).map_err(|_| InboxError::NoThread)
}

async fn thread(
    State(app): State<AppState>,
    session: Result<LoggedIn, InboxError>,
    Path(id): Path<String>,
) -> Result<Response, InboxError> {
    let LoggedIn(session) = match session {
        Ok(session) => session,
        Err(InboxError::NotLoggedIn) => return Ok(Redirect::to("/inbox").into_response()),
        Err(e) => return Err(e),
    };
    thread_page(&app, &session, thread_id(&id)?, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(super) struct ReplyForm {
    #[serde(default)]
    text: String,
}

async fn reply(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Posted(session, form): Posted<ReplyForm>,
) -> Result<Response, InboxError> {
    let id = thread_id(&id)?;
    // The rule of the API's Text, by the API's own type.
    let text = match MessageText::checked(&form.text, "A reply") {
        Ok(text) => text,
        Err(refused) => {
            let refused = Some((refused.0.as_str(), form.text.as_str()));
            return thread_page(&app, &session, id, refused, StatusCode::BAD_REQUEST).await;
        }
    };
    let item = NewMessage {
        thread_id: id,
        text,
        identifier: None,
    };
    store_messages(
        &app,
        std::slice::from_ref(&item),
        Visibility::staff(),
        Sender::Enterprise,
    )
    .await?;
    Ok(Redirect::to(&format!("/inbox/threads/{id}#reply")).into_response())
}

#[derive(Deserialize)]
pub(super) struct ResolveForm {
    resolved: bool,
}

async fn resolve(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Posted(_, form): Posted<ResolveForm>,
) -> Result<Response, InboxError> {
    let id = thread_id(&id)?;
    let now = Timestamp::truncate(app.clock.now());
    app.store.set_resolved(id, form.resolved, now).await?;
    app.inbox.live.changed(&app.store, vec![id]);
    Ok(Redirect::to(&format!("/inbox/threads/{id}")).into_response())
}

/// The live updates of a logged-in page.
async fn events(State(app): State<AppState>, session: Result<LoggedIn, InboxError>) -> Response {
    match session {
        Ok(LoggedIn(session)) => match app.inbox.live.stream(&session.id) {
            Ok(stream) => stream.into_response(),
            Err(refused) => {
                let message = match refused {
                    Refused::Session => "This session has as many live pages open as it may.",
                    Refused::Node => "This server has as many live pages open as it may.",
                };
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "30")],
                    message,
                )
                    .into_response()
            }
        },
        Err(InboxError::NotLoggedIn) => StatusCode::UNAUTHORIZED.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../assets/inbox.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../assets/inbox.js"),
    )
        .into_response()
}

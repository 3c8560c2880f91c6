//! The staff web inbox (SPEC §15): the operator API in a browser. Pages are
//! rendered on the server and work without JavaScript (plain forms, each
//! answered with a redirect); a small script of our own adds keys and local
//! times. A reply and a resolve go through the same code as the operator API's
//! `messages/add` and `messageThreads/update`, with all their effects.

pub mod live;
mod pages;
pub mod session;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::messages::store_messages;
use crate::domain::fields::Object;
use crate::domain::message::{MessageText, NewMessage, Sender};
use crate::domain::scope::Visibility;
use crate::domain::time::Timestamp;
use crate::store::inbox::InboxQuery;
use crate::store::{MessageQuery, StoreError};
use crate::tokens::TokenHash;
use live::Live;
use pages::{Filters, ListView, ThreadView};
use session::{COOKIE, LIFETIME, Session, Sessions, Throttle};

/// Threads on a page of the list.
const PAGE: usize = 50;
/// The most messages a thread's page shows (its newest ones).
const MOST_MESSAGES: u32 = 1000;

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
    /// `secure`: the server's public URL is https, so its cookie is `Secure`.
    pub fn new(operator_token: &TokenHash, secure: bool) -> Self {
        Self {
            sessions: Sessions::new(operator_token),
            throttle: Throttle::default(),
            secure,
            live: Live::default(),
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
        .layer(axum::middleware::from_fn(security_headers))
}

/// The headers of every inbox answer: only our own resources, in no frame, no
/// sniffing, no referrer; and pages are not cached (they hold guests' words).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn page(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

fn no_thread() -> Response {
    page(
        StatusCode::NOT_FOUND,
        pages::notice(
            "No such thread",
            "There is no message thread at this address.",
        ),
    )
}

fn failure(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "inbox request failed");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        pages::notice(
            "Something went wrong",
            "The inbox could not do that. Try again.",
        ),
    )
}

/// The session of a request's cookie, if it has a good one that was not
/// ended by logging out. When the database cannot say, there is none.
async fn session_of(app: &AppState, headers: &HeaderMap) -> Option<Session> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))?;
    let session = app
        .inbox
        .sessions
        .check(value, chrono::Utc::now().timestamp())?;
    match app.store.session_ended(session.id.clone()).await {
        Ok(false) => Some(session),
        Ok(true) => None,
        Err(e) => {
            tracing::error!(error = %e, "cannot check an inbox session");
            None
        }
    }
}

/// Why a state-changing request was refused (403, nothing changed).
enum Refused {
    /// Its CSRF token is not its session's.
    Csrf,
    /// It has no session.
    NoSession,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let (title, message) = match self {
            Self::Csrf => (
                "The form has expired",
                "This form's security token is not the one of your session: reload the page and try again. Nothing was changed.",
            ),
            Self::NoSession => (
                "Not logged in",
                "Your session has ended: log in again. Nothing was changed.",
            ),
        };
        page(StatusCode::FORBIDDEN, pages::notice(title, message))
    }
}

/// The session of a state-changing request, if its CSRF token is the session's.
async fn checked(app: &AppState, headers: &HeaderMap, csrf: &str) -> Result<Session, Refused> {
    match session_of(app, headers).await {
        Some(session) if app.inbox.sessions.csrf_matches(&session, csrf) => Ok(session),
        Some(_) => Err(Refused::Csrf),
        None => Err(Refused::NoSession),
    }
}

async fn names(app: &AppState) -> Result<(Vec<(Uuid, String)>, Vec<(Uuid, String)>), StoreError> {
    let enterprises = app
        .store
        .enterprises()
        .await?
        .into_iter()
        .map(|e| (e.id, e.name))
        .collect();
    let integrations = app
        .store
        .integrations()
        .await?
        .into_iter()
        .map(|i| (i.id, i.name))
        .collect();
    Ok((enterprises, integrations))
}

async fn list(
    State(app): State<AppState>,
    headers: HeaderMap,
    filters: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(session) = session_of(&app, &headers).await else {
        return page(StatusCode::OK, pages::login(None));
    };
    let Ok(Query(filters)) = filters else {
        return page(
            StatusCode::BAD_REQUEST,
            pages::notice(
                "Not a filter",
                "The address holds a filter the inbox does not know.",
            ),
        );
    };
    let query = InboxQuery {
        resolved: filters.state.resolved(),
        awaiting: filters.awaiting(),
        enterprise: filters.enterprise,
        integration: filters.integration,
        search: filters.q.clone(),
        after: filters.after,
        count: PAGE + 1,
    };
    let rows = match app.store.inbox_page(query).await {
        Ok(rows) => rows,
        Err(StoreError::Missing(_)) => {
            return Redirect::to("/inbox").into_response();
        }
        Err(e) => return failure(e),
    };
    let (awaiting_count, (enterprises, integrations)) =
        match (app.store.awaiting_count().await, names(&app).await) {
            (Ok(count), Ok(names)) => (count, names),
            (Err(e), _) | (_, Err(e)) => return failure(e),
        };
    let more = rows.len() > PAGE;
    let rows = &rows[..rows.len().min(PAGE)];
    let csrf = app.inbox.sessions.csrf(&session);
    page(
        StatusCode::OK,
        pages::list(&ListView {
            rows,
            awaiting_count,
            filters: &filters,
            enterprises: &enterprises,
            integrations: &integrations,
            next: more.then(|| rows.last().map(|r| r.thread.id)).flatten(),
            csrf: &csrf,
        }),
    )
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(
    State(app): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let address = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.0.0.ip());
    let now = Instant::now();
    if app.inbox.throttle.is_blocked(address, now) {
        return page(
            StatusCode::TOO_MANY_REQUESTS,
            pages::login(Some(
                "Too many wrong tokens from this address: wait a minute, then try again.",
            )),
        );
    }
    let token = form.map(|Form(f)| f.token).unwrap_or_default();
    if !TokenHash::of(token.trim()).matches(&app.settings.operator_token.0) {
        app.inbox.throttle.wrong_try(address, now);
        return page(
            StatusCode::UNAUTHORIZED,
            pages::login(Some("That is not the operator token.")),
        );
    }
    // Sessions last 12 hours of real time, whatever the manual clock says.
    let value = match app.inbox.sessions.issue(chrono::Utc::now().timestamp()) {
        Ok(value) => value,
        Err(e) => return failure(e),
    };
    let cookie = app.inbox.cookie(&value, LIFETIME.as_secs());
    ([(header::SET_COOKIE, cookie)], Redirect::to("/inbox")).into_response()
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(app): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let csrf = form.map(|Form(f)| f.csrf).unwrap_or_default();
    let session = match checked(&app, &headers, &csrf).await {
        Ok(session) => session,
        Err(refused) => return refused.into_response(),
    };
    // Ended on every node, a copy of the cookie too.
    let now = chrono::Utc::now().timestamp();
    if let Err(e) = app
        .store
        .end_session(session.id, session.expires_unix, now)
        .await
    {
        return failure(e);
    }
    let cookie = app.inbox.cookie("", 0);
    ([(header::SET_COOKIE, cookie)], Redirect::to("/inbox")).into_response()
}

/// A thread's page: `refused` is a reply that was not sent, and why.
async fn thread_page(
    app: &AppState,
    session: &Session,
    id: Uuid,
    refused: Option<(&str, &str)>,
    status: StatusCode,
) -> Response {
    let found = match app
        .store
        .threads(crate::store::ThreadQuery {
            visibility: Visibility::staff(),
            enterprises: None,
            integrations: None,
            is_resolved: None,
            thread_ids: Some(vec![id]),
            created: None,
            updated: None,
            cursor: None,
            count: 1,
        })
        .await
    {
        Ok(found) => found,
        Err(e) => return failure(e),
    };
    let Some(thread) = found.into_iter().next() else {
        return no_thread();
    };
    let mut messages = match app
        .store
        .messages(MessageQuery {
            visibility: Visibility::staff(),
            thread_ids: vec![id],
            enterprises: None,
            created: None,
            cursor: None,
            count: MOST_MESSAGES,
        })
        .await
    {
        Ok(messages) => messages,
        Err(e) => return failure(e),
    };
    messages.reverse();
    let (awaiting_count, (enterprises, integrations)) =
        match (app.store.awaiting_count().await, names(app).await) {
            (Ok(count), Ok(names)) => (count, names),
            (Err(e), _) | (_, Err(e)) => return failure(e),
        };
    let name = |names: &[(Uuid, String)], id: Uuid| {
        names
            .iter()
            .find(|(n, _)| *n == id)
            .map_or_else(String::new, |(_, name)| name.clone())
    };
    let csrf = app.inbox.sessions.csrf(session);
    page(
        status,
        pages::thread(&ThreadView {
            thread: &thread,
            enterprise_name: &name(&enterprises, thread.enterprise_id),
            integration_name: &name(&integrations, thread.integration_id),
            messages: &messages,
            awaiting_count,
            csrf: &csrf,
            refused,
        }),
    )
}

async fn thread(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(session) = session_of(&app, &headers).await else {
        return Redirect::to("/inbox").into_response();
    };
    let Ok(id) = Uuid::try_parse(&id) else {
        return no_thread();
    };
    thread_page(&app, &session, id, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

async fn reply(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<ReplyForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or(ReplyForm {
        csrf: String::new(),
        text: String::new(),
    });
    let session = match checked(&app, &headers, &form.csrf).await {
        Ok(session) => session,
        Err(refused) => return refused.into_response(),
    };
    let Ok(id) = Uuid::try_parse(&id) else {
        return no_thread();
    };
    // The rule of the API's Text, checked by the API's own code.
    let body = serde_json::json!({ "Text": form.text });
    let text = Object::root(&body).and_then(|o| MessageText::parse(&o, "Text"));
    let text = match text {
        Ok(text) => text,
        Err(e) => {
            let message = e.0.replacen("Text", "A reply", 1);
            return thread_page(
                &app,
                &session,
                id,
                Some((&message, &form.text)),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let item = NewMessage {
        thread_id: id,
        text,
        identifier: None,
    };
    match store_messages(
        &app,
        std::slice::from_ref(&item),
        Visibility::staff(),
        Sender::Enterprise,
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/inbox/threads/{id}#reply")).into_response(),
        Err(super::error::ApiError::BadRequest(_)) => no_thread(),
        Err(e) => failure(format!("{e:?}")),
    }
}

#[derive(Deserialize)]
struct ResolveForm {
    #[serde(default)]
    csrf: String,
    resolved: bool,
}

async fn resolve(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<ResolveForm>, FormRejection>,
) -> Response {
    let csrf = form.as_ref().map(|f| f.csrf.clone()).unwrap_or_default();
    if let Err(refused) = checked(&app, &headers, &csrf).await {
        return refused.into_response();
    }
    let (Ok(Form(form)), Ok(id)) = (form, Uuid::try_parse(&id)) else {
        return page(
            StatusCode::BAD_REQUEST,
            pages::notice(
                "Not a change",
                "The form did not say whether to resolve or reopen.",
            ),
        );
    };
    let now = Timestamp::truncate(app.clock.now());
    match app.store.set_resolved(id, form.resolved, now).await {
        Ok(_) => {
            app.inbox.live.changed(&app.store, vec![id]);
            Redirect::to(&format!("/inbox/threads/{id}")).into_response()
        }
        Err(StoreError::Missing(_)) => no_thread(),
        Err(e) => failure(e),
    }
}

/// The live updates of a logged-in page.
async fn events(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if session_of(&app, &headers).await.is_none() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    app.inbox.live.stream().into_response()
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

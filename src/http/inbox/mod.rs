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
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::messages::store_messages;
use crate::domain::message::{MessageText, NewMessage, Sender};
use crate::domain::paging::Count;
use crate::domain::staff::{Scope, StaffChange};
use crate::domain::time::Timestamp;
use crate::store::MessageQuery;
use crate::store::inbox::{InboxPage, InboxQuery, MIN_SEARCH};
use crate::store::staff::{CannedReply, OPERATOR_ID};
use crate::tokens::TokenHash;
pub use error::InboxError;
use extract::{LoggedIn, Posted, Viewer};
use live::{Live, Refused};
use pages::{Filters, ListPage, ThreadPage};
use session::{COOKIE, LIFETIME, Sessions, Throttle, Who};

/// Threads on a page of the list.
const PAGE: u32 = 50;
/// The most messages a thread's page shows (its newest ones).
const MOST_MESSAGES: Count = Count::new(1000);

/// What the inbox keeps per node: its sessions' key, the login throttles,
/// and whether cookies are sent over https only.
pub struct Inbox {
    sessions: Sessions,
    /// Wrong logins per address, and per login.
    throttle: Throttle<IpAddr>,
    throttle_logins: Throttle<String>,
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
            throttle_logins: Throttle::default(),
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

    /// A new session for `who`, as a cookie that logs in.
    /// `to`: where the browser goes next (a deep link it was opening).
    fn log_in(&self, app: &AppState, who: Who, to: &str) -> Result<Response, InboxError> {
        self.log_in_at(app.real_clock.now_ms(), who, to)
    }

    /// A new session issued at `issued_ms` (real time): sessions last 12
    /// hours of real time, whatever the manual clock says. `to` is a page of
    /// the inbox ([`next_page`]), which is always a valid header value.
    fn log_in_at(&self, issued_ms: i64, who: Who, to: &str) -> Result<Response, InboxError> {
        let value = self
            .sessions
            .issue(issued_ms, who)
            .map_err(|e| InboxError::Internal(e.to_string()))?;
        let cookie = self.cookie(&value, LIFETIME.as_secs());
        Ok(([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response())
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/inbox", get(list))
        .route("/inbox/login", post(login))
        .route("/inbox/logout", post(logout))
        .route("/inbox/password", get(password_page).post(password))
        .route("/inbox/team", get(team_page).post(team_add))
        .route("/inbox/team/canned", post(canned_add))
        .route("/inbox/team/canned/{id}/delete", post(canned_delete))
        .route("/inbox/team/{login}", post(team_change))
        .route("/inbox/threads/{id}", get(thread))
        .route("/inbox/threads/{id}/reply", post(reply))
        .route("/inbox/threads/{id}/resolve", post(resolve))
        .route("/inbox/threads/{id}/assign", post(assign))
        .route("/inbox/threads/{id}/note", post(note))
        .route("/inbox/events", get(events))
        .route("/inbox/assets/inbox.css", get(stylesheet))
        .route("/inbox/assets/inbox.js", get(script))
        .layer(axum::middleware::from_fn(error::security_headers))
}

/// What a page's header needs of its viewer.
fn who<'a>(viewer: &'a Viewer, csrf: &'a str) -> pages::Who<'a> {
    pages::Who {
        name: &viewer.actor.name,
        admin: viewer.is_admin(),
        member: viewer.actor.member.is_some(),
        csrf,
    }
}

/// The names of the enterprises (those the viewer sees) and integrations
/// the list's filters offer.
async fn names(
    app: &AppState,
    scope: &Scope,
) -> Result<(Vec<(Uuid, String)>, Vec<(Uuid, String)>), InboxError> {
    let enterprises = app.store.enterprises().await?;
    let integrations = app.store.integrations().await?;
    Ok((
        enterprises
            .into_iter()
            .filter(|e| scope.allows(e.id))
            .map(|e| (e.id, e.name))
            .collect(),
        integrations.into_iter().map(|i| (i.id, i.name)).collect(),
    ))
}

async fn list(
    State(app): State<AppState>,
    uri: Uri,
    viewer: Result<LoggedIn, InboxError>,
    filters: Result<Query<Filters>, QueryRejection>,
) -> Result<Response, InboxError> {
    let LoggedIn(viewer) = match viewer {
        Ok(viewer) => viewer,
        Err(InboxError::NotLoggedIn) => {
            // A filtered list opened while logged out opens after the login.
            let next = uri.query().map(|_| uri.to_string());
            return Ok(error::page(
                StatusCode::OK,
                pages::login(None, next.as_deref()),
            ));
        }
        Err(e) => return Err(e),
    };
    let Query(filters) = filters.map_err(|_| InboxError::BadRequest {
        title: "Not a filter",
        message: "The address holds a filter the inbox does not know.".to_owned(),
    })?;
    let search = filters
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty());
    let searching = search.is_some_and(|q| q.chars().count() >= MIN_SEARCH);
    let query = InboxQuery {
        // A search looks at open and resolved threads at once.
        resolved: if searching {
            None
        } else {
            filters.state.resolved()
        },
        awaiting: filters.awaiting(),
        enterprise: filters.enterprise,
        integration: filters.integration,
        assigned: filters.assigned(viewer.reader()),
        scope: viewer.scope_filter(),
        search: filters.q.clone(),
        after: filters.after,
        count: Count::new(PAGE + 1),
    };
    let InboxPage { rows, narrowed } = match app.store.inbox_page(query).await {
        Ok(page) => page,
        // A cursor of a thread that is gone: start again at the top.
        Err(crate::store::StoreError::Missing(_)) => {
            return Ok(Redirect::to("/inbox").into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let awaiting_count = app.store.awaiting_count(viewer.scope_filter()).await?;
    let (enterprises, integrations) = names(&app, &viewer.scope).await?;
    let seen = app
        .store
        .seen(viewer.reader(), rows.iter().map(|r| r.thread.id).collect())
        .await?;
    let unread: Vec<Uuid> = rows
        .iter()
        .filter(|r| {
            let seen = seen.iter().find(|(id, _)| *id == r.thread.id).map(|s| s.1);
            r.last_guest_seq
                .is_some_and(|guest| seen.is_none_or(|seen| seen < guest))
        })
        .map(|r| r.thread.id)
        .collect();
    let more = rows.len() > PAGE as usize;
    let rows = &rows[..rows.len().min(PAGE as usize)];
    let csrf = app.inbox.sessions.csrf(&viewer.session);
    Ok(error::page(
        StatusCode::OK,
        pages::list(&ListPage {
            rows,
            awaiting_count,
            filters: &filters,
            enterprises: &enterprises,
            integrations: &integrations,
            next: more.then(|| rows.last().map(|r| r.thread.id)).flatten(),
            who: who(&viewer, &csrf),
            search: search.map(|q| (q, searching)),
            narrowed,
            unread: &unread,
        }),
    ))
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    /// The inbox page to open once logged in.
    #[serde(default)]
    next: String,
}

/// Where a login goes next: `next` when it is a page of the inbox (a path
/// of this origin, never another site's address), the list otherwise.
fn next_page(next: &str) -> &str {
    let inbox = next == "/inbox" || next.starts_with("/inbox/") || next.starts_with("/inbox?");
    let plain = next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') && !next.contains("//");
    if inbox && plain && next.parse::<Uri>().is_ok() {
        next
    } else {
        "/inbox"
    }
}

/// Logs in with a login and password, or with the operator token (as the
/// built-in admin, Operator). More than 10 wrong tries in a minute from one
/// address, or for one login, are refused with 429.
async fn login(
    State(app): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    body: axum::body::Bytes,
) -> Result<Response, InboxError> {
    let address = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.0.0.ip());
    let now = app.real_clock.instant();
    let form = serde_urlencoded::from_bytes::<LoginForm>(&body).unwrap_or(LoginForm {
        token: String::new(),
        login: String::new(),
        password: String::new(),
        next: String::new(),
    });
    let to = next_page(&form.next);
    let again = |message| pages::login(Some(message), (to != "/inbox").then_some(to));
    let login = form.login.trim().to_lowercase();
    let throttle = &app.inbox.throttle;
    let logins = &app.inbox.throttle_logins;
    if throttle.is_blocked(&address, now) || (!login.is_empty() && logins.is_blocked(&login, now)) {
        return Ok(error::page(
            StatusCode::TOO_MANY_REQUESTS,
            again("Too many wrong tries: wait a minute, then try again."),
        ));
    }
    if !form.token.trim().is_empty() {
        if TokenHash::of(form.token.trim()).matches(&app.settings.operator_token.0) {
            return app.inbox.log_in(&app, Who::Operator, to);
        }
        throttle.wrong_try(address, now);
        return Ok(error::page(
            StatusCode::UNAUTHORIZED,
            again("That is not the operator token."),
        ));
    }
    let found = match login.is_empty() {
        true => None,
        false => app.store.staff_login(login.clone()).await?,
    };
    let (member, hash) = match found {
        Some((member, hash)) => (Some(member), Some(hash)),
        None => (None, None),
    };
    let right = crate::passwords::verify(form.password, hash).await;
    match member {
        Some(member) if right && !member.disabled => {
            app.inbox.log_in(&app, Who::Member(member.id), to)
        }
        _ => {
            throttle.wrong_try(address, now);
            if !login.is_empty() {
                logins.wrong_try(login, now);
            }
            Ok(error::page(
                StatusCode::UNAUTHORIZED,
                again("That login and password do not match."),
            ))
        }
    }
}

#[derive(Deserialize)]
pub(super) struct NoFields {}

async fn logout(
    State(app): State<AppState>,
    Posted(viewer, NoFields {}): Posted<NoFields>,
) -> Result<Response, InboxError> {
    // Ended on every node, a copy of the cookie too.
    let now = app.real_clock.now_unix();
    let session = viewer.session;
    app.store
        .end_session(session.id, session.expires_unix, now)
        .await?;
    let cookie = app.inbox.cookie("", 0);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/inbox")).into_response())
}

/// A thread the viewer may see, or [`InboxError::NoThread`]: another
/// enterprise's thread is as missing as one that does not exist.
async fn visible_thread(
    app: &AppState,
    viewer: &Viewer,
    id: Uuid,
) -> Result<crate::store::inbox::InboxRow, InboxError> {
    let row = app.store.inbox_thread(id).await?;
    if !viewer.scope.allows(row.thread.enterprise_id) {
        return Err(InboxError::NoThread);
    }
    Ok(row)
}

/// A thread's page: `refused` is a reply that was not sent, and why.
async fn thread_page(
    app: &AppState,
    viewer: &Viewer,
    id: Uuid,
    refused: Option<(&str, &str)>,
    prefill: Option<&str>,
    status: StatusCode,
) -> Result<Response, InboxError> {
    let row = visible_thread(app, viewer, id).await?;
    let mut messages = app
        .store
        .messages(MessageQuery {
            visibility: viewer.visibility(),
            thread_ids: vec![id],
            enterprises: None,
            created: None,
            cursor: None,
            count: MOST_MESSAGES,
        })
        .await?;
    messages.reverse();
    let history = app.store.thread_history(id).await?;
    let awaiting_count = app.store.awaiting_count(viewer.scope_filter()).await?;
    app.store.mark_read(viewer.reader(), id).await?;
    let assignable = assignable(app, row.thread.enterprise_id).await?;
    let canned: Vec<(String, String)> = app
        .store
        .canned_replies()
        .await?
        .into_iter()
        .filter(|c| {
            c.enterprise_id
                .is_none_or(|e| e == row.thread.enterprise_id)
        })
        .map(|c| {
            let text = c.filled(
                &row.thread.original_sender,
                &row.enterprise_name,
                &viewer.actor.name,
            );
            (c.name, text)
        })
        .collect();
    let prefill = prefill.and_then(|name| {
        canned
            .iter()
            .find(|(n, _)| n.to_lowercase() == name.to_lowercase())
            .map(|(_, text)| text.as_str())
    });
    let csrf = app.inbox.sessions.csrf(&viewer.session);
    Ok(error::page(
        status,
        pages::thread(&ThreadPage {
            thread: &row.thread,
            enterprise_name: &row.enterprise_name,
            integration_name: &row.integration_name,
            messages: &messages,
            history: &history,
            awaiting_count,
            who: who(viewer, &csrf),
            refused,
            assignee: row.assignee.as_ref(),
            assignable: &assignable,
            canned: &canned,
            prefill,
        }),
    ))
}

/// A thread's id in an address; one that is not an id names no thread.
fn thread_id(text: &str) -> Result<Uuid, InboxError> {
    Uuid::try_parse(text).map_err(|_| InboxError::NoThread)
}

async fn thread(
    State(app): State<AppState>,
    uri: Uri,
    viewer: Result<LoggedIn, InboxError>,
    Path(id): Path<String>,
    shown: Result<Query<Shown>, QueryRejection>,
) -> Result<Response, InboxError> {
    let shown = shown.map(|Query(shown)| shown).unwrap_or_default();
    let LoggedIn(viewer) = match viewer {
        Ok(viewer) => viewer,
        // The login form, which opens this thread once logged in.
        Err(InboxError::NotLoggedIn) => {
            let next = uri.to_string();
            return Ok(error::page(StatusCode::OK, pages::login(None, Some(&next))));
        }
        Err(e) => return Err(e),
    };
    let canned = shown.canned.as_deref();
    thread_page(&app, &viewer, thread_id(&id)?, None, canned, StatusCode::OK).await
}

/// A thread page's query: the canned reply its reply box starts with.
#[derive(Deserialize, Default)]
struct Shown {
    #[serde(default)]
    canned: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ReplyForm {
    #[serde(default)]
    text: String,
}

/// A reply: a staff message with every effect of the operator API's, its
/// author recorded with it; to a thread the viewer sees only.
async fn reply(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Posted(viewer, form): Posted<ReplyForm>,
) -> Result<Response, InboxError> {
    let id = thread_id(&id)?;
    // The rule of the API's Text, by the API's own type.
    let text = match MessageText::checked(&form.text, "A reply") {
        Ok(text) => text,
        Err(refused) => {
            let refused = Some((refused.0.as_str(), form.text.as_str()));
            return thread_page(&app, &viewer, id, refused, None, StatusCode::BAD_REQUEST).await;
        }
    };
    let item = NewMessage {
        thread_id: id,
        text,
        identifier: None,
    };
    // The store refuses a thread outside the viewer's scope (as missing).
    store_messages(
        &app,
        std::slice::from_ref(&item),
        viewer.visibility(),
        Sender::Enterprise,
        Some(viewer.actor.clone()),
    )
    .await
    .map_err(|e| match e {
        crate::store::StoreError::Missing(_) => InboxError::NoThread,
        e => e.into(),
    })?;
    Ok(Redirect::to(&format!("/inbox/threads/{id}#reply")).into_response())
}

#[derive(Deserialize)]
pub(super) struct ResolveForm {
    resolved: bool,
}

async fn resolve(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Posted(viewer, form): Posted<ResolveForm>,
) -> Result<Response, InboxError> {
    let id = thread_id(&id)?;
    visible_thread(&app, &viewer, id).await?;
    let now = Timestamp::truncate(app.clock.now());
    app.store
        .set_resolved(id, form.resolved, now, viewer.actor.clone())
        .await?;
    app.inbox.live.changed(&app.store, vec![id]);
    Ok(Redirect::to(&format!("/inbox/threads/{id}")).into_response())
}

#[derive(Deserialize)]
pub(super) struct CannedForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    enterprise: String,
    #[serde(default)]
    text: String,
}

/// Adds a canned reply (admins only): a name of one word, an enterprise or
/// all, a text of 1 to 10,000 characters.
async fn canned_add(
    State(app): State<AppState>,
    Posted(viewer, form): Posted<CannedForm>,
) -> Result<Response, InboxError> {
    if !viewer.is_admin() {
        return Err(InboxError::AdminsOnly);
    }
    let name = form.name.trim().trim_start_matches('/');
    let refused = if name.is_empty()
        || name.chars().count() > 50
        || name.contains(char::is_whitespace)
        || name.contains('/')
    {
        Some("A canned reply's name is one word of 1 to 50 characters, without a /.")
    } else if MessageText::checked(&form.text, "A canned reply").is_err() {
        Some("A canned reply's text is 1 to 10,000 characters.")
    } else {
        None
    };
    let enterprise = match form.enterprise.trim() {
        "" => None,
        id => match Uuid::try_parse(id) {
            Ok(id) if app.store.enterprises().await?.iter().any(|e| e.id == id) => Some(id),
            _ => {
                return team_view(
                    &app,
                    &viewer,
                    None,
                    Some("There is no such enterprise."),
                    StatusCode::BAD_REQUEST,
                )
                .await;
            }
        },
    };
    if let Some(refused) = refused {
        return team_view(&app, &viewer, None, Some(refused), StatusCode::BAD_REQUEST).await;
    }
    let reply = CannedReply {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        enterprise_id: enterprise,
        text: form.text.clone(),
        created_ms: app.real_clock.now_ms(),
    };
    match app.store.add_canned_reply(reply).await {
        Ok(()) => Ok(Redirect::to("/inbox/team").into_response()),
        Err(crate::store::StoreError::Conflict(message)) => {
            team_view(&app, &viewer, None, Some(&message), StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn canned_delete(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Posted(viewer, NoFields {}): Posted<NoFields>,
) -> Result<Response, InboxError> {
    if !viewer.is_admin() {
        return Err(InboxError::AdminsOnly);
    }
    if let Ok(id) = Uuid::try_parse(&id) {
        app.store.delete_canned_reply(id).await?;
    }
    Ok(Redirect::to("/inbox/team").into_response())
}

/// Who a thread of this enterprise may be assigned to: the enabled members
/// who see it, by name.
async fn assignable(app: &AppState, enterprise: Uuid) -> Result<Vec<(Uuid, String)>, InboxError> {
    let mut members: Vec<(Uuid, String)> = app
        .store
        .staff()
        .await?
        .into_iter()
        .filter(|m| !m.disabled && m.scope.allows(enterprise))
        .map(|m| (m.id, m.name))
        .collect();
    members.sort_by_key(|m| m.1.to_lowercase());
    Ok(members)
}

#[derive(Deserialize)]
pub(super) struct AssignForm {
    /// `me`, a member's id, or empty: nobody.
    #[serde(default)]
    to: String,
}

/// Assigns a thread the viewer sees to themselves, to a member who sees it,
/// or to nobody.
async fn assign(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Posted(viewer, form): Posted<AssignForm>,
) -> Result<Response, InboxError> {
    let id = thread_id(&id)?;
    let row = visible_thread(&app, &viewer, id).await?;
    let assignee = match form.to.trim() {
        "" => None,
        "me" => Some((viewer.reader(), viewer.actor.name.clone())),
        // The Operator (who sees every thread), as the form names them when
        // a thread is theirs.
        other if Uuid::try_parse(other) == Ok(OPERATOR_ID) => {
            Some((OPERATOR_ID, crate::domain::staff::OPERATOR_NAME.to_owned()))
        }
        other => {
            let member = Uuid::try_parse(other).ok();
            let found = assignable(&app, row.thread.enterprise_id)
                .await?
                .into_iter()
                .find(|(id, _)| Some(*id) == member);
            match found {
                Some(found) => Some(found),
                None => {
                    return Err(InboxError::BadRequest {
                        title: "No such member",
                        message: "A thread can be assigned to an enabled member who sees its \
                                  enterprise. Nothing was changed."
                            .to_owned(),
                    });
                }
            }
        }
    };
    let now = Timestamp::truncate(app.clock.now());
    app.store
        .assign(id, assignee, now, viewer.actor.clone())
        .await?;
    app.inbox.live.changed(&app.store, vec![id]);
    Ok(Redirect::to(&format!("/inbox/threads/{id}")).into_response())
}

#[derive(Deserialize)]
pub(super) struct NoteForm {
    #[serde(default)]
    note: String,
}

/// An internal note: staff only, kept in the thread's history, never a
/// message (so never in the Connector API, the operator's message list or
/// webhooks).
async fn note(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Posted(viewer, form): Posted<NoteForm>,
) -> Result<Response, InboxError> {
    let id = thread_id(&id)?;
    visible_thread(&app, &viewer, id).await?;
    // The same rule as a reply's text.
    let text = match MessageText::checked(&form.note, "A note") {
        Ok(text) => text,
        Err(refused) => {
            return Err(InboxError::BadRequest {
                title: "Not a note",
                message: format!("{} Nothing was changed.", refused.0),
            });
        }
    };
    let now = Timestamp::truncate(app.clock.now());
    app.store
        .add_note(id, text.as_str().to_owned(), now, viewer.actor.clone())
        .await?;
    app.inbox.live.changed(&app.store, vec![id]);
    Ok(Redirect::to(&format!("/inbox/threads/{id}#notes")).into_response())
}

/// The live updates of a logged-in page: only of threads its viewer sees,
/// and only while its session holds.
async fn events(State(app): State<AppState>, viewer: Result<LoggedIn, InboxError>) -> Response {
    let viewer = match viewer {
        Ok(LoggedIn(viewer)) => viewer,
        Err(InboxError::NotLoggedIn) => return StatusCode::UNAUTHORIZED.into_response(),
        Err(e) => return e.into_response(),
    };
    match app
        .inbox
        .live
        .stream(&viewer.session.id, gate(&app, &viewer))
    {
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
    }
}

/// What a viewer's stream lets through: for a member, only while the member
/// is enabled and the session not older than their last password change,
/// and only threads of their enterprises.
fn gate(app: &AppState, viewer: &Viewer) -> live::Gate {
    let Some(member) = viewer.actor.member else {
        return live::open_gate();
    };
    let (store, issued_ms) = (app.store.clone(), viewer.session.issued_ms);
    std::sync::Arc::new(move |thread| {
        let store = store.clone();
        Box::pin(async move {
            let Ok(Some(now)) = store.staff_member(member).await else {
                return live::Verdict::End;
            };
            if now.disabled || issued_ms < now.sessions_from_ms {
                return live::Verdict::End;
            }
            match (thread, now.scope.filter()) {
                (_, None) | (None, _) => live::Verdict::Send,
                (Some(thread), Some(_)) => match store.inbox_thread(thread).await {
                    Ok(row) if now.scope.allows(row.thread.enterprise_id) => live::Verdict::Send,
                    _ => live::Verdict::Skip,
                },
            }
        })
    })
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    again: String,
}

async fn password_page(
    State(app): State<AppState>,
    LoggedIn(viewer): LoggedIn,
) -> Result<Response, InboxError> {
    if viewer.actor.member.is_none() {
        return Err(InboxError::BadRequest {
            title: "No password",
            message:
                "The operator logs in with the operator token, which has no password to change."
                    .to_owned(),
        });
    }
    let csrf = app.inbox.sessions.csrf(&viewer.session);
    Ok(error::page(
        StatusCode::OK,
        pages::password(&who(&viewer, &csrf), viewer.must_change_password, None),
    ))
}

/// A member's new password: the current one first. Every other session of
/// the member ends; this one goes on with a new cookie.
async fn password(
    State(app): State<AppState>,
    Posted(viewer, form): Posted<PasswordForm>,
) -> Result<Response, InboxError> {
    let (Some(member), Some(login)) = (viewer.actor.member, viewer.login.clone()) else {
        return Err(InboxError::AdminsOnly);
    };
    let csrf = app.inbox.sessions.csrf(&viewer.session);
    let refuse = |message: &str| {
        Ok(error::page(
            StatusCode::BAD_REQUEST,
            pages::password(
                &who(&viewer, &csrf),
                viewer.must_change_password,
                Some(message),
            ),
        ))
    };
    let hash = app.store.staff_login(login).await?.map(|(_, hash)| hash);
    if !crate::passwords::verify(form.current.clone(), hash).await {
        return refuse("That is not your current password.");
    }
    if form.new != form.again {
        return refuse("The two new passwords differ.");
    }
    if let Err(e) = crate::domain::staff::check_password(&form.new) {
        return refuse(&e.0);
    }
    if form.new == form.current {
        return refuse("Choose a password other than the one you have.");
    }
    // Every session issued until now ends; this one goes on, issued after.
    let after_ms = app.real_clock.now_ms() + 1;
    crate::admin::set_password(app.store.as_ref(), member, form.new, false, after_ms).await?;
    app.inbox.log_in_at(after_ms, Who::Member(member), "/inbox")
}

/// The team page's state after an action.
async fn team_view(
    app: &AppState,
    viewer: &Viewer,
    done: Option<(&str, String, Option<&str>)>,
    refused: Option<&str>,
    status: StatusCode,
) -> Result<Response, InboxError> {
    let members = app.store.staff().await?;
    let canned = app.store.canned_replies().await?;
    let enterprises: Vec<(Uuid, String)> = app
        .store
        .enterprises()
        .await?
        .into_iter()
        .map(|e| (e.id, e.name))
        .collect();
    let csrf = app.inbox.sessions.csrf(&viewer.session);
    Ok(error::page(
        status,
        pages::team(&pages::TeamPage {
            members: &members,
            canned: &canned,
            enterprises: &enterprises,
            who: who(viewer, &csrf),
            done,
            refused,
        }),
    ))
}

async fn team_page(
    State(app): State<AppState>,
    LoggedIn(viewer): LoggedIn,
) -> Result<Response, InboxError> {
    if !viewer.is_admin() {
        return Err(InboxError::AdminsOnly);
    }
    team_view(&app, &viewer, None, None, StatusCode::OK).await
}

/// A team form: a member's name, login, role and enterprises, or an action.
#[derive(Deserialize)]
pub(super) struct TeamForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    action: String,
    /// The checked `enterprise` boxes (see `InboxForm::read`).
    #[serde(skip)]
    enterprises: Vec<Uuid>,
}

async fn team_add(
    State(app): State<AppState>,
    Posted(viewer, form): Posted<TeamForm>,
) -> Result<Response, InboxError> {
    if !viewer.is_admin() {
        return Err(InboxError::AdminsOnly);
    }
    let body = serde_json::json!({
        "Name": form.name,
        "Login": form.login,
        "Role": form.role,
        "EnterpriseIds": form.enterprises,
    });
    let request = crate::domain::fields::Object::root(&body)
        .and_then(|o| <crate::domain::staff::AddStaff as crate::domain::Request>::parse(&o));
    let request = match request {
        Ok(request) => request,
        Err(e) => {
            return team_view(&app, &viewer, None, Some(&e.0), StatusCode::BAD_REQUEST).await;
        }
    };
    match crate::admin::add_staff(app.store.as_ref(), request, app.real_clock.now_ms()).await {
        Ok((member, password)) => {
            let message = format!("{} logs in as {}.", member.name, member.login);
            team_view(
                &app,
                &viewer,
                Some(("Member added", message, Some(&password))),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(crate::store::StoreError::Conflict(message)) => {
            team_view(&app, &viewer, None, Some(&message), StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn team_change(
    State(app): State<AppState>,
    Path(login): Path<String>,
    Posted(viewer, form): Posted<TeamForm>,
) -> Result<Response, InboxError> {
    if !viewer.is_admin() {
        return Err(InboxError::AdminsOnly);
    }
    let now_ms = app.real_clock.now_ms();
    let store = app.store.as_ref();
    let change = match form.action.as_str() {
        "disable" => StaffChange {
            disabled: Some(true),
            ..StaffChange::default()
        },
        "enable" => StaffChange {
            disabled: Some(false),
            ..StaffChange::default()
        },
        "password" => {
            let Some((member, _)) = store.staff_login(login.clone()).await? else {
                return Err(InboxError::NoThread);
            };
            let password =
                crate::passwords::one_time().map_err(|e| InboxError::Internal(e.to_string()))?;
            crate::admin::set_password(store, member.id, password.clone(), true, now_ms + 1)
                .await?;
            let message = format!(
                "{} chooses a new password at their next login.",
                member.name
            );
            return team_view(
                &app,
                &viewer,
                Some(("New one-time password", message, Some(&password))),
                None,
                StatusCode::OK,
            )
            .await;
        }
        _ => StaffChange {
            role: crate::domain::staff::Role::parse(&form.role),
            scope: Some(Scope::of(form.enterprises)),
            ..StaffChange::default()
        },
    };
    let member = crate::admin::update_staff(store, login, change, now_ms).await?;
    let message = format!("{} is saved.", member.name);
    team_view(
        &app,
        &viewer,
        Some(("Saved", message, None)),
        None,
        StatusCode::OK,
    )
    .await
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

//! The inbox's pages, rendered on the server. Everything a guest wrote goes
//! through maud's escaping; the pages load only the stylesheet (and script) the
//! server itself serves.

use maud::{DOCTYPE, Markup, html};
use uuid::Uuid;

use crate::domain::message::{Message, Sender};
use crate::domain::staff::StaffMember;
use crate::domain::thread::Thread;
use crate::domain::time::Timestamp;
use crate::store::inbox::Assigned;
use crate::store::inbox::{InboxRow, SEARCH_WINDOW};
use crate::store::staff::{Action, Activity, CannedReply, ThreadHistory};

/// Which threads the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Open,
    Resolved,
    All,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
            Self::All => "all",
        }
    }

    pub fn resolved(self) -> Option<bool> {
        match self {
            Self::Open => Some(false),
            Self::Resolved => Some(true),
            Self::All => None,
        }
    }
}

/// The list's filters, as its query string carries them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Filters {
    #[serde(default)]
    pub state: State,
    /// `1`: only threads waiting for a reply.
    #[serde(default)]
    pub awaiting: Option<String>,
    #[serde(default, deserialize_with = "empty_is_none")]
    pub enterprise: Option<Uuid>,
    #[serde(default, deserialize_with = "empty_is_none")]
    pub integration: Option<Uuid>,
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default, deserialize_with = "empty_is_none")]
    pub after: Option<Uuid>,
    /// `me`: assigned to the viewer; `none`: to nobody; empty: anyone's.
    #[serde(default, deserialize_with = "assigned_filter")]
    pub assigned: Option<AssignedFilter>,
}

/// The list's assignment filters: Mine and Unassigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignedFilter {
    Me,
    Nobody,
}

impl AssignedFilter {
    fn name(self) -> &'static str {
        match self {
            Self::Me => "me",
            Self::Nobody => "none",
        }
    }
}

/// `me`, `none` or empty (anyone's); anything else is not a filter.
fn assigned_filter<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<AssignedFilter>, D::Error> {
    let text = <Option<String> as serde::Deserialize>::deserialize(d)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some("me") => Ok(Some(AssignedFilter::Me)),
        Some("none") => Ok(Some(AssignedFilter::Nobody)),
        Some(other) => Err(serde::de::Error::custom(format!(
            "assigned is me or none, not {other}"
        ))),
    }
}

/// A form's empty select ("any") reads as no filter.
fn empty_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Uuid>, D::Error> {
    let text = <Option<String> as serde::Deserialize>::deserialize(d)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => Uuid::try_parse(text)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

impl Filters {
    pub fn awaiting(&self) -> bool {
        self.awaiting.as_deref().is_some_and(|a| !a.is_empty())
    }

    /// The store's assignment filter for a viewer whose id is `me`.
    pub fn assigned(&self, me: Uuid) -> Option<Assigned> {
        self.assigned.map(|a| match a {
            AssignedFilter::Me => Assigned::To(me),
            AssignedFilter::Nobody => Assigned::Nobody,
        })
    }

    /// The query string of these filters with another state and page.
    fn link(&self, state: State, after: Option<Uuid>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("state", state.name());
        if self.awaiting() {
            query.append_pair("awaiting", "1");
        }
        if let Some(e) = self.enterprise {
            query.append_pair("enterprise", &e.to_string());
        }
        if let Some(i) = self.integration {
            query.append_pair("integration", &i.to_string());
        }
        if let Some(a) = self.assigned {
            query.append_pair("assigned", a.name());
        }
        if let Some(q) = self.q.as_deref().filter(|q| !q.trim().is_empty()) {
            query.append_pair("q", q);
        }
        if let Some(after) = after {
            query.append_pair("after", &after.to_string());
        }
        format!("/inbox?{}", query.finish())
    }
}

/// A page: the title, the stylesheet and script, and `body`.
fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/inbox/assets/inbox.css";
                script src="/inbox/assets/inbox.js" defer {}
            }
            body { (body) }
        }
    }
}

/// A time as UTC, which the script shows in the browser's own time zone.
fn time(at: Timestamp) -> Markup {
    let iso = at.to_string();
    let utc = iso.replace('T', " ").replace('Z', " UTC");
    html! { time datetime=(iso) title=(utc) { (utc) } }
}

/// The login form; `next`: the inbox page it opens once logged in.
pub fn login(message: Option<&str>, next: Option<&str>) -> Markup {
    layout(
        "Inbox: log in",
        html! {
            main.login {
                h1 { "switchboard inbox" }
                @if let Some(message) = message {
                    p.error role="alert" { (message) }
                }
                form method="post" action="/inbox/login" {
                    label for="login" { "Login" }
                    @if let Some(next) = next {
                        input type="hidden" name="next" value=(next);
                    }
                    input #login type="text" name="login" autofocus autocomplete="username" autocapitalize="none";
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password";
                    button type="submit" { "Log in" }
                }
                form.setup method="post" action="/inbox/login" {
                    p.hint { "Setting up? The operator token logs in as the built-in admin, Operator." }
                    label for="token" { "Operator token" }
                    @if let Some(next) = next {
                        input type="hidden" name="next" value=(next);
                    }
                    input #token type="password" name="token" autocomplete="off";
                    button type="submit" { "Log in with the token" }
                }
            }
        },
    )
}

/// Who a page is for, as its header shows them.
pub struct Who<'a> {
    pub name: &'a str,
    pub admin: bool,
    /// A member (who has a password), not the operator.
    pub member: bool,
    pub csrf: &'a str,
}

/// What the list shows.
pub struct ListPage<'a> {
    pub rows: &'a [InboxRow],
    pub awaiting_count: u64,
    pub filters: &'a Filters,
    pub enterprises: &'a [(Uuid, String)],
    pub integrations: &'a [(Uuid, String)],
    /// The last row's id, when there may be more.
    pub next: Option<Uuid>,
    pub who: Who<'a>,
    /// The search, and whether it is long enough to be one.
    pub search: Option<(&'a str, bool)>,
    /// The search found so much that it looked only at the most recent
    /// matches.
    pub narrowed: bool,
    /// The rows' threads with guest messages the viewer has not seen.
    pub unread: &'a [Uuid],
}

fn title(awaiting: u64, what: &str) -> String {
    if awaiting > 0 {
        format!("({awaiting}) {what}")
    } else {
        what.to_owned()
    }
}

fn header(who: &Who<'_>, awaiting: u64) -> Markup {
    html! {
        header.top {
            a.home href="/inbox" { "Inbox" }
            span.count data-awaiting=(awaiting) {
                @if awaiting > 0 { (awaiting) " awaiting reply" }
            }
            nav.me aria-label="You" {
                @if who.admin { a href="/inbox/team" { "Team" } }
                @if who.member { a href="/inbox/password" { "Password" } }
                span.name { (who.name) }
                form.logout method="post" action="/inbox/logout" {
                    input type="hidden" name="csrf" value=(who.csrf);
                    button type="submit" { "Log out" }
                }
            }
        }
    }
}

pub fn list(view: &ListPage<'_>) -> Markup {
    let f = view.filters;
    layout(
        &title(view.awaiting_count, "Inbox"),
        html! {
            (header(&view.who, view.awaiting_count))
            main.list data-live="list" {
                nav.tabs aria-label="Threads" {
                    @for state in [State::Open, State::Resolved, State::All] {
                        a href=(f.link(state, None)) aria-current=[(state == f.state).then_some("page")] {
                            (match state { State::Open => "Open", State::Resolved => "Resolved", State::All => "All" })
                        }
                    }
                }
                form.filters method="get" action="/inbox" role="search" {
                    input type="hidden" name="state" value=(f.state.name());
                    input #search type="search" name="q" value=[f.q.as_deref()] placeholder="Search names, subjects, messages" aria-label="Search names, subjects and messages";
                    select name="enterprise" aria-label="Enterprise" {
                        option value="" { "Every enterprise" }
                        @for (id, name) in view.enterprises {
                            option value=(id) selected[f.enterprise == Some(*id)] { (name) }
                        }
                    }
                    select name="integration" aria-label="Integration" {
                        option value="" { "Every integration" }
                        @for (id, name) in view.integrations {
                            option value=(id) selected[f.integration == Some(*id)] { (name) }
                        }
                    }
                    select name="assigned" aria-label="Assigned" {
                        option value="" { "Anyone's" }
                        option value="me" selected[f.assigned == Some(AssignedFilter::Me)] { "Mine" }
                        option value="none" selected[f.assigned == Some(AssignedFilter::Nobody)] { "Unassigned" }
                    }
                    label.check {
                        input type="checkbox" name="awaiting" value="1" checked[f.awaiting()];
                        " Awaiting reply"
                    }
                    button type="submit" { "Filter" }
                }
                // What a live update replaces: never the filters someone
                // may be changing.
                div.results {
                    @match view.search {
                        Some((_, false)) => {
                            p.hint role="status" { "Type at least 3 characters to search." }
                        }
                        Some((q, true)) => {
                            p.hint role="status" {
                                "Open and resolved threads with “" (q) "” in the guest's name, the subject or a message."
                                @if view.narrowed {
                                    " It is in so many that these are among the "
                                    (SEARCH_WINDOW) " most recent: add a word to narrow it."
                                }
                            }
                        }
                        None => {}
                    }
                    @if view.rows.is_empty() {
                        p.empty { "No threads." }
                    }
                    ol.threads {
                        @for row in view.rows {
                            (thread_row(row, view.search.filter(|(_, on)| *on).map(|(q, _)| q), view.unread.contains(&row.thread.id)))
                        }
                    }
                    @if let Some(after) = view.next {
                        a.next href=(f.link(f.state, Some(after))) { "Older threads →" }
                    }
                }
            }
        },
    )
}

/// `text` as a query string's value.
fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `text` with its web addresses (`http://` and `https://`) as links that
/// open in a new tab and tell the other site nothing of the inbox.
fn linked(text: &str) -> Markup {
    html! {
        @for (part, link) in links(text) {
            @if link {
                a href=(part) target="_blank" rel="noopener noreferrer" { (part) }
            } @else {
                (part)
            }
        }
    }
}

/// `text` in parts, each a web address (`true`) or not. An address runs to
/// the next space, less the punctuation that ends a sentence or closes a
/// bracket around it.
fn links(text: &str) -> Vec<(&str, bool)> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = ["https://", "http://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        let tail = &rest[start..];
        let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        let address =
            tail[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '\'', '"']);
        if address.len() <= "https://".len() {
            parts.push((&rest[..start + end], false));
            rest = &rest[start + end..];
            continue;
        }
        if start > 0 {
            parts.push((&rest[..start], false));
        }
        parts.push((address, true));
        rest = &rest[start + address.len()..];
    }
    if !rest.is_empty() {
        parts.push((rest, false));
    }
    parts
}

/// `text` with every match of `search` (ignoring case and accents) marked.
fn marked(text: &str, search: Option<&str>) -> Markup {
    let Some(search) = search else {
        return html! { (text) };
    };
    let ranges = crate::domain::search::matches(text, search);
    if ranges.is_empty() {
        return html! { (text) };
    }
    let mut at = 0;
    html! {
        @for (start, end) in ranges {
            (&text[at..start])
            mark { (&text[start..end]) }
            ({ at = end; "" })
        }
        (&text[at..])
    }
}

fn thread_row(row: &InboxRow, search: Option<&str>, unread: bool) -> Markup {
    let t = &row.thread;
    let first_line = row.last.as_ref().map(|m| {
        m.text
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(140)
            .collect::<String>()
    });
    html! {
        li.thread.awaiting[row.awaiting()].resolved[t.is_resolved].unread[unread] data-id=(t.id) data-guest=[row.last_guest_seq] {
            a href=(format!("/inbox/threads/{}", t.id)) {
                span.sender { (marked(&t.original_sender, search)) }
                span.subject { (marked(&t.subject, search)) }
                span.where { (row.enterprise_name) " · " (row.integration_name) }
                @if let Some(line) = first_line {
                    span.last { (marked(&line, search)) }
                }
                span.when {
                    @if let Some(last) = &row.last { (time(last.created)) } @else { (time(t.created)) }
                }
                span.state {
                    @if unread { span.mark.new { "Unread" } " " }
                    @if row.awaiting() { span.mark { "Awaiting reply" } " " }
                    @if let Some((_, name)) = &row.assignee { span.assignee { "→ " (name) } " " }
                    @if t.is_resolved { "Resolved" } @else { "Open" }
                }
            }
        }
    }
}

/// What a thread's page shows.
pub struct ThreadPage<'a> {
    pub thread: &'a Thread,
    pub enterprise_name: &'a str,
    pub integration_name: &'a str,
    /// Oldest first.
    pub messages: &'a [Message],
    /// Who wrote which staff reply, and the thread's resolves and reopens.
    pub history: &'a ThreadHistory,
    pub awaiting_count: u64,
    pub who: Who<'a>,
    /// Why a reply was refused, and its text, to send again.
    pub refused: Option<(&'a str, &'a str)>,
    /// Who the thread is assigned to, and who it may be assigned to.
    pub assignee: Option<&'a (Uuid, String)>,
    pub assignable: &'a [(Uuid, String)],
    /// The canned replies for this thread: name and text, filled in.
    pub canned: &'a [(String, String)],
    /// A canned reply's text the reply box starts with (without JavaScript).
    pub prefill: Option<&'a str>,
}

pub fn thread(view: &ThreadPage<'_>) -> Markup {
    let t = view.thread;
    let base = format!("/inbox/threads/{}", t.id);
    layout(
        &title(view.awaiting_count, &format!("{} – Inbox", t.subject)),
        html! {
            (header(&view.who, view.awaiting_count))
            main.conversation data-live="thread" data-id=(t.id) {
                a.back href="/inbox" { "← All threads" }
                h1 { (t.subject) }
                p.meta {
                    span.sender { (t.original_sender) }
                    " · " (view.enterprise_name) " · " (view.integration_name) " · "
                    span.state { @if t.is_resolved { "Resolved" } @else { "Open" } }
                }
                div.actions {
                    form.resolve method="post" action=(format!("{base}/resolve")) {
                        input type="hidden" name="csrf" value=(view.who.csrf);
                        input type="hidden" name="resolved" value=(if t.is_resolved { "false" } else { "true" });
                        button type="submit" data-key="e" { @if t.is_resolved { "Reopen" } @else { "Resolve" } }
                    }
                    form.assign-me method="post" action=(format!("{base}/assign")) {
                        input type="hidden" name="csrf" value=(view.who.csrf);
                        input type="hidden" name="to" value="me";
                        button type="submit" data-key="a" { "Assign to me" }
                    }
                    form.assign method="post" action=(format!("{base}/assign")) {
                        input type="hidden" name="csrf" value=(view.who.csrf);
                        label for="to" { "Assigned to" }
                        select #to name="to" {
                            option value="" selected[view.assignee.is_none()] { "Nobody" }
                            @if let Some((id, name)) = view.assignee.filter(|(id, _)| !view.assignable.iter().any(|(m, _)| m == id)) {
                                option value=(id) selected { (name) }
                            }
                            @for (id, name) in view.assignable {
                                option value=(id) selected[view.assignee.is_some_and(|(a, _)| a == id)] { (name) }
                            }
                        }
                        button type="submit" { "Assign" }
                    }
                }
                ol.messages {
                    @for entry in conversation(view.messages, &view.history.activity) {
                        @match entry {
                            Entry::Message(m) => {
                                li.message.guest[m.sender == Sender::Application].staff[m.sender == Sender::Enterprise] data-id=(m.id) {
                                    p.who {
                                        @if m.sender == Sender::Application {
                                            (t.original_sender)
                                        } @else {
                                            (author(view.history, m.id))
                                        }
                                        " · " (time(m.created))
                                    }
                                    p.text { (linked(&m.text)) }
                                }
                            }
                            Entry::Activity(a) => {
                                @if let Action::Noted(text) = &a.action {
                                    li.note {
                                        p.who { "Internal note · " (a.name) " · " (time(Timestamp::from_unix(a.at_utc))) }
                                        p.text { (linked(text)) }
                                    }
                                } @else {
                                    li.activity {
                                        (a.name)
                                        @match &a.action {
                                            Action::Resolved => " resolved this",
                                            Action::Reopened => " reopened this",
                                            Action::Assigned(to) if *to == a.name => " took this",
                                            Action::Assigned(to) => { " assigned this to " (to) }
                                            Action::Unassigned => " unassigned this",
                                            Action::Noted(_) => "",
                                        }
                                        " · " (time(Timestamp::from_unix(a.at_utc)))
                                    }
                                }
                            }
                        }
                    }
                }
                form.reply #reply method="post" action=(format!("{base}/reply")) {
                    input type="hidden" name="csrf" value=(view.who.csrf);
                    label for="text" { "Reply" }
                    @if let Some((message, _)) = view.refused {
                        p.error role="alert" { (message) }
                    }
                    textarea #text name="text" rows="4" required maxlength="10000" {
                        @if let Some((_, text)) = view.refused { (text) }
                        @else if let Some(text) = view.prefill { (text) }
                    }
                    div.send {
                        @if !view.canned.is_empty() {
                            details.canned {
                                summary { "Canned replies" }
                                ul {
                                    @for (name, text) in view.canned {
                                        li {
                                            a href=(format!("?canned={}#text", urlencoding(name))) data-name=(name) data-text=(text) {
                                                strong { "/" (name) } " " span.hint { (text.chars().take(60).collect::<String>()) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        button type="submit" { "Send" }
                    }
                }
                form.note #notes method="post" action=(format!("{base}/note")) {
                    input type="hidden" name="csrf" value=(view.who.csrf);
                    label for="note" { "Internal note " span.hint { "(staff only: never sent to the guest)" } }
                    textarea #note name="note" rows="2" required maxlength="10000" {}
                    button type="submit" { "Add note" }
                }
            }
        },
    )
}

/// A line of a conversation: a message, or what someone did to the thread.
enum Entry<'a> {
    Message(&'a Message),
    Activity(&'a Activity),
}

/// Messages and activity, oldest first: each action right after the
/// message that was the thread's last when it happened (those before any
/// message shown, first).
fn conversation<'a>(messages: &'a [Message], activity: &'a [Activity]) -> Vec<Entry<'a>> {
    let shown = |a: &Activity| {
        a.after_message
            .is_some_and(|id| messages.iter().any(|m| m.id == id))
    };
    let mut entries: Vec<Entry<'a>> = activity
        .iter()
        .filter(|a| !shown(a))
        .map(Entry::Activity)
        .collect();
    for m in messages {
        entries.push(Entry::Message(m));
        entries.extend(
            activity
                .iter()
                .filter(|a| a.after_message == Some(m.id))
                .map(Entry::Activity),
        );
    }
    entries
}

/// The name a staff reply is shown with: its author's, or "Staff" for one
/// of the operator API.
fn author(history: &ThreadHistory, message: Uuid) -> &str {
    history
        .authors
        .iter()
        .find(|(id, _)| *id == message)
        .map_or("Staff", |(_, name)| name.as_str())
}

/// The team, as an admin manages it.
pub struct TeamPage<'a> {
    pub members: &'a [StaffMember],
    pub canned: &'a [CannedReply],
    pub enterprises: &'a [(Uuid, String)],
    pub who: Who<'a>,
    /// What was just done: a title, a message, and a one-time password to
    /// pass on (shown this once).
    pub done: Option<(&'a str, String, Option<&'a str>)>,
    /// Why a change was refused.
    pub refused: Option<&'a str>,
}

fn scope_names(member: &StaffMember, enterprises: &[(Uuid, String)]) -> String {
    match member.scope.filter() {
        None => "Every enterprise".to_owned(),
        Some(ids) => ids
            .iter()
            .map(|id| {
                enterprises
                    .iter()
                    .find(|(e, _)| e == id)
                    .map_or_else(|| id.to_string(), |(_, name)| name.clone())
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn enterprise_choices(enterprises: &[(Uuid, String)], chosen: &[Uuid], prefix: &str) -> Markup {
    html! {
        fieldset.scope {
            legend { "Enterprises (none checked: all of them)" }
            @for (id, name) in enterprises {
                label.check {
                    input type="checkbox" name="enterprise" value=(id) id=(format!("{prefix}-{id}")) checked[chosen.contains(id)];
                    " " (name)
                }
            }
        }
    }
}

pub fn team(view: &TeamPage<'_>) -> Markup {
    layout(
        "Team – Inbox",
        html! {
            (header(&view.who, 0))
            main.team {
                h1 { "Team" }
                @if let Some((title, message, password)) = &view.done {
                    section.done role="status" {
                        h2 { (title) }
                        p { (message) }
                        @if let Some(password) = password {
                            p { "One-time password, shown this once: " code.password { (password) } }
                            p.hint { "They choose their own password when they first log in." }
                        }
                    }
                }
                @if let Some(refused) = view.refused {
                    p.error role="alert" { (refused) }
                }
                table.members {
                    thead { tr { th { "Name" } th { "Login" } th { "Role" } th { "Sees" } th { "State" } th {} } }
                    tbody {
                        @for m in view.members {
                            tr.disabled[m.disabled] {
                                td { (m.name) }
                                td { (m.login) }
                                td { (m.role.as_str()) }
                                td { (scope_names(m, view.enterprises)) }
                                td { @if m.disabled { "Disabled" } @else if m.must_change_password { "Invited" } @else { "Active" } }
                                td.actions {
                                    details {
                                        summary { "Change" }
                                        form method="post" action=(format!("/inbox/team/{}", m.login)) {
                                            input type="hidden" name="csrf" value=(view.who.csrf);
                                            label { "Role "
                                                select name="role" {
                                                    option value="Agent" selected[m.role == crate::domain::staff::Role::Agent] { "Agent" }
                                                    option value="Admin" selected[m.role == crate::domain::staff::Role::Admin] { "Admin" }
                                                }
                                            }
                                            (enterprise_choices(view.enterprises, m.scope.ids(), &m.login))
                                            button type="submit" name="action" value="save" { "Save" }
                                            button type="submit" name="action" value="password" { "New one-time password" }
                                            @if m.disabled {
                                                button type="submit" name="action" value="enable" { "Enable" }
                                            } @else {
                                                button.danger type="submit" name="action" value="disable" { "Disable" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if view.members.is_empty() {
                    p.empty { "No members yet: the operator token is the only way in." }
                }
                form.add method="post" action="/inbox/team" {
                    h2 { "Add a member" }
                    input type="hidden" name="csrf" value=(view.who.csrf);
                    label for="name" { "Name" }
                    input #name type="text" name="name" required maxlength="255";
                    label for="new-login" { "Login" }
                    input #new-login type="text" name="login" required maxlength="100" autocapitalize="none";
                    label for="role" { "Role" }
                    select #role name="role" {
                        option value="Agent" { "Agent: answers guests" }
                        option value="Admin" { "Admin: also manages the team" }
                    }
                    (enterprise_choices(view.enterprises, &[], "new"))
                    button type="submit" { "Add" }
                }
                section.canned-replies {
                    h2 { "Canned replies" }
                    p.hint { "Snippets for the reply box: type / and a name, then Tab, or pick one. "
                        code { "{guest}" } ", " code { "{hotel}" } " and " code { "{agent}" }
                        " become the guest's name, the hotel's and yours." }
                    @if view.canned.is_empty() {
                        p.empty { "None yet." }
                    }
                    ul.canned-list {
                        @for reply in view.canned {
                            li {
                                strong { "/" (reply.name) }
                                " · "
                                span.hint {
                                    @match reply.enterprise_id.and_then(|id| view.enterprises.iter().find(|(e, _)| *e == id)) {
                                        Some((_, name)) => (name),
                                        None => "Every enterprise",
                                    }
                                }
                                p.text { (reply.text) }
                                form method="post" action=(format!("/inbox/team/canned/{}/delete", reply.id)) {
                                    input type="hidden" name="csrf" value=(view.who.csrf);
                                    button.danger type="submit" { "Delete" }
                                }
                            }
                        }
                    }
                    form.add.canned method="post" action="/inbox/team/canned" {
                        h2 { "Add a canned reply" }
                        input type="hidden" name="csrf" value=(view.who.csrf);
                        label for="canned-name" { "Name (one word)" }
                        input #canned-name type="text" name="name" required maxlength="50" pattern="[^\\s/]+" autocapitalize="none";
                        label for="canned-enterprise" { "For" }
                        select #canned-enterprise name="enterprise" {
                            option value="" { "Every enterprise" }
                            @for (id, name) in view.enterprises {
                                option value=(id) { (name) }
                            }
                        }
                        label for="canned-text" { "Text" }
                        textarea #canned-text name="text" rows="3" required maxlength="10000" {}
                        button type="submit" { "Add" }
                    }
                }
            }
        },
    )
}

/// A member choosing a new password (the first time: instead of the
/// one-time one).
pub fn password(who: &Who<'_>, first: bool, refused: Option<&str>) -> Markup {
    layout(
        "Password – Inbox",
        html! {
            (header(who, 0))
            main.login {
                h1 { @if first { "Choose your password" } @else { "Change your password" } }
                @if first {
                    p.hint { "You logged in with a one-time password: choose your own to go on." }
                }
                @if let Some(refused) = refused {
                    p.error role="alert" { (refused) }
                }
                form method="post" action="/inbox/password" {
                    input type="hidden" name="csrf" value=(who.csrf);
                    label for="current" { @if first { "One-time password" } @else { "Current password" } }
                    input #current type="password" name="current" required autocomplete="current-password";
                    label for="new" { "New password (at least 12 characters)" }
                    input #new type="password" name="new" required minlength="12" autocomplete="new-password";
                    label for="again" { "New password, again" }
                    input #again type="password" name="again" required minlength="12" autocomplete="new-password";
                    button type="submit" { "Save" }
                }
            }
        },
    )
}

/// A short page for an answer that is not a list or a thread.
pub fn notice(title: &str, message: &str) -> Markup {
    layout(
        title,
        html! {
            main.notice {
                h1 { (title) }
                p { (message) }
                p { a href="/inbox" { "Back to the inbox" } }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::links;

    #[test]
    fn addresses_become_links_without_the_punctuation_around_them() {
        assert_eq!(
            links("See https://example.com/a?b=1. Or (http://x.org), ok"),
            vec![
                ("See ", false),
                ("https://example.com/a?b=1", true),
                (". Or (", false),
                ("http://x.org", true),
                ("), ok", false),
            ]
        );
        assert_eq!(links("no links here"), vec![("no links here", false)]);
        assert_eq!(
            links("just https:// alone"),
            vec![("just https://", false), (" alone", false)]
        );
        assert_eq!(
            links("javascript:alert(1) ftp://x"),
            vec![("javascript:alert(1) ftp://x", false)]
        );
        assert_eq!(
            links("émoji 🎉 http://é.fr"),
            vec![("émoji 🎉 ", false), ("http://é.fr", true)]
        );
    }
}

//! SPEC §15: the staff web inbox, at the HTTP level: login and sessions,
//! CSRF, the list and its filters, the thread page, escaping and headers.

use serde_json::json;
use switchboard::demo;

use crate::helpers::*;
use crate::process::serve;

/// A browser that keeps no cookies by itself and follows no redirects, so the
/// tests see both.
pub fn browser() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> String {
        let start = self
            .body
            .find(r#"name="csrf" value=""#)
            .expect("a form with a CSRF token")
            + r#"name="csrf" value=""#.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }

    fn title(&self) -> &str {
        let start = self.body.find("<title>").unwrap() + "<title>".len();
        let end = self.body.find("</title>").unwrap();
        &self.body[start..end]
    }
}

pub async fn get(base: &str, path: &str, cookie: Option<&str>) -> Page {
    send(browser().get(format!("{base}{path}")), cookie).await
}

pub async fn post_form(
    base: &str,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> Page {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let request = browser()
        .post(format!("{base}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    send(request, cookie).await
}

async fn send(mut request: reqwest::RequestBuilder, cookie: Option<&str>) -> Page {
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    Page {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// Logs in with `token`; the `name=value` of the session cookie.
pub async fn log_in(base: &str, token: &str) -> String {
    let page = post_form(base, "/inbox/login", None, &[("token", token)]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    page.header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn assert_safe_headers(page: &Page) {
    assert_eq!(
        page.header("content-security-policy"),
        "default-src 'self'; frame-ancestors 'none'"
    );
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert_eq!(page.header("referrer-policy"), "no-referrer");
}

#[tokio::test]
async fn the_operator_token_logs_in_with_a_strict_cookie() {
    let app = spawn_app().await;
    let login = get(&app.base, "/inbox", None).await;
    assert_eq!(login.status, 200);
    assert!(login.body.contains("Operator token"));
    assert!(!login.body.contains("<script>"), "no inline script");
    assert_safe_headers(&login);

    let wrong = post_form(&app.base, "/inbox/login", None, &[("token", "guess")]).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("not the operator token"));
    assert!(wrong.header("set-cookie").is_empty());
    assert_safe_headers(&wrong);

    let right = post_form(
        &app.base,
        "/inbox/login",
        None,
        &[("token", OPERATOR_TOKEN)],
    )
    .await;
    assert_eq!((right.status, right.header("location")), (303, "/inbox"));
    let cookie = right.header("set-cookie");
    for part in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/inbox",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "http: {cookie}");
    let session = cookie.split(';').next().unwrap();
    let inbox = get(&app.base, "/inbox", Some(session)).await;
    assert!(inbox.body.contains("Log out"), "{}", inbox.body);
    assert_safe_headers(&inbox);

    // A cookie changed by hand is no session.
    let forged = format!("{}0", session);
    assert!(
        get(&app.base, "/inbox", Some(&forged))
            .await
            .body
            .contains("Operator token")
    );

    // Logging out drops the cookie; without the CSRF token it is refused.
    let refused = post_form(&app.base, "/inbox/logout", Some(session), &[]).await;
    assert_eq!(refused.status, 403);
    let csrf = inbox.csrf();
    let out = post_form(
        &app.base,
        "/inbox/logout",
        Some(session),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    let copy = get(&app.base, "/inbox", Some(session)).await;
    assert!(
        copy.body.contains("Operator token"),
        "a copy of the cookie is no session any more"
    );
    let other = log_in(&app.base, OPERATOR_TOKEN).await;
    assert!(
        get(&app.base, "/inbox", Some(&other))
            .await
            .body
            .contains("Log out"),
        "other sessions go on"
    );
}

/// A session lasts 12 hours of real time, whatever the manual clock says:
/// the test moves the server's real clock, not the wall's.
#[tokio::test]
async fn a_session_ends_after_12_hours_of_real_time() {
    let app = spawn_app().await;
    let session = log_in(&app.base, OPERATOR_TOKEN).await;
    app.clock.advance(chrono::Duration::days(30));
    assert!(
        get(&app.base, "/inbox", Some(&session))
            .await
            .body
            .contains("Log out"),
        "the manual clock does not end it"
    );
    app.real_clock
        .advance(std::time::Duration::from_secs(12 * 3600 - 1));
    assert!(
        get(&app.base, "/inbox", Some(&session))
            .await
            .body
            .contains("Log out")
    );
    app.real_clock.advance(std::time::Duration::from_secs(1));
    assert!(
        get(&app.base, "/inbox", Some(&session))
            .await
            .body
            .contains("Operator token"),
        "12 hours later the login form again"
    );
}

#[tokio::test]
async fn more_than_ten_wrong_tokens_in_a_minute_are_429() {
    let app = spawn_app().await;
    for _ in 0..10 {
        let page = post_form(&app.base, "/inbox/login", None, &[("token", "guess")]).await;
        assert_eq!(page.status, 401);
    }
    let blocked = post_form(&app.base, "/inbox/login", None, &[("token", "guess")]).await;
    assert_eq!(blocked.status, 429);
    let even_right = post_form(
        &app.base,
        "/inbox/login",
        None,
        &[("token", OPERATOR_TOKEN)],
    )
    .await;
    assert_eq!(even_right.status, 429, "the address waits out the minute");
}

/// Threads for the list: one waiting for a reply, one answered, one resolved,
/// one of the other integration; returns their ids in that order.
async fn some_threads(app: &TestApp) -> Vec<String> {
    let waiting = app
        .add_thread(PORTFOLIO, "Alice Waiting", "Late check-in")
        .await;
    app.add_message(PORTFOLIO, &waiting, "We arrive at 23:00\nIs that fine?")
        .await;
    let answered = app.add_thread(PORTFOLIO, "Bob Answered", "Parking").await;
    app.add_message(PORTFOLIO, &answered, "Where do I park?")
        .await;
    app.reply(&answered, "Behind the hotel.").await;
    let resolved = app.add_thread(PORTFOLIO, "Carol Done", "Towels").await;
    app.staff(
        STAFF_THREADS_UPDATE,
        json!({"MessageThreadId": resolved["Id"], "IsResolved": true}),
    )
    .await
    .ok();
    let other = app
        .add_thread(OTHER_CLIENT, "Dave Other", "Breakfast")
        .await;
    [waiting, answered, resolved, other]
        .iter()
        .map(|t| t["Id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_list_shows_activity_first_with_marks_filters_and_the_count() {
    let app = spawn_app().await;
    let ids = some_threads(&app).await;
    let session = log_in(&app.base, OPERATOR_TOKEN).await;
    let page = get(&app.base, "/inbox", Some(&session)).await;
    assert_eq!(page.title(), "(1) Inbox", "one open thread awaits a reply");
    let position = |page: &Page, id: &str| page.body.find(id);
    // Open ones only, most recent activity first.
    assert!(position(&page, &ids[0]).is_some());
    assert!(position(&page, &ids[2]).is_none(), "resolved: not in Open");
    assert!(position(&page, &ids[3]) < position(&page, &ids[1]));
    assert!(position(&page, &ids[1]) < position(&page, &ids[0]));
    assert!(page.body.contains("Awaiting reply"));
    assert!(
        page.body.contains("We arrive at 23:00"),
        "the last message's first line"
    );
    assert!(!page.body.contains("Is that fine?"), "only its first line");
    assert!(page.body.contains("Demo Hotel Gross") && page.body.contains("Sample Client"));

    let only =
        |page: Page| -> Vec<usize> { (0..4).filter(|i| page.body.contains(&ids[*i])).collect() };
    let filtered = |query: &'static str| {
        let session = session.clone();
        let base = app.base.clone();
        async move { get(&base, &format!("/inbox?{query}"), Some(&session)).await }
    };
    assert_eq!(only(filtered("state=resolved").await), vec![2]);
    assert_eq!(only(filtered("state=all").await), vec![0, 1, 2, 3]);
    assert_eq!(only(filtered("state=all&awaiting=1").await), vec![0]);
    assert_eq!(only(filtered("state=all&q=aLiCe").await), vec![0]);
    assert_eq!(only(filtered("state=all&q=PARK").await), vec![1]);
    assert_eq!(
        only(filtered("state=all&q=100%25").await),
        Vec::<usize>::new()
    );
    let by_integration = get(
        &app.base,
        &format!("/inbox?state=all&integration={}", demo::TEST_CLIENT_2),
        Some(&session),
    )
    .await;
    assert_eq!(only(by_integration), vec![3]);
    let by_enterprise = get(
        &app.base,
        &format!("/inbox?state=all&enterprise={}&integration=", demo::NET),
        Some(&session),
    )
    .await;
    assert_eq!(
        only(by_enterprise),
        Vec::<usize>::new(),
        "every thread is in Gross"
    );
    let bad = filtered("state=sideways").await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn the_list_pages_fifty_at_a_time() {
    let app = spawn_app().await;
    for i in 0..51 {
        app.add_thread(PORTFOLIO, "Guest", &format!("Thread {i}"))
            .await;
    }
    let session = log_in(&app.base, OPERATOR_TOKEN).await;
    let first = get(&app.base, "/inbox", Some(&session)).await;
    assert_eq!(first.body.matches("<li class=\"thread").count(), 50);
    let start = first.body.find("class=\"next\" href=\"").unwrap() + "class=\"next\" href=\"".len();
    let next = first.body[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let second = get(&app.base, &next, Some(&session)).await;
    assert_eq!(second.body.matches("<li class=\"thread").count(), 1);
    assert!(second.body.contains("Thread 0"), "the oldest last");
    assert!(!second.body.contains("class=\"next\""));
}

#[tokio::test]
async fn staff_reply_and_resolve_from_a_thread_with_every_effect() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "Guest", "Room 12").await;
    app.add_message(PORTFOLIO, &thread, "First line\nsecond line")
        .await;
    let id = thread["Id"].as_str().unwrap();
    let path = format!("/inbox/threads/{id}");
    let login = get(&app.base, &path, None).await;
    assert_eq!(login.status, 200);
    assert!(
        login.body.contains("Log in"),
        "log in first: {}",
        login.body
    );
    let session = log_in(&app.base, OPERATOR_TOKEN).await;
    let page = get(&app.base, &path, Some(&session)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("First line\nsecond line"),
        "line breaks kept"
    );
    assert_safe_headers(&page);
    let csrf = page.csrf();

    // No token, a wrong one: 403, and nothing is added.
    let reply = format!("{path}/reply");
    for form in [
        vec![("text", "Sneaky")],
        vec![("csrf", "0000"), ("text", "Sneaky")],
    ] {
        let refused = post_form(&app.base, &reply, Some(&session), &form).await;
        assert_eq!(refused.status, 403);
    }
    assert_eq!(
        app.messages_of(PORTFOLIO, &thread)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let blank = post_form(
        &app.base,
        &reply,
        Some(&session),
        &[("csrf", &csrf), ("text", "  ")],
    )
    .await;
    assert_eq!(blank.status, 400);
    assert!(blank.body.contains("A reply must"), "{}", blank.body);
    let long = "x".repeat(10_001);
    let too_long = post_form(
        &app.base,
        &reply,
        Some(&session),
        &[("csrf", &csrf), ("text", &long)],
    )
    .await;
    assert_eq!(too_long.status, 400);

    let sent = post_form(
        &app.base,
        &reply,
        Some(&session),
        &[("csrf", &csrf), ("text", "Welcome!\nSee you soon.")],
    )
    .await;
    assert_eq!(sent.status, 303);
    let messages = app.messages_of(PORTFOLIO, &thread).await;
    assert_eq!(messages[0]["Text"], "Welcome!\nSee you soon.");
    assert_eq!(messages[0]["Sender"]["Discriminator"], "Enterprise");

    let resolve = format!("{path}/resolve");
    let refused = post_form(&app.base, &resolve, Some(&session), &[("resolved", "true")]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(is_resolved(&app).await, json!(false));
    let done = post_form(
        &app.base,
        &resolve,
        Some(&session),
        &[("csrf", &csrf), ("resolved", "true")],
    )
    .await;
    assert_eq!(done.status, 303);
    assert_eq!(is_resolved(&app).await, json!(true));
    assert!(
        get(&app.base, &path, Some(&session))
            .await
            .body
            .contains("Reopen")
    );
    post_form(
        &app.base,
        &resolve,
        Some(&session),
        &[("csrf", &csrf), ("resolved", "false")],
    )
    .await;
    assert_eq!(is_resolved(&app).await, json!(false));

    let unknown = format!("/inbox/threads/{}", uuid::Uuid::new_v4());
    assert_eq!(get(&app.base, &unknown, Some(&session)).await.status, 404);
}

/// Whether the newest thread Sample Client sees is resolved.
async fn is_resolved(app: &TestApp) -> serde_json::Value {
    app.get_threads(PORTFOLIO, json!({})).await.ok()["MessageThreads"][0]["IsResolved"].clone()
}

#[tokio::test]
async fn guest_text_is_shown_as_text() {
    let app = spawn_app().await;
    let thread = app
        .add_thread(PORTFOLIO, "<b>Mallory</b>", "<script>alert(1)</script>")
        .await;
    app.add_message(PORTFOLIO, &thread, "<img src=x onerror=alert(2)>")
        .await;
    let session = log_in(&app.base, OPERATOR_TOKEN).await;
    let list = get(&app.base, "/inbox", Some(&session)).await;
    let page = get(
        &app.base,
        &format!("/inbox/threads/{}", thread["Id"].as_str().unwrap()),
        Some(&session),
    )
    .await;
    for page in [list, page] {
        assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.body.contains("<script>alert"));
        assert!(!page.body.contains("<img src=x"));
        assert!(!page.body.contains("<b>Mallory"));
    }
}

#[tokio::test]
async fn sessions_outlive_a_restart_and_end_with_the_operator_token() {
    let db = TestDatabase::new().await;
    let server = serve(&db, &["--operator-token", "first-token"]).await;
    let session = log_in(&server.base, "first-token").await;
    server.stop().await;
    let again = serve(&db, &["--operator-token", "first-token"]).await;
    let page = get(&again.base, "/inbox", Some(&session)).await;
    assert!(
        page.body.contains("Log out"),
        "still logged in after a restart"
    );
    again.stop().await;
    let changed = serve(&db, &["--operator-token", "second-token"]).await;
    let page = get(&changed.base, "/inbox", Some(&session)).await;
    assert!(
        page.body.contains("Operator token"),
        "a new token ends every session"
    );
    changed.stop().await;

    let https = serve(
        &db,
        &[
            "--operator-token",
            "t",
            "--public-url",
            "https://inbox.hotel.example",
        ],
    )
    .await;
    let right = post_form(&https.base, "/inbox/login", None, &[("token", "t")]).await;
    assert!(right.header("set-cookie").contains("; Secure"));
}

#[tokio::test]
async fn the_assets_are_our_own() {
    let app = spawn_app().await;
    for (path, kind) in [
        ("/inbox/assets/inbox.css", "text/css"),
        ("/inbox/assets/inbox.js", "text/javascript"),
    ] {
        let page = get(&app.base, path, None).await;
        assert_eq!(page.status, 200);
        assert!(page.header("content-type").starts_with(kind));
        assert!(
            !page.body.contains("http://") && !page.body.contains("https://"),
            "{path}: nothing from elsewhere"
        );
    }
}

/// Reads `events` until its text holds `needle`; what it read by then.
pub async fn read_until(events: &mut reqwest::Response, needle: &str) -> String {
    let mut seen = String::new();
    let read = async {
        while !seen.contains(needle) {
            match events.chunk().await.unwrap() {
                Some(chunk) => seen.push_str(&String::from_utf8_lossy(&chunk)),
                None => panic!("the stream ended: {seen}"),
            }
        }
    };
    // A guard against a hang, not a measure of speed.
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .unwrap_or_else(|_| panic!("no {needle} in {seen}"));
    seen
}

pub async fn open_events(base: &str, session: &str) -> reqwest::Response {
    let events = browser()
        .get(format!("{base}/inbox/events"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    assert!(
        events
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    events
}

/// SPEC §15: at most 10 live pages per session and a cap per node; beyond
/// them a page's stream is refused with 429, and the API still answers.
#[tokio::test]
async fn live_pages_are_limited_per_session_and_per_node() {
    let app = spawn_app_with(switchboard::http::Settings {
        max_live_streams: 12,
        ..settings()
    })
    .await;
    let first = log_in(&app.base, OPERATOR_TOKEN).await;
    let second = log_in(&app.base, OPERATOR_TOKEN).await;
    assert_ne!(first, second);
    let mut open = Vec::new();
    for _ in 0..10 {
        open.push(open_events(&app.base, &first).await);
    }
    let refused = get(&app.base, "/inbox/events", Some(&first)).await;
    assert_eq!(refused.status, 429, "the eleventh of one session");
    assert_eq!(refused.header("retry-after"), "30");
    assert!(refused.body.contains("session"), "{}", refused.body);
    for _ in 0..2 {
        open.push(open_events(&app.base, &second).await);
    }
    let refused = get(&app.base, "/inbox/events", Some(&second)).await;
    assert_eq!(refused.status, 429, "the thirteenth of the node");
    assert!(refused.body.contains("server"), "{}", refused.body);
    // The pages that are open still hear of changes, and the API answers.
    app.add_thread(PORTFOLIO, "Guest", "Still heard").await;
    read_until(&mut open[11], "change").await;
}

#[tokio::test]
async fn live_pages_leave_connections_to_the_api_and_healthz() {
    let db = TestDatabase::new().await;
    let server = serve(
        &db,
        &[
            "--operator-token",
            OPERATOR_TOKEN,
            "--max-connections",
            "8",
            "--max-live-streams",
            "4",
        ],
    )
    .await;
    let session = log_in(&server.base, OPERATOR_TOKEN).await;
    let mut open = Vec::new();
    let mut refused = 0;
    for _ in 0..20 {
        let events = browser()
            .get(format!("{}/inbox/events", server.base))
            .header("cookie", &session)
            .send()
            .await
            .unwrap();
        match events.status().as_u16() {
            200 => open.push(events),
            429 => refused += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!((open.len(), refused), (4, 16));
    let healthz = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        browser().get(format!("{}/healthz", server.base)).send(),
    )
    .await
    .expect("/healthz answers at once")
    .unwrap();
    assert_eq!(healthz.status(), 200);
    let (ok, _, err) = crate::process::cli(
        &db,
        &["serve", "--max-connections", "8", "--max-live-streams", "5"],
    )
    .await;
    assert!(
        !ok && err.contains("--max-live-streams 5") && err.contains("at most 4"),
        "{err}"
    );
}

#[tokio::test]
async fn open_pages_hear_of_every_change() {
    let app = spawn_app().await;
    assert_eq!(get(&app.base, "/inbox/events", None).await.status, 401);
    let session = log_in(&app.base, OPERATOR_TOKEN).await;
    let mut events = open_events(&app.base, &session).await;
    read_until(&mut events, "event: hello").await;

    let thread = app.add_thread(PORTFOLIO, "Guest", "New").await;
    let id = thread["Id"].as_str().unwrap().to_owned();
    read_until(&mut events, &format!("event: change\ndata: {id}")).await;
    app.add_message(PORTFOLIO, &thread, "Hello").await;
    read_until(&mut events, &format!("data: {id}")).await;
    app.staff(
        STAFF_THREADS_UPDATE,
        json!({"MessageThreadId": id, "IsResolved": true}),
    )
    .await
    .ok();
    read_until(&mut events, &format!("data: {id}")).await;
}

#[tokio::test]
async fn a_change_on_one_node_reaches_the_pages_of_another() {
    if !on_postgres() {
        eprintln!(
            "skipped the two-node inbox test: it needs {BACKEND}=postgres and {POSTGRES_URL}"
        );
        return;
    }
    let db = TestDatabase::new().await;
    let flags = ["--operator-token", OPERATOR_TOKEN];
    let a = serve(&db, &flags).await;
    let b = serve(&db, &flags).await;
    let session = log_in(&a.base, OPERATOR_TOKEN).await;
    // The session of one node is good on the other.
    assert!(
        get(&b.base, "/inbox", Some(&session))
            .await
            .body
            .contains("Log out")
    );
    let mut events = open_events(&a.base, &session).await;
    read_until(&mut events, "event: hello").await;
    let (status, added) = crate::process::post(
        &http_client(),
        &b.base,
        ADD,
        &with_creds(PORTFOLIO, json!({"OriginalSender": "G", "Subject": "On B"})),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    let id = added["MessageThreads"][0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    read_until(&mut events, &format!("data: {id}")).await;

    // Logging out on one node ends the session on the other.
    let page = get(&b.base, "/inbox", Some(&session)).await;
    let out = post_form(
        &b.base,
        "/inbox/logout",
        Some(&session),
        &[("csrf", &page.csrf())],
    )
    .await;
    assert_eq!(out.status, 303);
    assert!(
        get(&a.base, "/inbox", Some(&session))
            .await
            .body
            .contains("Operator token")
    );
}

#[tokio::test]
async fn an_open_page_does_not_hold_up_shutdown() {
    let db = TestDatabase::new().await;
    // A drain deadline far longer than the guard below: only a stream that
    // ends at shutdown lets the server exit in time.
    let mut server = serve(
        &db,
        &[
            "--operator-token",
            OPERATOR_TOKEN,
            "--shutdown-timeout",
            "120s",
        ],
    )
    .await;
    let session = log_in(&server.base, OPERATOR_TOKEN).await;
    let mut events = open_events(&server.base, &session).await;
    read_until(&mut events, "event: hello").await;
    let pid = server.child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let exited =
        tokio::time::timeout(std::time::Duration::from_secs(30), server.child.wait()).await;
    assert!(
        exited.is_ok_and(|s| s.unwrap().success()),
        "the server exited cleanly"
    );
}

/// SPEC §15.2: a search ignores case and accents in any script, looks at
/// the guest's name, the subject and every message, finds open and resolved
/// threads at once, and marks what it matched.
#[tokio::test]
async fn search_folds_case_and_accents_across_states_and_message_texts() {
    let app = spawn_app().await;
    let bjorn = app.add_thread(PORTFOLIO, "Björn Ångström", "Sauna").await;
    let dana = app.add_thread(PORTFOLIO, "Dana Scully", "Parking").await;
    app.staff(
        STAFF_THREADS_UPDATE,
        json!({"MessageThreadId": dana["Id"], "IsResolved": true}),
    )
    .await
    .ok();
    let greek = app.add_thread(PORTFOLIO, "Νίκος", "Ερώτηση").await;
    app.add_message(PORTFOLIO, &greek, "Ο Σίσυφος έφτασε").await;
    let other = app.add_thread(PORTFOLIO, "Someone else", "Towels").await;
    app.add_message(PORTFOLIO, &other, "Is the late check-in possible?")
        .await;
    let session = log_in(&app.base, OPERATOR_TOKEN).await;
    let found = |q: &str| {
        let path = format!(
            "/inbox?q={}",
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        );
        let session = session.clone();
        let base = app.base.clone();
        async move { get(&base, &path, Some(&session)).await }
    };
    let id = |t: &serde_json::Value| t["Id"].as_str().unwrap().to_owned();

    let page = found("ångstr").await;
    assert!(
        page.body.contains(&id(&bjorn)),
        "accents and case: {}",
        page.body
    );
    assert!(page.body.contains("<mark>Ångstr</mark>"), "marked");
    let page = found("ANGSTROM").await;
    assert!(page.body.contains(&id(&bjorn)));
    // A resolved thread, from the Open tab.
    let page = found("dana").await;
    assert!(page.body.contains(&id(&dana)) && page.body.contains("Resolved"));
    // Any script; a message's text.
    assert!(found("ΣΙΣΥΦΟΣ").await.body.contains(&id(&greek)));
    let page = found("LATE CHECK").await;
    assert!(page.body.contains(&id(&other)));
    assert!(!page.body.contains(&id(&bjorn)) && !page.body.contains(&id(&dana)));
    // Too short to be a search: said so, and the list as it is.
    let page = found("bj").await;
    assert!(page.body.contains("Type at least 3 characters to search."));
    // `%` and `_` are themselves; quotes and backslashes too.
    assert!(!found("%%%").await.body.contains(&id(&bjorn)));
    let irish = app.add_thread(PORTFOLIO, "Seán O'Brien \\ Co", "Bar").await;
    assert!(found("o'brien").await.body.contains(&id(&irish)));
    assert!(found("'brien \\ c").await.body.contains(&id(&irish)));
    let page = found("'; DELETE FROM threads; --").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(&id(&irish)));
    assert!(
        found("seán").await.body.contains(&id(&irish)),
        "all still there"
    );
}

/// SPEC §15.3: a word in very many messages costs what a rare one does. The
/// search looks at the threads of the most recent matches only (a window of
/// `SEARCH_WINDOW`) and says so; below that, every match is found.
#[tokio::test]
async fn a_search_found_everywhere_looks_at_the_most_recent_matches_and_says_so() {
    use switchboard::store::inbox::SEARCH_WINDOW;
    let app = spawn_app().await;
    let old = app.add_thread(PORTFOLIO, "Early Guest", "Pool").await;
    app.add_message(PORTFOLIO, &old, "Where is my umbrella?")
        .await;
    let busy = app.add_thread(PORTFOLIO, "Busy Guest", "Rain").await;
    let session = log_in(&app.base, OPERATOR_TOKEN).await;
    let id = |t: &serde_json::Value| t["Id"].as_str().unwrap().to_owned();

    // Below the window: both, and no word of narrowing.
    let page = get(&app.base, "/inbox?q=umbrella", Some(&session)).await;
    assert!(page.body.contains(&id(&old)));
    assert!(!page.body.contains("most recent"), "{}", page.body);

    let window = usize::try_from(SEARCH_WINDOW).unwrap();
    let batch: Vec<serde_json::Value> = (0..window)
        .map(|i| json!({"MessageThreadId": busy["Id"], "Text": format!("Umbrella number {i}")}))
        .collect();
    app.call(MESSAGES_ADD, PORTFOLIO, json!({"Messages": batch}))
        .await
        .ok();
    let page = get(&app.base, "/inbox?q=umbrella", Some(&session)).await;
    assert!(page.body.contains(&id(&busy)));
    assert!(
        !page.body.contains(&id(&old)),
        "the older match is outside the window"
    );
    assert!(
        page.body
            .contains(&format!("among the {SEARCH_WINDOW} most recent")),
        "{}",
        page.body
    );
    // A search that the window does not fill still finds the old thread.
    let page = get(&app.base, "/inbox?q=my+umbrella", Some(&session)).await;
    assert!(page.body.contains(&id(&old)));
    assert!(!page.body.contains("most recent"));
}

/// SPEC §15.2: a deep link opened while logged out opens after the login;
/// a `next` that leaves the inbox (another site, another path) goes to the
/// list instead.
#[tokio::test]
async fn a_deep_link_opens_after_the_login_and_only_inside_the_inbox() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "Guest", "Room 12").await;
    let path = format!("/inbox/threads/{}", thread["Id"].as_str().unwrap());
    let form = get(&app.base, &path, None).await;
    assert_eq!(form.status, 200);
    assert_eq!(
        form.body
            .matches(&format!(r#"name="next" value="{path}""#))
            .count(),
        2,
        "both forms carry it: {}",
        form.body
    );
    let to = |next: &str, token: &str| {
        let (base, next, token) = (app.base.clone(), next.to_owned(), token.to_owned());
        async move {
            let page = post_form(
                &base,
                "/inbox/login",
                None,
                &[("token", &token), ("next", &next)],
            )
            .await;
            (
                page.status,
                page.headers
                    .get("location")
                    .map(|l| l.to_str().unwrap().to_owned()),
            )
        }
    };
    assert_eq!(to(&path, OPERATOR_TOKEN).await, (303, Some(path.clone())));
    let list = "/inbox?state=all&q=Guest";
    assert_eq!(to(list, OPERATOR_TOKEN).await, (303, Some(list.to_owned())));
    for elsewhere in [
        "https://evil.example/inbox",
        "//evil.example/inbox",
        "/inbox//evil.example",
        "/\\evil.example",
        "/api/operator/v1/faults/getAll",
        "/inboxes",
        "javascript:alert(1)",
    ] {
        assert_eq!(
            to(elsewhere, OPERATOR_TOKEN).await,
            (303, Some("/inbox".to_owned())),
            "{elsewhere}"
        );
    }
    // A wrong token keeps the deep link for the next try.
    let (status, _) = to(&path, "wrong").await;
    assert_eq!(status, 401);
    let again = post_form(
        &app.base,
        "/inbox/login",
        None,
        &[("token", "wrong"), ("next", &path)],
    )
    .await;
    assert!(
        again
            .body
            .contains(&format!(r#"name="next" value="{path}""#))
    );
    // A filtered list opened while logged out keeps its filters.
    let form = get(&app.base, "/inbox?state=resolved", None).await;
    assert!(
        form.body
            .contains(r#"name="next" value="/inbox?state=resolved""#)
    );
}

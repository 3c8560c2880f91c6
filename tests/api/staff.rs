//! SPEC §15.1 and the `staff/*` operations of §17: staff members log in
//! with their own password, see only their enterprises, and what they do is
//! recorded under their name.

use proptest::prelude::*;
use serde_json::{Value, json};
use switchboard::demo;

use crate::helpers::*;
use crate::inbox::{get, log_in, open_events, post_form, read_until};

const STAFF_ADD: &str = "/api/operator/v1/staff/add";
const STAFF_GET_ALL: &str = "/api/operator/v1/staff/getAll";
const STAFF_UPDATE: &str = "/api/operator/v1/staff/update";

/// A password a member chooses.
const CHOSEN: &str = "a long enough password";

/// Adds a member through the operator API; their one-time password.
async fn add_member(app: &TestApp, name: &str, login: &str, role: &str, scope: Value) -> String {
    let added = app
        .staff(
            STAFF_ADD,
            json!({"Name": name, "Login": login, "Role": role, "EnterpriseIds": scope}),
        )
        .await
        .ok();
    assert_eq!(added["Member"]["MustChangePassword"], true);
    added["Password"].as_str().unwrap().to_owned()
}

/// Logs a member in with `password`: the cookie, or the refusal's page.
async fn member_login(app: &TestApp, login: &str, password: &str) -> Result<String, (u16, String)> {
    let page = post_form(
        &app.base,
        "/inbox/login",
        None,
        &[("login", login), ("password", password)],
    )
    .await;
    if page.status != 303 {
        return Err((page.status, page.body));
    }
    Ok(page
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned())
}

/// A member with a password of their own, logged in: their session's cookie.
pub async fn member(app: &TestApp, name: &str, login: &str, role: &str, scope: Value) -> String {
    let once = add_member(app, name, login, role, scope).await;
    let cookie = member_login(app, login, &once).await.unwrap();
    let page = get(&app.base, "/inbox/password", Some(&cookie)).await;
    let chosen = post_form(
        &app.base,
        "/inbox/password",
        Some(&cookie),
        &[
            ("csrf", &page.csrf()),
            ("current", &once),
            ("new", CHOSEN),
            ("again", CHOSEN),
        ],
    )
    .await;
    assert_eq!(chosen.status, 303, "{}", chosen.body);
    chosen
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_new_member_logs_in_once_with_the_one_time_password_and_chooses_their_own() {
    let app = spawn_app().await;
    let once = add_member(&app, "Anna Novak", "Anna", "Agent", json!([])).await;
    assert!(once.len() >= 12);
    let listed = app.staff(STAFF_GET_ALL, json!({})).await.ok();
    assert_eq!(listed["Members"][0]["Login"], "anna");
    assert!(!listed.to_string().contains(&once), "never shown again");

    // Wrong password: refused, the same words as an unknown login.
    let (status, body) = member_login(&app, "anna", "not the password")
        .await
        .unwrap_err();
    assert_eq!(status, 401);
    assert!(body.contains("That login and password do not match."));
    let (_, unknown) = member_login(&app, "bob", "not the password")
        .await
        .unwrap_err();
    assert!(unknown.contains("That login and password do not match."));

    // The one-time password leads to the password page only.
    let cookie = member_login(&app, "ANNA", &once).await.unwrap();
    let list = get(&app.base, "/inbox", Some(&cookie)).await;
    assert_eq!(
        (list.status, list.header("location")),
        (303, "/inbox/password")
    );
    let page = get(&app.base, "/inbox/password", Some(&cookie)).await;
    assert!(page.body.contains("Choose your password"));
    let csrf = page.csrf();
    for (current, new, again, refused) in [
        (
            "wrong",
            CHOSEN,
            CHOSEN,
            "That is not your current password.",
        ),
        (
            once.as_str(),
            "too short",
            "too short",
            "A password has at least 12 characters.",
        ),
        (
            once.as_str(),
            CHOSEN,
            "another long password",
            "The two new passwords differ.",
        ),
    ] {
        let answer = post_form(
            &app.base,
            "/inbox/password",
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("current", current),
                ("new", new),
                ("again", again),
            ],
        )
        .await;
        assert_eq!(answer.status, 400);
        assert!(answer.body.contains(refused), "{refused}: {}", answer.body);
    }
    let chosen = post_form(
        &app.base,
        "/inbox/password",
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("current", &once),
            ("new", CHOSEN),
            ("again", CHOSEN),
        ],
    )
    .await;
    assert_eq!(chosen.status, 303);
    let new_cookie = chosen
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let list = get(&app.base, "/inbox", Some(&new_cookie)).await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("Anna Novak"), "the header names them");
    // The one-time password is spent; the old session ended with it.
    assert!(member_login(&app, "anna", &once).await.is_err());
    assert!(
        !get(&app.base, "/inbox", Some(&cookie))
            .await
            .body
            .contains("Log out")
    );
    assert!(member_login(&app, "anna", CHOSEN).await.is_ok());
}

#[tokio::test]
async fn disabling_a_member_or_changing_their_password_ends_their_sessions_at_once() {
    let app = spawn_app().await;
    let first = member(&app, "Anna Novak", "anna", "Agent", json!([])).await;
    let second = member_login(&app, "anna", CHOSEN).await.unwrap();
    // A password change in one session ends the other.
    let page = get(&app.base, "/inbox/password", Some(&first)).await;
    let changed = post_form(
        &app.base,
        "/inbox/password",
        Some(&first),
        &[
            ("csrf", &page.csrf()),
            ("current", CHOSEN),
            ("new", "yet another password"),
            ("again", "yet another password"),
        ],
    )
    .await;
    let first = changed
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        get(&app.base, "/inbox", Some(&first))
            .await
            .body
            .contains("Log out")
    );
    assert!(
        !get(&app.base, "/inbox", Some(&second))
            .await
            .body
            .contains("Log out"),
        "the other session ended"
    );

    // Disabled: the session and an open live page end; no login.
    let mut events = open_events(&app.base, &first).await;
    read_until(&mut events, "hello").await;
    app.staff(STAFF_UPDATE, json!({"Login": "anna", "Disabled": true}))
        .await
        .ok();
    assert!(
        !get(&app.base, "/inbox", Some(&first))
            .await
            .body
            .contains("Log out")
    );
    app.add_thread(PORTFOLIO, "Guest", "After the disable")
        .await;
    let rest = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut seen = String::new();
        while let Ok(Some(chunk)) = events.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        seen
    })
    .await
    .expect("the stream ends");
    assert!(!rest.contains("change"), "{rest}");
    let (status, _) = member_login(&app, "anna", "yet another password")
        .await
        .unwrap_err();
    assert_eq!(status, 401);
    app.staff(STAFF_UPDATE, json!({"Login": "anna", "Disabled": false}))
        .await
        .ok();
    assert!(
        member_login(&app, "anna", "yet another password")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn eleven_wrong_passwords_for_one_login_in_a_minute_are_refused() {
    let app = spawn_app().await;
    member(&app, "Anna Novak", "anna", "Agent", json!([])).await;
    for _ in 0..10 {
        let (status, _) = member_login(&app, "anna", "wrong password!")
            .await
            .unwrap_err();
        assert_eq!(status, 401);
    }
    let (status, body) = member_login(&app, "anna", CHOSEN).await.unwrap_err();
    assert_eq!(status, 429, "{body}");
}

/// Everything an agent of one hotel reads or does: nothing of the other.
#[tokio::test]
async fn an_agent_sees_and_touches_only_their_enterprises() {
    let app = spawn_app().await;
    let gross = app
        .add_thread_in(PORTFOLIO, demo::GROSS, "Guest of Gross", "Towels")
        .await;
    let net = app
        .add_thread_in(PORTFOLIO, demo::NET, "Guest of Net", "Parking")
        .await;
    app.add_message(PORTFOLIO, &gross, "Two more towels, please")
        .await;
    app.add_message(PORTFOLIO, &net, "Where do I park?").await;
    let cookie = member(&app, "Anna Novak", "anna", "Agent", json!([demo::GROSS])).await;

    let list = get(&app.base, "/inbox?state=all", Some(&cookie)).await;
    assert!(list.body.contains("Guest of Gross"));
    assert!(
        !list.body.contains("Guest of Net") && !list.body.contains(net["Id"].as_str().unwrap())
    );
    assert!(
        list.body.contains("<title>(1) Inbox</title>"),
        "the title counts their threads only"
    );
    let search = get(&app.base, "/inbox?state=all&q=parking", Some(&cookie)).await;
    assert!(!search.body.contains("Guest of Net"));
    let filtered = get(
        &app.base,
        &format!("/inbox?state=all&enterprise={}", demo::NET),
        Some(&cookie),
    )
    .await;
    assert!(!filtered.body.contains("Guest of Net"));

    let other = format!("/inbox/threads/{}", net["Id"].as_str().unwrap());
    assert_eq!(get(&app.base, &other, Some(&cookie)).await.status, 404);
    let mine = get(
        &app.base,
        &format!("/inbox/threads/{}", gross["Id"].as_str().unwrap()),
        Some(&cookie),
    )
    .await;
    assert_eq!(mine.status, 200);
    let csrf = mine.csrf();
    let reply = post_form(
        &app.base,
        &format!("{other}/reply"),
        Some(&cookie),
        &[("csrf", &csrf), ("text", "Hi")],
    )
    .await;
    assert_eq!(reply.status, 404);
    let resolve = post_form(
        &app.base,
        &format!("{other}/resolve"),
        Some(&cookie),
        &[("csrf", &csrf), ("resolved", "true")],
    )
    .await;
    assert_eq!(resolve.status, 404);
    assert_eq!(
        app.messages_of(PORTFOLIO, &net)
            .await
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing written"
    );
    let threads = app
        .get_threads(PORTFOLIO, json!({"MessageThreadIds": [net["Id"]]}))
        .await
        .ok();
    assert_eq!(
        threads["MessageThreads"][0]["IsResolved"], false,
        "not resolved"
    );

    // Live: only their threads.
    let mut events = open_events(&app.base, &cookie).await;
    read_until(&mut events, "hello").await;
    app.add_message(PORTFOLIO, &net, "Not for Anna").await;
    app.add_message(PORTFOLIO, &gross, "For Anna").await;
    let seen = read_until(&mut events, gross["Id"].as_str().unwrap()).await;
    assert!(!seen.contains(net["Id"].as_str().unwrap()), "{seen}");
}

#[tokio::test]
async fn replies_and_resolves_carry_their_authors_name_and_the_api_stays_the_vendors() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "Guest", "Late check-in").await;
    let path = format!("/inbox/threads/{}", thread["Id"].as_str().unwrap());
    let anna = member(&app, "Anna Novak", "anna", "Agent", json!([])).await;
    let page = get(&app.base, &path, Some(&anna)).await;
    let csrf = page.csrf();
    post_form(
        &app.base,
        &format!("{path}/reply"),
        Some(&anna),
        &[("csrf", &csrf), ("text", "We will wait for you.")],
    )
    .await;
    post_form(
        &app.base,
        &format!("{path}/resolve"),
        Some(&anna),
        &[("csrf", &csrf), ("resolved", "true")],
    )
    .await;
    let operator = log_in(&app.base, OPERATOR_TOKEN).await;
    let page = get(&app.base, &path, Some(&operator)).await;
    post_form(
        &app.base,
        &format!("{path}/resolve"),
        Some(&operator),
        &[("csrf", &page.csrf()), ("resolved", "false")],
    )
    .await;
    app.staff(
        STAFF_MESSAGES_ADD,
        json!({"Messages": [{"MessageThreadId": thread["Id"], "Text": "From the API"}]}),
    )
    .await
    .ok();

    let page = get(&app.base, &path, Some(&operator)).await;
    let body = &page.body;
    let reply = body.find("We will wait for you.").unwrap();
    let bubble = &body[..reply];
    assert!(
        bubble[bubble.rfind("<li").unwrap()..].contains("Anna Novak"),
        "{body}"
    );
    assert!(body.contains("Anna Novak resolved this"), "{body}");
    assert!(body.contains("Operator reopened this"), "{body}");
    let api = body.find("From the API").unwrap();
    assert!(body[..api][body[..api].rfind("<li").unwrap()..].contains("Staff"));
    // The order: the reply, the resolve, the reopen.
    assert!(reply < body.find("Anna Novak resolved this").unwrap());
    assert!(
        body.find("Anna Novak resolved this").unwrap()
            < body.find("Operator reopened this").unwrap()
    );

    // The Connector API is unchanged: Sender Enterprise, no author.
    let messages = app.messages_of(PORTFOLIO, &thread).await;
    let from_anna = messages
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Text"] == "We will wait for you.")
        .unwrap();
    assert_eq!(
        from_anna["Sender"],
        json!({"Discriminator": "Enterprise", "Value": null})
    );
    assert!(!messages.to_string().contains("Anna"));
}

#[tokio::test]
async fn admins_manage_the_team_and_agents_cannot() {
    let app = spawn_app().await;
    let agent = member(&app, "Anna Novak", "anna", "Agent", json!([])).await;
    assert_eq!(
        get(&app.base, "/inbox/team", Some(&agent)).await.status,
        403
    );
    let list = get(&app.base, "/inbox", Some(&agent)).await;
    assert!(
        !list.body.contains("/inbox/team"),
        "no Team link for an agent"
    );
    let forged = post_form(
        &app.base,
        "/inbox/team",
        Some(&agent),
        &[
            ("csrf", &list.csrf()),
            ("name", "Eve"),
            ("login", "eve"),
            ("role", "Admin"),
        ],
    )
    .await;
    assert_eq!(forged.status, 403);

    let admin = member(&app, "Petr Admin", "petr", "Admin", json!([])).await;
    let team = get(&app.base, "/inbox/team", Some(&admin)).await;
    assert_eq!(team.status, 200);
    assert!(team.body.contains("Anna Novak") && team.body.contains("petr"));
    let added = post_form(
        &app.base,
        "/inbox/team",
        Some(&admin),
        &[
            ("csrf", &team.csrf()),
            ("name", "Jana Nová"),
            ("login", "jana"),
            ("role", "Agent"),
            ("enterprise", &demo::NET.to_string()),
        ],
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let start =
        added.body.find("code class=\"password\">").unwrap() + "code class=\"password\">".len();
    let password = &added.body[start..start + 20];
    assert!(member_login(&app, "jana", password).await.is_ok());
    let listed = app.staff(STAFF_GET_ALL, json!({})).await.ok();
    let jana = listed["Members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Login"] == "jana")
        .unwrap()
        .clone();
    assert_eq!(jana["EnterpriseIds"], json!([demo::NET]));

    let disable = post_form(
        &app.base,
        "/inbox/team/anna",
        Some(&admin),
        &[("csrf", &team.csrf()), ("action", "disable")],
    )
    .await;
    assert_eq!(disable.status, 200);
    assert!(
        !get(&app.base, "/inbox", Some(&agent))
            .await
            .body
            .contains("Log out")
    );
    let taken = post_form(
        &app.base,
        "/inbox/team",
        Some(&admin),
        &[
            ("csrf", &team.csrf()),
            ("name", "Anna 2"),
            ("login", "ANNA"),
            ("role", "Agent"),
        ],
    )
    .await;
    assert_eq!(taken.status, 400);
    assert!(taken.body.contains("Login is taken already."));
}

#[tokio::test]
async fn the_staff_operations_check_what_they_are_given() {
    let app = spawn_app().await;
    add_member(&app, "Anna", "anna", "Agent", json!([])).await;
    let unknown = uuid::Uuid::new_v4();
    for (path, body, message) in [
        (
            STAFF_ADD,
            json!({"Name": "B", "Login": "anna", "Role": "Agent"}),
            "Login is taken already.",
        ),
        (
            STAFF_ADD,
            json!({"Name": "B", "Login": "b", "Role": "Agent", "EnterpriseIds": [unknown]}),
            "EnterpriseIds: ",
        ),
        (
            STAFF_ADD,
            json!({"Name": "B", "Login": "b b", "Role": "Agent"}),
            "Login may hold only",
        ),
        (
            STAFF_ADD,
            json!({"Name": "B", "Login": "b", "Role": "Owner"}),
            "Role must be",
        ),
        (
            STAFF_UPDATE,
            json!({"Login": "nobody", "Disabled": true}),
            "Login is not the login of a staff member.",
        ),
        (
            STAFF_UPDATE,
            json!({"Login": "anna", "Disabled": "yes"}),
            "Disabled must be true or false.",
        ),
    ] {
        let said = app.staff(path, body.clone()).await.assert_error(400);
        assert!(said.starts_with(message), "{body}: {said}");
    }
    let updated = app
        .staff(STAFF_UPDATE, json!({"Login": "Anna", "Name": "Anna Novak", "Role": "Admin", "EnterpriseIds": [demo::GROSS]}))
        .await
        .ok();
    assert_eq!(updated["Member"]["Role"], "Admin");
    assert_eq!(updated["Member"]["EnterpriseIds"], json!([demo::GROSS]));
    assert!(
        !app.staff(STAFF_GET_ALL, json!({}))
            .await
            .text
            .contains("argon2")
    );
}

#[tokio::test]
async fn the_command_line_adds_lists_and_disables_members() {
    let app = spawn_app().await;
    let run = |args: Vec<String>| {
        let database = app.database.clone();
        async move {
            let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
                .args(&args)
                .env("SWITCHBOARD_DATABASE_URL", database)
                .output()
                .await
                .unwrap();
            (
                output.status.success(),
                String::from_utf8_lossy(&output.stdout).into_owned(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            )
        }
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (ok, out, err) = run(args(&[
        "staff",
        "add",
        "--name",
        "Anna Novak",
        "--login",
        "Anna",
        "--role",
        "agent",
        "--enterprise",
        &demo::GROSS.to_string(),
    ]))
    .await;
    assert!(ok, "{err}");
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("One-time password: "))
        .unwrap()
        .to_owned();
    assert!(member_login(&app, "anna", &password).await.is_ok());
    let (_, out, _) = run(args(&["staff", "list"])).await;
    assert!(
        out.contains("anna") && out.contains("invited") && out.contains(&demo::GROSS.to_string()),
        "{out}"
    );
    assert!(!out.contains(&password));
    let (ok, out, _) = run(args(&["staff", "disable", "--login", "anna"])).await;
    assert!(ok && out.contains("disabled"), "{out}");
    assert!(member_login(&app, "anna", &password).await.is_err());
    let (ok, _, err) = run(args(&["staff", "disable", "--login", "nobody"])).await;
    assert!(
        !ok && err.contains("there is no staff member nobody"),
        "{err}"
    );
}

/// A scope as a list of the demo's two enterprises: every, Gross or Net.
fn scope_of(pick: u8) -> Value {
    match pick % 3 {
        0 => json!([]),
        1 => json!([demo::GROSS]),
        _ => json!([demo::NET]),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// For random members, scopes and threads: no page shows, and no
    /// reply, resolve, assignment or note changes, a thread outside the
    /// member's scope.
    #[test]
    fn no_member_reaches_a_thread_outside_their_scope(
        scopes in proptest::collection::vec(0u8..3, 1..4),
        threads in proptest::collection::vec(any::<bool>(), 1..6),
        attempts in proptest::collection::vec((0usize..4, 0usize..6, 0u8..4), 1..8),
    ) {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
            let app = spawn_app().await;
            let mut made = Vec::new();
            for (i, in_gross) in threads.iter().enumerate() {
                let enterprise = if *in_gross { demo::GROSS } else { demo::NET };
                let t = app.add_thread_in(PORTFOLIO, enterprise, &format!("Guest {i}"), &format!("Subject {i}")).await;
                made.push((t, enterprise));
            }
            let mut members = Vec::new();
            for (i, pick) in scopes.iter().enumerate() {
                let scope = scope_of(*pick);
                let cookie = member(&app, &format!("Member {i}"), &format!("m{i}"), "Agent", scope.clone()).await;
                members.push((cookie, scope));
            }
            let allows = |scope: &Value, enterprise: uuid::Uuid| {
                scope.as_array().unwrap().is_empty() || scope.as_array().unwrap().contains(&json!(enterprise))
            };
            for (who, which, act) in attempts {
                let (cookie, scope) = &members[who % members.len()];
                let (thread, enterprise) = &made[which % made.len()];
                let id = thread["Id"].as_str().unwrap();
                let list = get(&app.base, "/inbox?state=all", Some(cookie)).await;
                for (other, other_enterprise) in &made {
                    let shown = list.body.contains(other["Id"].as_str().unwrap());
                    assert_eq!(shown, allows(scope, *other_enterprise), "the list: {scope}");
                }
                let page = get(&app.base, &format!("/inbox/threads/{id}"), Some(cookie)).await;
                assert_eq!(page.status == 200, allows(scope, *enterprise));
                assert!(page.status == 200 || page.status == 404);
                let csrf = list.csrf();
                let before = app.messages_of(PORTFOLIO, thread).await.as_array().unwrap().len();
                let state = |listed: Value| listed["MessageThreads"][0]["IsResolved"].clone();
                let resolved_before = state(app.get_threads(PORTFOLIO, json!({"MessageThreadIds": [id]})).await.ok());
                let thread_id = uuid::Uuid::parse_str(id).unwrap();
                let history_before = app.store.thread_history(thread_id).await.unwrap();
                let (path, form): (&str, &[(&str, &str)]) = match act {
                    0 => ("resolve", &[("resolved", "true")]),
                    1 => ("reply", &[("text", "A reply")]),
                    2 => ("assign", &[("to", "me")]),
                    _ => ("note", &[("note", "Staff only")]),
                };
                let mut fields = vec![("csrf", csrf.as_str())];
                fields.extend_from_slice(form);
                let action = post_form(&app.base, &format!("/inbox/threads/{id}/{path}"), Some(cookie), &fields).await;
                if allows(scope, *enterprise) {
                    assert_eq!(action.status, 303);
                } else {
                    assert_eq!(action.status, 404);
                    let after = app.messages_of(PORTFOLIO, thread).await.as_array().unwrap().len();
                    assert_eq!(after, before, "no reply written");
                    let resolved_after = state(app.get_threads(PORTFOLIO, json!({"MessageThreadIds": [id]})).await.ok());
                    prop_assert_eq!(resolved_after, resolved_before, "not resolved");
                    let history_after = app.store.thread_history(thread_id).await.unwrap();
                    prop_assert_eq!(history_after, history_before, "not assigned, no note");
                }
            }
            Ok(())
        })?;
    }
}

//! SPEC §15.2, working as a team: assignment (with the Mine and Unassigned
//! filters), internal notes that never leave the inbox, and unread marks
//! kept per member.

use serde_json::{Value, json};
use switchboard::demo;

use crate::helpers::paths::*;
use crate::helpers::*;
use crate::inbox::{Page, get, log_in, post_form};
use crate::staff::member;

/// Posts a thread's form as the holder of `cookie`, with its CSRF token.
async fn act(
    app: &TestApp,
    cookie: &str,
    thread: &Value,
    action: &str,
    form: &[(&str, &str)],
) -> Page {
    let id = thread["Id"].as_str().unwrap();
    let csrf = get(&app.base, "/inbox", Some(cookie)).await.csrf();
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(form);
    post_form(
        &app.base,
        &format!("/inbox/threads/{id}/{action}"),
        Some(cookie),
        &fields,
    )
    .await
}

fn id(thread: &Value) -> &str {
    thread["Id"].as_str().unwrap()
}

#[tokio::test]
async fn a_thread_is_assigned_to_one_member_and_the_list_filters_mine_and_unassigned() {
    let app = spawn_app().await;
    let ada = member(&app, "Ada Lovelace", "ada", "Agent", json!([])).await;
    let ben = member(&app, "Ben Gross", "ben", "Agent", json!([demo::GROSS])).await;
    let operator = log_in(&app.base, OPERATOR_TOKEN).await;
    let gross = app
        .add_thread_in(PORTFOLIO, demo::GROSS, "Guest G", "Spa")
        .await;
    let net = app
        .add_thread_in(PORTFOLIO, demo::NET, "Guest N", "Bar")
        .await;
    let listed = |cookie: &str, filter: &str| {
        let (base, cookie, filter) = (app.base.clone(), cookie.to_owned(), filter.to_owned());
        async move {
            get(&base, &format!("/inbox?{filter}"), Some(&cookie))
                .await
                .body
        }
    };

    // Ada takes one herself (key a's form), the Operator gives Ben the other.
    assert_eq!(
        act(&app, &ada, &net, "assign", &[("to", "me")])
            .await
            .status,
        303
    );
    let ben_id = app
        .staff("/api/operator/v1/staff/getAll", json!({}))
        .await
        .ok()["Members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Login"] == "ben")
        .unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        act(&app, &operator, &gross, "assign", &[("to", &ben_id)])
            .await
            .status,
        303
    );

    let mine = listed(&ada, "assigned=me").await;
    assert!(
        mine.contains(id(&net)) && !mine.contains(id(&gross)),
        "{mine}"
    );
    let mine = listed(&ben, "assigned=me").await;
    assert!(mine.contains(id(&gross)) && !mine.contains(id(&net)));
    assert!(mine.contains("→ Ben Gross"), "the row names the assignee");
    let none = listed(&ada, "assigned=none").await;
    assert!(!none.contains(id(&gross)) && !none.contains(id(&net)));

    // The thread says who did it, as a line of its history.
    let page = get(
        &app.base,
        &format!("/inbox/threads/{}", id(&gross)),
        Some(&ben),
    )
    .await;
    assert!(
        page.body.contains("Operator assigned this to Ben Gross"),
        "{}",
        page.body
    );
    let page = get(
        &app.base,
        &format!("/inbox/threads/{}", id(&net)),
        Some(&ada),
    )
    .await;
    assert!(page.body.contains("Ada Lovelace took this"));

    // Ben cannot have a thread of an enterprise he does not see: refused,
    // nothing changed.
    let refused = act(&app, &operator, &net, "assign", &[("to", &ben_id)]).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(listed(&ada, "assigned=me").await.contains(id(&net)));
    for nobody in ["not-an-id", "00000000-0000-0000-0000-00000000abcd"] {
        assert_eq!(
            act(&app, &operator, &net, "assign", &[("to", nobody)])
                .await
                .status,
            400
        );
    }

    // The form as a thread of the Operator's shows it sends the Operator's
    // id back: the same assignment, nothing new.
    let taken = act(&app, &operator, &gross, "assign", &[("to", "me")]).await;
    assert_eq!(taken.status, 303);
    let page = get(
        &app.base,
        &format!("/inbox/threads/{}", id(&gross)),
        Some(&operator),
    )
    .await;
    assert!(
        page.body.contains(
            r#"<option value="00000000-0000-0000-0000-000000000000" selected>Operator</option>"#
        ),
        "{}",
        page.body
    );
    let again = act(
        &app,
        &operator,
        &gross,
        "assign",
        &[("to", "00000000-0000-0000-0000-000000000000")],
    )
    .await;
    assert_eq!(again.status, 303);
    let page = get(
        &app.base,
        &format!("/inbox/threads/{}", id(&gross)),
        Some(&operator),
    )
    .await;
    assert_eq!(page.body.matches("Operator took this").count(), 1);

    // Unassigned again: back under Unassigned, with a line.
    assert_eq!(
        act(&app, &ada, &net, "assign", &[("to", "")]).await.status,
        303
    );
    assert!(listed(&ada, "assigned=none").await.contains(id(&net)));
    let page = get(
        &app.base,
        &format!("/inbox/threads/{}", id(&net)),
        Some(&ada),
    )
    .await;
    assert!(page.body.contains("Ada Lovelace unassigned this"));
    // The same assignment twice is one line.
    act(&app, &ada, &net, "assign", &[("to", "me")]).await;
    act(&app, &ada, &net, "assign", &[("to", "me")]).await;
    let page = get(
        &app.base,
        &format!("/inbox/threads/{}", id(&net)),
        Some(&ada),
    )
    .await;
    assert_eq!(page.body.matches("Ada Lovelace took this").count(), 2);

    // A filter the inbox does not know is said so.
    let typo = get(&app.base, "/inbox?assigned=mine", Some(&ada)).await;
    assert_eq!(typo.status, 400);
}

#[tokio::test]
async fn internal_notes_stay_in_the_inbox() {
    let app = spawn_app().await;
    let receiver = crate::receiver::Receiver::start().await;
    app.staff(
        INTEGRATIONS_UPDATE,
        json!({"IntegrationId": demo::SAMPLE_CLIENT, "WebhookUrl": format!("{}/hook", receiver.base)}),
    )
    .await
    .ok();
    let operator = log_in(&app.base, OPERATOR_TOKEN).await;
    let thread = app.add_thread(PORTFOLIO, "Guest", "Room 7").await;
    app.add_message(PORTFOLIO, &thread, "Hello").await;
    receiver
        .wait_until("the guest's message", |r| r.len() == 1)
        .await;

    let added = act(
        &app,
        &operator,
        &thread,
        "note",
        &[("note", "VIP <b>guest</b>: see https://crm.example/7")],
    )
    .await;
    assert_eq!(added.status, 303);
    let page = get(
        &app.base,
        &format!("/inbox/threads/{}", id(&thread)),
        Some(&operator),
    )
    .await;
    assert!(page.body.contains("Internal note · Operator"));
    assert!(
        page.body.contains("VIP &lt;b&gt;guest&lt;/b&gt;"),
        "escaped"
    );
    assert!(page.body.contains(r#"href="https://crm.example/7""#));

    // Not a message anywhere a message is read.
    let api = app.messages_of(PORTFOLIO, &thread).await;
    assert_eq!(api.as_array().unwrap().len(), 1, "{api}");
    let operator_list = app
        .staff(
            STAFF_MESSAGES_GET_ALL,
            json!({"MessageThreadIds": [thread["Id"]], "Limitation": {"Count": 100}}),
        )
        .await
        .ok();
    assert_eq!(
        operator_list["Messages"].as_array().unwrap().len(),
        1,
        "{operator_list}"
    );
    assert!(!operator_list.to_string().contains("VIP"));
    let listed = app
        .get_threads(PORTFOLIO, json!({"MessageThreadIds": [thread["Id"]]}))
        .await
        .ok();
    assert!(!listed.to_string().contains("VIP"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "no webhook for a note");

    // A note is 1 to 10,000 characters; otherwise nothing is kept.
    for bad in ["", &"x".repeat(10_001)] {
        let refused = act(&app, &operator, &thread, "note", &[("note", bad)]).await;
        assert_eq!(refused.status, 400);
    }
    let thread_id = uuid::Uuid::parse_str(id(&thread)).unwrap();
    let history = app.store.thread_history(thread_id).await.unwrap();
    assert_eq!(history.activity.len(), 1, "{history:?}");
}

#[tokio::test]
async fn unread_is_kept_for_each_member() {
    let app = spawn_app().await;
    let ada = member(&app, "Ada Lovelace", "ada", "Agent", json!([])).await;
    let ben = member(&app, "Ben Berg", "ben", "Agent", json!([])).await;
    let thread = app.add_thread(PORTFOLIO, "Guest", "Room 9").await;
    let row_of = |cookie: &str| {
        let (base, cookie, id) = (app.base.clone(), cookie.to_owned(), id(&thread).to_owned());
        async move {
            let body = get(&base, "/inbox", Some(&cookie)).await.body;
            let start = body.find(&format!(r#"data-id="{id}""#)).unwrap();
            let row_start = body[..start].rfind("<li").unwrap();
            let end = start + body[start..].find("</li>").unwrap();
            body[row_start..end].to_owned()
        }
    };
    let unread = |row: &str| row.contains("unread") && row.contains("Unread");
    assert!(!unread(&row_of(&ada).await), "no guest message yet");
    app.add_message(PORTFOLIO, &thread, "Is the pool open?")
        .await;
    assert!(unread(&row_of(&ada).await));
    assert!(unread(&row_of(&ben).await));

    // Ada opens it: read for her, still unread for Ben.
    get(
        &app.base,
        &format!("/inbox/threads/{}", id(&thread)),
        Some(&ada),
    )
    .await;
    assert!(!unread(&row_of(&ada).await));
    assert!(unread(&row_of(&ben).await));
    // A staff reply is not news; the guest's next message is.
    app.reply(&thread, "Until 22:00.").await;
    assert!(!unread(&row_of(&ada).await));
    app.add_message(PORTFOLIO, &thread, "Thanks!").await;
    assert!(unread(&row_of(&ada).await));
}

#[tokio::test]
async fn admins_keep_canned_replies_that_fill_in_the_guest_the_hotel_and_the_agent() {
    let app = spawn_app().await;
    let operator = log_in(&app.base, OPERATOR_TOKEN).await;
    let ada = member(&app, "Ada Lovelace", "ada", "Agent", json!([])).await;
    let team = get(&app.base, "/inbox/team", Some(&operator)).await;
    let add = |name: &str, enterprise: &str, text: &str| {
        let (base, csrf, cookie) = (app.base.clone(), team.csrf(), operator.clone());
        let fields = [
            ("csrf", csrf),
            ("name", name.to_owned()),
            ("enterprise", enterprise.to_owned()),
            ("text", text.to_owned()),
        ];
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(&base, "/inbox/team/canned", Some(&cookie), &fields).await
        }
    };
    let text = "Dear {guest}, welcome to {hotel}! <b>{agent}</b>";
    assert_eq!(add("welcome", "", text).await.status, 303);
    let gross = demo::GROSS.to_string();
    assert_eq!(
        add("spa", &gross, "The spa of {hotel} opens at 9.")
            .await
            .status,
        303
    );
    // Refused, nothing kept: a taken name (any case), two words, no text,
    // an enterprise that is not one.
    for (name, enterprise, text, status) in [
        ("WELCOME", "", "again", 409),
        ("two words", "", "x", 400),
        ("empty", "", "", 400),
        (
            "elsewhere",
            "00000000-0000-0000-0000-00000000abcd",
            "x",
            400,
        ),
    ] {
        assert_eq!(add(name, enterprise, text).await.status, status, "{name}");
    }
    assert_eq!(app.store.canned_replies().await.unwrap().len(), 2);
    // An agent may use them, not keep them.
    let csrf = get(&app.base, "/inbox", Some(&ada)).await.csrf();
    let refused = post_form(
        &app.base,
        "/inbox/team/canned",
        Some(&ada),
        &[
            ("csrf", &csrf),
            ("name", "mine"),
            ("enterprise", ""),
            ("text", "x"),
        ],
    )
    .await;
    assert_eq!(refused.status, 403);

    // In a thread of Net: the one for all, filled in for this guest, hotel
    // and agent (escaped), not Gross's.
    let thread = app
        .add_thread_in(PORTFOLIO, demo::NET, "Jonas Berg", "Room")
        .await;
    let path = format!("/inbox/threads/{}", id(&thread));
    let page = get(&app.base, &path, Some(&ada)).await;
    assert!(
        page.body.contains(r#"data-name="welcome""#),
        "{}",
        page.body
    );
    assert!(!page.body.contains(r#"data-name="spa""#));
    let net = app.staff(ENTERPRISES_GET_ALL, json!({})).await.ok()["Enterprises"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["Id"] == demo::NET.to_string())
        .unwrap()["Name"]
        .as_str()
        .unwrap()
        .to_owned();
    let filled = format!("Dear Jonas Berg, welcome to {net}! &lt;b&gt;Ada Lovelace&lt;/b&gt;");
    assert!(page.body.contains(&filled), "{}", page.body);
    // Without JavaScript, the picker's link starts the reply box with it.
    let prefilled = get(&app.base, &format!("{path}?canned=Welcome"), Some(&ada)).await;
    let box_start = prefilled.body.find(r#"<textarea id="text""#).unwrap();
    assert!(prefilled.body[box_start..].starts_with(&format!(
        r#"<textarea id="text" name="text" rows="4" required maxlength="10000">{filled}</textarea>"#
    )), "{}", &prefilled.body[box_start..]);

    // Deleted by an admin: gone from the thread.
    let team = get(&app.base, "/inbox/team", Some(&operator)).await;
    let welcome = app
        .store
        .canned_replies()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "welcome")
        .unwrap();
    let deleted = post_form(
        &app.base,
        &format!("/inbox/team/canned/{}/delete", welcome.id),
        Some(&operator),
        &[("csrf", &team.csrf())],
    )
    .await;
    assert_eq!(deleted.status, 303);
    assert!(
        !get(&app.base, &path, Some(&ada))
            .await
            .body
            .contains(r#"data-name="welcome""#)
    );
}

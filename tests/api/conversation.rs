//! Issue 3, rule 3: the whole conversation of the vendor's messaging use case.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_use_case_conversation_plays_end_to_end() {
    let app = spawn_app().await;

    // 1-2. The guest writes in the app; the app opens a thread and adds the message.
    let thread = app.add_thread(PORTFOLIO, "Penelope", "Late arrival").await;
    let first = app
        .add_message(
            PORTFOLIO,
            &thread,
            "Hi! I just wanted to let you know I will be arriving late tonight",
        )
        .await;
    assert_eq!(first["Sender"]["Discriminator"], "Application");

    // Staff see the new thread in their inbox and reply.
    let inbox = app
        .staff(
            STAFF_THREADS_GET_ALL,
            json!({"IsResolved": false, "Limitation": {"Count": 10}}),
        )
        .await
        .ok();
    assert_eq!(inbox["MessageThreads"][0]["Id"], thread["Id"]);
    app.clock.advance(chrono::Duration::seconds(30));
    let reply = app
        .reply(
            &thread,
            "Hello Ms Penelope! Thank you for contacting us. What time do you expect to arrive?",
        )
        .await;

    // 3. The app reads the reply.
    let messages = app.messages_of(PORTFOLIO, &thread).await;
    assert_eq!(messages[0]["Id"], reply["Id"]);
    assert_eq!(
        messages[0]["Sender"],
        json!({"Discriminator": "Enterprise", "Value": null})
    );

    // 4. The conversation goes on until staff resolve it.
    app.add_message(
        PORTFOLIO,
        &thread,
        "Around 11pm. Please hold my room, thank you.",
    )
    .await;
    app.reply(&thread, "Your room will be ready for you, travel safely and we look forward to welcoming you around 11pm.")
        .await;
    let resolved = app
        .staff(
            STAFF_THREADS_UPDATE,
            json!({"MessageThreadId": thread["Id"], "IsResolved": true}),
        )
        .await
        .ok();
    assert_eq!(resolved["MessageThreads"][0]["IsResolved"], true);
    let seen = app.get_threads(PORTFOLIO, json!({})).await.ok();
    assert_eq!(
        seen["MessageThreads"][0]["IsResolved"], true,
        "the app sees it resolved"
    );

    // The guest writes again: the thread is open again.
    app.clock.advance(chrono::Duration::minutes(10));
    app.add_message(
        PORTFOLIO,
        &thread,
        "One more thing: can I have a late checkout?",
    )
    .await;
    let seen = app.get_threads(PORTFOLIO, json!({})).await.ok();
    assert_eq!(seen["MessageThreads"][0]["IsResolved"], false);
    assert_eq!(
        seen["MessageThreads"][0]["UpdatedUtc"],
        "2026-03-10T12:10:30Z"
    );
    let texts: Vec<String> = app
        .messages_of(PORTFOLIO, &thread)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}: {}",
                m["Sender"]["Discriminator"].as_str().unwrap(),
                m["Text"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(texts.len(), 5);
    assert!(
        texts[0].starts_with("Application: One more thing"),
        "{texts:?}"
    );
    assert!(texts[4].starts_with("Application: Hi!"), "{texts:?}");
}

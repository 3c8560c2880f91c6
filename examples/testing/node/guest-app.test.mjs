import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";

import { START, cleanStart, makeTenant, startReceiver, startSwitchboard } from "./switchboard.mjs";

let switchboard, receiver, tenant;

before(async () => {
  switchboard = await startSwitchboard();
  receiver = await startReceiver();
  tenant = await makeTenant(switchboard, receiver.url);
});
beforeEach(async () => {
  await cleanStart(switchboard);
  receiver.received.length = 0;
});
after(async () => {
  await receiver.close();
  await switchboard.stop();
});

async function openThread(subject = "Late check-in") {
  const { status, json } = await tenant.connector("messageThreads/add", {
    OriginalSender: "Jane Doe",
    Subject: subject,
  });
  assert.equal(status, 200, json.Message);
  return json.MessageThreads[0];
}

test("a guest message reaches the receiver", async () => {
  const thread = await openThread();
  const { json } = await tenant.connector("messages/add", {
    Messages: [{ MessageThreadId: thread.Id, Text: "Arriving at 23:00." }],
  });
  const message = json.Messages[0].Message;
  const webhook = await receiver.waitFor(message.Id);
  assert.equal(webhook.body.EnterpriseId, tenant.enterpriseId);
  assert.deepEqual(webhook.body.Events, [{ Discriminator: "MessageAdded", Value: { Id: message.Id } }]);
});

test("the clock stands still until moved", async () => {
  assert.equal((await openThread("Parking")).CreatedUtc, START);
  await switchboard.operator("clock/advance", { Seconds: 3600 });
  assert.equal((await openThread("Breakfast")).CreatedUtc, "2030-01-01T10:00:00Z");
});

test("a 429 says when to come back", async () => {
  await switchboard.operator("faults/add", {
    Operation: "messageThreads/add",
    Status: 429,
    RetryAfterSeconds: 5,
    Times: 1,
  });
  const busy = await tenant.connector("messageThreads/add", { OriginalSender: "Jane", Subject: "Spa" });
  assert.equal(busy.status, 429);
  assert.equal(busy.headers.get("retry-after"), "5");
  assert.equal(busy.json.RequestId, busy.headers.get("request-id"));
  await openThread("Spa");
});

test("the request log shows what the app sent", async () => {
  const newest = await switchboard.operator("requests/getAll", { Limitation: { Count: 1 } });
  const mark = newest.Requests[0]?.Sequence ?? 0;
  await tenant.connector("messageThreads/add", { originalSender: "Jane Doe", Subject: "Towels" });
  const { Requests } = await switchboard.operator("requests/getAll", {
    AfterSequence: mark,
    Limitation: { Count: 100 },
  });
  assert.equal(Requests.length, 1);
  assert.equal(Requests[0].Status, 400);
  assert.equal(Requests[0].Request.AccessToken, "***");
  assert.deepEqual(Requests[0].Warnings, [{ Property: "originalSender", DidYouMean: "OriginalSender" }]);
});

// Browser tests of the staff inbox (SPEC 15) in headless Chromium: a
// receptionist's whole conversation, keys, live updates and escaping; then
// the README's screenshots. Run by .ci/inbox/run against a fresh server.
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const base = process.env.BASE;
const token = process.env.TOKEN;
const auth = {
  ClientToken: "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D",
  AccessToken: "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D",
  Client: "Browser tests 1.0",
};

async function api(path, body) {
  const response = await fetch(`${base}/api/connector/v1/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...auth, ...body }),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${path}: ${text}`);
  return JSON.parse(text);
}

const newThread = async (sender, subject) =>
  (await api("messageThreads/add", { OriginalSender: sender, Subject: subject })).MessageThreads[0].Id;
const guestSays = (thread, text) =>
  api("messages/add", { Messages: [{ MessageThreadId: thread, Text: text }] });
const messagesOf = async (thread) =>
  (await api("messages/getAll", { MessageThreadIds: [thread], Limitation: { Count: 100 } })).Messages;
const isResolved = async (thread) =>
  (await api("messageThreads/getAll", { MessageThreadIds: [thread], Limitation: { Count: 1 } }))
    .MessageThreads[0].IsResolved;

async function check(name, test) {
  const started = Date.now();
  await test();
  console.log(`ok - ${name} (${Date.now() - started} ms)`);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium" });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
page.on("dialog", (dialog) => {
  throw new Error(`a dialog opened: ${dialog.message()}`);
});
page.on("pageerror", (error) => {
  throw new Error(`a script error: ${error}`);
});

const thread = await newThread("Jonas <script>alert(1)</script> Berg", "<script>alert(2)</script> Room 214");
await guestSays(thread, "Hi, the shower has no hot water.");

await check("logs in with the operator token", async () => {
  await page.goto(`${base}/inbox`);
  await page.fill("#token", "wrong");
  await page.click("form.setup button[type=submit]");
  assert.match(await page.textContent(".error"), /not the operator token/);
  await page.fill("#token", token);
  await page.click("form.setup button[type=submit]");
  await page.waitForSelector(".threads");
});

await check("sees a thread made through the API, with the count in the title", async () => {
  const row = page.locator(`.thread[data-id="${thread}"]`);
  assert.equal(await row.count(), 1);
  assert.match(await row.textContent(), /Awaiting reply/);
  assert.equal(await page.title(), "(1) Inbox");
});

await check("shows a guest's <script> as text", async () => {
  const row = page.locator(`.thread[data-id="${thread}"] .subject`);
  assert.equal(await row.textContent(), "<script>alert(2)</script> Room 214");
});

await check("moves with j and k, and opens with Enter", async () => {
  const other = await newThread("Aiko Tanaka", "Vegan breakfast");
  await page.reload();
  await page.keyboard.press("j");
  await page.keyboard.press("j");
  await page.keyboard.press("k");
  const selected = page.locator(".thread.selected");
  assert.equal(await selected.getAttribute("data-id"), other, "the newest, first row");
  await page.keyboard.press("j");
  assert.equal(await page.locator(".thread.selected").getAttribute("data-id"), thread);
  await page.keyboard.press("Enter");
  await page.waitForSelector(".messages");
  assert.equal(await page.textContent("h1"), "<script>alert(2)</script> Room 214");
});

await check("replies with r and Ctrl+Enter, and the API sees the reply", async () => {
  await page.keyboard.press("r");
  await page.keyboard.type("A technician is on the way.");
  await page.keyboard.press("Control+Enter");
  await page.waitForSelector("li.message.staff");
  const messages = await messagesOf(thread);
  assert.equal(messages[0].Text, "A technician is on the way.");
  assert.equal(messages[0].Sender.Discriminator, "Enterprise");
});

await check("resolves and reopens with e", async () => {
  await page.keyboard.press("e");
  await page.waitForSelector("form.resolve button:text('Reopen')");
  assert.equal(await isResolved(thread), true);
  await page.keyboard.press("e");
  await page.waitForSelector("form.resolve button:text('Resolve')");
  assert.equal(await isResolved(thread), false);
});

await check("shows a message added through the API within 1 s, without a reload", async () => {
  await guestSays(thread, "Still cold.");
  await page.waitForSelector("li.message.guest p.text:text('Still cold.')", { timeout: 1000 });
});

await check("shows a new thread at the top of the list within 1 s", async () => {
  await page.goto(`${base}/inbox`);
  await page.waitForSelector(".threads");
  const fresh = await newThread("Marco Bianchi", "Parking for a van");
  await page.waitForSelector(`.threads .thread:first-child[data-id="${fresh}"]`, { timeout: 1000 });
});

await check("lists the keys with ?", async () => {
  await page.keyboard.press("?");
  assert.equal(await page.isVisible(".keys"), true);
  await page.keyboard.press("?");
  assert.equal(await page.isVisible(".keys"), false);
});

await check("Esc closes the keys panel", async () => {
  await page.keyboard.press("?");
  assert.equal(await page.isVisible(".keys"), true);
  await page.keyboard.press("Escape");
  assert.equal(await page.isVisible(".keys"), false);
});

await check("e and r act on the selected row of the list", async () => {
  const listed = await newThread("Lea Weiss", "Extra pillow");
  await page.goto(`${base}/inbox`);
  await page.waitForSelector(`.thread[data-id="${listed}"]`);
  await page.keyboard.press("j");
  assert.equal(await page.locator(".thread.selected").getAttribute("data-id"), listed);
  await page.keyboard.press("e");
  // Resolved: it leaves the Open tab.
  await page.waitForSelector(`.thread[data-id="${listed}"]`, { state: "detached" });
  assert.equal(await isResolved(listed), true);
  await page.goto(`${base}/inbox?state=resolved`);
  await page.keyboard.press("j");
  await page.keyboard.press("r");
  await page.waitForURL(`${base}/inbox/threads/${listed}#text`);
  await page.waitForFunction(() => document.activeElement?.id === "text");
});

await check("sends with ⌘+Enter too", async () => {
  await page.keyboard.type("Your pillow is on its way.");
  await page.keyboard.press("Meta+Enter");
  await page.waitForSelector("li.message.staff p.text:text('Your pillow is on its way.')");
});

await check("a link in a message opens in a new tab and tells the site nothing", async () => {
  const linked = await newThread("Ola Nordmann", "Directions");
  await guestSays(linked, "Is it this place? https://example.com/map?x=1.");
  await page.goto(`${base}/inbox/threads/${linked}`);
  const link = page.locator("li.message p.text a");
  assert.equal(await link.getAttribute("href"), "https://example.com/map?x=1");
  assert.equal(await link.getAttribute("target"), "_blank");
  assert.equal(await link.getAttribute("rel"), "noopener noreferrer");
});

await check("search finds an accented name from plain letters and a word in a message", async () => {
  const bjorn = await newThread("Björn Ångström", "Sauna");
  const quiet = await newThread("Someone Else", "Question");
  await guestSays(quiet, "Can we borrow a Sisyphean umbrella?");
  await page.goto(`${base}/inbox`);
  await page.keyboard.press("/");
  await page.keyboard.type("angstrom");
  await page.keyboard.press("Enter");
  await page.waitForSelector(`.thread[data-id="${bjorn}"]`);
  assert.equal(await page.textContent(`.thread[data-id="${bjorn}"] mark`), "Ångström");
  await page.fill("#search", "SISYPHEAN");
  await page.keyboard.press("Enter");
  await page.waitForSelector(`.thread[data-id="${quiet}"]`);
  assert.equal(await page.locator(`.thread[data-id="${bjorn}"]`).count(), 0);
  assert.equal(await page.textContent(`.thread[data-id="${quiet}"] mark`), "Sisyphean");
});

await check("a deep link opened while logged out lands on its thread after login", async () => {
  const fresh = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await fresh.goto(`${base}/inbox/threads/${thread}`);
  await fresh.fill("#token", token);
  await fresh.click("form.setup button[type=submit]");
  await fresh.waitForURL(`${base}/inbox/threads/${thread}`);
  assert.equal(await fresh.textContent("h1"), "<script>alert(2)</script> Room 214");
  await fresh.close();
});

await check("is usable at 360 px", async () => {
  const phone = await browser.newPage({ viewport: { width: 360, height: 740 } });
  await phone.goto(`${base}/inbox`);
  await phone.fill("#token", token);
  await phone.click("form.setup button[type=submit]");
  await phone.waitForSelector(".threads");
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `no sideways scrolling (${width} px)`);
  await phone.close();
});

// Staff accounts (SPEC 15.1): the operator, an admin, adds a receptionist of
// one hotel on the Team page; she sets her password, sees only her hotel's
// threads, and her reply carries her name.
const GROSS = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const NET = "4d0201db-36f5-428b-8d11-4f0a65e960cc";
const grossThread = (await api("messageThreads/add", { OriginalSender: "Eva Gross", Subject: "Spa hours", EnterpriseId: GROSS })).MessageThreads[0].Id;
const netThread = (await api("messageThreads/add", { OriginalSender: "Noah Net", Subject: "Late checkout", EnterpriseId: NET })).MessageThreads[0].Id;
let oneTime;

await check("an admin adds a member on the Team page", async () => {
  await page.goto(`${base}/inbox/team`);
  await page.fill("#name", "Anna Novak");
  await page.fill("#new-login", "anna");
  await page.selectOption("#role", "Agent");
  await page.check(`form.add input[name=enterprise][value="${GROSS}"]`);
  await page.click("form.add button[type=submit]");
  oneTime = (await page.textContent("code.password")).trim();
  assert.equal(oneTime.length, 20);
  assert.match(await page.textContent("table.members"), /Anna Novak[\s\S]*anna[\s\S]*Agent[\s\S]*Invited/);
});

const anna = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
anna.on("pageerror", (error) => {
  throw new Error(`a script error: ${error}`);
});

await check("the member logs in, chooses her password and sees only her hotel", async () => {
  await anna.goto(`${base}/inbox`);
  await anna.fill("#login", "Anna");
  await anna.fill("#password", oneTime);
  await anna.click("form:not(.setup) button[type=submit]");
  await anna.waitForURL(`${base}/inbox/password`);
  await anna.fill("#current", oneTime);
  await anna.fill("#new", "correct horse battery staple");
  await anna.fill("#again", "correct horse battery staple");
  await anna.click("main form button[type=submit]");
  await anna.waitForSelector(".threads");
  assert.equal(await anna.locator(`.thread[data-id="${grossThread}"]`).count(), 1);
  assert.equal(await anna.locator(`.thread[data-id="${netThread}"]`).count(), 0, "another hotel's thread");
  assert.match(await anna.textContent("header .name"), /Anna Novak/);
  assert.equal(await anna.locator("a[href='/inbox/team']").count(), 0, "no Team page for an agent");
  const other = await anna.goto(`${base}/inbox/threads/${netThread}`);
  assert.equal(other.status(), 404);
});

await check("her reply carries her name, and her resolve a line in the thread", async () => {
  await anna.goto(`${base}/inbox/threads/${grossThread}`);
  await anna.fill("#text", "The spa is open until 21:00.");
  await anna.click("form.reply button[type=submit]");
  await anna.waitForSelector("li.message.staff");
  assert.match(await anna.textContent("li.message.staff .who"), /Anna Novak/);
  await anna.click("form.resolve button");
  await anna.waitForSelector("li.activity");
  assert.match(await anna.textContent("li.activity"), /Anna Novak resolved this/);
  const messages = await messagesOf(grossThread);
  assert.equal(messages[0].Sender.Discriminator, "Enterprise", "the API says Enterprise, as the vendor does");
});

// Working as a team (SPEC 15.2).
await check("a assigns the selected row to yourself, and Mine lists it", async () => {
  const mine = await newThread("Pia Holm", "Late arrival");
  await page.goto(`${base}/inbox`);
  await page.waitForSelector(`.thread[data-id="${mine}"]`);
  await page.keyboard.press("j");
  assert.equal(await page.locator(".thread.selected").getAttribute("data-id"), mine);
  await page.keyboard.press("a");
  await page.waitForSelector(`.thread[data-id="${mine}"] .assignee`);
  assert.match(await page.textContent(`.thread[data-id="${mine}"] .assignee`), /Operator/);
  await page.selectOption("select[name=assigned]", "me");
  await page.click("form.filters button[type=submit]");
  await page.waitForURL(/assigned=me/);
  assert.equal(await page.locator(".thread").count(), 1);
  await page.selectOption("select[name=assigned]", "none");
  await page.click("form.filters button[type=submit]");
  await page.waitForURL(/assigned=none/);
  assert.equal(await page.locator(`.thread[data-id="${mine}"]`).count(), 0);
});

await check("an internal note shows apart and never reaches the API", async () => {
  await page.goto(`${base}/inbox/threads/${grossThread}`);
  await page.fill("#note", "Regular guest: offer the usual room.");
  await page.click("form.note button[type=submit]");
  await page.waitForSelector("li.note");
  assert.match(await page.textContent("li.note"), /Internal note · Operator[\s\S]*offer the usual room/);
  const texts = (await messagesOf(grossThread)).map((m) => m.Text);
  assert.ok(!texts.some((t) => t.includes("usual room")), JSON.stringify(texts));
});

await check("a canned reply goes in with / and its name, then Tab, filled in", async () => {
  await page.goto(`${base}/inbox/team`);
  await page.fill("#canned-name", "thanks");
  await page.fill("#canned-text", "Thank you, {guest}! Kind regards, {agent}");
  await page.click("form.canned button[type=submit]");
  await page.waitForSelector("ul.canned-list li");
  await page.goto(`${base}/inbox/threads/${grossThread}`);
  await page.click("#text");
  await page.keyboard.type("Hello. /than");
  await page.keyboard.press("Tab");
  assert.equal(await page.inputValue("#text"), "Hello. Thank you, Eva Gross! Kind regards, Operator");
  await page.fill("#text", "");
  await page.click("details.canned summary");
  await page.click("details.canned a[data-name=thanks]");
  assert.equal(await page.inputValue("#text"), "Thank you, Eva Gross! Kind regards, Operator");
});

await check("a guest's new message is unread for a member until she opens it", async () => {
  await guestSays(grossThread, "One more question about the spa.");
  await anna.goto(`${base}/inbox?state=all`);
  const row = anna.locator(`.thread[data-id="${grossThread}"]`);
  assert.match(await row.getAttribute("class"), /unread/);
  assert.match(await row.textContent(), /Unread/);
  await anna.goto(`${base}/inbox/threads/${grossThread}`);
  await anna.goto(`${base}/inbox?state=all`);
  assert.doesNotMatch(await anna.locator(`.thread[data-id="${grossThread}"]`).getAttribute("class"), /unread/);
});

await check("notifications, once asked for, announce guest messages in the member's scope only", async () => {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await context.addInitScript(() => {
    window.__notified = [];
    window.Notification = class {
      static permission = "default";
      static async requestPermission() {
        window.Notification.permission = "granted";
        return "granted";
      }
      constructor(title, options) {
        window.__notified.push({ title, body: options?.body });
      }
    };
  });
  const agent = await context.newPage();
  agent.on("pageerror", (error) => {
    throw new Error(`a script error: ${error}`);
  });
  await agent.goto(`${base}/inbox`);
  await agent.fill("#login", "anna");
  await agent.fill("#password", "correct horse battery staple");
  await agent.click("form:not(.setup) button[type=submit]");
  await agent.waitForSelector(".threads");
  await agent.click("#notify");
  await agent.waitForSelector("#notify[aria-pressed=true]");
  await agent.waitForTimeout(300);
  await guestSays(netThread, "Not for Anna: another hotel.");
  await guestSays(grossThread, "Is the sauna included?");
  await agent.waitForFunction(() => window.__notified.length > 0, null, { timeout: 5000 });
  await agent.waitForTimeout(500);
  const notified = await agent.evaluate(() => window.__notified);
  assert.equal(notified.length, 1, JSON.stringify(notified));
  assert.equal(notified[0].title, "Eva Gross: Spa hours");
  assert.equal(notified[0].body, "Is the sauna included?");
  await context.close();
});

await browser.close();

// Takes the README's screenshots of the staff inbox: a list, a thread (with
// its activity, assignment and a note), its canned replies and the Team
// page, at 1440 px and at 360 px wide. Needs a running switchboard (BASE, TOKEN) with
// the demo tenant, Debian's chromium (CHROMIUM) and playwright-core.
//
//   node .ci/inbox/screenshots.mjs   (BASE=http://127.0.0.1:8080 TOKEN=staff-secret)
import { chromium } from "playwright-core";

const base = process.env.BASE ?? "http://127.0.0.1:8080";
const token = process.env.TOKEN ?? "staff-secret";
const out = process.env.OUT ?? "docs";
const auth = {
  ClientToken: "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D",
  AccessToken: "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D",
  Client: "Guest app 2.4.0",
};

async function api(path, body, staff = false) {
  const headers = { "Content-Type": "application/json" };
  if (staff) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`${base}/api/${path}`, {
    method: "POST",
    headers,
    body: JSON.stringify(staff ? body : { ...auth, ...body }),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

const guestSays = (id, text) =>
  api("connector/v1/messages/add", { Messages: [{ MessageThreadId: id, Text: text }] });

async function thread(sender, subject, messages) {
  const made = await api("connector/v1/messageThreads/add", { OriginalSender: sender, Subject: subject });
  const id = made.MessageThreads[0].Id;
  for (const [who, text] of messages) {
    const item = { Messages: [{ MessageThreadId: id, Text: text }] };
    if (who === "guest") await api("connector/v1/messages/add", item);
    else await api("operator/v1/messages/add", item, true);
  }
  return id;
}

await thread("Penelope Hart", "Late arrival", [
  ["guest", "Hello! Our flight lands at 23:40, so we will only reach the hotel after midnight."],
  ["staff", "No problem, Penelope. The night desk will have your keys ready."],
  ["guest", "Wonderful, thank you!\nCould we also have a cot for our daughter?"],
]);
const resolved = await thread("Marco Bianchi", "Parking for a van", [
  ["guest", "Is there parking for a 6 m long van?"],
  ["staff", "Yes: the yard behind the hotel, entrance on Kirchgasse."],
]);
await api("operator/v1/messageThreads/update", { MessageThreadId: resolved, IsResolved: true }, true);
await thread("Aiko Tanaka", "Vegan breakfast", [
  ["guest", "Do you serve a vegan breakfast?"],
  ["staff", "We do: oat porridge, fruit, and tofu scramble on request."],
]);
const main = await thread("Jonas <script>alert(1)</script> Berg", "Room 214: the shower is cold", [
  ["guest", "Hi, the shower in 214 has no hot water since this morning."],
  ["staff", "Sorry about that! A technician is on the way, about 15 minutes."],
  ["guest", "Still cold.\nCould we move to another room tonight?"],
]);

// The team: a receptionist of each hotel and a manager.
const GROSS = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const NET = "4d0201db-36f5-428b-8d11-4f0a65e960cc";
const member = async (Name, Login, Role, EnterpriseIds) =>
  (await api("operator/v1/staff/add", { Name, Login, Role, EnterpriseIds }, true)).Password;
const annaOnce = await member("Anna Novak", "anna", "Agent", [GROSS]);
await member("Jonas Weber", "jonas", "Agent", [NET]);
await member("Petra Dvořák", "petra", "Admin", []);

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium" });
// Anna answers a guest and resolves the thread; the operator reopens it.
const anna = await browser.newPage({ viewport: { width: 1440, height: 900 } });
await anna.goto(`${base}/inbox`);
await anna.fill("#login", "anna");
await anna.fill("#password", annaOnce);
await anna.click("form:not(.setup) button[type=submit]");
await anna.fill("#current", annaOnce);
await anna.fill("#new", "correct horse battery staple");
await anna.fill("#again", "correct horse battery staple");
await anna.click("main form button[type=submit]");
await anna.waitForSelector(".threads");
await anna.goto(`${base}/inbox/threads/${main}`);
await anna.fill("#text", "I am so sorry, Jonas. Room 305 is ready for you; I will bring the new key myself.");
await anna.click("form.reply button[type=submit]");
await anna.waitForSelector("li.message.staff");
await anna.click("form.resolve button");
await anna.waitForSelector("li.activity");
await anna.click("form.assign-me button");
await anna.waitForSelector("li.activity >> text=Anna Novak took this");
await anna.fill("#note", "Moved to 305 for tonight. Ask maintenance about 214 before the next guest.");
await anna.click("form.note button[type=submit]");
await anna.waitForSelector("li.note");
await anna.close();
await guestSays(main, "Thank you, Anna!");

for (const [width, height, suffix] of [[1440, 900, ""], [360, 740, "-360"]]) {
  const page = await browser.newPage({ viewport: { width, height } });
  await page.goto(`${base}/inbox`);
  await page.fill("#token", token);
  await page.click("form.setup button[type=submit]");
  await page.waitForSelector(".threads");
  await page.screenshot({ path: `${out}/inbox-list${suffix}.png`, fullPage: true });
  await page.goto(`${base}/inbox/threads/${main}`);
  await page.waitForSelector(".messages");
  await page.screenshot({ path: `${out}/inbox-thread${suffix}.png`, fullPage: true });
  if (!suffix) {
    // A canned reply, kept on the Team page.
    await page.goto(`${base}/inbox/team`);
    await page.fill("#canned-name", "sorry");
    await page.fill("#canned-text", "Dear {guest}, we are very sorry about this. {hotel} will make it right. – {agent}");
    await page.click("form.canned button[type=submit]");
    await page.waitForSelector("ul.canned-list li");
  }
  await page.goto(`${base}/inbox/threads/${main}`);
  await page.click("details.canned summary");
  await page.screenshot({ path: `${out}/inbox-canned${suffix}.png`, fullPage: true });
  await page.goto(`${base}/inbox/team`);
  await page.waitForSelector("table.members");
  await page.screenshot({ path: `${out}/inbox-team${suffix}.png`, fullPage: true });
  await page.close();
}
await browser.close();

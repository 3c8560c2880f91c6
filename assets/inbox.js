// The inbox's live updates, keys and local times. Everything works without
// this script: it only adds what a browser can do on top of the server's pages.
"use strict";

(function () {
  // Times: shown in the browser's own time zone, UTC on hover.
  function localize(root) {
    for (const time of root.querySelectorAll("time[datetime]")) {
      const at = new Date(time.getAttribute("datetime"));
      if (!isNaN(at)) {
        time.textContent = at.toLocaleString(undefined, {
          dateStyle: "medium",
          timeStyle: "short",
        });
      }
    }
  }
  localize(document);

  // Live: the server names each thread that changes; the page fetches itself
  // again and puts in what changed, leaving a reply being written alone.
  const live = document.querySelector("main[data-live]");
  let pending = null;
  async function refresh() {
    pending = null;
    const main = document.querySelector("main[data-live]");
    // Not while a filter (on the list) or the assignee (in a thread) is
    // being chosen: try again in a second.
    const choosing = main.dataset.live === "list" ? "input, select" : ".actions select";
    if (main.contains(document.activeElement) && document.activeElement.matches(choosing)) {
      pending = setTimeout(refresh, 1000);
      return;
    }
    const response = await fetch(location.href, { credentials: "same-origin" });
    if (!response.ok || response.redirected) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const parts = main.dataset.live === "list"
      ? [".results"]
      : [".meta", ".actions", "ol.messages"];
    for (const selector of [".top .count", ...parts]) {
      const now = document.querySelector(selector);
      const next = fresh.querySelector(selector);
      if (now && next) {
        now.replaceWith(next);
        localize(next);
      }
    }
    document.title = fresh.title;
    selected = -1;
  }
  function soon() {
    if (pending === null) pending = setTimeout(refresh, 100);
  }
  // Notifications, opted into on this browser: a new guest message in a
  // thread the member sees (the stream names only those) is announced,
  // unless its own page is open and in front.
  const NOTIFY = "switchboard-notify";
  const notifying = () =>
    "Notification" in window && Notification.permission === "granted" &&
    localStorage.getItem(NOTIFY) === "on";
  const me = document.querySelector("header.top nav.me");
  if (live && me && "Notification" in window) {
    const button = document.createElement("button");
    button.type = "button";
    button.id = "notify";
    button.className = "notify";
    const label = () => {
      button.textContent = notifying() ? "Notifications on" : "Notify me";
      button.setAttribute("aria-pressed", String(notifying()));
    };
    button.addEventListener("click", async () => {
      if (notifying()) {
        localStorage.removeItem(NOTIFY);
      } else if ((await Notification.requestPermission()) === "granted") {
        localStorage.setItem(NOTIFY, "on");
        start();
      }
      label();
    });
    label();
    me.prepend(button);
    start();
  }
  // Guest messages are numbered in the order they were stored: those
  // numbered above the newest one seen when notifications started are new.
  let newest = null;
  async function latest() {
    const response = await fetch("/inbox?state=all", { credentials: "same-origin" });
    if (!response.ok || response.redirected) return null;
    return new DOMParser().parseFromString(await response.text(), "text/html");
  }
  const guestOf = (row) => Number(row.dataset.guest ?? 0);
  async function start() {
    const page = notifying() ? await latest() : null;
    if (page) newest = Math.max(0, ...Array.from(page.querySelectorAll(".thread")).map(guestOf));
  }
  async function announce(thread) {
    if (!notifying() || newest === null) return;
    const page = await latest();
    const row = page?.querySelector(`.thread[data-id="${thread}"]`);
    if (!row || guestOf(row) <= newest) return;
    newest = guestOf(row);
    const here = document.querySelector("main[data-live='thread']");
    if (here && here.dataset.id === thread && document.hasFocus()) return;
    const sender = row.querySelector(".sender")?.textContent ?? "A guest";
    const subject = row.querySelector(".subject")?.textContent ?? "";
    const note = new Notification(`${sender}: ${subject}`, {
      body: row.querySelector(".last")?.textContent ?? "",
      tag: thread,
    });
    note.onclick = () => {
      window.focus();
      location.assign(`/inbox/threads/${thread}`);
    };
  }

  if (live && "EventSource" in window) {
    let lost = false;
    const listen = () => {
      const events = new EventSource("/inbox/events");
      events.addEventListener("change", soon);
      events.addEventListener("change", (event) => announce(event.data));
      events.addEventListener("refresh", soon);
      // After a restart the stream comes back by itself: catch up at once.
      events.addEventListener("hello", () => {
        if (lost) soon();
        lost = false;
      });
      events.addEventListener("error", () => {
        lost = true;
        // Refused (too many live pages, or the database out of reach): the
        // browser gives up on such a stream, so try again a little later.
        if (events.readyState === EventSource.CLOSED) setTimeout(listen, 15000);
      });
    };
    listen();
  }

  const rows = () => Array.from(document.querySelectorAll(".thread"));
  let selected = -1;
  function select(index) {
    const all = rows();
    if (all.length === 0) return;
    selected = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => row.classList.toggle("selected", i === selected));
    const link = all[selected].querySelector("a");
    link.focus();
  }

  const keys = document.createElement("aside");
  keys.className = "keys";
  keys.hidden = true;
  keys.setAttribute("aria-label", "Keys");
  const help = [
    ["j / k", "next / previous thread"],
    ["Enter", "open the thread"],
    ["r", "reply (in the list: to the selected thread)"],
    ["e", "resolve or reopen (in the list: the selected thread)"],
    ["a", "assign to yourself (in the list: the selected thread)"],
    ["/", "search"],
    ["Ctrl+Enter or ⌘+Enter", "send the reply"],
    ["/name, then Tab", "in the reply: a canned reply"],
    ["Esc", "close this panel, leave a field"],
    ["?", "show or hide these keys"],
  ];
  const list = document.createElement("dl");
  for (const [key, what] of help) {
    const dt = document.createElement("dt");
    dt.textContent = key;
    const dd = document.createElement("dd");
    dd.textContent = what;
    list.append(dt, dd);
  }
  keys.append(list);
  document.body.append(keys);

  // The selected row of the list, if any.
  function chosen() {
    const all = rows();
    return selected >= 0 && selected < all.length ? all[selected] : null;
  }

  // Posts a form about a thread of the list, as its page's button would.
  async function post(row, action, fields) {
    const csrf = document.querySelector("input[name=csrf]");
    if (!csrf) return;
    const form = new URLSearchParams(fields);
    form.set("csrf", csrf.value);
    await fetch(`/inbox/threads/${row.dataset.id}/${action}`, {
      method: "POST",
      credentials: "same-origin",
      body: form,
    });
    refresh();
  }

  // A reply opened from the list: its box has the focus, once the browser
  // has moved to the fragment (which would take the focus back).
  if (location.hash === "#text") {
    window.addEventListener("load", () => setTimeout(() => {
      const text = document.getElementById("text");
      if (text) text.focus();
    }));
  }

  // Canned replies: picked from the list, or typed as / and a name then
  // Tab; the text goes in where the cursor is.
  const canned = () => Array.from(document.querySelectorAll("details.canned a[data-text]"));
  function insert(text, from, to) {
    const box = document.getElementById("text");
    box.setRangeText(text, from, to, "end");
    box.focus();
  }
  document.addEventListener("click", (event) => {
    const pick = event.target.closest("details.canned a[data-text]");
    if (!pick) return;
    event.preventDefault();
    const box = document.getElementById("text");
    insert(pick.dataset.text, box.selectionStart, box.selectionEnd);
    pick.closest("details").open = false;
  });
  function complete(box) {
    const before = box.value.slice(0, box.selectionStart);
    const typed = /(?:^|\s)\/(\S+)$/.exec(before);
    if (!typed) return false;
    const name = typed[1].toLowerCase();
    const all = canned();
    const exact = all.filter((a) => a.dataset.name.toLowerCase() === name);
    const found = exact.length ? exact : all.filter((a) => a.dataset.name.toLowerCase().startsWith(name));
    if (found.length !== 1) return false;
    insert(found[0].dataset.text, box.selectionStart - typed[1].length - 1, box.selectionStart);
    return true;
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !keys.hidden) {
      keys.hidden = true;
      event.preventDefault();
      return;
    }
    const typing = event.target.closest("input, textarea, select");
    if (typing) {
      if (event.key === "Tab" && event.target.id === "text" && complete(event.target)) {
        event.preventDefault();
      } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.form) {
        event.preventDefault();
        event.target.form.requestSubmit();
      } else if (event.key === "Escape") {
        event.target.blur();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    switch (event.key) {
      case "j":
        select(selected + 1);
        break;
      case "k":
        select(selected - 1);
        break;
      case "Enter":
        if (selected >= 0) rows()[selected].querySelector("a").click();
        else return;
        break;
      case "r": {
        const text = document.getElementById("text");
        const row = chosen();
        if (text) text.focus();
        else if (row) location.assign(`/inbox/threads/${row.dataset.id}#text`);
        else return;
        break;
      }
      case "e": {
        const button = document.querySelector("form.resolve button");
        const row = chosen();
        if (button) button.click();
        else if (row) post(row, "resolve", { resolved: !row.classList.contains("resolved") });
        else return;
        break;
      }
      case "a": {
        const button = document.querySelector("form.assign-me button");
        const row = chosen();
        if (button) button.click();
        else if (row) post(row, "assign", { to: "me" });
        else return;
        break;
      }
      case "Escape":
        for (const open of document.querySelectorAll("details[open]")) open.open = false;
        break;
      case "/": {
        const search = document.getElementById("search");
        if (!search) return;
        search.focus();
        break;
      }
      case "?":
        keys.hidden = !keys.hidden;
        break;
      default:
        return;
    }
    event.preventDefault();
  });
})();

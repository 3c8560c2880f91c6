// Test helpers for a guest app's suite on node:test: start switchboard (or
// reuse one), make a tenant over HTTP, receive its webhooks, and give every
// test the same clean start.
//
//   SWITCHBOARD_BIN   the switchboard binary (default: `switchboard` on PATH)
//   SWITCHBOARD_URL   reuse this server instead; it must run with --clock
//                     manual, and SWITCHBOARD_OPERATOR_TOKEN names its token

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

export const START = "2030-01-01T09:00:00Z";

export async function startSwitchboard() {
  if (process.env.SWITCHBOARD_URL) {
    const server = operatorOf(process.env.SWITCHBOARD_URL, process.env.SWITCHBOARD_OPERATOR_TOKEN);
    const { Mode } = await server.operator("clock/get");
    if (Mode !== "Manual") throw new Error("start that switchboard with --clock manual");
    return { ...server, stop: async () => {} };
  }
  const folder = mkdtempSync(join(tmpdir(), "switchboard-"));
  const token = randomBytes(16).toString("hex");
  const child = spawn(
    process.env.SWITCHBOARD_BIN ?? "switchboard",
    [
      "serve",
      "--listen", "127.0.0.1:0",
      "--database", `sqlite://${folder}/switchboard.db`,
      "--no-demo",
      "--clock", "manual", "--clock-start", START,
      "--allow-private-webhooks",
    ],
    // The token from the environment: a command line shows in `ps`.
    { env: { ...process.env, SWITCHBOARD_OPERATOR_TOKEN: token }, stdio: ["ignore", "pipe", "ignore"] },
  );
  let base;
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.startsWith("switchboard listening on ")) {
      base = line.split(" ").at(-1);
      break;
    }
  }
  if (!base) throw new Error("switchboard stopped before it listened");
  const stop = async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
    rmSync(folder, { recursive: true, force: true });
  };
  return { ...operatorOf(base, token), stop };
}

function operatorOf(base, token) {
  return {
    base,
    async operator(operation, body = {}) {
      const answer = await fetch(`${base}/api/operator/v1/${operation}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      const json = await answer.json();
      if (answer.status !== 200) throw new Error(`${operation}: ${answer.status} ${json.Message}`);
      return json;
    },
  };
}

/** A hotel, an integration whose webhooks go to `webhookUrl`, a token. */
export async function makeTenant(switchboard, webhookUrl) {
  const { Enterprise } = await switchboard.operator("enterprises/add", { Name: "Test Hotel" });
  const { Integration, ClientToken } = await switchboard.operator("integrations/add", {
    Name: "Guest app under test",
    WebhookUrl: webhookUrl,
  });
  const { AccessToken } = await switchboard.operator("accessTokens/add", {
    IntegrationId: Integration.Id,
    EnterpriseIds: [Enterprise.Id],
  });
  const connector = async (operation, body) => {
    const answer = await fetch(`${switchboard.base}/api/connector/v1/${operation}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ClientToken, AccessToken, Client: "Guest app tests", ...body }),
    });
    return { status: answer.status, headers: answer.headers, json: await answer.json() };
  };
  return { enterpriseId: Enterprise.Id, connector };
}

/** Every test: no threads, faults or logged requests; the clock at START. */
export async function cleanStart(switchboard) {
  await switchboard.operator("reset", { Faults: true, RequestLog: true });
  await switchboard.operator("clock/set", { NowUtc: START });
}

/** Collects the webhook requests that arrive; `waitFor(id)` awaits one. */
export async function startReceiver() {
  const received = [];
  const waiting = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body: JSON.parse(body) });
      response.writeHead(204).end();
      waiting.splice(0).forEach((wake) => wake());
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const carrying = (id) => received.find((r) => r.body.Events.some((e) => e.Value.Id === id));
  return {
    url: `http://127.0.0.1:${server.address().port}/webhooks?secret=s3cret`,
    received,
    async waitFor(id, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!carrying(id)) {
        if (Date.now() > deadline) throw new Error(`no webhook for message ${id}`);
        await new Promise((wake) => {
          waiting.push(wake);
          setTimeout(wake, 100);
        });
      }
      return carrying(id);
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

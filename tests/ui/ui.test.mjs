// The admin web UI in a real browser: Debian's chromium, headless, driven by
// puppeteer-core, against a real stratad (its own data directory, an admin
// access token, demo traffic from `strata demo`). Every page is loaded and
// clicked through, asserted on its DOM against what the server's JSON API
// answers, and saved as a screenshot in $SCREENSHOTS:
//   - the token dialog (the server asks for one) and the session-only token;
//   - dashboard: head, rates and latencies with live charts, projections;
//   - streams: list by prefix, open a stream, an event's JSON pretty printed,
//     a binary event as hex;
//   - live tail: an event appended while watching shows up; a type filter;
//   - projections: a rebuild, confirmed, followed to its cut-over;
//   - time travel: the position slider moves the analytics and the chart.
// No console errors after the token is given.
//   STRATAD=... STRATA=... CHROMIUM=/usr/bin/chromium SCREENSHOTS=dir node --test ui.test.mjs
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import puppeteer from "puppeteer-core";

const { STRATAD, STRATA, CHROMIUM, SCREENSHOTS } = process.env;
for (const [k, v] of Object.entries({ STRATAD, STRATA, CHROMIUM, SCREENSHOTS })) {
  if (!v) throw new Error(`set ${k}`);
}

let dir, server, browser, page, token, base;
const consoleErrors = [];

// stratad with gRPC and HTTP on free ports and a tokens file; resolves when
// both are listening.
function startServer(tokensFile) {
  const child = spawn(STRATAD, ["--data_dir", join(dir, "data"), "--listen", "127.0.0.1:0",
                                "--http_listen", "127.0.0.1:0", "--kurrent_listen=",
                                "--tokens_file", tokensFile]);
  let log = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stratad did not start:\n${log}`)), 30000);
    const onData = (d) => {
      log += d;
      const grpc = /stratad listening on \S+ \(port (\d+)\)/.exec(log);
      const http = /HTTP \(web UI at \/, \/metrics\) listening on \S+ \(port (\d+)\)/.exec(log);
      if (grpc && http) {
        clearTimeout(timer);
        resolve({ child, grpc: Number(grpc[1]), http: Number(http[1]), log: () => log });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`stratad exited ${code}:\n${log}`)));
  });
}

// The JSON API, as the page calls it.
async function api(method, body) {
  const r = await fetch(`${base}/api/strata.v1.${method}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const json = await r.json();
  if (!r.ok) throw new Error(`${method}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}
const eventsOf = (reply) => reply.messages.flatMap((m) => m.events || []);
const head = async () =>
  Number(eventsOf(await api("Streams/ReadAll", { backwards: true, max_count: 1 }))[0].position);

const text = (sel) => page.$eval(sel, (e) => e.textContent);
const texts = (sel) => page.$$eval(sel, (es) => es.map((e) => e.textContent));
async function shot(name) {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
async function go(hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "strata-ui-"));
  const made = JSON.parse(execFileSync(STRATA, ["tokens", "new", "ui-admin", "admin", "--file",
                                                join(dir, "tokens"), "--json"]).toString());
  token = made.token;
  server = await startServer(join(dir, "tokens"));
  base = `http://127.0.0.1:${server.http}`;
  execFileSync(STRATA, ["demo", "--server", `127.0.0.1:${server.grpc}`, "--token", token,
                        "--links", "4", "--clicks", "3000", "--seed", "7"]);
  // A JSON event and a binary one, to look at.
  await api("Streams/Append", { stream: "orders-1", expected_version: { kind: "NO_STREAM" },
    events: [{ type: "OrderPlaced", content_type: "application/json",
               data: Buffer.from('{"sku":"A-1","qty":2,"lines":[1,2]}').toString("base64") }] });
  await api("Streams/Append", { stream: "sensor-1", expected_version: { kind: "ANY" },
    events: [{ type: "Reading", content_type: "application/octet-stream",
               data: Buffer.from([0, 1, 2, 255, 65]).toString("base64") }] });
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true,
                                     args: ["--no-sandbox", "--disable-gpu"] });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 860 });
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  page.on("dialog", (d) => d.accept());  // the rebuild's confirmation
});

after(async () => {
  if (browser) await browser.close();
  if (server && server.child.exitCode === null) {
    const exited = new Promise((resolve) => server.child.once("exit", resolve));
    server.child.kill("SIGTERM");
    await exited;  // its files are closed before the folder goes
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("asks for a token, keeps it in the session only", async () => {
  // Without a token, the API refuses and names the fix.
  const refused = await fetch(`${base}/api/strata.v1.Projections/ListProjections`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  assert.equal(refused.status, 401);
  assert.equal((await refused.json()).code, "UNAUTHENTICATED");
  // Only JSON is taken (a form of another site cannot send it), token or not.
  const form = await fetch(`${base}/api/strata.v1.Projections/RebuildProjection`, {
    method: "POST", headers: { "Content-Type": "text/plain", Authorization: `Bearer ${token}` },
    body: '{"name":"link_clicks"}' });
  assert.equal(form.status, 415);

  await page.goto(`${base}/`, { waitUntil: "load" });
  await page.waitForSelector("#token-dialog[open]", { timeout: 10000 });
  await shot("token");
  await page.type("#token-input", token);
  await page.click("#token-save");
  await page.waitForFunction(() => !document.querySelector("#token-dialog").open);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("strata.token")), token);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  // The refused calls before the token were the only console errors (the
  // browser logs a 401 answer); none may follow.
  assert.ok(consoleErrors.every((e) => /401/.test(e)), consoleErrors.join("\n"));
  consoleErrors.length = 0;
});

test("dashboard: head, rates, latencies and projections, live", async () => {
  await go("#/");
  const h = await head();
  await page.waitForFunction((want) =>
    document.querySelector("#card-head .value").textContent.replaceAll(",", "") === String(want),
    { timeout: 10000 }, h);
  // Append while watching: the rate chart gets points and the head moves.
  for (let i = 0; i < 5; i++) {
    await api("Streams/Append", { stream: "dash-1", expected_version: { kind: "ANY" },
      events: [{ type: "Tick", content_type: "application/json",
                 data: Buffer.from(`{"i":${i}}`).toString("base64") }] });
  }
  await page.waitForFunction((want) =>
    document.querySelector("#card-head .value").textContent.replaceAll(",", "") === String(want),
    { timeout: 10000 }, h + 5);
  await page.waitForSelector("#card-appends polyline", { timeout: 10000 });
  await page.waitForSelector("#card-fsync-latency polyline", { timeout: 10000 });
  const fsyncMs = parseFloat(await text("#card-fsync-latency .value"));
  assert.ok(fsyncMs >= 0, `fsync latency ${fsyncMs}`);
  const rows = await page.$$eval("#dash-projections tbody tr", (trs) => trs.map((tr) => ({
    name: tr.dataset.projection, state: tr.children[2].textContent, lag: tr.querySelector(".lag").textContent })));
  const names = rows.map((r) => r.name).sort();
  assert.deepEqual(names, ["link_clicks", "link_details"]);
  await page.waitForFunction(() => [...document.querySelectorAll("#dash-projections .lag")]
    .every((td) => td.textContent === "0"), { timeout: 10000 });
  for (const r of rows) assert.equal(r.state, "live");
  await shot("dashboard");
});

test("streams: list by prefix, a stream's events, JSON pretty printed, binary as hex", async () => {
  await go("#/streams");
  await page.waitForSelector("#stream-list tbody tr");
  const listed = await page.$$eval("#stream-list tbody tr", (trs) => trs.map((t) => t.dataset.stream));
  const expected = [];
  let after = "";
  do {
    const reply = await api("Streams/ListStreams", { after, limit: 50 });
    expected.push(...reply.streams.map((s) => s.stream));
    after = reply.next_after;
  } while (after && expected.length < 50);
  assert.deepEqual(listed, expected.slice(0, 50));
  assert.ok(listed.includes("orders-1") && listed.includes("sensor-1"), listed.join(","));

  await page.$eval("#stream-prefix", (e) => { e.value = ""; });
  await page.type("#stream-prefix", "orders");
  await page.click("#stream-search");
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll("#stream-list tbody tr")];
    return rows.length === 1 && rows[0].dataset.stream === "orders-1";
  });
  await page.click('#stream-list tbody tr[data-stream="orders-1"]');
  await page.waitForFunction(() => document.querySelector("#stream-name")?.textContent === "orders-1");
  await page.waitForSelector("#stream-events tbody tr");
  await page.click("#stream-events tbody tr");
  await page.waitForSelector("#event-json");
  assert.equal(await text("#event-json"),
               JSON.stringify({ sku: "A-1", qty: 2, lines: [1, 2] }, null, 2));
  await shot("stream-json");

  // A link's click stream read newest first, a page at a time.
  const clicks = (await api("Streams/ListStreams", { prefix: "clicks-", limit: 1 })).streams[0];
  await go(`#/streams/${encodeURIComponent(clicks.stream)}`);
  await page.waitForFunction((s) => document.querySelector("#stream-name")?.textContent === s, {}, clicks.stream);
  await page.select("#stream-direction", "backwards");
  await page.waitForFunction((v) =>
    document.querySelector("#stream-events tbody tr")?.dataset.version === v, {}, clicks.last_version);
  const firstPage = await page.$$eval("#stream-events tbody tr", (trs) => trs.map((t) => Number(t.dataset.version)));
  const last = Number(clicks.last_version);
  assert.deepEqual(firstPage, Array.from({ length: 20 }, (_, i) => last - i));
  await page.click("#stream-next");
  await page.waitForFunction((v) =>
    document.querySelector("#stream-events tbody tr")?.dataset.version === String(v), {}, last - 20);

  await go("#/streams/sensor-1");
  await page.waitForFunction(() => document.querySelector("#stream-name")?.textContent === "sensor-1");
  await page.waitForSelector("#stream-events tbody tr");
  await page.click("#stream-events tbody tr");
  await page.waitForSelector("#event-hex");
  assert.equal(await text("#event-hex"), "00000000  00 01 02 ff 41" + " ".repeat(34) + " ....A");
  await shot("stream-hex");
});

test("live tail: a new event shows up on top; a type filter", async () => {
  await go("#/tail");
  await page.waitForSelector("#tail-events tbody tr");
  const h = await head();
  await page.waitForFunction((want) =>
    document.querySelector("#tail-events tbody tr").dataset.position === String(want), {}, h);
  assert.equal(await page.$$eval("#tail-events tbody tr", (t) => t.length), 50);
  const appended = await api("Streams/Append", { stream: "tail-1", expected_version: { kind: "ANY" },
    events: [{ type: "Pinged", content_type: "application/json",
               data: Buffer.from('{"hello":"tail"}').toString("base64") }] });
  const position = appended.last_position;
  await page.waitForFunction((p) =>
    document.querySelector("#tail-events tbody tr").dataset.position === p, { timeout: 10000 }, position);
  const top = await page.$$eval("#tail-events tbody tr:first-child td", (tds) => tds.map((t) => t.textContent));
  assert.deepEqual([top[0], top[1], top[2], top[3], top[5]], [position, "tail-1", "0", "Pinged", '{ "hello": "tail" }']);
  assert.match(top[4], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  await shot("tail");

  await page.type("#tail-types", "Pinged");
  await page.$eval("#tail-types", (e) => e.dispatchEvent(new Event("change")));
  await page.waitForFunction((p) => {
    const rows = [...document.querySelectorAll("#tail-events tbody tr")];
    return rows.length === 1 && rows[0].dataset.position === p;
  }, { timeout: 10000 }, position);
});

test("projections: a confirmed rebuild is followed to its cut-over", async () => {
  await go("#/projections");
  await page.waitForSelector('#projection-list tr[data-name="link_clicks"]');
  const before = (await api("Projections/ListProjections", {})).projections
    .filter((p) => p.name === "link_clicks").map((p) => Number(p.generation));
  const generation = Math.max(...before);
  const states = new Set();
  await page.click('#projection-list button.rebuild[data-name="link_clicks"]');
  // Watch: the new generation appears (building, unless it caught up at
  // once) and ends live with everything applied.
  await page.waitForFunction((g) => {
    const rows = [...document.querySelectorAll('#projection-list tr[data-name="link_clicks"]')];
    return rows.some((r) => Number(r.dataset.generation) > g);
  }, { timeout: 20000 }, generation);
  for (const s of await page.$$eval('#projection-list tr[data-name="link_clicks"]', (rs) => rs.map((r) => r.dataset.state))) {
    states.add(s);
  }
  if (states.has("building")) await shot("projections-building");
  await page.waitForFunction((g) => {
    const rows = [...document.querySelectorAll('#projection-list tr[data-name="link_clicks"]')];
    return rows.length === 1 && Number(rows[0].dataset.generation) === g + 1 &&
      rows[0].dataset.state === "live" && rows[0].querySelector(".bar span").style.width === "100%";
  }, { timeout: 60000 }, generation);
  assert.match(await text("#projection-notice"), /^Rebuild of link_clicks started/);
  const after = (await api("Projections/ListProjections", {})).projections.filter((p) => p.name === "link_clicks");
  assert.equal(after.length, 1);
  assert.equal(Number(after[0].generation), generation + 1);
  assert.equal(after[0].lag, "0");
  await shot("projections");
});

test("time travel: the slider moves the analytics and the chart", async () => {
  await go("#/time");
  await page.waitForSelector("#time-link option");
  const link = await page.$eval("#time-link", (s) => s.value);
  const h = await head();
  await page.waitForFunction((want) => document.querySelector("#time-slider").max === String(want), {}, h);
  const at = async (position) => {
    const reply = await api("LinkQueries/GetLinkAnalytics", { link_id: link,
      from_date: new Date(Date.now() - 89 * 86400000).toISOString().slice(0, 10),
      to_date: new Date().toISOString().slice(0, 10), as_of_position: position });
    return Number(reply.total_clicks);
  };
  const now = await at(h);
  await page.waitForFunction((n, p) => document.querySelector("#time-total").textContent ===
    `${n.toLocaleString("en-US")} clicks as of position ${p}`, {}, now, h);
  assert.equal(await page.$$eval("#time-chart rect.day", (r) => r.length), 90);
  const barsNow = await page.$$eval("#time-chart rect.day", (r) => r.reduce((a, x) => a + Number(x.dataset.clicks), 0));
  assert.equal(barsNow, now);
  await shot("time-now");

  const middle = Math.floor(h / 2);
  await page.$eval("#time-slider", (s, v) => {
    s.value = String(v);
    s.dispatchEvent(new Event("input"));
  }, middle);
  const then = await at(middle);
  assert.ok(then < now, `${then} clicks at ${middle} should be fewer than ${now} at ${h}`);
  await page.waitForFunction((n, p) => document.querySelector("#time-total").textContent ===
    `${n.toLocaleString("en-US")} clicks as of position ${p}`, {}, then, middle);
  const barsThen = await page.$$eval("#time-chart rect.day", (r) => r.reduce((a, x) => a + Number(x.dataset.clicks), 0));
  assert.equal(barsThen, then);
  assert.equal(await text("#time-position"), String(middle));
  await shot("time-then");

  // A defined projection's rows move with the same slider.
  await api("Projections/DefineProjection", { definition: {
    name: "order_status", source: { stream_prefixes: ["order-"] },
    rules: [{ event_types: ["Placed", "Shipped"],
              keys: [{ parts: [{ literal: "order" }, { event: "stream_id" }] }],
              operations: [{ field: "status", last: { event: "event_type" } }] }] } });
  const put = async (stream, type) => (await api("Streams/Append", { stream,
    expected_version: { kind: "ANY" },
    events: [{ type, content_type: "application/json", data: Buffer.from("{}").toString("base64") }] })).last_position;
  const placed1 = Number(await put("order-1", "Placed"));
  await put("order-2", "Placed");
  const shipped1 = Number(await put("order-1", "Shipped"));
  for (let i = 0; ; i++) {  // applied up to the last event
    const p = (await api("Projections/ListProjections", {})).projections.find((x) => x.name === "order_status");
    if (p && p.state === "live" && Number(p.checkpoint) >= shipped1) break;
    assert.ok(i < 100, `order_status did not catch up: ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.reload({ waitUntil: "load" });
  await page.waitForFunction((want) => document.querySelector("#time-slider").max === String(want),
                             {}, shipped1);
  const rowsText = () => page.$$eval("#time-rows tbody tr",
                                     (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  await page.waitForFunction(() => document.querySelector("#time-rows-info").textContent === "2 rows as of position " +
                             document.querySelector("#time-slider").value);
  assert.deepEqual(await rowsText(), [["order / 1", "status=Shipped"], ["order / 2", "status=Placed"]]);
  await shot("time-rows");
  await page.$eval("#time-slider", (s, v) => {
    s.value = String(v);
    s.dispatchEvent(new Event("input"));
  }, placed1);
  await page.waitForFunction((p) => document.querySelector("#time-rows-info").textContent ===
                             `1 row as of position ${p}`, { timeout: 10000 }, placed1);
  assert.deepEqual(await rowsText(), [["order / 1", "status=Placed"]]);
});

test("no console errors after the token was given", () => {
  assert.deepEqual(consoleErrors, []);
});

// The official KurrentDB Node clients against a real stratad: the same suite
// runs through @kurrent/kurrentdb-client (reads over its Rust bridge, writes
// over grpc-js) and @eventstore/db-client (grpc-js only), one per process
// (COMPAT_CLIENT=kurrentdb or eventstore): both register their generated
// protobuf classes in google-protobuf's one global namespace, and loaded
// together the newer client's subscriptions stop delivering. Run by run.sh:
//   STRATAD=build/server/stratad COMPAT_CLIENT=kurrentdb node --test kurrent_compat.test.mjs
// The client gets its own stratad on a fresh data directory, so positions
// are exact. Deletion and metadata come last: they add events to $all.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

const STRATAD = process.env.STRATAD;
if (!STRATAD) throw new Error("set STRATAD to the stratad binary");
const CLIENT = process.env.COMPAT_CLIENT;
if (CLIENT !== "kurrentdb" && CLIENT !== "eventstore") {
  throw new Error("set COMPAT_CLIENT to kurrentdb or eventstore");
}

// Starts stratad with both listeners on free ports; resolves to the ports
// read from its start lines.
function startStratad() {
  const dir = mkdtempSync(join(tmpdir(), "strata-compat-"));
  const child = spawn(STRATAD, ["--data_dir", dir, "--listen", "127.0.0.1:0",
                                "--kurrent_listen", "127.0.0.1:0", "--http_listen", "127.0.0.1:0"],
                      { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stratad did not start:\n${log}`)), 20000);
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const m = /KurrentDB protocol listening on \S+ \(port (\d+)\)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ child, dir, port: Number(m[1]) });
      }
    });
    child.on("exit", (code) => reject(new Error(`stratad exited ${code}:\n${log}`)));
  });
}

// The versions a WrongExpectedVersionError carries (named *State in the
// newer client, *Version in the older).
const actualOf = (e) => e.actualState ?? e.actualVersion;
const expectedOf = (e) => e.expectedState ?? e.expectedVersion;

// @kurrent/kurrentdb-client's Rust bridge now and then (1 run in 10-20) reports
// UnavailableError for a read that stratad answered in full, with OK (its log showed the call
// finish OK; seen on the quickest answers, a metastream's one event, so likely a transport race
// in the bridge). Such a read is retried once, and only for that error (readOf).
async function retriedIfUnavailable(read) {
  try {
    return await read();
  } catch (e) {
    if (e?.type !== "unavailable") throw e;
    return await read();
  }
}

async function collect(iterable) {
  const out = [];
  for await (const e of iterable) out.push(e);
  return out;
}

// The suite, for one client library. `lib` is the module, `Client` its client
// class.
function suite(name, lib, Client, scheme) {
  const { jsonEvent, binaryEvent, NO_STREAM, ANY, STREAM_EXISTS, START, END, BACKWARDS,
          FORWARDS, streamNameFilter, eventTypeFilter, excludeSystemEvents } = lib;

  // The expected revision of an append (named expectedRevision in the older
  // client).
  const expecting = (revision) =>
    name === "@kurrent/kurrentdb-client" ? { streamState: revision }
                                         : { expectedRevision: revision };

  describe(name, () => {
    let server;
    let client;
    before(async () => {
      server = await startStratad();
      client = Client.connectionString(`${scheme}://127.0.0.1:${server.port}?tls=false`);
    });
    after(async () => {
      await client?.dispose();
      server?.child.kill("SIGTERM");
      if (server) rmSync(server.dir, { recursive: true, force: true });
    });

    // A stream read, retried once if the Rust bridge reports UnavailableError.
    const readOf = (...args) => retriedIfUnavailable(() => collect(client.readStream(...args)));

    test("append with every expected-revision form", async () => {
      let r = await client.appendToStream("order-1",
                                          jsonEvent({ type: "OrderPlaced", data: { total: 5 } }),
                                          expecting(NO_STREAM));
      assert.equal(r.success, true);
      assert.equal(r.nextExpectedRevision, 0n);
      assert.deepEqual(r.position, { commit: 1n, prepare: 1n });

      await assert.rejects(
          client.appendToStream("order-1", jsonEvent({ type: "X", data: {} }),
                                expecting(NO_STREAM)),
          (e) => e instanceof lib.WrongExpectedVersionError && e.streamName === "order-1" &&
                 actualOf(e) === 0n && expectedOf(e) === "no_stream");
      r = await client.appendToStream("order-1", jsonEvent({ type: "OrderPaid", data: {} }),
                                      expecting(0n));
      assert.equal(r.nextExpectedRevision, 1n);
      assert.deepEqual(r.position, { commit: 2n, prepare: 2n });
      await assert.rejects(
          client.appendToStream("order-1", jsonEvent({ type: "X", data: {} }),
                                expecting(5n)),
          (e) => e instanceof lib.WrongExpectedVersionError && expectedOf(e) === 5n &&
                 actualOf(e) === 1n);
      await assert.rejects(
          client.appendToStream("order-2", jsonEvent({ type: "X", data: {} }),
                                expecting(STREAM_EXISTS)),
          (e) => e instanceof lib.WrongExpectedVersionError && actualOf(e) === "no_stream" &&
                 expectedOf(e) === "stream_exists");
      r = await client.appendToStream("order-1", jsonEvent({ type: "OrderShipped", data: {} }),
                                      expecting(STREAM_EXISTS));
      assert.equal(r.nextExpectedRevision, 2n);
      r = await client.appendToStream("order-2", [
        jsonEvent({ type: "OrderPlaced", data: { total: 7 } }),
        jsonEvent({ type: "OrderPaid", data: {} }),
      ], expecting(ANY));
      assert.equal(r.nextExpectedRevision, 1n);
      assert.deepEqual(r.position, { commit: 5n, prepare: 5n });
    });

    test("JSON and binary events keep id, type, data and custom metadata", async () => {
      const jsonId = randomUUID();
      const binId = randomUUID();
      await client.appendToStream("payload-1", [
        jsonEvent({ id: jsonId, type: "Json", data: { a: [1, 2], b: "é" },
                    metadata: { by: "test" } }),
        binaryEvent({ id: binId, type: "Bin", data: new Uint8Array([0, 1, 254, 255]),
                      metadata: new Uint8Array([9, 8]) }),
      ]);
      const events = (await collect(client.readStream("payload-1"))).map((e) => e.event);
      assert.equal(events.length, 2);
      assert.equal(events[0].id, jsonId);
      assert.equal(events[0].type, "Json");
      assert.equal(events[0].isJson, true);
      assert.deepEqual(events[0].data, { a: [1, 2], b: "é" });
      assert.deepEqual(events[0].metadata, { by: "test" });
      assert.equal(events[0].streamId, "payload-1");
      assert.equal(events[0].revision, 0n);
      assert.equal(events[1].id, binId);
      assert.equal(events[1].isJson, false);
      assert.deepEqual([...events[1].data], [0, 1, 254, 255]);
      assert.deepEqual([...events[1].metadata], [9, 8]);
      assert.deepEqual(events[1].position, { commit: 7n, prepare: 7n });
      const age = Date.now() - events[1].created.getTime();
      assert.ok(age >= 0 && age < 60000, `created ${events[1].created.toISOString()}`);
    });

    test("read a stream forwards and backwards, from revisions, with counts", async () => {
      const revisions = async (options) =>
        (await collect(client.readStream("order-1", options))).map((e) => e.event.revision);
      assert.deepEqual(await revisions({}), [0n, 1n, 2n]);
      assert.deepEqual(await revisions({ fromRevision: 1n }), [1n, 2n]);
      assert.deepEqual(await revisions({ fromRevision: 0n, maxCount: 2 }), [0n, 1n]);
      assert.deepEqual(await revisions({ direction: BACKWARDS, fromRevision: END }),
                       [2n, 1n, 0n]);
      assert.deepEqual(await revisions({ direction: BACKWARDS, fromRevision: 1n }), [1n, 0n]);
      assert.deepEqual(await revisions({ direction: BACKWARDS, fromRevision: END, maxCount: 1 }),
                       [2n]);
      // Forwards from the end reads nothing. (@kurrent/kurrentdb-client's Rust
      // bridge sends this read backwards, so only the older client asks it.)
      if (name !== "@kurrent/kurrentdb-client") {
        assert.deepEqual(await revisions({ direction: FORWARDS, fromRevision: END }), []);
      }
      assert.deepEqual(await revisions({ fromRevision: 9n }), []);
    });

    test("a missing stream is StreamNotFoundError", async () => {
      await assert.rejects(collect(client.readStream("never-written")),
                           (e) => e instanceof lib.StreamNotFoundError);
    });

    test("read $all forwards and backwards, from positions, with counts and filters",
         async () => {
      const positions = async (options) =>
        (await collect(client.readAll(options))).map((e) => e.event.position.commit);
      assert.deepEqual(await positions({}), [1n, 2n, 3n, 4n, 5n, 6n, 7n]);
      assert.deepEqual(await positions({ fromPosition: { commit: 3n, prepare: 3n },
                                         maxCount: 2 }), [3n, 4n]);
      assert.deepEqual(await positions({ direction: BACKWARDS, fromPosition: END, maxCount: 3 }),
                       [7n, 6n, 5n]);
      assert.deepEqual(await positions({ direction: BACKWARDS,
                                         fromPosition: { commit: 3n, prepare: 3n } }),
                       [2n, 1n]);
      if (name !== "@kurrent/kurrentdb-client") {  // as for a stream, above
        assert.deepEqual(await positions({ fromPosition: END }), []);
      }
      // Filters (readAll takes them in the newer client only).
      if (name === "@kurrent/kurrentdb-client") {
        assert.deepEqual(await positions({ filter: streamNameFilter({ prefixes: ["order-2"] }) }),
                         [4n, 5n]);
        assert.deepEqual(await positions({ filter: eventTypeFilter({ regex: "^Order(Paid|Shipped)$" }),
                                           maxCount: 2 }), [2n, 3n]);
        assert.deepEqual(await positions({ filter: excludeSystemEvents() }),
                         [1n, 2n, 3n, 4n, 5n, 6n, 7n]);
      }
    });

    test("subscribe to a stream: confirmation, catch-up, one caught-up, live", async () => {
      const sub = client.subscribeToStream("order-1", { fromRevision: 0n });
      let confirmed = 0;
      let caughtUp = 0;
      sub.on("confirmation", () => confirmed++);
      sub.on("caughtUp", () => caughtUp++);
      const seen = [];
      for await (const e of sub) {
        seen.push([e.event.revision, e.event.type, caughtUp]);
        if (seen.length === 2) {
          await client.appendToStream("order-1", jsonEvent({ type: "OrderDelivered", data: {} }));
          await client.appendToStream("other-1", jsonEvent({ type: "Noise", data: {} }));
        }
        if (seen.length === 3) break;
      }
      assert.equal(confirmed, 1);
      assert.equal(caughtUp, 1);
      // From revision 0 exclusive: 1 and 2 in catch-up, 3 live after caught-up.
      assert.deepEqual(seen, [[1n, "OrderPaid", 0], [2n, "OrderShipped", 0],
                              [3n, "OrderDelivered", 1]]);
    });

    test("subscribing to a stream that does not exist waits for it", async () => {
      const sub = client.subscribeToStream("later-1", { fromRevision: START });
      const first = (async () => {
        for await (const e of sub) return e.event;
      })();
      await new Promise((r) => setTimeout(r, 200));
      await client.appendToStream("later-1", jsonEvent({ type: "Arrived", data: { n: 1 } }));
      const e = await first;
      assert.equal(e.type, "Arrived");
      assert.equal(e.revision, 0n);
      await sub.unsubscribe();
    });

    test("subscribe to $all with a filter: only matches, and checkpoints", async () => {
      const checkpoints = [];
      const sub = client.subscribeToAll({
        fromPosition: START,
        filter: eventTypeFilter({
          prefixes: ["OrderP"], maxSearchWindow: 2, checkpointInterval: 1,
          checkpointReached: (_s, position) => { checkpoints.push(position.commit); },
        }),
      });
      const seen = [];
      for await (const e of sub) {
        seen.push(e.event.position.commit);
        if (seen.length === 4) break;
      }
      // OrderPlaced / OrderPaid at 1, 2, 4, 5.
      assert.deepEqual(seen, [1n, 2n, 4n, 5n]);
      assert.ok(checkpoints.length >= 2, `checkpoints ${checkpoints}`);
      assert.deepEqual(checkpoints.slice(0, 2), [2n, 4n]);
    });

    test("$ce- and $et- streams: links to a category's and a type's events", async () => {
      // order-1 at positions 1, 2, 3 and 8, order-2 at 4 and 5 (the tests above).
      const pairs = (events) => events.map((e) => [e.event.streamId, e.event.revision,
                                                   e.link?.streamId, e.link?.revision]);
      const resolved = await readOf("$ce-order", { resolveLinkTos: true });
      assert.deepEqual(pairs(resolved), [
        ["order-1", 0n, "$ce-order", 0n], ["order-1", 1n, "$ce-order", 1n],
        ["order-1", 2n, "$ce-order", 2n], ["order-2", 0n, "$ce-order", 3n],
        ["order-2", 1n, "$ce-order", 4n], ["order-1", 3n, "$ce-order", 5n]]);
      assert.equal(resolved[0].event.type, "OrderPlaced");
      assert.deepEqual(resolved[0].event.data, { total: 5 });
      assert.equal(resolved[0].link.type, "$>");
      assert.deepEqual(resolved[5].event.position, { commit: 8n, prepare: 8n });
      // Not resolved: the links alone ("<revision>@<stream>").
      const links = await readOf("$ce-order", { fromRevision: 3n, maxCount: 2 });
      assert.deepEqual(links.map((e) => [e.event.streamId, e.event.revision, e.event.type,
                                         Buffer.from(e.event.data).toString()]),
                       [["$ce-order", 3n, "$>", "0@order-2"], ["$ce-order", 4n, "$>", "1@order-2"]]);
      const placed = await readOf("$et-OrderPlaced", { direction: BACKWARDS, fromRevision: END,
                                                       resolveLinkTos: true });
      assert.deepEqual(pairs(placed), [["order-2", 0n, "$et-OrderPlaced", 1n],
                                       ["order-1", 0n, "$et-OrderPlaced", 0n]]);
      // A subscription from revision 4 (exclusive): 5 in catch-up, then live.
      const sub = client.subscribeToStream("$ce-order", { fromRevision: 4n, resolveLinkTos: true });
      const seen = [];
      for await (const e of sub) {
        seen.push([e.event.streamId, e.event.revision, e.link?.revision]);
        if (seen.length === 1) {
          await client.appendToStream("orders-9", jsonEvent({ type: "Noise", data: {} }));
          await client.appendToStream("order-3", jsonEvent({ type: "OrderPlaced", data: {} }));
        }
        if (seen.length === 2) break;
      }
      assert.deepEqual(seen, [["order-1", 3n, 5n], ["order-3", 0n, 6n]]);
    });

    test("soft delete: StreamNotFoundError, then appends continue the revisions", async () => {
      await client.appendToStream("cart-1", [1, 2, 3].map(
          (n) => jsonEvent({ type: "ItemAdded", data: { n } })));
      await assert.rejects(
          client.deleteStream("cart-1", { expectedRevision: 1n }),
          (e) => e instanceof lib.WrongExpectedVersionError && e.streamName === "cart-1" &&
                 expectedOf(e) === 1n && actualOf(e) === 2n);
      const deleted = await client.deleteStream("cart-1", { expectedRevision: 2n });
      const meta = await retriedIfUnavailable(() => client.getStreamMetadata("cart-1"));
      assert.deepEqual(meta.metadata, { truncateBefore: 3 });
      const marker = (await readOf("$$cart-1"))[0].event;
      assert.equal(marker.type, "$metadata");
      assert.deepEqual(deleted.position, marker.position);
      await assert.rejects(readOf("cart-1"),
                           (e) => e instanceof lib.StreamNotFoundError);
      const r = await client.appendToStream("cart-1", jsonEvent({ type: "ItemAdded", data: {} }),
                                            expecting(2n));
      assert.equal(r.nextExpectedRevision, 3n);
      const revisions = (await readOf("cart-1")).map((e) => e.event.revision);
      assert.deepEqual(revisions, [3n]);
    });

    test("tombstone: StreamDeletedError for reads, appends and deletes, for good", async () => {
      await client.appendToStream("cart-2", jsonEvent({ type: "ItemAdded", data: {} }));
      await assert.rejects(
          client.tombstoneStream("cart-2", { expectedRevision: NO_STREAM }),
          (e) => e instanceof lib.WrongExpectedVersionError && e.streamName === "cart-2");
      await client.tombstoneStream("cart-2", { expectedRevision: 0n });
      const isDeleted = (e) => e instanceof lib.StreamDeletedError && e.streamName === "cart-2";
      await assert.rejects(readOf("cart-2"), isDeleted);
      await assert.rejects(
          client.appendToStream("cart-2", jsonEvent({ type: "ItemAdded", data: {} })), isDeleted);
      await assert.rejects(client.deleteStream("cart-2"), isDeleted);
      await assert.rejects(client.tombstoneStream("cart-2"), isDeleted);
    });

    test("stream metadata: set and get; max count and truncate-before limit reads",
         async () => {
      const metadataOf = async (stream) =>
        (await retriedIfUnavailable(() => client.getStreamMetadata(stream))).metadata;
      assert.equal(await metadataOf("cart-3"), undefined);
      await client.setStreamMetadata("cart-3", { maxCount: 2, owner: "ops" });
      assert.deepEqual(await metadataOf("cart-3"), { maxCount: 2, owner: "ops" });
      await client.appendToStream("cart-3", [1, 2, 3, 4, 5].map(
          (n) => jsonEvent({ type: "ItemAdded", data: { n } })));
      const revisions = async (options) =>
        (await readOf("cart-3", options)).map((e) => e.event.revision);
      assert.deepEqual(await revisions({}), [3n, 4n]);
      assert.deepEqual(await revisions({ direction: BACKWARDS, fromRevision: END }), [4n, 3n]);
      await client.setStreamMetadata("cart-3", { truncateBefore: 1 });
      assert.deepEqual(await revisions({}), [1n, 2n, 3n, 4n]);
      assert.deepEqual(await revisions({ fromRevision: 0n, maxCount: 1 }), [1n]);
      await assert.rejects(client.setStreamMetadata("$all", { maxCount: 1 }),
                           (e) => /reserved for the system/.test(e.message));
    });
  });
}

if (CLIENT === "kurrentdb") {
  const kurrent = await import("@kurrent/kurrentdb-client");
  suite("@kurrent/kurrentdb-client", kurrent, kurrent.KurrentDBClient, "kurrentdb");
} else {
  const eventstore = await import("@eventstore/db-client");
  suite("@eventstore/db-client", eventstore, eventstore.EventStoreDBClient, "esdb");
}

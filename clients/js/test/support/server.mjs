// What the tests that need a server use: the real standalone server, which tests/PgNotifyHub.BrowserTests
// (JsPackageTests) starts with JWT authentication and describes in environment variables, and a client that records
// what it receives so that tests can wait for it.
import { createHmac, randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import * as signalR from "@microsoft/signalr";
import { WebSocket } from "ws";
import { connect } from "pgnotifyhub";

/** Every wait ends as soon as its signal comes; this only bounds a wait for one that never does. */
export const TIMEOUT_MS = 20_000;

export const TRANSPORTS = ["websocket", "signalr"];

const PATHS = { signalr: "/hub", websocket: "/ws" };

function setting(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set. These tests need the standalone server that the .NET test JsPackageTests starts: `
      + "run them with `dotnet test tests/PgNotifyHub.BrowserTests`.");
  }
  return value;
}

/** The server, or the network relay in front of it, which the test can cut. */
export function endpoint(transport, { via = "server" } = {}) {
  const base = setting(via === "relay" ? "PGNOTIFYHUB_TEST_RELAY_URL" : "PGNOTIFYHUB_TEST_SERVER_URL");
  return new URL(PATHS[transport], base).href;
}

/** The PostgreSQL channel the server listens on. */
export const channel = () => setting("PGNOTIFYHUB_TEST_CHANNEL");

/** A unique audience, so that no other test's messages reach the client. */
export const newAudience = () => `node_${randomUUID().replaceAll("-", "").slice(0, 12)}`;

const base64url = value => Buffer.from(value).toString("base64url");

/**
 * An HS256 JWT signed with the server's key, whose claim `tenant` (the server's Audiences:Claim) puts the connection
 * in `audience`. `exp` is in whole seconds, so the token lives between lifetimeSeconds - 1 and lifetimeSeconds.
 */
export function mintToken(audience, lifetimeSeconds) {
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${base64url(JSON.stringify({ sub: "node-test", tenant: audience, iat: now, exp: now + lifetimeSeconds }))}`;
  const signature = createHmac("sha256", setting("PGNOTIFYHUB_TEST_SIGNING_KEY")).update(unsigned).digest("base64url");
  return `${unsigned}.${signature}`;
}

async function control(path, body) {
  const response = await fetch(new URL(path, setting("PGNOTIFYHUB_TEST_CONTROL_URL")), { method: "POST", body });
  if (!response.ok) throw new Error(`POST ${path} answered ${response.status}: ${await response.text()}`);
}

/** `select pg_notify(<the server's channel>, payload)`, sent by the .NET test like every other test's NOTIFY. */
export const notify = payload => control("/notify", payload);

/** Runs SQL on the server's database, e.g. to create, publish and write a table. */
export const sql = text => control("/sql", text);

/** A unique table name, so that no other test's rows are in it. */
export const newTable = () => `node_rc_${randomUUID().replaceAll("-", "").slice(0, 12)}`;

/** Resets every connection through the relay, and refuses new ones until restoreRelay(), as a network failure would. */
export const cutRelay = () => control("/relay/cut");

export const restoreRelay = () => control("/relay/restore");

/** Resolves with what `poll()` returns once it is truthy, checked on every event of the client; rejects after TIMEOUT_MS. */
function waiter(what, poll) {
  let settle;
  const promise = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Timed out after ${TIMEOUT_MS} ms waiting for ${what}`)), TIMEOUT_MS);
    settle = () => {
      const value = poll();
      if (value) {
        clearTimeout(timer);
        resolve(value);
      }
      return value;
    };
  });
  return { promise, settle };
}

/**
 * connect() to the test server, recording every callback and every call of the token factory. `token(call)` returns
 * the token for the nth call (from 1); by default a token for `audience` that lives `tokenLifetimeSeconds`.
 * `onMessage`, if given, is called with every envelope too, before the client's waits are checked.
 */
export function open({
  transport,
  audience,
  via = "server",
  url = endpoint(transport, { via }),
  tokenLifetimeSeconds = 300,
  token = () => mintToken(audience, tokenLifetimeSeconds),
  minDelayMs = 200,
  maxDelayMs = 2_000,
  WebSocketClass = WebSocket,
  onMessage = () => {},
}) {
  const waiters = new Set();
  const client = {
    transport,
    messages: [],
    resyncs: [],
    /** [topic, reason] of the topics refused when asked for again on a reconnect. */
    topicRefusals: [],
    /** [status, detail, time] */
    statuses: [],
    /** Times of the token factory's calls. */
    tokenCalls: [],
    get connects() {
      return this.statuses.filter(([status]) => status === "connected").length;
    },
    /** Waits until `poll(client)` returns something truthy, and returns it. */
    waitFor(what, poll) {
      const wait = waiter(`${transport}: ${what}`, () => poll(client));
      if (!wait.settle()) waiters.add(wait);
      return wait.promise.finally(() => waiters.delete(wait));
    },
    /** The envelope whose payload has `msg` (or `probe`) equal to id. */
    waitForMessage(id) {
      return this.waitFor(`the message ${id}`, c => c.messages.find(e => e.payload.msg === id || e.payload.probe === id));
    },
    close: () => connection.close(),
    subscribe: (audience, options) => connection.subscribe(audience, options),
    unsubscribe: (audience, options) => connection.unsubscribe(audience, options),
  };
  const changed = () => {
    for (const wait of waiters) wait.settle();
  };
  const connection = connect({
    url,
    transport,
    signalR,
    WebSocket: WebSocketClass,
    minDelayMs,
    maxDelayMs,
    accessToken: async () => {
      client.tokenCalls.push(Date.now());
      return token(client.tokenCalls.length);
    },
    onMessage: envelope => {
      client.messages.push(envelope);
      onMessage(envelope);
      changed();
    },
    onResync: (reason, detail) => {
      client.resyncs.push([reason, detail]);
      changed();
    },
    onTopicRefused: (topic, reason) => {
      client.topicRefusals.push([topic, reason]);
      changed();
    },
    onStatus: (status, detail) => {
      client.statuses.push([status, detail, Date.now()]);
      changed();
    },
  });
  return client;
}

/**
 * A client is "connected" before the server has registered its audience, and a NOTIFY sent before that is not
 * delivered to it; that is not visible from outside the server, so probes are sent until one reaches every client.
 * The wait ends on that signal; the interval only paces the resends.
 */
export async function sendProbesUntilReceived(clients, audience) {
  const id = randomUUID();
  const arrived = Promise.all(clients.map(client => client.waitForMessage(id)));
  let done = false;
  arrived.then(() => (done = true), () => (done = true));
  for (let n = 1; !done; n++) {
    await notify(`${audience},{"probe":"${id}","n":${n}}`);
    await Promise.race([arrived, delay(250)]);
  }
  await arrived;
}

/** Sends `audience,{"msg":"<id>"}` and returns the id. */
export async function notifyMessage(audience) {
  const id = randomUUID();
  await notify(`${audience},{"msg":"${id}"}`);
  return id;
}

/** The ids of the messages (not probes) a client received, in order. */
export const messageIds = client => client.messages.map(e => e.payload.msg).filter(id => id !== undefined);

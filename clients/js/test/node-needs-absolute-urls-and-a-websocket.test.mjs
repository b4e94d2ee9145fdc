// Outside a page there is no location to resolve a relative URL against, and Node before 22 has no global WebSocket:
// connect() says so at once rather than failing later.
import assert from "node:assert/strict";
import { test } from "node:test";
import { WebSocket } from "ws";
import { connect } from "pgnotifyhub";

const onMessage = () => {};

test("a relative url is a TypeError that asks for an absolute one", () => {
  assert.equal(globalThis.location, undefined);
  assert.throws(() => connect({ url: "/ws", transport: "websocket", WebSocket, onMessage }), {
    name: "TypeError",
    message: /url must be absolute outside a page, e\.g\. "https:\/\/example\.com\/hub", not "\/ws"/,
  });
});

test("websocket without a global WebSocket or the WebSocket option is a TypeError that names the option", () => {
  // Node 22 and later have a global WebSocket: take it away for the test, as Node 20 has none.
  const global = Object.getOwnPropertyDescriptor(globalThis, "WebSocket");
  delete globalThis.WebSocket;
  try {
    assert.throws(() => connect({ url: "ws://127.0.0.1:1/ws", transport: "websocket", onMessage }), {
      name: "TypeError",
      message: /needs a WebSocket.*WebSocket option/,
    });
  } finally {
    if (global) Object.defineProperty(globalThis, "WebSocket", global);
  }
});

test("signalr without the module or a global signalR is a TypeError", () => {
  assert.throws(() => connect({ url: "http://127.0.0.1:1/hub", onMessage }), { name: "TypeError", message: /needs @microsoft\/signalr/ });
});

test("an accessToken that is not a function is a TypeError", () => {
  assert.throws(() => connect({ url: "ws://127.0.0.1:1/ws", transport: "websocket", WebSocket, onMessage, accessToken: "token" }), {
    name: "TypeError",
    message: /accessToken must be a function/,
  });
});

test("a url of another scheme is a TypeError for websocket", () => {
  assert.throws(() => connect({ url: "ftp://127.0.0.1/ws", transport: "websocket", WebSocket, onMessage }), { name: "TypeError", message: /ws\(s\): or http\(s\):/ });
});

test("sse without a global EventSource or the EventSource option is a TypeError that names the option", () => {
  assert.equal(globalThis.EventSource, undefined);
  assert.throws(() => connect({ url: "http://127.0.0.1:1/events", transport: "sse", onMessage }), {
    name: "TypeError",
    message: /needs an EventSource.*EventSource option/,
  });
});

test("an unknown transport is a TypeError that lists the three", () => {
  assert.throws(() => connect({ url: "http://127.0.0.1:1/events", transport: "eventsource", onMessage }), {
    name: "TypeError",
    message: /"signalr", "websocket" or "sse"/,
  });
});

test("topics on a transport other than sse is a TypeError that points to subscribe()", () => {
  assert.throws(() => connect({ url: "ws://127.0.0.1:1/ws", transport: "websocket", WebSocket, onMessage, topics: ["order:42"] }), {
    name: "TypeError",
    message: /topics is for transport "sse"; on "websocket" call subscribe\(\)/,
  });
});

test("an sse stream asks for its topics in its url and refuses subscribe() once open", async () => {
  const opened = [];
  class RecordingEventSource {
    static CLOSED = 2;
    constructor(url) {
      opened.push(new URL(url));
    }
    addEventListener() {}
    close() {}
  }
  const connection = connect({ url: "http://127.0.0.1:1/events", transport: "sse", EventSource: RecordingEventSource, onMessage, topics: ["order:42", "room:a b"] });
  try {
    await new Promise(resolve => setTimeout(resolve, 0));
    assert.deepEqual(opened.map(url => url.searchParams.getAll("topic")), [["order:42", "room:a b"]]);
    await assert.rejects(connection.subscribe("order:43"), /topics option of connect\(\)/);
  } finally {
    await connection.close();
  }
});

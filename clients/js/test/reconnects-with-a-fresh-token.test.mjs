// The server closes a connection when its token expires (raw sockets with 4001; SignalR checks once a second) and
// refuses an expired token with 401. The client asks its accessToken factory again for every attempt, after the
// usual retry delay, and keeps receiving.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WebSocket } from "ws";
import { endpoint, mintToken, newAudience, notifyMessage, open, sendProbesUntilReceived } from "./support/server.mjs";

// Long enough for a handshake on a loaded machine, short enough to wait for: exp has whole seconds, so a token lives
// between 2 and 3 s.
const LIFETIME_SECONDS = 3;

// A tight loop would mint a token per failed attempt, hundreds a second; with the retry delays a connection takes one
// attempt, or a few when a token expires during its handshake. SignalR asks twice per attempt: for negotiate and for
// the socket.
function assertNoTightLoop(client) {
  const perAttempt = client.transport === "signalr" ? 2 : 1;
  assert.ok(
    client.tokenCalls.length <= 3 * perAttempt * client.connects,
    `${client.tokenCalls.length} tokens for ${client.connects} connections: ${JSON.stringify(client.statuses)}`);
}

describe("tokens are refreshed", { concurrency: true }, () => {
  it("websocket: reconnects with a fresh token in access_token after the server closes it with 4001 at expiry, and keeps receiving", async () => {
    const audience = newAudience();
    const urls = [];
    class RecordingWebSocket extends WebSocket {
      constructor(url, protocols) {
        urls.push(new URL(url));
        super(url, protocols);
      }
    }
    const tokens = [];
    const client = open({
      transport: "websocket",
      audience,
      // A query of its own, which the token and resume join.
      url: `${endpoint("websocket")}?client=node`,
      WebSocketClass: RecordingWebSocket,
      token: () => tokens[tokens.push(mintToken(audience, LIFETIME_SECONDS)) - 1],
    });
    try {
      await sendProbesUntilReceived([client], audience);
      const expired = await client.waitFor("a close with 4001", c => c.statuses.find(([, detail]) => detail.error?.code === 4001));
      assert.equal(expired[1].error.reason, "authentication expired");
      await client.waitFor("a second connection", c => c.connects >= 2);
      const id = await notifyMessage(audience);
      await client.waitForMessage(id);

      assert.ok(tokens.length >= 2, "the factory was called again");
      assert.notEqual(tokens.at(-1), tokens[0]);
      const [first, last] = [urls[0], urls.at(-1)];
      assert.equal(first.searchParams.get("client"), "node");
      assert.equal(first.searchParams.get("access_token"), tokens[0]);
      assert.equal(first.searchParams.has("resume"), false, "nothing to resume from on the first connection");
      assert.equal(last.searchParams.get("client"), "node");
      assert.equal(last.searchParams.get("access_token"), tokens.at(-1));
      // The compact resume: the stream, the route set and the one route's number.
      assert.match(last.searchParams.get("resume"), /^[0-9a-f]{16}\.[A-Za-z0-9_-]{12}\.\d+$/);
      assert.equal(urls.length, tokens.length, "one token per attempt");
      assert.deepEqual(client.resyncs, [], "resumed, nothing lost");
      assertNoTightLoop(client);
    } finally {
      await client.close();
    }
  });

  it("signalr: reconnects with a fresh token after the server closes it at expiry, and keeps receiving", async () => {
    const audience = newAudience();
    const client = open({ transport: "signalr", audience, tokenLifetimeSeconds: LIFETIME_SECONDS });
    try {
      await sendProbesUntilReceived([client], audience);
      const callsBefore = client.tokenCalls.length;
      await client.waitFor("a reconnect after the token expired", c => c.statuses.some(([status]) => status === "reconnecting"));
      await client.waitFor("a second connection", c => c.connects >= 2);
      const id = await notifyMessage(audience);
      await client.waitForMessage(id);

      assert.ok(client.tokenCalls.length > callsBefore, "the factory was called again");
      assert.deepEqual(client.resyncs, [], "resumed, nothing lost");
      assertNoTightLoop(client);
    } finally {
      await client.close();
    }
  });

  for (const transport of ["websocket", "signalr"]) {
    it(`${transport}: a token refused with 401 is replaced by a fresh one on the next attempt, after the retry delay`, async () => {
      const audience = newAudience();
      // The first token expired a minute ago; the server has no clock skew.
      const client = open({ transport, audience, token: call => mintToken(audience, call === 1 ? -60 : 300) });
      try {
        await sendProbesUntilReceived([client], audience);

        const statuses = client.statuses.map(([status]) => status);
        assert.deepEqual(statuses.slice(0, 2), ["connecting", "reconnecting"]);
        assert.equal(client.connects, 1);
        const [, { retryInMs }, refusedAt] = client.statuses[1];
        assert.ok(retryInMs >= 100, `retry delay ${retryInMs} ms`);
        assert.ok(client.tokenCalls[1] - refusedAt >= retryInMs - 5, "the second token was asked for after the delay");
        if (transport === "signalr") assert.match(String(client.statuses[1][1].error), /401/);
        assertNoTightLoop(client);
      } finally {
        await client.close();
      }
    });
  }
});

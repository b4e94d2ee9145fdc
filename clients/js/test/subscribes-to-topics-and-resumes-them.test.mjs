// Topics: audiences a client asks for at run time, which the server allows from its Topics:Allow (here
// "topic:{tenant}:*", so a token of tenant A may subscribe to topic:A:…). Kept across reconnects, from where they
// were left off.
import assert from "node:assert/strict";
import { test } from "node:test";
import { TRANSPORTS, channel, cutRelay, messageIds, newAudience, notifyMessage, open, restoreRelay, sendProbesUntilReceived } from "./support/server.mjs";

test("both transports subscribe to a topic their token allows, are refused one it does not, and get what the topic missed while cut, once each, in order", async () => {
  const audience = newAudience();
  const topic = `topic:${audience}:room`;
  const clients = TRANSPORTS.map(transport => open({ transport, audience, via: "relay" }));
  try {
    await sendProbesUntilReceived(clients, audience);

    const positions = await Promise.all(clients.map(c => c.subscribe(topic)));
    for (const position of positions) assert.deepEqual({ ...position, stream: undefined }, { channel: channel(), audience: topic, seq: 0, stream: undefined });
    for (const client of clients) {
      await assert.rejects(client.subscribe(`topic:${newAudience()}:room`), { reason: "not_allowed" }, client.transport);
    }
    const first = await notifyMessage(topic);
    await Promise.all(clients.map(c => c.waitForMessage(first)));

    await cutRelay();
    await Promise.all(clients.map(c => c.waitFor("the loss of the connection", () => c.statuses.at(-1)[0] === "reconnecting")));
    const missed = [];
    for (let i = 0; i < 3; i++) missed.push(await notifyMessage(topic));
    await restoreRelay();
    await Promise.all(clients.map(c => c.waitFor("a second connection", () => c.connects >= 2)));
    const marker = await notifyMessage(topic);
    await Promise.all(clients.map(c => c.waitForMessage(marker)));

    for (const client of clients) {
      const received = client.messages.filter(e => e.audience === topic);
      assert.deepEqual(messageIds({ messages: received }), [first, ...missed, marker], client.transport);
      assert.deepEqual(received.map(e => e.seq), [1, 2, 3, 4, 5], `${client.transport}: no gap, nothing twice`);
      assert.deepEqual(client.resyncs, [], client.transport);
      assert.deepEqual(client.topicRefusals, [], client.transport);
    }

    await Promise.all(clients.map(c => c.unsubscribe(topic)));
    const after = await notifyMessage(topic);
    const ownMarker = await notifyMessage(audience);
    await Promise.all(clients.map(c => c.waitForMessage(ownMarker)));
    for (const client of clients) assert.ok(!messageIds(client).includes(after), `${client.transport}: nothing of a topic left`);
  } finally {
    await restoreRelay();
    await Promise.all(clients.map(c => c.close()));
  }
});

test("a subscribe refused for a channel the endpoint lacks rejects with its reason and changes nothing", async () => {
  const audience = newAudience();
  const clients = TRANSPORTS.map(transport => open({ transport, audience }));
  try {
    await sendProbesUntilReceived(clients, audience);
    for (const client of clients) {
      await assert.rejects(client.subscribe(`topic:${audience}:x`, { channel: "no_such_channel" }), { reason: "unknown_channel" }, client.transport);
      await assert.rejects(client.unsubscribe(audience), { reason: "not_allowed" }, client.transport);
    }
    const marker = await notifyMessage(audience);
    await Promise.all(clients.map(c => c.waitForMessage(marker)));
  } finally {
    await Promise.all(clients.map(c => c.close()));
  }
});

// Through a relay the test cuts, as a network failure would: the server and its stream live on, and the client
// resumes where it left off.
import assert from "node:assert/strict";
import { test } from "node:test";
import { TRANSPORTS, cutRelay, messageIds, newAudience, notifyMessage, open, restoreRelay, sendProbesUntilReceived } from "./support/server.mjs";

test("both transports get the messages sent while their connections were cut, once each, in order, without a resync", async () => {
  const audience = newAudience();
  const clients = TRANSPORTS.map(transport => open({ transport, audience, via: "relay" }));
  try {
    await sendProbesUntilReceived(clients, audience);

    await cutRelay();
    await Promise.all(clients.map(c => c.waitFor("the loss of the connection", () => c.statuses.at(-1)[0] === "reconnecting")));
    const missed = [];
    for (let i = 0; i < 5; i++) missed.push(await notifyMessage(audience));
    await restoreRelay();

    await Promise.all(clients.map(c => c.waitFor("a second connection", () => c.connects >= 2)));
    const marker = await notifyMessage(audience);
    await Promise.all(clients.map(c => c.waitForMessage(marker)));

    for (const client of clients) {
      assert.deepEqual(messageIds(client), [...missed, marker], client.transport);
      assert.deepEqual(client.resyncs, [], client.transport);
      const seqs = client.messages.map(e => e.seq);
      assert.deepEqual(seqs, seqs.map((_, i) => seqs[0] + i), `${client.transport}: no gap, nothing twice`);
    }
  } finally {
    await restoreRelay();
    await Promise.all(clients.map(c => c.close()));
  }
});

// Node (no global WebSocket before 22) against the real standalone server, with a token on both transports.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TRANSPORTS, channel, newAudience, notifyMessage, open, sendProbesUntilReceived } from "./support/server.mjs";

describe("a pg_notify reaches Node", { concurrency: true }, () => {
  for (const transport of TRANSPORTS) {
    it(`${transport}: receives a pg_notify with its payload, channel, audience and seq`, async () => {
      const audience = newAudience();
      const client = open({ transport, audience });
      try {
        await sendProbesUntilReceived([client], audience);
        const id = await notifyMessage(audience);
        const envelope = await client.waitForMessage(id);

        assert.deepEqual(envelope.payload, { msg: id });
        assert.equal(envelope.channel, channel());
        assert.equal(envelope.audience, audience);
        assert.equal(envelope.seq, client.messages.at(-2).seq + 1, "numbered right after the probe before it");
        assert.ok(client.tokenCalls.length >= 1, "the token factory was asked");
        assert.deepEqual(client.resyncs, []);
        assert.deepEqual(client.statuses.map(([status]) => status), ["connecting", "connected"]);
      } finally {
        await client.close();
      }
    });
  }
});

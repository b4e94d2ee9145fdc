// A table published with pgnotifyhub.publish_changes, written in a real PostgreSQL, through the real server: each
// change reaches onRowChange once, in order, with its table, key, row and old values, over both transports.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { onRowChange } from "pgnotifyhub";
import { TRANSPORTS, channel, newAudience, newTable, open, sendProbesUntilReceived, sql } from "./support/server.mjs";

describe("row changes reach onRowChange", { concurrency: true }, () => {
  for (const transport of TRANSPORTS) {
    it(`${transport}: a published table's inserts, updates and deletes, and nothing of another table`, async () => {
      const audience = newAudience();
      const [table, other] = [newTable(), newTable()];
      await sql(`
        CREATE TABLE ${table} (id int PRIMARY KEY, tenant text NOT NULL, status text NOT NULL, total numeric(10,2));
        CREATE TABLE ${other} (id int PRIMARY KEY, tenant text NOT NULL);
        SELECT pgnotifyhub.publish_changes('${table}', '${channel()}', 'tenant');
        SELECT pgnotifyhub.publish_changes('${other}', '${channel()}', 'tenant');`);
      const received = [];
      const client = open({ transport, audience, onMessage: onRowChange(table, (change, message) => received.push({ change, message })) });
      try {
        await sendProbesUntilReceived([client], audience);

        await sql(`INSERT INTO ${table} VALUES (1, '${audience}', 'new', 19.90)`);
        await sql(`INSERT INTO ${other} VALUES (1, '${audience}')`);
        await sql(`UPDATE ${table} SET status = 'paid'`);
        await sql(`INSERT INTO ${table} VALUES (2, '${audience}', 'new', 5.00), (3, '${audience}', 'new', 7.50)`);
        await sql(`DELETE FROM ${table} WHERE id IN (1, 3)`);
        // Through the outbox, as the changes went: once it is here, every change before it is too.
        const marker = randomUUID();
        await sql(`SELECT pgnotifyhub.send('${channel()}', '${audience}', '{"msg": "${marker}"}')`);
        await client.waitForMessage(marker);

        // One statement is one message; its changes come in no particular order.
        const messages = [...new Set(received.map(({ message }) => message))];
        assert.deepEqual(
          messages.map(message => received.filter(r => r.message === message).map(({ change }) => `${change.op} ${change.key.id}`).sort()),
          [["insert 1"], ["update 1"], ["insert 2", "insert 3"], ["delete 1", "delete 3"]]);
        assert.equal(client.messages.filter(envelope => envelope.payload.table === other).length, 1, "the other table's change came, and was passed over");

        const changes = received.map(({ change }) => change);
        assert.deepEqual(changes[0], {
          schema: "public", table, at: changes[0].at, op: "insert", key: { id: 1 },
          new: { id: 1, tenant: audience, status: "new", total: 19.9 }, old: undefined, tooLarge: false,
        });
        assert.deepEqual([changes[1].new.status, changes[1].old], ["paid", { status: "new" }]);
        assert.deepEqual(changes.filter(change => change.op === "delete").map(change => [change.new, change.old.status]).sort(), [[undefined, "new"], [undefined, "paid"]]);
        assert.ok(changes.every(change => !Number.isNaN(Date.parse(change.at))), "at is a time");
        assert.ok(messages.every(message => message.channel === channel() && message.audience === audience && message.payload.table === table));
      } finally {
        await client.close();
      }
    });
  }
});

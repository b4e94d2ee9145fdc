// onRowChange as a message handler on its own, with messages as the server delivers them: which table's changes it
// passes on, how each change looks, and what it refuses.
import assert from "node:assert/strict";
import { test } from "node:test";
import { onRowChange } from "pgnotifyhub";

const envelope = payload => ({ payload, channel: "pgws", id: "0b6f8a55-9a4e-4c1e-8f3a-3f1f7d0c2b1e", audience: "tenant:3", seq: 1, stream: "9f3c0a1b2c3d4e5f" });
const changes = (schema, table, ...items) => envelope({ schema, table, at: "2026-12-03T10:15:02.123456+00:00", changes: items });

function passed(table, ...envelopes) {
  const calls = [];
  const handle = onRowChange(table, (change, message) => calls.push({ change, message }));
  for (const e of envelopes) handle(e);
  return calls;
}

test("a table is named schema.table, or by its name alone in the schema public", () => {
  const orders = changes("public", "orders", { op: "truncate" });
  const salesOrders = changes("sales", "orders", { op: "truncate" });

  assert.equal(passed("orders", orders, salesOrders).length, 1);
  assert.equal(passed("public.orders", orders, salesOrders).length, 1);
  assert.equal(passed("sales.orders", orders, salesOrders)[0].message, salesOrders);
  assert.equal(passed("Orders", orders).length, 0);
  assert.equal(passed("order", orders).length, 0);
});

test("each change is passed once, in the message's order, with the message", () => {
  const message = changes("public", "orders",
    { op: "insert", key: { id: 7 }, new: { id: 7, status: "new" } },
    { op: "update", key: { id: 5 }, new: { id: 5, status: "paid" }, old: { status: "new" } },
    { op: "delete", key: { id: 2 }, old: { id: 2, status: "void" } },
    { op: "insert", key: { id: 8 }, too_large: true },
    { op: "truncate" });

  const calls = passed("orders", message);

  assert.deepEqual(calls.map(({ change }) => [change.op, change.key?.id, change.new?.status, change.old?.status, change.tooLarge]), [
    ["insert", 7, "new", undefined, false],
    ["update", 5, "paid", "new", false],
    ["delete", 2, undefined, "void", false],
    ["insert", 8, undefined, undefined, true],
    ["truncate", undefined, undefined, undefined, false],
  ]);
  assert.ok(calls.every(({ change, message: m }) => m === message && change.schema === "public" && change.table === "orders" && change.at === message.payload.at));
});

test("messages that are not row changes are passed over", () => {
  const calls = passed("orders",
    envelope({ order: 42 }),
    envelope({ schema: "public", table: "orders", at: "2026-12-03T10:15:02+00:00" }),
    envelope({ schema: "public", table: "orders", at: "2026-12-03T10:15:02+00:00", changes: {} }),
    envelope({ schema: "public", table: "orders", changes: [{ op: "truncate" }] }),
    { channel: "pgws" });

  assert.deepEqual(calls, []);
});

test("a table and a handler are required", () => {
  assert.throws(() => onRowChange("", () => {}), { name: "TypeError", message: /table is required/ });
  assert.throws(() => onRowChange(undefined, () => {}), { name: "TypeError", message: /table is required/ });
  assert.throws(() => onRowChange("orders"), { name: "TypeError", message: /handler must be a function/ });
});

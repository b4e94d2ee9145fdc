// Compiled by types-check-with-tsc.test.mjs, never run: every option and callback of connect() as an application
// writes them, with the package imported by its name.
import * as signalR from "@microsoft/signalr";
import { WebSocket as NodeWebSocket } from "ws";
import {
  connect,
  onRowChange,
  type Connection,
  type ConnectOptions,
  type Envelope,
  type ResyncDetail,
  type ResyncReason,
  type RowChange,
  type Status,
  type StatusDetail,
  type Topic,
  type TopicPosition,
  type TopicRefusal,
  type TopicRefusedError,
  type Transport,
  type WebSocketConstructor,
} from "pgnotifyhub";

interface Order {
  order: number;
  status: string;
}

const transport: Transport = "websocket";

const options: ConnectOptions<Order> = {
  url: "https://example.com/ws?tenant=acme",
  transport,
  accessToken: () => "token",
  onMessage(envelope: Envelope<Order>) {
    const order: number = envelope.payload.order;
    const status: string = envelope.payload.status;
    const where: [string, string, string, number, string] = [envelope.channel, envelope.id, envelope.audience, envelope.seq, envelope.stream];
    void [order, status, where];
  },
  onStatus(status: Status, detail: StatusDetail) {
    const retryInMs: number | undefined = detail.retryInMs;
    const error: unknown = detail.error;
    void [status, retryInMs, error];
  },
  onResync(reason: ResyncReason, detail: ResyncDetail) {
    const stream: string | undefined = detail.stream;
    const topic: [string | undefined, string | undefined] = [detail.channel, detail.audience];
    void [reason, stream, topic];
  },
  onTopicRefused(topic: Topic, reason: TopicRefusal) {
    const where: [string, string | undefined] = [topic.audience, topic.channel];
    void [where, reason];
  },
  WebSocket: NodeWebSocket,
  minDelayMs: 250,
  maxDelayMs: 5_000,
};
const raw: Connection = connect(options);
const closed: Promise<void> = raw.close();

// SignalR, with the module imported and a token fetched asynchronously; the payload type defaults to a record.
const hub = connect({
  url: "https://example.com/hub",
  transport: "signalr",
  signalR,
  accessToken: async () => (await fetch("/token")).text(),
  onMessage: envelope => console.log(envelope.payload["message"]),
});

// The browser's WebSocket fits too.
const browserWebSocket: WebSocketConstructor = globalThis.WebSocket;

// A table kept up to date from its row-change feed, alone or next to the application's own messages.
interface OrderRow {
  id: number;
  tenant_id: number;
  status: string;
  total: number;
}
const rows = new Map<string, OrderRow>();
const ordersFeed = onRowChange<OrderRow>("public.orders", (change: RowChange<OrderRow>, message: Envelope) => {
  const key: string = JSON.stringify(change.key);
  if (change.op === "delete" || change.op === "truncate") rows.delete(key);
  else if (change.new !== undefined) rows.set(key, change.new);
  const previousStatus: string | undefined = change.old?.status;
  const tooLarge: boolean = change.tooLarge;
  const where: [string, string, string, number] = [change.schema, change.table, change.at, message.seq];
  void [previousStatus, tooLarge, where];
});
connect({ url: "/ws", transport: "websocket", onMessage: ordersFeed });
connect<Order>({ url: "/ws", transport: "websocket", onMessage: envelope => ordersFeed(envelope) });

// @ts-expect-error the op is one of four
onRowChange("orders", change => change.op === "upsert");
// @ts-expect-error a row type must be an object
onRowChange<string>("orders", () => {});

// Server-Sent Events with the browser's own EventSource, which fits the option too.
connect({ url: "/events", transport: "sse", EventSource: globalThis.EventSource, onMessage() {} });

// @ts-expect-error the transport is "signalr", "websocket" or "sse"
connect({ url: "/x", transport: "eventsource", onMessage() {} });
// @ts-expect-error the token is a string
connect({ url: "/x", accessToken: () => 42, onMessage() {} });
// @ts-expect-error onMessage is required
connect({ url: "/x" });
// @ts-expect-error a payload type must be an object
connect<string>({ url: "/x", onMessage() {} });

// Topics: subscribe resolves with where the topic stands, and rejects with the server's reason.
const subscribed: Promise<TopicPosition> = raw.subscribe("order:42", { channel: "orders" });
subscribed.then(
  ({ channel, audience, seq, stream }) => void [channel, audience, seq as number, stream],
  (error: TopicRefusedError) => {
    const reason: TopicRefusal = error.reason;
    void reason;
  });
const left: Promise<void> = hub.unsubscribe("order:42");
// @ts-expect-error the audience is a string
raw.subscribe(42);

void [closed, hub, browserWebSocket, left];

// A stream's topics are asked for as it connects.
connect({ url: "/events", transport: "sse", topics: ["order:42"], onMessage() {} });

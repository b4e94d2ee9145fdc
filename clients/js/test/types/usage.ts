// Compiled by types-check-with-tsc.test.mjs, never run: every option and callback of connect() as an application
// writes them, with the package imported by its name.
import * as signalR from "@microsoft/signalr";
import { WebSocket as NodeWebSocket } from "ws";
import {
  connect,
  type Connection,
  type ConnectOptions,
  type Envelope,
  type ResyncDetail,
  type ResyncReason,
  type Status,
  type StatusDetail,
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
    void [reason, stream];
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

void [closed, hub, browserWebSocket];

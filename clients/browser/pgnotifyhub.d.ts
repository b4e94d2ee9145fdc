// Types for pgnotifyhub.js.

/**
 * What every client receives for one `pg_notify(channel, 'audience,{json object}')`, on both
 * transports: pgws's envelope, keys in this order. The audience is not included.
 */
export interface Envelope<TPayload extends object = Record<string, unknown>> {
  /** The JSON object that was sent, as sent. */
  payload: TPayload;
  /** The PostgreSQL channel it arrived on. */
  channel: string;
  /** A random UUID, the same for every recipient of this message. */
  id: string;
}

/** "signalr": the hub (method `notify`), e.g. `/hub`. "websocket": the raw endpoint, e.g. `/ws`. */
export type Transport = "signalr" | "websocket";

/**
 * "connecting": the first attempt is under way. "connected": messages flow. "reconnecting": the
 * connection was lost or an attempt failed; retrying with backoff, forever. "disconnected": close()
 * was called; nothing more happens.
 */
export type Status = "connecting" | "connected" | "reconnecting" | "disconnected";

export interface StatusDetail {
  /** Set when a retry has been scheduled: the wait before it. */
  retryInMs?: number;
  /** Why the connection was lost or the attempt failed, when known: an Error (SignalR) or the WebSocket close code and reason. */
  error?: unknown;
}

export interface ConnectOptions<TPayload extends object = Record<string, unknown>> {
  /** The hub URL for "signalr", the endpoint URL for "websocket"; relative URLs resolve against the page, and http(s) is turned into ws(s) for "websocket". */
  url: string;
  /** Default "signalr". */
  transport?: Transport;
  /** Called once per message. */
  onMessage(envelope: Envelope<TPayload>): void;
  /** Called on every status change. */
  onStatus?(status: Status, detail: StatusDetail): void;
  /** The @microsoft/signalr module, when it is not loaded as the global `signalR` (the browser bundle). Only for "signalr". */
  signalR?: typeof import("@microsoft/signalr");
  /** First retry delay before jitter, default 500 ms; doubles per failed attempt. */
  minDelayMs?: number;
  /** Cap on the retry delay before jitter, default 10000 ms. Each delay is a random 50-100 % of the capped value. */
  maxDelayMs?: number;
}

export interface Connection {
  /** Stops the connection and every pending retry; reports "disconnected". */
  close(): Promise<void>;
}

/** Connects, and reconnects after every loss, until close(). Throws TypeError on invalid options. */
export function connect<TPayload extends object = Record<string, unknown>>(options: ConnectOptions<TPayload>): Connection;

// Types for pgnotifyhub.js.

/**
 * What the client receives for one `pg_notify(channel, 'audience,{json object}')`, on both transports:
 * pgws's envelope followed by its place in the server's numbering, keys in this order.
 */
export interface Envelope<TPayload extends object = Record<string, unknown>> {
  /** The JSON object that was sent, as sent. */
  payload: TPayload;
  /** The PostgreSQL channel it arrived on. */
  channel: string;
  /** A random UUID, the same for every recipient of this message. */
  id: string;
  /** The audience it was sent to. */
  audience: string;
  /** 1, 2, 3… per channel and audience within the stream. */
  seq: number;
  /** The server's numbering: a new one after the server restarts or its listener reconnects to PostgreSQL. */
  stream: string;
}

/**
 * Why messages may have been lost, so the application must reload what it shows. From the server:
 * "listener_reconnected" (the server lost PostgreSQL for a while), "stream_changed" (the server restarted or
 * its listener reconnected while this client was away), "gap_too_old" (it was away longer than the server
 * keeps messages), "invalid_resume". From the client itself: "stream_changed" also when a new stream comes
 * unannounced, and "unknown_position" when it reconnected after losing a connection before the server said
 * where it stood (the position notice sent each time the client joins), so there was nothing to resume from.
 */
export type ResyncReason = "listener_reconnected" | "stream_changed" | "gap_too_old" | "invalid_resume" | "unknown_position";

export interface ResyncDetail {
  /** The stream that numbering goes on in, when known. */
  stream?: string;
}

/** "signalr": the hub (method `notify`), e.g. `/hub`. "websocket": the raw endpoint, e.g. `/ws`, with the subprotocol `pgnotifyhub.v1`. */
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
  /** Called once per message, in order; a message replayed after a reconnect is never passed twice. */
  onMessage(envelope: Envelope<TPayload>): void;
  /** Called on every status change. */
  onStatus?(status: Status, detail: StatusDetail): void;
  /** Called when messages may have been lost: reload what the page shows, then apply the messages that follow. */
  onResync?(reason: ResyncReason, detail: ResyncDetail): void;
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

/**
 * Connects, and reconnects after every loss, until close(), resuming where it left off on every route of the
 * connection, including those that had no message yet: the server replays what was missed, or onResync is called.
 * Throws TypeError on invalid options.
 */
export function connect<TPayload extends object = Record<string, unknown>>(options: ConnectOptions<TPayload>): Connection;

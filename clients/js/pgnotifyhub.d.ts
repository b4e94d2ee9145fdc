// Types for pgnotifyhub.js (npm package "pgnotifyhub").

/**
 * What the client receives for one `pg_notify(channel, 'audience,{json object}')`, on every transport:
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
 * keeps messages), "routes_changed" (its audiences changed while it was away); on "sse" only, "gap_unknown" (it
 * reconnected with an event id of a connection of more routes than an id carries) and "replay_too_large" (it missed
 * more than the server queues for one connection). From the client itself: "stream_changed" also when a new stream comes
 * unannounced, and "unknown_position" when it reconnected after losing a connection before the server said
 * where it stood (the position notice sent each time the client joins), so there was nothing to resume from.
 */
export type ResyncReason = "listener_reconnected" | "stream_changed" | "gap_too_old" | "routes_changed" | "gap_unknown" | "replay_too_large" | "unknown_position";

export interface ResyncDetail {
  /** The stream that numbering goes on in, when known. */
  stream?: string;
  /** Set when the resync concerns one topic alone (it could not be resumed): reload that topic only. */
  channel?: string;
  /** Set, with channel, when the resync concerns one topic alone. */
  audience?: string;
}

/**
 * Why the server refused a topic: "topics_disabled" (the endpoint lets clients choose none), "not_allowed" (its
 * policy refused it; or, for unsubscribe, an audience the connection was given), "too_many_audiences",
 * "rate_limited", "unknown_channel", "invalid".
 */
export type TopicRefusal = "topics_disabled" | "not_allowed" | "too_many_audiences" | "rate_limited" | "unknown_channel" | "invalid";

/** Where a topic stands once subscribed: the last seq of its channel and audience in stream, after anything replayed. */
export interface TopicPosition {
  channel: string;
  audience: string;
  seq: number;
  stream: string;
}

/** A topic as subscribed to: its audience, and its channel (the one asked for, or the endpoint's first). */
export interface Topic {
  audience: string;
  channel?: string;
}

/** The error a refused subscribe or unsubscribe rejects with. */
export interface TopicRefusedError extends Error {
  reason: TopicRefusal;
}

/**
 * "signalr": the hub (method `notify`), e.g. `/hub`. "websocket": the raw endpoint, e.g. `/ws`, with the subprotocol
 * `pgnotifyhub.v1`. "sse": the Server-Sent Events endpoint, e.g. `/events`, through the browser's own `EventSource`,
 * which reconnects by itself and resumes with `Last-Event-ID`.
 */
export type Transport = "signalr" | "websocket" | "sse";

/**
 * "connecting": the first attempt is under way. "connected": messages flow. "reconnecting": the
 * connection was lost or an attempt failed; retrying with backoff, forever. "disconnected": close()
 * was called; nothing more happens.
 */
export type Status = "connecting" | "connected" | "reconnecting" | "disconnected";

export interface StatusDetail {
  /** Set when a retry has been scheduled: the wait before it. */
  retryInMs?: number;
  /**
   * Why the connection was lost or the attempt failed, when known: an Error (from SignalR, or thrown by accessToken),
   * or the WebSocket's close code and reason, e.g. `{ code: 4001, reason: "authentication expired" }`.
   */
  error?: unknown;
}

/** What the "websocket" transport needs of a WebSocket: the browsers', Node's (22 and later) and the ws package's all fit. */
export interface WebSocketLike {
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: any) => void): void;
  close(code?: number, reason?: string): void;
}

/** What the "sse" transport needs of an EventSource: the browsers' fits. */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: any) => void): void;
  close(): void;
}

/** An EventSource constructor, called as `new EventSource(url, { withCredentials: false })`, with the `CLOSED` state. */
export type EventSourceConstructor = {
  new (url: string, init?: { withCredentials?: boolean }): EventSourceLike;
  readonly CLOSED: number;
};

/** A WebSocket constructor, called as `new WebSocket(url, "pgnotifyhub.v1")`. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/**
 * The part of the @microsoft/signalr module that connect() uses, so that these types need no @microsoft/signalr
 * installed when only "websocket" is used: `import * as signalR from "@microsoft/signalr"` fits.
 */
export interface SignalRModule {
  HubConnectionBuilder: new () => object;
  LogLevel: { Warning: number };
}

export interface ConnectOptions<TPayload extends object = Record<string, unknown>> {
  /**
   * The hub URL for "signalr", the endpoint URL for "websocket" or "sse"; http(s) is turned into ws(s) for "websocket".
   * Relative URLs resolve against `globalThis.location` (a page or a worker); elsewhere, as in Node, the URL must be
   * absolute, or connect() throws a TypeError.
   */
  url: string;
  /** Default "signalr". */
  transport?: Transport;
  /**
   * Returns the access token (e.g. a JWT) to connect with. Called before every connection attempt, the first and each
   * reconnect, on every transport, so that a token that expired (the server closes the connection: status 4001 on
   * "websocket") or was refused (401) is replaced on the next attempt, after the usual retry delay. SignalR sends it
   * through `accessTokenFactory`, which it calls for negotiate and again for the socket; "websocket" and "sse" send it
   * as the URL-encoded `access_token` query parameter (on "sse" the browser reconnects by itself with the same URL,
   * so a fresh token is fetched once the server refuses the one it has). Return a cached token while it is valid. A factory that throws or
   * rejects fails that attempt, which is retried like any other. Query strings can reach proxy and server logs: use
   * HTTPS and short-lived tokens. Without it no token is sent.
   */
  accessToken?: () => string | Promise<string>;
  /** Called once per message, in order; a message replayed after a reconnect is never passed twice. */
  onMessage(envelope: Envelope<TPayload>): void;
  /** Called on every status change. */
  onStatus?(status: Status, detail: StatusDetail): void;
  /**
   * Called when messages may have been lost: reload what the page shows, then apply the messages that follow. With
   * `detail.audience` set it concerns that topic alone.
   */
  onResync?(reason: ResyncReason, detail: ResyncDetail): void;
  /**
   * Called when the server refuses a topic that was asked for again on a reconnect (e.g. the new token no longer
   * allows it); the topic is forgotten. A refusal of a subscribe() call rejects its promise instead.
   */
  onTopicRefused?(topic: Topic, reason: TopicRefusal): void;
  /** The @microsoft/signalr module (`import * as signalR from "@microsoft/signalr"`); default the global `signalR` of its browser bundle. Only for "signalr". */
  signalR?: SignalRModule;
  /**
   * The WebSocket constructor for "websocket"; default `globalThis.WebSocket`. Needed where there is none, as in Node
   * before 22: pass the ws package's (`import { WebSocket } from "ws"`). connect() throws a TypeError when neither exists.
   */
  WebSocket?: WebSocketConstructor;
  /**
   * The EventSource constructor for "sse"; default `globalThis.EventSource`, which browsers have. connect() throws a
   * TypeError when there is none, as in Node.
   */
  EventSource?: EventSourceConstructor;
  /**
   * "sse" only: the topics the stream asks for as it connects (one `topic` query parameter each), on every channel of
   * the endpoint. A stream sends nothing once open, so its topics are fixed for the connection; each reconnect asks,
   * and is authorized, again, and a refused topic refuses the stream (403, retried like any refusal). The other
   * transports take topics through subscribe(); connect() throws a TypeError when this is given to them.
   */
  topics?: string[];
  /** First retry delay before jitter, default 500 ms; doubles per failed attempt. */
  minDelayMs?: number;
  /** Cap on the retry delay before jitter, default 10000 ms. Each delay is a random 50-100 % of the capped value. */
  maxDelayMs?: number;
}

export interface Connection {
  /** Stops the connection and every pending retry; reports "disconnected". */
  close(): Promise<void>;
  /**
   * Subscribes to a topic, an audience the server's topic policy allows, on `channel` or the endpoint's first. Kept
   * across reconnects: asked for again on every connection from where it was left off, so the server authorizes it
   * again and replays what was missed (or calls onResync for that topic). Resolves with the topic's position once the
   * server answers, also when called while disconnected; rejects with a TopicRefusedError when refused, which changes
   * nothing. Needs "websocket" with `pgnotifyhub.v1` (as connect() opens it) or "signalr"; on "sse" it rejects with
   * an Error, since a stream's topics are the `topics` option of connect().
   */
  subscribe(audience: string, options?: { channel?: string }): Promise<TopicPosition>;
  /**
   * Leaves a topic: nothing of it is passed on once the server answers; a pending subscribe() of it rejects with the
   * reason "unsubscribed". Resolves at once when disconnected. Rejects with a TopicRefusedError when refused (e.g.
   * "not_allowed" for an audience the connection was given).
   */
  unsubscribe(audience: string, options?: { channel?: string }): Promise<void>;
}

/**
 * Connects, and reconnects after every loss, until close(), resuming where it left off on every route of the
 * connection, including those that had no message yet: the server replays what was missed, or onResync is called.
 * Throws TypeError on invalid options: no url, a relative url with no location to resolve it against, no onMessage,
 * an unknown transport, "signalr" without @microsoft/signalr, "websocket" without a WebSocket, "sse" without an EventSource.
 */
export function connect<TPayload extends object = Record<string, unknown>>(options: ConnectOptions<TPayload>): Connection;

/**
 * One change of a row-change feed (`pgnotifyhub.publish_changes`): a row of a published table inserted, updated or
 * deleted, or the table truncated. Values are PostgreSQL's JSON of each column, parsed by `JSON.parse`: a `numeric`
 * arrives as a JavaScript number (`19.90` as `19.9`; beyond 2^53 digits are lost), timestamps as ISO 8601 strings.
 */
export interface RowChange<TRow extends object = Record<string, unknown>> {
  /** The published table's schema, e.g. "public"; for a partition, its partitioned table's. */
  schema: string;
  /** The published table's name, as PostgreSQL stores it. */
  table: string;
  /** When the statement's changes were sent, ISO 8601 with offset. */
  at: string;
  /**
   * "insert" (also a row moved into this audience), "update" (published or key columns changed), "delete" (also a row
   * moved out of this audience), "truncate" (every row of this audience is gone).
   */
  op: "insert" | "update" | "delete" | "truncate";
  /**
   * The key columns (the primary key, or the `key` publish_changes named): the new row's for an insert or an update,
   * the old row's for a delete; absent for a truncate. After an update that changed the key, the previous key is this
   * one with the values in `old` laid over it.
   */
  key?: Record<string, unknown>;
  /** The published columns of the new row: inserts and updates, unless `tooLarge`. */
  new?: TRow;
  /** An update's previous values of the columns that changed, and only those; a delete's published columns. */
  old?: Partial<TRow>;
  /** The change was larger than pgnotifyhub.settings.max_payload_bytes: only `op` and `key` came; read the row yourself. */
  tooLarge: boolean;
}

/**
 * Returns a message handler, for `connect`'s `onMessage`, that calls `handler` once for each change of `table`'s
 * row-change messages, in the message's order, with the change and the envelope that carried it; every other message
 * is passed over. `table` is "schema.table", or the name alone for the schema public, as PostgreSQL stores the names
 * (unquoted names are lower case). Works on every transport. Throws TypeError without a table or a handler.
 *
 * ```js
 * connect({ url: "/ws", transport: "websocket", onMessage: onRowChange("orders", change => show(change)) });
 * ```
 */
export function onRowChange<TRow extends object = Record<string, unknown>>(
  table: string,
  handler: (change: RowChange<TRow>, message: Envelope) => void,
): (envelope: Envelope<object>) => void;

// PgNotifyHub browser client: one call connects to the SignalR hub or to the raw WebSocket endpoint
// and keeps the connection alive until close(), resuming where it left off after every reconnect.
// Plain ES module, no dependencies besides the @microsoft/signalr browser bundle (only for transport
// "signalr"). Types: pgnotifyhub.d.ts.

// The raw endpoint's subprotocol with sequence numbers, resync frames and resume; without it the endpoint
// speaks pgws's protocol, which has none of them.
const SEQUENCED_SUBPROTOCOL = "pgnotifyhub.v1";

// Connects, and reconnects after every loss, until close() is called.
export function connect({
  url,
  transport = "signalr",
  onMessage,
  onStatus = () => {},
  onResync = () => {},
  signalR = globalThis.signalR,
  minDelayMs = 500,
  maxDelayMs = 10_000,
}) {
  if (typeof url !== "string" || url === "") throw new TypeError("connect: url is required");
  if (typeof onMessage !== "function") throw new TypeError("connect: onMessage is required");
  if (typeof onResync !== "function") throw new TypeError("connect: onResync must be a function");

  const retry = retries(minDelayMs, maxDelayMs);
  const position = streamPosition(onMessage, onResync);
  if (transport === "signalr") {
    if (!signalR?.HubConnectionBuilder) {
      throw new TypeError("connect: transport \"signalr\" needs the @microsoft/signalr bundle (global signalR) or the signalR option");
    }
    return connectSignalR(signalR, url, position, onStatus, retry);
  }
  if (transport === "websocket") return connectWebSocket(url, position, onStatus, retry);
  throw new TypeError(`connect: transport must be "signalr" or "websocket", not ${JSON.stringify(transport)}`);
}

// Retry delays: exponential from minMs, capped at maxMs, then a random 50-100 % of that, because after
// a server restart every open page retries at once and the jitter spreads them out. The backoff starts
// over only after a connection that stayed up for maxMs: a server that accepts and then drops at once
// (it refused the audience, it is shutting down) must not be hammered at the minimum delay.
function retries(minMs, maxMs) {
  let attempt = 0;
  let connectedAt;
  return {
    connected() {
      connectedAt = Date.now();
    },
    next() {
      if (connectedAt !== undefined && Date.now() - connectedAt >= maxMs) attempt = 0;
      connectedAt = undefined;
      const capped = Math.min(maxMs, minMs * 2 ** Math.min(attempt++, 30));
      return Math.round(capped * (0.5 + Math.random() * 0.5));
    },
  };
}

// Where the client is in the server's numbering: the stream, and the last seq seen per route (channel and
// audience). A reconnect sends it as `resume`, and the server replays what was missed or says to resync.
// Every envelope and resync notice passes through here on its way to the application.
function streamPosition(onMessage, onResync) {
  let stream;
  // JSON [channel, audience] → { channel, audience, seq }; seq is undefined while unknown in this stream.
  const routes = new Map();

  function restart(newStream, numberedFromZero) {
    stream = newStream;
    for (const route of routes.values()) route.seq = numberedFromZero ? 0 : undefined;
  }

  return {
    envelope(envelope) {
      const { channel, audience, seq } = envelope;
      if (typeof seq !== "number" || typeof envelope.stream !== "string") {
        onMessage(envelope); // a server that does not number its messages: nothing to track
        return;
      }
      if (envelope.stream !== stream) {
        // The server announces every new stream with a resync first; one that comes unannounced still means
        // messages may have been lost, so the application hears of it all the same.
        const unannounced = stream !== undefined;
        restart(envelope.stream, false);
        if (unannounced) onResync("stream_changed", { stream });
      }
      const key = JSON.stringify([channel, audience]);
      let route = routes.get(key);
      if (route === undefined) routes.set(key, (route = { channel, audience, seq: undefined }));
      if (route.seq !== undefined && seq <= route.seq) return; // delivered already: never show a message twice
      route.seq = seq;
      onMessage(envelope);
    },
    resync({ reason, stream: newStream }) {
      // A new stream numbers every route from 1. Only a listener_reconnected notice is sure to precede all of
      // its messages; after the others (a stream that ran while this client was away) the numbers are unknown.
      if (newStream !== stream) restart(newStream, reason === "listener_reconnected");
      onResync(reason, { stream: newStream });
    },
    // The `resume` parameter, or undefined when it could not cover every route this client knows: the server
    // replays only the routes listed, so a partial position would lose the others' messages silently.
    resume() {
      if (stream === undefined || routes.size === 0) return undefined;
      const positions = [];
      for (const { channel, audience, seq } of routes.values()) {
        if (seq === undefined) return undefined;
        positions.push({ channel, audience, seq });
      }
      return JSON.stringify({ stream, positions });
    },
    // A reconnect without a position may have missed anything: the application reloads, and the next
    // envelope's stream is taken as it comes.
    reconnectedWithoutPosition() {
      restart(undefined, false);
      onResync("unknown_position", {});
    },
  };
}

function connectSignalR(signalR, url, position, onStatus, retry) {
  // Absolute, because the baseUrl setter below takes the URL as it is, where withUrl() resolves it.
  const hubUrl = new URL(url, location.href);
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(hubUrl.href)
    // A policy that never returns null never gives up; the default one stops after four attempts.
    .withAutomaticReconnect({ nextRetryDelayInMilliseconds: () => retry.next() })
    .configureLogging(signalR.LogLevel.Warning)
    .build();
  let closed = false;
  let timer;
  let everConnected = false;
  let resuming = false;

  // SignalR allows a new URL while the connection is disconnected or reconnecting, and every attempt until
  // the next connection uses it: nothing is received meanwhile, so the position cannot move on.
  function carryPosition() {
    const resume = position.resume();
    const target = new URL(hubUrl);
    if (resume !== undefined) target.searchParams.set("resume", resume);
    connection.baseUrl = target.href;
    resuming = resume !== undefined;
  }

  function connected() {
    retry.connected();
    onStatus("connected", {});
    if (everConnected && !resuming) position.reconnectedWithoutPosition();
    everConnected = true;
  }

  connection.on("notify", envelope => position.envelope(envelope));
  connection.on("resync", notice => position.resync(notice));
  connection.onreconnecting(error => {
    carryPosition();
    onStatus("reconnecting", { error });
  });
  connection.onreconnected(connected);
  // Automatic reconnect only covers a connection that was up and broke. onclose still fires when the
  // server ends the connection without allowing a reconnect: start over, as after a failed start.
  connection.onclose(error => {
    if (!closed) startLater(error);
  });

  // A start() that fails is not retried by automatic reconnect at all: it rejects once, and the
  // connection stays down. So failed starts are retried here, with the same delays.
  async function start() {
    carryPosition();
    try {
      await connection.start();
    } catch (error) {
      if (!closed) startLater(error);
      return;
    }
    connected();
  }

  function startLater(error) {
    const retryInMs = retry.next();
    onStatus("reconnecting", { retryInMs, error });
    clearTimeout(timer);
    timer = setTimeout(() => {
      onStatus("reconnecting", {});
      start();
    }, retryInMs);
  }

  onStatus("connecting", {});
  start();

  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      await connection.stop();
      onStatus("disconnected", {});
    },
  };
}

function connectWebSocket(url, position, onStatus, retry) {
  // new WebSocket() wants ws: or wss:; accept the page-relative and http(s) URLs people also pass.
  const target = new URL(url, location.href);
  if (target.protocol === "http:") target.protocol = "ws:";
  if (target.protocol === "https:") target.protocol = "wss:";

  let socket;
  let closed = false;
  let timer;
  let everConnected = false;

  function open() {
    const resume = position.resume();
    const attempt = new URL(target);
    if (resume !== undefined) attempt.searchParams.set("resume", resume);
    socket = new WebSocket(attempt, SEQUENCED_SUBPROTOCOL);
    socket.addEventListener("open", () => {
      retry.connected();
      onStatus("connected", {});
      if (everConnected && resume === undefined) position.reconnectedWithoutPosition();
      everConnected = true;
    });
    socket.addEventListener("message", event => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        // The endpoint only sends JSON, so this is a bug worth seeing, not a message to show.
        console.warn("pgnotifyhub: ignored a frame that is not JSON", error, event.data);
        return;
      }
      // Control frames have a type and envelopes never do; control frames this client does not know are skipped.
      if (frame.type === "resync") position.resync(frame);
      else if (frame.type === undefined) position.envelope(frame);
    });
    // "close" follows every failure (a network error, a refused handshake, the server going away),
    // so reconnecting here covers them all.
    socket.addEventListener("close", event => {
      if (closed) return;
      const retryInMs = retry.next();
      onStatus("reconnecting", { retryInMs, error: { code: event.code, reason: event.reason } });
      timer = setTimeout(() => {
        onStatus("reconnecting", {});
        open();
      }, retryInMs);
    });
  }

  onStatus("connecting", {});
  open();

  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      socket.close(1000);
      onStatus("disconnected", {});
    },
  };
}

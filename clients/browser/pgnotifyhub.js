// PgNotifyHub browser client: one call connects to the SignalR hub or to the raw WebSocket endpoint
// and keeps the connection alive until close(). Plain ES module, no dependencies besides the
// @microsoft/signalr browser bundle (only for transport "signalr"). Types: pgnotifyhub.d.ts.

// Connects, and reconnects after every loss, until close() is called.
export function connect({
  url,
  transport = "signalr",
  onMessage,
  onStatus = () => {},
  signalR = globalThis.signalR,
  minDelayMs = 500,
  maxDelayMs = 10_000,
}) {
  if (typeof url !== "string" || url === "") throw new TypeError("connect: url is required");
  if (typeof onMessage !== "function") throw new TypeError("connect: onMessage is required");

  const retry = retries(minDelayMs, maxDelayMs);
  if (transport === "signalr") {
    if (!signalR?.HubConnectionBuilder) {
      throw new TypeError("connect: transport \"signalr\" needs the @microsoft/signalr bundle (global signalR) or the signalR option");
    }
    return connectSignalR(signalR, url, onMessage, onStatus, retry);
  }
  if (transport === "websocket") return connectWebSocket(url, onMessage, onStatus, retry);
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

function connectSignalR(signalR, url, onMessage, onStatus, retry) {
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(url)
    // A policy that never returns null never gives up; the default one stops after four attempts.
    .withAutomaticReconnect({ nextRetryDelayInMilliseconds: () => retry.next() })
    .configureLogging(signalR.LogLevel.Warning)
    .build();
  let closed = false;
  let timer;

  connection.on("notify", envelope => onMessage(envelope));
  connection.onreconnecting(error => onStatus("reconnecting", { error }));
  connection.onreconnected(() => {
    retry.connected();
    onStatus("connected", {});
  });
  // Automatic reconnect only covers a connection that was up and broke. onclose still fires when the
  // server ends the connection without allowing a reconnect: start over, as after a failed start.
  connection.onclose(error => {
    if (!closed) startLater(error);
  });

  // A start() that fails is not retried by automatic reconnect at all: it rejects once, and the
  // connection stays down. So failed starts are retried here, with the same delays.
  async function start() {
    try {
      await connection.start();
    } catch (error) {
      if (!closed) startLater(error);
      return;
    }
    retry.connected();
    onStatus("connected", {});
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

function connectWebSocket(url, onMessage, onStatus, retry) {
  // new WebSocket() wants ws: or wss:; accept the page-relative and http(s) URLs people also pass.
  const target = new URL(url, location.href);
  if (target.protocol === "http:") target.protocol = "ws:";
  if (target.protocol === "https:") target.protocol = "wss:";

  let socket;
  let closed = false;
  let timer;

  function open() {
    socket = new WebSocket(target);
    socket.addEventListener("open", () => {
      retry.connected();
      onStatus("connected", {});
    });
    socket.addEventListener("message", event => {
      let envelope;
      try {
        envelope = JSON.parse(event.data);
      } catch (error) {
        // The endpoint only sends envelopes, so this is a bug worth seeing, not a message to show.
        console.warn("pgnotifyhub: ignored a frame that is not JSON", error, event.data);
        return;
      }
      onMessage(envelope);
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

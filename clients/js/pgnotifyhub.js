// PgNotifyHub client (npm package "pgnotifyhub"): one call connects to the SignalR hub, to the raw WebSocket
// endpoint or to the Server-Sent Events endpoint, and keeps the connection alive until close(), resuming where it
// left off after every reconnect. Plain ES module for browsers and Node, no dependencies besides @microsoft/signalr
// (only for transport "signalr", passed in or loaded as the global signalR). onRowChange() reads a table's row-change
// feed from those messages, one call per changed row. Types: pgnotifyhub.d.ts.

// The raw endpoint's subprotocol with sequence numbers, resync frames and resume; without it the endpoint
// speaks pgws's protocol, which has none of them.
const SEQUENCED_SUBPROTOCOL = "pgnotifyhub.v1";

// Connects, and reconnects after every loss, until close() is called.
export function connect({
  url,
  transport = "signalr",
  accessToken,
  onMessage,
  onStatus = () => {},
  onResync = () => {},
  onTopicRefused = () => {},
  signalR = globalThis.signalR,
  WebSocket = globalThis.WebSocket,
  EventSource = globalThis.EventSource,
  topics: streamTopics,
  minDelayMs = 500,
  maxDelayMs = 10_000,
} = {}) {
  if (typeof url !== "string" || url === "") throw new TypeError("connect: url is required");
  if (typeof onMessage !== "function") throw new TypeError("connect: onMessage is required");
  if (typeof onResync !== "function") throw new TypeError("connect: onResync must be a function");
  if (typeof onTopicRefused !== "function") throw new TypeError("connect: onTopicRefused must be a function");
  if (accessToken !== undefined && typeof accessToken !== "function") {
    throw new TypeError("connect: accessToken must be a function that returns the token (or a promise of it)");
  }

  if (streamTopics !== undefined && (!Array.isArray(streamTopics) || streamTopics.some(topic => typeof topic !== "string" || topic === ""))) {
    throw new TypeError("connect: topics must be an array of non-empty audience strings");
  }
  if (streamTopics !== undefined && transport !== "sse") {
    throw new TypeError(`connect: topics is for transport "sse"; on "${transport}" call subscribe() on the connection`);
  }

  const retry = retries(minDelayMs, maxDelayMs, onStatus);
  const topics = topicSet(onTopicRefused);
  const position = streamPosition(onMessage, onResync, topics);
  if (transport === "signalr") {
    if (!signalR?.HubConnectionBuilder) {
      throw new TypeError("connect: transport \"signalr\" needs @microsoft/signalr: pass the module as the signalR option, or load the browser bundle (global signalR)");
    }
    return connectSignalR(signalR, absoluteUrl(url), accessToken, position, topics, onStatus, retry);
  }
  if (transport === "websocket") {
    if (typeof WebSocket !== "function") {
      throw new TypeError("connect: transport \"websocket\" needs a WebSocket: this runtime has no global WebSocket (Node before 22), so pass one as the WebSocket option, e.g. the ws package's");
    }
    return connectWebSocket(WebSocket, absoluteUrl(url), accessToken, position, topics, onStatus, retry);
  }
  if (transport === "sse") {
    if (typeof EventSource !== "function") {
      throw new TypeError("connect: transport \"sse\" needs an EventSource: this runtime has none (Node), so pass one as the EventSource option");
    }
    return connectEventSource(EventSource, absoluteUrl(url), accessToken, streamTopics ?? [], position, onStatus, retry);
  }
  throw new TypeError(`connect: transport must be "signalr", "websocket" or "sse", not ${JSON.stringify(transport)}`);
}

// Only a page (or a worker) has a location to resolve a relative URL against; anywhere else it must be absolute.
function absoluteUrl(url) {
  const base = globalThis.location?.href;
  try {
    return new URL(url, base);
  } catch {
    throw new TypeError(base === undefined
      ? `connect: url must be absolute outside a page, e.g. "https://example.com/hub", not ${JSON.stringify(url)}`
      : `connect: url ${JSON.stringify(url)} is not a valid URL`);
  }
}

// Retry delays: exponential from minMs, capped at maxMs, then a random 50-100 % of that, because after
// a server restart every open page retries at once and the jitter spreads them out. The backoff starts
// over only after a connection that stayed up for maxMs: a server that accepts and then drops at once
// (it refused the audience, it is shutting down) must not be hammered at the minimum delay.
function retries(minMs, maxMs, onStatus) {
  let attempt = 0;
  let connectedAt;
  let timer;
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
    // Reports the wait and why, then calls reconnect after it, for the retries the transports make themselves.
    later(error, reconnect) {
      const retryInMs = this.next();
      onStatus("reconnecting", { retryInMs, error });
      clearTimeout(timer);
      timer = setTimeout(() => {
        onStatus("reconnecting", {});
        reconnect();
      }, retryInMs);
    },
    cancel() {
      clearTimeout(timer);
    },
  };
}

// Where the client is in the server's numbering: the stream, and the last seq of every route (channel and audience)
// of the connection. The server says where the client stands each time it joins, listing every route, also those
// that never carried a message; a reconnect sends that back, moved on by the messages since, as `resume`, and the
// server replays what was missed or says to resync. Every envelope and notice passes through here on its way to
// the application.
function streamPosition(onMessage, onResync, topics) {
  // Undefined until the server's first position notice: there is nothing to resume from before it.
  let stream;
  // JSON [channel, audience] → { channel, audience, seq }.
  let routes = new Map();
  // The notice's routes in its order, and the key of that set, which the compact resume follows.
  let order = [];
  let routeSet;

  const key = (channel, audience) => JSON.stringify([channel, audience]);

  // A new stream numbers every route from 1, so where nothing of it has been seen the position is 0.
  function restart(newStream) {
    stream = newStream;
    for (const route of routes.values()) route.seq = 0;
  }

  return {
    envelope(envelope) {
      const { channel, audience, seq } = envelope;
      if (typeof seq !== "number" || typeof envelope.stream !== "string" || stream === undefined) {
        onMessage(envelope); // no numbering, or none to compare with yet: nothing to track
        return;
      }
      if (envelope.stream !== stream) {
        // The server announces every new stream before its messages, with a resync or a position notice; one that
        // comes unannounced still means messages may have been lost, so the application hears of it all the same.
        restart(envelope.stream);
        onResync("stream_changed", { stream });
      }
      const route = routes.get(key(channel, audience));
      // A topic keeps its own place, with its stream: it is resumed by subscribing again, not through `resume`.
      const topic = route === undefined ? topics.receiving(channel, audience) : undefined;
      if (topic !== undefined) {
        if (topic.stream === envelope.stream && seq <= topic.seq) return;
        topic.stream = envelope.stream;
        topic.seq = seq;
        onMessage(envelope);
        return;
      }
      if (route !== undefined && seq <= route.seq) return; // delivered already: never show a message twice
      routes.set(key(channel, audience), { channel, audience, seq });
      onMessage(envelope);
    },
    // Authoritative: it follows any resync and replay of the join, and precedes every live message.
    position({ stream: newStream, positions, routeSet: newRouteSet }) {
      stream = newStream;
      routeSet = newRouteSet;
      routes = new Map(positions.map(({ channel, audience, seq }) => [key(channel, audience), { channel, audience, seq }]));
      order = positions.map(({ channel, audience }) => key(channel, audience));
    },
    resync({ reason, stream: newStream, channel, audience }) {
      // One topic alone, as it was subscribed to again: the answer that follows says where it stands now.
      if (audience !== undefined) {
        onResync(reason, { stream: newStream, channel, audience });
        return;
      }
      // Only listener_reconnected comes to a live connection, before any message of its new stream. The others
      // come as the client joins, and the position notice that follows says where it stands; until then the old
      // position stays, so a connection lost in between is told to resync again rather than resume a stream
      // whose earlier messages the application may have reloaded already.
      if (reason === "listener_reconnected" && stream !== undefined && newStream !== stream) restart(newStream);
      onResync(reason, { stream: newStream });
    },
    // The `resume` parameter, or undefined before the first position notice. The compact form (stream, route set and
    // numbers in the notice's order) stays a few characters per route, where JSON naming each route outgrows a
    // request line past some 80 routes; a server that gives no route set takes JSON.
    resume() {
      if (stream === undefined) return undefined;
      if (typeof routeSet !== "string") return JSON.stringify({ stream, positions: [...routes.values()] });
      return [stream, routeSet, ...order.map(route => routes.get(route).seq)].join(".");
    },
    // Only a connection lost before the server said where it stood leaves nothing to resume from: what was sent to
    // it meanwhile cannot be replayed, so the application reloads.
    reconnectedWithoutPosition() {
      onResync("unknown_position", {});
    },
  };
}

// The topics the application asked for, kept across reconnects: each is asked for again on every connection, from
// where it was left off, so that the server authorizes it again and replays what was missed, or resyncs that topic.
function topicSet(onTopicRefused) {
  // JSON [channel asked for or null, audience] → { audience, asked, channel, seq, stream, waiters }.
  const wanted = new Map();
  const keyOf = (channel, audience) => JSON.stringify([channel ?? null, audience]);

  function check(audience, channel) {
    if (typeof audience !== "string" || audience === "") throw new TypeError("subscribe: audience must be a non-empty string");
    if (channel !== undefined && (typeof channel !== "string" || channel === "")) throw new TypeError("subscribe: channel must be a non-empty string when given");
  }

  return {
    // The topic, made if new, and a promise of its next answer.
    want(audience, channel) {
      check(audience, channel);
      const key = keyOf(channel, audience);
      let topic = wanted.get(key);
      if (topic === undefined) {
        topic = { key, audience, asked: channel, channel: undefined, seq: undefined, stream: undefined, waiters: [] };
        wanted.set(key, topic);
      }
      const answered = new Promise((resolve, reject) => topic.waiters.push({ resolve, reject }));
      return { topic, answered };
    },
    // Forgets the topic; its pending subscriptions are rejected.
    drop(audience, channel) {
      check(audience, channel);
      const key = keyOf(channel, audience);
      const topic = wanted.get(key);
      wanted.delete(key);
      for (const waiter of topic?.waiters ?? []) waiter.reject(Object.assign(new Error("unsubscribed"), { reason: "unsubscribed" }));
    },
    all() {
      return [...wanted.values()];
    },
    // What a subscription asks: where the topic was left off, once known.
    request(topic) {
      const request = { audience: topic.audience };
      if (topic.asked !== undefined) request.channel = topic.asked;
      if (topic.stream !== undefined) Object.assign(request, { seq: topic.seq, stream: topic.stream });
      return request;
    },
    // The topic whose messages these are, if one; before its first answer it is matched by the channel asked for.
    receiving(channel, audience) {
      for (const topic of wanted.values()) {
        if (topic.audience === audience && (topic.channel ?? topic.asked ?? channel) === channel) return topic;
      }
      return undefined;
    },
    subscribed(topic, { channel, audience, seq, stream }) {
      if (wanted.get(topic.key) !== topic) return;
      topic.channel = channel;
      // On the same stream the messages keep the place: SignalR writes a call's result when it returns, so live or
      // replayed messages may come before or after the answer, and taking its later number would drop the replay.
      if (topic.stream !== stream || topic.seq === undefined) topic.seq = seq;
      topic.stream = stream;
      const waiters = topic.waiters.splice(0);
      for (const waiter of waiters) waiter.resolve({ channel, audience, seq, stream });
    },
    refused(topic, reason) {
      if (wanted.get(topic.key) !== topic) return;
      wanted.delete(topic.key);
      const waiters = topic.waiters.splice(0);
      if (waiters.length === 0) onTopicRefused({ audience: topic.audience, channel: topic.channel ?? topic.asked }, reason);
      for (const waiter of waiters) waiter.reject(Object.assign(new Error(`subscribe refused: ${reason}`), { reason }));
    },
  };
}

// The reason of a refused hub call: the server's HubException message, after the words SignalR puts before it.
function refusalOf(error) {
  const match = /HubException: (\w+)$/.exec(String(error?.message ?? ""));
  return match?.[1];
}

function connectSignalR(signalR, hubUrl, accessToken, position, topics, onStatus, retry) {
  // hubUrl is absolute, because the baseUrl setter below takes the URL as it is, where withUrl() resolves it.
  const connection = new signalR.HubConnectionBuilder()
    // SignalR calls the factory on every start and reconnect: for negotiate (as a bearer header) and again for the
    // socket (the access_token parameter in browsers, a header in Node).
    .withUrl(hubUrl.href, accessToken === undefined ? {} : { accessTokenFactory: accessToken })
    // A policy that never returns null never gives up; the default one stops after four attempts.
    .withAutomaticReconnect({ nextRetryDelayInMilliseconds: () => retry.next() })
    .configureLogging(signalR.LogLevel.Warning)
    .build();
  let closed = false;
  let everConnected = false;
  let resuming = false;

  // SignalR allows a new URL while the connection is disconnected or reconnecting, and every attempt until
  // the next connection uses it: nothing is received meanwhile, so the position cannot move on. The hub sends
  // its position notice only to clients that pass `resume`, so until there is a position it is passed empty.
  function carryPosition() {
    const resume = position.resume();
    const target = new URL(hubUrl);
    target.searchParams.set("resume", resume ?? "");
    connection.baseUrl = target.href;
    resuming = resume !== undefined;
  }

  function connected() {
    retry.connected();
    onStatus("connected", {});
    if (everConnected && !resuming) position.reconnectedWithoutPosition();
    everConnected = true;
    for (const topic of topics.all()) subscribe(topic);
  }

  // A call lost with its connection is made again on the next one; only the server's refusal ends a topic.
  function subscribe(topic) {
    connection.invoke("subscribe", topics.request(topic)).then(
      answer => topics.subscribed(topic, answer),
      error => {
        const reason = refusalOf(error);
        if (reason !== undefined) topics.refused(topic, reason);
      });
  }

  connection.on("notify", envelope => position.envelope(envelope));
  connection.on("resync", notice => position.resync(notice));
  connection.on("position", notice => position.position(notice));
  connection.onreconnecting(error => {
    carryPosition();
    onStatus("reconnecting", { error });
  });
  connection.onreconnected(connected);
  // Automatic reconnect only covers a connection that was up and broke. onclose still fires when the
  // server ends the connection without allowing a reconnect: start over, as after a failed start.
  connection.onclose(error => {
    if (!closed) retry.later(error, start);
  });

  // A start() that fails is not retried by automatic reconnect at all: it rejects once, and the
  // connection stays down. So failed starts are retried here, with the same delays.
  async function start() {
    carryPosition();
    try {
      await connection.start();
    } catch (error) {
      if (!closed) retry.later(error, start);
      return;
    }
    connected();
  }

  onStatus("connecting", {});
  start();

  return {
    async close() {
      closed = true;
      retry.cancel();
      await connection.stop();
      onStatus("disconnected", {});
    },
    subscribe(audience, { channel } = {}) {
      const { topic, answered } = topics.want(audience, channel);
      if (connection.state === "Connected") subscribe(topic);
      return answered;
    },
    async unsubscribe(audience, { channel } = {}) {
      topics.drop(audience, channel);
      if (connection.state !== "Connected") return;
      const request = channel === undefined ? { audience } : { audience, channel };
      try {
        await connection.invoke("unsubscribe", request);
      } catch (error) {
        const reason = refusalOf(error);
        // Lost with the connection: the next one does not ask for the topic, so it is left all the same.
        if (reason !== undefined) throw Object.assign(new Error(`unsubscribe refused: ${reason}`), { reason });
      }
    },
  };
}

// A fresh token for every attempt of the transports that send it in the query: the last one may have expired (close
// 4001, or 401 on the browser's own reconnect of an EventSource) or been refused (401). Undefined when the attempt is
// off: the factory failed (and the attempt is retried after the usual delay) or close() was called meanwhile.
async function tokenForAttempt(accessToken, retry, attempt, isClosed) {
  let token;
  try {
    token = await accessToken?.();
  } catch (error) {
    if (!isClosed()) retry.later(error, attempt);
    return undefined;
  }
  return isClosed() ? undefined : { token };
}

function connectWebSocket(WebSocket, target, accessToken, position, topics, onStatus, retry) {
  // new WebSocket() wants ws: or wss:; accept the page-relative and http(s) URLs people also pass.
  if (target.protocol === "http:") target.protocol = "ws:";
  if (target.protocol === "https:") target.protocol = "wss:";
  if (target.protocol !== "ws:" && target.protocol !== "wss:") {
    throw new TypeError(`connect: url must be ws(s): or http(s): for transport "websocket", not ${JSON.stringify(target.protocol)}`);
  }

  let socket;
  let closed = false;
  let everConnected = false;
  // The requests of the open socket not answered yet, in the order sent: the server answers them in that order.
  let pending = [];

  function send(request, answered) {
    pending.push(answered);
    socket.send(JSON.stringify(request));
  }

  // A request lost with its socket is made again on the next one; only the server's refusal ends a topic.
  function subscribe(topic) {
    send({ type: "subscribe", ...topics.request(topic) }, answer => {
      if (answer.type === "refused") topics.refused(topic, answer.reason);
      else if (answer.type === "subscribed") topics.subscribed(topic, answer);
    });
  }

  const isOpen = () => socket !== undefined && socket.readyState === 1;

  async function open() {
    const granted = await tokenForAttempt(accessToken, retry, open, () => closed);
    if (granted === undefined) return;
    const { token } = granted;

    const resume = position.resume();
    const attempt = new URL(target);
    if (resume !== undefined) attempt.searchParams.set("resume", resume);
    // Browsers cannot set headers on a WebSocket, so the token goes in the query string, as SignalR sends it.
    if (token) attempt.searchParams.set("access_token", token);
    try {
      socket = new WebSocket(attempt.href, SEQUENCED_SUBPROTOCOL);
    } catch (error) {
      retry.later(error, open);
      return;
    }
    socket.addEventListener("open", () => {
      retry.connected();
      onStatus("connected", {});
      if (everConnected && resume === undefined) position.reconnectedWithoutPosition();
      everConnected = true;
      for (const topic of topics.all()) subscribe(topic);
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
      else if (frame.type === "position") position.position(frame);
      else if (frame.type === "subscribed" || frame.type === "unsubscribed" || frame.type === "refused") pending.shift()?.(frame);
      else if (frame.type === undefined) position.envelope(frame);
    });
    // "close" follows every failure (a network error, a refused handshake, an expired token, the server going
    // away), so reconnecting here covers them all. Listening to "error" as well keeps runtimes that throw unheard
    // errors (the ws package in Node) from ending the process.
    socket.addEventListener("error", () => {});
    socket.addEventListener("close", event => {
      const lost = pending;
      pending = [];
      for (const answered of lost) answered({ type: "lost" });
      if (!closed) retry.later({ code: event.code, reason: event.reason }, open);
    });
  }

  onStatus("connecting", {});
  open();

  return {
    async close() {
      closed = true;
      retry.cancel();
      socket?.close(1000);
      onStatus("disconnected", {});
    },
    subscribe(audience, { channel } = {}) {
      const { topic, answered } = topics.want(audience, channel);
      if (isOpen()) subscribe(topic);
      return answered;
    },
    unsubscribe(audience, { channel } = {}) {
      topics.drop(audience, channel);
      // Not open: the next socket does not ask for the topic, so it is left all the same.
      if (!isOpen()) return Promise.resolve();
      return new Promise((resolve, reject) => send(
        channel === undefined ? { type: "unsubscribe", audience } : { type: "unsubscribe", audience, channel },
        // Lost with the socket: the next one does not ask for the topic, so it is left all the same.
        answer => answer.type === "refused"
          ? reject(Object.assign(new Error(`unsubscribe refused: ${answer.reason}`), { reason: answer.reason }))
          : resolve()));
    },
  };
}

// A message handler for connect's onMessage that passes each change of one table's row-change feed
// (pgnotifyhub.publish_changes) to handler(change, envelope), in the message's order, and lets every other message
// by. Built on the message callback alone, so it works on every transport.
export function onRowChange(table, handler) {
  if (typeof table !== "string" || table === "") {
    throw new TypeError("onRowChange: table is required: \"schema.table\", or the name alone for the schema public");
  }
  if (typeof handler !== "function") throw new TypeError("onRowChange: handler must be a function");
  return envelope => {
    const payload = envelope?.payload;
    if (!isRowChanges(payload) || !isNamed(table, payload.schema, payload.table)) return;
    const { schema, table: name, at } = payload;
    for (const change of payload.changes) {
      handler({ schema, table: name, at, op: change.op, key: change.key, new: change.new, old: change.old, tooLarge: change.too_large === true }, envelope);
    }
  };
}

// The payload publish_changes sends: {"schema","table","at","changes":[{"op","key","new","old"}, …]}.
function isRowChanges(payload) {
  return typeof payload?.schema === "string" && typeof payload.table === "string" && typeof payload.at === "string"
    && Array.isArray(payload.changes);
}

// "schema.table", or the name alone for the schema public, where PostgreSQL creates tables unless told otherwise.
function isNamed(table, schema, name) {
  return table === `${schema}.${name}` || (schema === "public" && table === name);
}

function connectEventSource(EventSource, target, accessToken, streamTopics, position, onStatus, retry) {
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new TypeError(`connect: url must be http(s): for transport "sse", not ${JSON.stringify(target.protocol)}`);
  }

  let source;
  let closed = false;
  let everConnected = false;
  // The id of the last event: the server makes it the connection's position, which is what the browser sends back as
  // Last-Event-ID when it reconnects by itself. Empty until the first event that has one.
  let lastEventId = "";

  async function open() {
    const granted = await tokenForAttempt(accessToken, retry, open, () => closed);
    if (granted === undefined) return;
    const { token } = granted;

    // A new EventSource starts without a Last-Event-ID, so it names the last id in the query instead; the ones the
    // browser reconnects by itself send the header, which the server prefers to the query they still carry.
    const attempt = new URL(target);
    for (const topic of streamTopics) attempt.searchParams.append("topic", topic);
    if (lastEventId !== "") attempt.searchParams.set("lastEventId", lastEventId);
    // EventSource cannot set headers, so the token goes in the query string, as for "websocket".
    if (token) attempt.searchParams.set("access_token", token);
    const resumed = lastEventId !== "";
    try {
      source = new EventSource(attempt.href, { withCredentials: false });
    } catch (error) {
      retry.later(error, open);
      return;
    }
    let reconnectedByBrowser = false;
    source.addEventListener("open", () => {
      retry.connected();
      onStatus("connected", {});
      if (everConnected && !(reconnectedByBrowser ? lastEventId !== "" : resumed)) position.reconnectedWithoutPosition();
      everConnected = true;
    });
    const track = event => {
      if (event.lastEventId !== "") lastEventId = event.lastEventId;
    };
    source.addEventListener("message", event => {
      track(event);
      let envelope;
      try {
        envelope = JSON.parse(event.data);
      } catch (error) {
        console.warn("pgnotifyhub: ignored an event that is not JSON", error, event.data);
        return;
      }
      position.envelope(envelope);
    });
    source.addEventListener("resync", event => {
      track(event);
      position.resync(JSON.parse(event.data));
    });
    source.addEventListener("position", event => {
      track(event);
      position.position(JSON.parse(event.data));
    });
    source.addEventListener("error", () => {
      if (closed) return;
      // CONNECTING: the stream broke and the browser reconnects by itself, after the server's retry delay, sending
      // Last-Event-ID. CLOSED: it gave up (a refusal: 401 once the token expired, 403, 503), so a new EventSource
      // with a fresh token takes over after the usual delay.
      if (source.readyState === EventSource.CLOSED) {
        retry.later(undefined, open);
      } else {
        reconnectedByBrowser = true;
        onStatus("reconnecting", {});
      }
    });
  }

  onStatus("connecting", {});
  open();

  return {
    async close() {
      closed = true;
      retry.cancel();
      source?.close();
      onStatus("disconnected", {});
    },
    subscribe: streamTopicsOnly,
    unsubscribe: streamTopicsOnly,
  };
}

// A stream sends the server nothing once open, so its topics are those it connected with.
async function streamTopicsOnly() {
  throw new Error("pgnotifyhub: an \"sse\" connection's topics are the topics option of connect(); it cannot subscribe or unsubscribe once open");
}

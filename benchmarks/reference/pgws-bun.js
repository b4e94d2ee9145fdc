// A minimal pgws-protocol bridge on Bun, the reference the load benchmark measures PgNotifyHub against: one LISTEN,
// `audience,{json}` parsed, and each message published once to the WebSocket topic of its audience as pgws's envelope
// {"payload":…,"channel":…,"id":…}. No authentication, sequencing, queues or limits: the least a bridge can do.
//   PORT=8090 DATABASE_URL=postgres://… CHANNEL=pgws AUDIENCE=default bun pgws-bun.js
import { SQL } from "bun";

const channel = process.env.CHANNEL ?? "pgws";
const defaultAudience = process.env.AUDIENCE ?? "default";
const sql = new SQL(process.env.DATABASE_URL);
let listening = false;

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 8090),
  fetch(request, server) {
    const url = new URL(request.url);
    if (url.pathname === "/readyz") return new Response(listening ? "Healthy" : "Unhealthy", { status: listening ? 200 : 503 });
    if (url.pathname !== "/ws") return new Response("not found", { status: 404 });
    const audience = url.searchParams.get("audience") ?? defaultAudience;
    return server.upgrade(request, { data: { audience } }) ? undefined : new Response("WebSocket only", { status: 400 });
  },
  websocket: {
    open(ws) { ws.subscribe(ws.data.audience); },
    message() {},   // pgws ignores what clients send
  },
});

await sql.listen(channel, (text) => {
  const comma = text.indexOf(",");
  if (comma <= 0) return;
  const payload = text.slice(comma + 1);
  // pgws forwards the payload verbatim once it is a JSON object.
  try { const value = JSON.parse(payload); if (value === null || typeof value !== "object" || Array.isArray(value)) return; } catch { return; }
  server.publish(text.slice(0, comma), `{"payload":${payload},"channel":${JSON.stringify(channel)},"id":"${crypto.randomUUID()}"}`);
}, () => { listening = true; });

console.log(`pgws-bun listening on ${server.url} for channel ${channel}`);

// Compiled by types-check-with-tsc.test.mjs without the DOM's types, as a Node project is: the raw transport with the
// ws package, and no @microsoft/signalr.
import { WebSocket } from "ws";
import { connect, type Envelope } from "pgnotifyhub";

const connection = connect<{ order: number }>({
  url: "http://127.0.0.1:8080/ws",
  transport: "websocket",
  WebSocket,
  accessToken: async () => "token",
  onMessage: (envelope: Envelope<{ order: number }>) => console.log(envelope.payload.order),
});
void connection.close();

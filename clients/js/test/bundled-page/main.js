// An application's page, bundled by esbuild from the packed package (BundledPackageTests): both transports, each with
// a token from window.mintToken(transport), which the test provides and counts. The page only records; the test reads
// the DOM.
import * as signalR from "@microsoft/signalr";
import { connect } from "pgnotifyhub";

for (const transport of ["signalr", "websocket"]) {
  const status = document.getElementById(`${transport}-status`);
  const connects = document.getElementById(`${transport}-connects`);
  const closes = document.getElementById(`${transport}-closes`);
  const list = document.getElementById(`${transport}-messages`);
  connect({
    url: transport === "signalr" ? "/hub" : "/ws",
    transport,
    signalR,
    accessToken: () => window.mintToken(transport),
    minDelayMs: 200,
    maxDelayMs: 2000,
    onStatus(state, { error }) {
      status.dataset.state = state;
      status.textContent = state;
      if (state === "connected") connects.textContent = String(Number(connects.textContent) + 1);
      if (error?.code !== undefined) closes.textContent += `${error.code} `;
    },
    onMessage(envelope) {
      const item = document.createElement("li");
      item.dataset.seq = String(envelope.seq);
      item.textContent = JSON.stringify(envelope.payload);
      list.append(item);
    },
    onResync(reason) {
      const item = document.createElement("li");
      item.dataset.resync = reason;
      list.append(item);
    },
  });
}

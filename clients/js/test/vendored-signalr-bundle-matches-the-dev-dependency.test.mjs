// The demo page loads clients/browser/lib/signalr/signalr.min.js, kept in the repository so that the server and its
// tests never need npm; `npm run vendor-signalr` copies it from the version this package is tested with.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

test("clients/browser/lib/signalr/signalr.min.js is the browser bundle of the @microsoft/signalr devDependency", async () => {
  const manifest = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
  const installed = JSON.parse(await readFile(new URL("../node_modules/@microsoft/signalr/package.json", import.meta.url), "utf8"));
  const vendored = await readFile(new URL("../../browser/lib/signalr/signalr.min.js", import.meta.url));
  const bundle = await readFile(new URL("../node_modules/@microsoft/signalr/dist/browser/signalr.min.js", import.meta.url));

  assert.equal(installed.version, manifest.devDependencies["@microsoft/signalr"]);
  assert.ok(vendored.equals(bundle), `run \`npm run vendor-signalr\` in clients/js to vendor @microsoft/signalr ${installed.version}`);
  const notice = await readFile(new URL("../../browser/lib/signalr/LICENSE.txt", import.meta.url), "utf8");
  assert.match(notice, new RegExp(`@microsoft/signalr ${installed.version.replaceAll(".", "\\.")} `));
});

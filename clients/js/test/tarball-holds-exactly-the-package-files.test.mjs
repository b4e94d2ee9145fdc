// What `npm publish` would upload: the module, its types, the README and the licence, nothing else.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { promisify } from "node:util";

const packageDirectory = fileURLToPath(new URL("..", import.meta.url));

test("npm pack holds exactly package.json, README.md, LICENSE, pgnotifyhub.js and pgnotifyhub.d.ts", async () => {
  const { stdout } = await promisify(execFile)("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: packageDirectory });
  const [tarball] = JSON.parse(stdout);
  const manifest = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));

  assert.equal(tarball.name, "pgnotifyhub");
  assert.equal(tarball.version, manifest.version);
  assert.deepEqual(tarball.files.map(file => file.path).sort(), ["LICENSE", "README.md", "package.json", "pgnotifyhub.d.ts", "pgnotifyhub.js"]);
});

test("package.json points every entry at a file of the tarball", async () => {
  const manifest = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));

  assert.deepEqual(manifest.exports["."], { types: "./pgnotifyhub.d.ts", default: "./pgnotifyhub.js" });
  assert.equal(manifest.types, "./pgnotifyhub.d.ts");
  assert.equal(manifest.type, "module");
  assert.equal(manifest.sideEffects, false);
  assert.equal(manifest.peerDependenciesMeta["@microsoft/signalr"].optional, true);
  assert.deepEqual(Object.keys(manifest.dependencies ?? {}), [], "the package has no dependencies of its own");
});

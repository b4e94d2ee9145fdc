// pgnotifyhub.d.ts describes pgnotifyhub.js: a TypeScript file that imports the package by its name, as an application
// does, and uses every option and callback, must compile; misuses marked @ts-expect-error must not.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { promisify } from "node:util";

const packageDirectory = fileURLToPath(new URL("..", import.meta.url));

async function tsc(project) {
  const compiler = fileURLToPath(new URL("../node_modules/.bin/tsc", import.meta.url));
  try {
    await promisify(execFile)(compiler, ["--noEmit", "-p", project], { cwd: packageDirectory });
  } catch (error) {
    assert.fail(`tsc -p ${project} failed (${error.code}):\n${error.stdout}${error.stderr}`);
  }
}

test("tsc --noEmit accepts the usage file against pgnotifyhub.d.ts", () => tsc("test/types/tsconfig.json"));

test("the types need neither the DOM's types nor @microsoft/signalr's", async () => {
  await tsc("test/types/tsconfig.node.json");
  // @microsoft/signalr is an optional peer: a project without it must still compile, so the types describe the part
  // of it they use instead of importing it.
  const types = await readFile(new URL("../pgnotifyhub.d.ts", import.meta.url), "utf8");
  const code = types.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  assert.doesNotMatch(code, /@microsoft\/signalr/);
});

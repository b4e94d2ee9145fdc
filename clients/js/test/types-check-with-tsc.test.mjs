// pgnotifyhub.d.ts describes pgnotifyhub.js: a TypeScript file that imports the package by its name, as an application
// does, and uses every option and callback, must compile; misuses marked @ts-expect-error must not.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { promisify } from "node:util";

const packageDirectory = fileURLToPath(new URL("..", import.meta.url));

test("tsc --noEmit accepts the usage file against pgnotifyhub.d.ts", async () => {
  const tsc = fileURLToPath(new URL("../node_modules/.bin/tsc", import.meta.url));
  try {
    await promisify(execFile)(tsc, ["--noEmit", "-p", "test/types"], { cwd: packageDirectory });
  } catch (error) {
    assert.fail(`tsc failed (${error.code}):\n${error.stdout}${error.stderr}`);
  }
});

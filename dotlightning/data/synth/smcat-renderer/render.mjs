// Render smcat programs to DOT with the pinned state-machine-cat (see package.json), many per process.
//   stdin : JSON lines, each {"src": "<smcat program>"}  (a bare JSON string is accepted too)
//   stdout: one JSON line per input line, in order: {"dot": "..."} or {"error": "..."}
// Used by scripts/smcat_render.py for render-cache misses only. Install: cd scripts/smcat && npm ci
import { createInterface } from "node:readline";
import { render, version } from "state-machine-cat";

if (process.argv.includes("--version")) {
  process.stdout.write(`${version}\n`);
  process.exit(0);
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let out;
  try {
    const req = JSON.parse(line);
    const src = typeof req === "string" ? req : req.src;
    out = { dot: await render(src, { outputType: "dot" }) };
  } catch (err) {
    out = { error: String(err && err.message ? err.message : err).split("\n")[0] };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

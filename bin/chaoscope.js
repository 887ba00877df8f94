#!/usr/bin/env node
// A plain-JS shim so that an old Node fails with one clear line instead of a syntax error in the
// TypeScript it cannot run (Node ≥ 22.18 strips types natively).
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `chaoscope needs Node 22.18 or newer, but this is Node ${process.versions.node}; ` +
      "run it through npm/npx (npx chaoscope …, npm start) so the project's Node 22 is used\n",
  );
  process.exit(1);
}
await import('../electron/control/cli/main.ts');

// Runs before the app's modules: zod must not probe `new Function` (the CSP forbids eval, and the
// probe alone is reported as a violation), so it is told to parse without compiling, up front.
globalThis.__zod_globalConfig = Object.assign(globalThis.__zod_globalConfig || {}, { jitless: true });

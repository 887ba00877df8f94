/**
 * Module hooks that make `import 'electron'` load the STAND-IN (electron-stand-in-module.ts), so
 * the real bundle can run under plain Node: `node --import ./test/support/electron-stand-in-register.ts
 * electron/dist/main.mjs`.
 */
interface ResolveResult {
  url: string;
  shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context: unknown) => Promise<ResolveResult>;

const STAND_IN = new URL('./electron-stand-in-module.ts', import.meta.url).href;

export async function resolve(
  specifier: string,
  context: unknown,
  next: NextResolve,
): Promise<ResolveResult> {
  if (specifier === 'electron') return { url: STAND_IN, shortCircuit: true };
  return next(specifier, context);
}

/**
 * The part of the Reflect metadata API that @peculiar/x509's dependency injection (tsyringe)
 * insists on at load time: defineMetadata, getOwnMetadata, getMetadata. A few lines here instead
 * of a polyfill package; installed only when nothing else provides it. Imported before x509.
 */
type Target = object;
const store = new WeakMap<Target, Map<string | symbol | undefined, Map<unknown, unknown>>>();

function table(target: Target, property: string | symbol | undefined, create: boolean) {
  let byProperty = store.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map<string | symbol | undefined, Map<unknown, unknown>>();
    store.set(target, byProperty);
  }
  let entries = byProperty.get(property);
  if (!entries && create) byProperty.set(property, (entries = new Map()));
  return entries;
}

const api = {
  defineMetadata(key: unknown, value: unknown, target: Target, property?: string | symbol): void {
    table(target, property, true)!.set(key, value);
  },
  getOwnMetadata(key: unknown, target: Target, property?: string | symbol): unknown {
    return table(target, property, false)?.get(key);
  },
  getMetadata(key: unknown, target: Target, property?: string | symbol): unknown {
    for (let t: Target | null = target; t; t = Object.getPrototypeOf(t) as Target | null) {
      const entries = table(t, property, false);
      if (entries?.has(key)) return entries.get(key);
    }
    return undefined;
  },
};

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect.getMetadata !== 'function') {
  for (const [name, fn] of Object.entries(api)) reflect[name] = fn;
}

/**
 * One colour per service, the same in every view (waterfall, scatter, metrics), so a service is
 * recognised by colour alone. Known services get hand-picked hues that stay apart in both themes;
 * any other name hashes onto the same ring.
 */
const KNOWN: Record<string, number> = {
  gateway: 210,
  registry: 45,
  auth: 280,
  users: 150,
  tweets: 190,
  timeline: 25,
  realtime: 320,
  loadgen: 95,
};

function hueOf(service: string): number {
  const known = KNOWN[service];
  if (known !== undefined) return known;
  let h = 0;
  for (let i = 0; i < service.length; i++) h = (h * 31 + service.charCodeAt(i)) >>> 0;
  return h % 360;
}

/** The service's bar colour (works on dark and light backgrounds). */
export function serviceColor(service: string): string {
  return `hsl(${hueOf(service)} 62% 56%)`;
}

/** A muted variant for backgrounds and chips. */
export function serviceTint(service: string): string {
  return `hsl(${hueOf(service)} 60% 50% / 0.18)`;
}

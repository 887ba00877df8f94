import type { Attributes } from '../model/telemetry.ts';
import type { AttributeLimiter } from './attributes.ts';
import type { WireResource } from './otlp-wire.ts';

/** What the OpenTelemetry SDKs report when a service was given no name. */
export const UNKNOWN_SERVICE = 'unknown_service';

export interface MappedResource {
  readonly service: string;
  readonly instance: string | null;
  readonly attributes: Attributes;
}

/** One resource is shared by every span/point/record under it, so it is mapped once. */
export function mapResource(
  resource: WireResource | null | undefined,
  limiter: AttributeLimiter,
): MappedResource {
  const attributes = limiter.attributes(resource?.attributes);
  const name = attributes['service.name'];
  const instance = attributes['service.instance.id'];
  return {
    service: typeof name === 'string' && name !== '' ? name : UNKNOWN_SERVICE,
    instance: typeof instance === 'string' && instance !== '' ? instance : null,
    attributes,
  };
}

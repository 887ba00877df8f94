/**
 * The bootstrap credential of an instance: an HMAC of its service name under the cluster's
 * enrollment secret, computed by the runtime at `up` and checked by the auth service (the CA's
 * signing service). It lets an instance obtain certificates for its own service and no other;
 * the secret itself reaches the auth service only.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function enrollmentToken(secret: string, clusterId: string, service: string): string {
  return createHmac('sha256', secret)
    .update(`chaoscope-enroll\0${clusterId}\0${service}`)
    .digest('base64url');
}

export function checkEnrollmentToken(
  secret: string,
  clusterId: string,
  service: string,
  presented: string,
): boolean {
  const expected = Buffer.from(enrollmentToken(secret, clusterId, service));
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

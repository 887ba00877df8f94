/**
 * The cluster's X.509 operations (@peculiar/x509 over WebCrypto): the CA, service certificates
 * with a SPIFFE URI SAN, keys as PEM for Node's TLS. Shared by the runtime (which makes the CA at
 * `up`) and the auth service (which signs certificates for enrolled instances).
 */
import { randomBytes, webcrypto } from 'node:crypto';
import './reflect-metadata.ts';
import * as x509 from '@peculiar/x509';
import { normalizeSerial, spiffeId } from './identity.ts';

// Node's WebCrypto types (the services compile without the DOM library).
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type JsonWebKey = webcrypto.JsonWebKey;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const KEY_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** Issued certificates start a little in the past: peers' clocks are never exactly ours. */
const BACKDATE_MS = 60_000;

export interface CaMaterial {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface LoadedCa {
  readonly cert: x509.X509Certificate;
  readonly key: CryptoKey;
  readonly certPem: string;
}

export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(KEY_ALG, true, ['sign', 'verify']);
}

export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importPrivateKeyPem(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey('pkcs8', der, KEY_ALG, true, ['sign']);
}

/** 16 random bytes, positive, never with a leading zero nibble, so every printer agrees on it. */
function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x10;
  return bytes.toString('hex');
}

export async function createCa(clusterId: string, lifetimeDays = 3650): Promise<CaMaterial> {
  const keys = await generateKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: `CN=Chaoscope cluster CA ${clusterId}, O=Chaoscope`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + lifetimeDays * 86_400_000),
    keys,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

export async function loadCa(material: CaMaterial): Promise<LoadedCa> {
  return {
    cert: new x509.X509Certificate(material.certPem),
    key: await importPrivateKeyPem(material.keyPem),
    certPem: material.certPem,
  };
}

export interface IssuedCertificate {
  readonly pem: string;
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * A leaf certificate for one instance of a service: SAN `spiffe://chaoscope/<service>`, usable as
 * both TLS server and client. `notAfter` may be in the past (tests make expired certificates).
 */
export async function issueServiceCertificate(
  ca: LoadedCa,
  request: {
    service: string;
    instanceId: string;
    publicKey: CryptoKey;
    notAfter: Date;
    notBefore?: Date;
  },
): Promise<IssuedCertificate> {
  const serial = newSerial();
  const notBefore = request.notBefore ?? new Date(Date.now() - BACKDATE_MS);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${request.instanceId}, OU=${request.service}, O=Chaoscope`,
    issuer: ca.cert.subject,
    notBefore,
    notAfter: request.notAfter,
    publicKey: request.publicKey,
    signingKey: ca.key,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId(request.service) }], true),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
    ],
  });
  return {
    pem: cert.toString('pem'),
    serial: normalizeSerial(serial),
    notBefore,
    notAfter: request.notAfter,
  };
}

/** What a certificate says about itself (for listings and checks). */
export function describeCertificate(pem: string): {
  serial: string;
  notBefore: Date;
  notAfter: Date;
  uris: string[];
} {
  const cert = new x509.X509Certificate(pem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const uris = san ? san.names.items.filter((n) => n.type === 'url').map((n) => n.value) : [];
  return {
    serial: normalizeSerial(cert.serialNumber),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    uris,
  };
}

export async function importPublicJwk(jwk: JsonWebKey): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('jwk', jwk, KEY_ALG, true, ['verify']);
}

export async function exportPublicJwk(key: CryptoKey): Promise<JsonWebKey> {
  const { kty, crv, x, y } = await webcrypto.subtle.exportKey('jwk', key);
  return { kty, crv, x, y };
}

/**
 * The auth verbs of `chaoscope` (PRODUCT.md): `auth-mode`, `revoke`, `rotate-keys`, `certs`,
 * `cert`, and `auth status|tokens|grants|events|rotate-secret`. Each takes `--json`; a refused
 * input is one line on stderr and exit code 2.
 */
import { Command, InvalidArgumentError } from 'commander';
import {
  AUTH_MODES,
  TRUSTED_SERVICES,
  type AuthStatusInfo,
  type CertificateInfo,
} from '../../../api/auth-commands.ts';
import type { FaultRecordInfo } from '../../../api/chaos.ts';
import { UsageError, parseDuration } from '../args.ts';
import { table, type Painter } from '../output.ts';
import type { JsonOption, VerbGroup } from './tools.ts';

const positive = (what: string, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new InvalidArgumentError(`${what} must be a whole number from 1 to ${max}`);
  return n;
};
const holdOption = (value: string) => {
  try {
    return Math.max(1, Math.round(parseDuration(value) / 1000));
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
};

export const authVerbs: VerbGroup = (program, tools) => {
  const api = () => tools.api();
  const paint = () => tools.paint();
  const print = (options: JsonOption, value: unknown, human: () => string) =>
    tools.print(options, value, human);

  program
    .command('auth-mode')
    .description('switch the service-to-service auth mode of every service (mtls, jwt-secret or oauth)')
    .addArgument(new Command().createArgument('<mode>', 'the mode').choices([...AUTH_MODES]))
    .option('--json', 'print the result as JSON')
    .action(async (mode: (typeof AUTH_MODES)[number], options: JsonOption) => {
      const result = await (await api()).auth.mode({ mode });
      print(
        options,
        result,
        () => `auth mode ${result.auth.previousMode} → ${result.auth.mode}${faultNote(result.fault)}\n`,
      );
    });

  program
    .command('revoke')
    .description('revoke everything of a user, or one access token (by value, jti or grant)')
    .option('--user <handle>', 'every grant and token of this user')
    .option('--token <token>', 'one access token, by its value')
    .option('--jti <id>', 'one access token, by its id')
    .option('--grant <id>', 'one grant: its refresh tokens and access tokens')
    .option('--json', 'print the result as JSON')
    .action(async (options: JsonOption & { user?: string; token?: string; jti?: string; grant?: string }) => {
      const given = (['user', 'token', 'jti', 'grant'] as const).filter((k) => options[k] !== undefined);
      if (given.length !== 1)
        throw new UsageError('say what to revoke: exactly one of --user, --token, --jti or --grant');
      const key = given[0]!;
      const input = { [key]: options[key]! } as
        { user: string } | { token: string } | { jti: string } | { grant: string };
      const result = await (await api()).auth.revoke(input);
      const r = result.auth;
      print(options, result, () =>
        r.revoked === 'user'
          ? `revoked everything of ${r.user}: ${r.grants ?? '?'} grant(s), ${r.accessTokens ?? '?'} access token(s)${faultNote(result.fault)}\n`
          : r.revoked === 'grant'
            ? `revoked grant ${r.grant}\n`
            : `revoked access token ${r.jti}\n`,
      );
    });

  program
    .command('rotate-keys')
    .description('rotate the signing key of user tokens (the old key stays published while its tokens live)')
    .option('--json', 'print the result as JSON')
    .action(async (options: JsonOption) => {
      const result = await (await api()).auth.rotateKeys();
      print(
        options,
        result,
        () =>
          `new signing key ${result.auth.kid}; published: ${result.auth.published.join(', ')}${faultNote(result.fault)}\n`,
      );
    });

  program
    .command('certs')
    .description('service certificates with their expiry')
    .option('--service <name>', 'only this service')
    .option('--all', 'also the replaced, revoked and expired ones')
    .option('--json', 'print the certificates as JSON')
    .action(async (options: JsonOption & { service?: string; all?: boolean }) => {
      const status = await (await api()).auth.status();
      const certificates = status.certificates.filter(
        (c) => (!options.service || c.service === options.service) && (options.all === true || c.inUse),
      );
      print(options, { certificates }, () => certificatesText(certificates, paint()));
    });

  program
    .command('cert')
    .description("revoke or expire a service's certificates, or make it renew them now")
    .addArgument(new Command().createArgument('<service>', 'the service').choices([...TRUSTED_SERVICES]))
    .addArgument(
      new Command().createArgument('<action>', 'what to do').choices(['revoke', 'expire', 'renew']),
    )
    .option('--hold <duration>', 'with revoke: no new certificate for this long, e.g. 30s', holdOption)
    .option('--json', 'print the result as JSON')
    .action(
      async (
        service: (typeof TRUSTED_SERVICES)[number],
        action: 'revoke' | 'expire' | 'renew',
        options: JsonOption & { hold?: number },
      ) => {
        if (options.hold !== undefined && action !== 'revoke')
          throw new UsageError('--hold goes with revoke');
        const result = await (
          await api()
        ).auth.certificate({
          service,
          action,
          ...(options.hold !== undefined ? { holdSeconds: options.hold } : {}),
        });
        print(
          options,
          result,
          () =>
            `${service}: ${action === 'renew' ? 'renewed' : `${action}d`} ${result.auth.serials.join(', ') || 'nothing'}${faultNote(result.fault)}\n`,
        );
      },
    );

  const auth = program.command('auth').description('trust in the cluster: status, tokens, grants, events');

  auth
    .command('status')
    .description('mode, signing keys, certificates, revocation propagation and 401/403 counts')
    .option('--json', 'print the status as JSON')
    .action(async (options: JsonOption) => {
      const status = await (await api()).auth.status();
      print(options, status, () => statusText(status, paint()));
    });

  auth
    .command('tokens')
    .description('issued tokens by id, newest first (never their values)')
    .option('--user <handle>', 'only this user')
    .option('--limit <n>', 'at most this many (default 20)', positive('--limit', 1000), 20)
    .option('--json', 'print the tokens as JSON')
    .action(async (options: JsonOption & { user?: string; limit: number }) => {
      const result = await (
        await api()
      ).auth.tokens({ limit: options.limit, ...(options.user ? { user: options.user } : {}) });
      print(options, result, () =>
        result.tokens.length === 0
          ? 'no tokens\n'
          : table(
              ['JTI', 'KIND', 'USER', 'CLIENT', 'EXPIRES', 'STATE'],
              result.tokens.map((t) => [
                { text: t.jti },
                { text: t.kind },
                { text: t.accountId ?? '-' },
                { text: t.clientId },
                { text: new Date(t.exp * 1000).toISOString() },
                t.revoked
                  ? { text: 'revoked', style: 'red' as const }
                  : { text: 'live', style: 'green' as const },
              ]),
              paint(),
            ),
      );
    });

  auth
    .command('grants')
    .description('user grants (refresh token families)')
    .option('--user <handle>', 'only this user')
    .option('--json', 'print the grants as JSON')
    .action(async (options: JsonOption & { user?: string }) => {
      const result = await (await api()).auth.grants(options.user ? { user: options.user } : {});
      print(options, result, () =>
        result.grants.length === 0
          ? 'no grants\n'
          : table(
              ['GRANT', 'USER', 'CLIENT', 'SCOPES', 'REFRESH', 'ACCESS'],
              result.grants.map((g) => [
                { text: g.grantId },
                { text: g.accountId ?? '-' },
                { text: g.clientId ?? '-' },
                { text: g.scopes.join(' ') },
                { text: String(g.refreshTokens) },
                { text: String(g.accessTokens) },
              ]),
              paint(),
            ),
      );
    });

  auth
    .command('events')
    .description("auth's recent events, newest first")
    .option('--kind <kind>', 'only this kind (issued, refreshed, revoked, refused, keys-rotated, …)')
    .option('--limit <n>', 'at most this many (default 20)', positive('--limit', 1000), 20)
    .option('--json', 'print the events as JSON')
    .action(async (options: JsonOption & { kind?: string; limit: number }) => {
      const result = await (
        await api()
      ).auth.events({ limit: options.limit, ...(options.kind ? { kind: options.kind } : {}) });
      print(options, result, () =>
        result.events.length === 0
          ? 'no events\n'
          : result.events
              .map(
                (e) =>
                  `${e.at}  ${e.kind.padEnd(22)} ${Object.entries(e.attributes)
                    .map(([k, v]) => `${k}=${String(v)}`)
                    .join(' ')}\n`,
              )
              .join(''),
      );
    });

  auth
    .command('rotate-secret')
    .description('rotate the shared secret of the jwt-secret mode (the old one overlaps)')
    .option('--json', 'print the result as JSON')
    .action(async (options: JsonOption) => {
      const result = await (await api()).auth.rotateSecret();
      print(
        options,
        result,
        () => `new shared-secret version ${result.auth.kid}${faultNote(result.fault)}\n`,
      );
    });
};

function faultNote(fault: FaultRecordInfo | null): string {
  return fault ? ` (chaos ${fault.state}, ${fault.id})` : '';
}

function age(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function certificatesText(certificates: readonly CertificateInfo[], paint: Painter): string {
  if (certificates.length === 0) return 'no certificates\n';
  return table(
    ['SERVICE', 'INSTANCE', 'SERIAL', 'STATE', 'EXPIRES IN'],
    certificates.map((c) => [
      { text: c.service },
      { text: c.instanceId },
      { text: c.serial },
      { text: c.state, style: c.state === 'valid' ? ('green' as const) : ('red' as const) },
      { text: c.expiresInSeconds > 0 ? age(c.expiresInSeconds) : 'expired' },
    ]),
    paint,
  );
}

function statusText(s: AuthStatusInfo, paint: Painter): string {
  const lines: string[] = [];
  const label = (t: string) => paint('dim', t.padEnd(14));
  lines.push(
    `${label('mode')}${paint('bold', s.mode)}${s.previousMode ? ` (was ${s.previousMode}${s.modeChangedAt ? `, changed ${s.modeChangedAt}` : ''})` : ''}`,
  );
  lines.push(
    `${label('signing keys')}${s.signingKeys
      .map(
        (k) =>
          `${k.kid} (${k.current ? 'current, ' : k.retiredAt ? 'retired, ' : ''}${age(k.ageSeconds)} old)`,
      )
      .join(', ')}`,
  );
  lines.push(`${label('secrets')}${s.secrets.map((x) => x.kid).join(', ') || '-'}`);
  for (const r of s.revocation) {
    const lag = r.pushLagMs;
    lines.push(
      `${label('revocation')}${r.instanceId}: ${r.mode}, stream ${r.streamConnected ? 'connected' : paint('red', 'down')}, push lag ${
        lag.samples ? `p50 ${lag.p50} ms, p99 ${lag.p99} ms (${lag.samples} samples)` : 'not measured yet'
      }`,
    );
  }
  lines.push(
    `${label('refusals')}users: ${s.refusals.users.unauthorized} × 401, ${s.refusals.users.forbidden} × 403; service calls: ${s.refusals.services.total}`,
  );
  for (const u of s.unreachable) lines.push(`${label('unreachable')}${u.instanceId}: ${u.reason}`);
  lines.push('');
  lines.push(
    certificatesText(
      s.certificates.filter((c) => c.inUse),
      paint,
    ).trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Interaction, Provider } from 'oidc-provider';
import type { ProviderHolder } from './oidc-mount.ts';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AccountStore } from './accounts.ts';
import { API_SCOPES, OIDC_SCOPES } from './config.ts';
import { loginPage, messagePage, PAGE_HEADERS } from './pages.ts';
import { INTERACTION_PATH } from './provider.ts';

const uidParams = z.object({ uid: z.string().regex(/^[A-Za-z0-9_-]{10,64}$/) });
const loginForm = z.object({
  login: z.string().trim().max(64).default(''),
  password: z.string().max(1024).default(''),
});

const CLIENT_NAMES: Readonly<Record<string, string>> = { 'chaoscope-cli': 'Chaoscope' };
const EXPIRED =
  'This sign-in request has expired or was already completed. Go back to the application and sign in again.';

export interface InteractionOptions {
  /** The current provider (it is rebuilt when signing keys rotate). */
  readonly provider: ProviderHolder;
  readonly accounts: AccountStore;
  readonly apiResource: string;
  readonly log: Logger;
  /** A refused sign-in (an auth event). */
  readonly onRefused?: (reason: string) => void;
}

/**
 * The login step of the authorization flow. The chaoscope clients are first-party, so there is no
 * consent page: a correct password finishes both login and consent at once, granting the scopes
 * that were asked for. An existing browser session is not enough on its own: a native client's
 * redirect can be claimed by any local program (RFC 8252 §8.6), so the person signs in every time.
 *
 * A program logs in like a browser: keep the cookies of the authorization redirect and post
 * `login` and `password` to the interaction URL (with or without the trailing /login).
 */
export async function registerInteractionRoutes(
  app: FastifyInstance,
  options: InteractionOptions,
): Promise<void> {
  const { accounts, apiResource, log } = options;
  const current = () => options.provider.current;

  const show = async (request: FastifyRequest, reply: FastifyReply) => {
    const uid = interactionUid(request);
    const details = uid && (await findInteraction(current(), request, reply, uid));
    if (!uid || !details) return sendPage(reply, 400, messagePage('Sign-in expired', EXPIRED));
    return sendPage(
      reply,
      200,
      loginPage({ action: `${INTERACTION_PATH}/${uid}/login`, clientName: clientName(details) }),
    );
  };

  const login = async (request: FastifyRequest, reply: FastifyReply) => {
    const uid = interactionUid(request);
    const details = uid && (await findInteraction(current(), request, reply, uid));
    if (!uid || !details) return sendPage(reply, 400, messagePage('Sign-in expired', EXPIRED));
    const action = `${INTERACTION_PATH}/${uid}/login`;
    const form = loginForm.safeParse(request.body ?? {});
    if (!form.success || !form.data.login || !form.data.password) {
      return sendPage(
        reply,
        400,
        loginPage({ action, clientName: clientName(details), error: 'Enter your handle and your password.' }),
      );
    }
    const handle = form.data.login.toLowerCase();
    const account = await accounts.authenticate(handle, form.data.password);
    if (!account) {
      log.info({ interaction: uid }, 'login failed');
      options.onRefused?.('wrong handle or password');
      return sendPage(
        reply,
        401,
        loginPage({
          action,
          clientName: clientName(details),
          login: handle,
          error: 'Wrong handle or password.',
        }),
      );
    }
    const provider = current();
    const grantId = await grantRequested(provider, details, account.handle, apiResource);
    reply.hijack();
    reply.raw.setHeader('x-request-id', request.id);
    try {
      await provider.interactionFinished(
        request.raw,
        reply.raw,
        { login: { accountId: account.handle, amr: ['pwd'] }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
    } catch (error) {
      // Expired between the check above and now: answer like any other expired interaction.
      log.info({ err: error, interaction: uid }, 'interaction could not be finished');
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(400, PAGE_HEADERS);
        reply.raw.end(messagePage('Sign-in expired', EXPIRED));
      }
    }
  };

  await app.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: 8 * 1024 });
    scope.get(`${INTERACTION_PATH}/:uid`, show);
    scope.post(`${INTERACTION_PATH}/:uid`, login);
    scope.post(`${INTERACTION_PATH}/:uid/login`, login);
  });
}

function interactionUid(request: FastifyRequest): string | undefined {
  const result = uidParams.safeParse(request.params);
  return result.success ? result.data.uid : undefined;
}

/** The interaction this browser is in, if it is the one in the URL and has not expired. */
async function findInteraction(
  provider: Provider,
  request: FastifyRequest,
  reply: FastifyReply,
  uid: string,
): Promise<Interaction | undefined> {
  try {
    const details = await provider.interactionDetails(request.raw, reply.raw);
    return details.uid === uid ? details : undefined;
  } catch (error) {
    if ((error as { name?: string }).name === 'SessionNotFound') return undefined;
    throw error;
  }
}

/**
 * A grant for what the client asked: its OpenID scopes, and the API scopes on the API resource
 * (the default resource when the client named none). An existing grant of the same account and
 * client is extended rather than duplicated.
 */
async function grantRequested(
  provider: Provider,
  details: Interaction,
  accountId: string,
  apiResource: string,
): Promise<string> {
  const clientId = param(details, 'client_id');
  let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  if (!grant || grant.accountId !== accountId || grant.clientId !== clientId)
    grant = new provider.Grant({ accountId, clientId });

  const requested = new Set(param(details, 'scope').split(' ').filter(Boolean));
  const oidcScopes = OIDC_SCOPES.filter((s) => requested.has(s));
  if (oidcScopes.length > 0) grant.addOIDCScope(oidcScopes.join(' '));

  const apiScopes = API_SCOPES.filter((s) => requested.has(s));
  const resource = details.params.resource;
  const resources =
    resource === undefined
      ? [apiResource]
      : [resource].flat().filter((r): r is string => typeof r === 'string');
  if (apiScopes.length > 0 && resources.includes(apiResource))
    grant.addResourceScope(apiResource, apiScopes.join(' '));
  return grant.save();
}

function clientName(details: Interaction): string {
  const id = param(details, 'client_id');
  return CLIENT_NAMES[id] ?? id;
}

/** A single-valued authorization parameter the interaction was started with. */
function param(details: Interaction, name: string): string {
  const value = details.params[name];
  return typeof value === 'string' ? value : '';
}

function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.code(status).headers(PAGE_HEADERS).send(html);
}

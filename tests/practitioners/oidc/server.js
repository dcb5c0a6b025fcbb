// A real OpenID Connect provider that imitates Pro Santé Connect, for the portal's login tests.
//
//   node server.js --port 8765 [--client-id ID] [--client-secret SECRET] [--redirect-uri URI]...
//
// It is the certified `oidc-provider` package (8.x, runs on Node 20) behind a small HTTP layer
// that does what the package does not:
// - Pro Santé Connect serves its discovery document at issuer + /.well-known/wallet-openid-
//   configuration, not at the standard path (shared DOMAIN.md): the layer rewrites that path and
//   answers 404 on the standard one, so a client that asks the standard path fails as it would
//   against the real service;
// - the issuer has Keycloak's realm path (/auth/realms/esante-wallet), like the real one;
// - it records every authorization request, so that a test can check what the client sent
//   (GET /__test__/last-authorization);
// - accounts are registered at run time (POST /__test__/accounts, a JSON list of userinfo claim
//   sets, each with its own `sub`), so that each test states the practitioner it signs in;
// - the login interaction is finished without typing: GET /interaction/<uid> shows a page with
//   one button per account (what a headless browser clicks); POST (or GET) /interaction/<uid>/
//   login with `account=<sub>` signs that account in; POST /interaction/<uid>/abort with
//   `error=<code>` sends the end-user back with that error; consent is given automatically.
// Userinfo claims are shaped like Pro Santé Connect's (SubjectNameID, SubjectRefPro.exercices[]
// with their activities[], ...), granted by the custom scope `scope_all`. The login's `acr` is
// "eidas1" unless the account says otherwise (`_acr`, "" for none), and an account may give its
// userinfo another `sub` than its ID token's (`_userinfo_sub`): both to test the client's checks.
// Two clients: `<client-id>` gets a JSON userinfo, `<client-id>-jwt` a signed one.
// Everything is in memory and listens on 127.0.0.1 only. Test use only.

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: options } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'client-id': { type: 'string', default: 'portail-imagerie-test' },
    'client-secret': { type: 'string', default: 'secret-de-test-uniquement' },
    'redirect-uri': { type: 'string', multiple: true, default: [] },
  },
});

const HOST = '127.0.0.1';
const REALM_PATH = '/auth/realms/esante-wallet';
const WALLET_DISCOVERY = `${REALM_PATH}/.well-known/wallet-openid-configuration`;
const STANDARD_DISCOVERY = '/.well-known/openid-configuration';
const DEFAULT_ACR = 'eidas1';
const INTERACTION_PATH = /^\/interaction\/([^/]+)(?:\/(login|abort))?$/;
const PSC_CLAIMS = [
  'SubjectNameID',
  'given_name',
  'family_name',
  'preferred_username',
  'email',
  'email_verified',
  'SubjectRefPro',
  'SubjectOrganization',
  'SubjectOrganizationID',
  'SubjectRole',
  'Secteur_Activite',
  'Palier_Authentification',
  'PSI_Locale',
  'Mode_Acces_Raison',
  'Acces_Regulation_Medicale',
  'UITVersion',
  'otherIds',
];

const accounts = new Map();
const authorizations = [];

function addAccount(claims) {
  if (!claims || typeof claims.sub !== 'string' || !claims.sub) {
    throw new Error('every account needs a non-empty "sub"');
  }
  accounts.set(claims.sub, claims);
}

for (const claims of JSON.parse(readFileSync(new URL('./accounts.json', import.meta.url)))) {
  addAccount(claims);
}

function signingKeys() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: 'test-psc', use: 'sig', alg: 'RS256' }] };
}

function createProvider(issuer) {
  const clientId = options['client-id'];
  const client = {
    client_secret: options['client-secret'],
    redirect_uris: options['redirect-uri'],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  };
  const provider = new Provider(issuer, {
    clients: [
      { ...client, client_id: clientId },
      // The same client, but its userinfo comes back as a signed JWT (application/jwt).
      { ...client, client_id: `${clientId}-jwt`, userinfo_signed_response_alg: 'RS256' },
    ],
    jwks: signingKeys(),
    cookies: { keys: ['cle-de-test-uniquement'] },
    acrValues: [DEFAULT_ACR],
    scopes: ['openid', 'scope_all'],
    claims: { openid: ['sub'], scope_all: PSC_CLAIMS, acr: null, auth_time: null },
    features: {
      devInteractions: { enabled: false },
      jwtUserinfo: { enabled: true },
    },
    interactions: { url: (ctx, interaction) => `${REALM_PATH}/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const claims = accounts.get(sub);
      if (!claims) {
        return undefined;
      }
      return {
        accountId: sub,
        async claims(use) {
          // Names starting with "_" steer this test provider; they are not claims.
          const released = Object.fromEntries(
            Object.entries(claims).filter(([name]) => !name.startsWith('_')),
          );
          // A misbehaving provider, for the client's check that userinfo and ID token agree.
          if (use === 'userinfo' && claims._userinfo_sub) {
            released.sub = claims._userinfo_sub;
          }
          return released;
        },
      };
    },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      Grant: 600,
      IdToken: 600,
      Interaction: 600,
      Session: 600,
    },
    async renderError(ctx, out) {
      ctx.type = 'json';
      ctx.body = out;
    },
  });
  for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error']) {
    provider.on(event, (ctx, error) => {
      console.error(`${event}: ${error.message} ${error.error_description ?? ''}`);
    });
  }
  return provider;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'Content-Type': `${type}; charset=utf-8`, 'Cache-Control': 'no-store' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// The parameters of a form: its body when posted, its query string otherwise.
async function formParams(req) {
  if (req.method === 'POST') {
    return new URLSearchParams(await readBody(req));
  }
  return new URL(req.url, 'http://127.0.0.1').searchParams;
}

async function finishLogin(provider, req, res, sub) {
  const account = accounts.get(sub);
  if (!account) {
    send(res, 400, { error: 'unknown_account', sub });
    return;
  }
  const login = { accountId: sub, acr: account._acr ?? DEFAULT_ACR, amr: ['mfa'] };
  if (account._acr === '') {
    delete login.acr; // an ID token that states no authentication level
  }
  await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
}

async function giveConsent(provider, req, res, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) {
    grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  }
  if (prompt.details.missingOIDCClaims) {
    grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  }
  const consent = { grantId: await grant.save() };
  await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

function loginPage(uid) {
  const action = `${REALM_PATH}/interaction/${escapeHtml(uid)}`;
  const buttons = [...accounts.values()].map((claims) => {
    const label = `${claims.given_name ?? ''} ${claims.family_name ?? ''}`
      + ` (${claims.SubjectNameID ?? claims.sub})`;
    return `<li><form method="post" action="${action}/login">
      <input type="hidden" name="account" value="${escapeHtml(claims.sub)}">
      <button type="submit">${escapeHtml(label)}</button></form></li>`;
  }).join('');
  return `<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>Pro Santé Connect (test)</title></head>
<body><h1>Pro Santé Connect — fournisseur de test</h1><ul>${buttons}</ul>
<form method="post" action="${action}/abort">
<button type="submit" name="error" value="access_denied">Annuler</button></form></body></html>`;
}

async function interaction(provider, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    send(res, 400, { error: 'interaction_mismatch' });
    return;
  }
  if (action === 'abort') {
    const error = (await formParams(req)).get('error') || 'access_denied';
    const result = { error, error_description: 'Refusé par le fournisseur de test' };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    return;
  }
  if (action === 'login') {
    await finishLogin(provider, req, res, (await formParams(req)).get('account') ?? '');
    return;
  }
  if (details.prompt.name === 'consent') {
    await giveConsent(provider, req, res, details);
    return;
  }
  send(res, 200, loginPage(uid), 'text/html');
}

async function testControl(req, res, path) {
  if (path === '/__test__/accounts' && req.method === 'POST') {
    const body = JSON.parse(await readBody(req));
    for (const claims of Array.isArray(body) ? body : [body]) {
      addAccount(claims);
    }
    send(res, 201, { accounts: [...accounts.keys()] });
  } else if (path === '/__test__/last-authorization' && req.method === 'GET') {
    if (authorizations.length === 0) {
      send(res, 404, { error: 'no authorization request yet' });
    } else {
      send(res, 200, authorizations[authorizations.length - 1]);
    }
  } else {
    send(res, 404, { error: 'not_found' });
  }
}

const server = http.createServer();
const port = Number.parseInt(options.port, 10);
server.listen(port, HOST, () => {
  const { port: actualPort } = server.address();
  const issuer = `http://${HOST}:${actualPort}${REALM_PATH}`;
  const provider = createProvider(issuer);
  const handle = provider.callback();
  server.on('request', async (req, res) => {
    try {
      const url = new URL(req.url, issuer);
      const path = url.pathname;
      if (path.startsWith('/__test__/')) {
        await testControl(req, res, path);
        return;
      }
      if (!path.startsWith(`${REALM_PATH}/`) || path === `${REALM_PATH}${STANDARD_DISCOVERY}`) {
        send(res, 404, { error: 'not_found' });
        return;
      }
      const match = path.slice(REALM_PATH.length).match(INTERACTION_PATH);
      if (match) {
        await interaction(provider, req, res, match[1], match[2]);
        return;
      }
      let inner = path.slice(REALM_PATH.length) + url.search;
      if (path === WALLET_DISCOVERY) {
        inner = STANDARD_DISCOVERY;
      }
      if (path === `${REALM_PATH}/auth`) {
        authorizations.push({ method: req.method, params: Object.fromEntries(url.searchParams) });
      }
      // Mounted under the realm path: oidc-provider derives its endpoints' URLs from these two.
      req.originalUrl = REALM_PATH + inner;
      req.url = inner;
      handle(req, res);
    } catch (error) {
      console.error(error);
      if (!res.headersSent) {
        send(res, error.statusCode ?? 500, { error: error.name, error_description: error.message });
      }
    }
  });
  const discovery = `http://${HOST}:${actualPort}${WALLET_DISCOVERY}`;
  console.log(JSON.stringify({ issuer, discovery }));
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}

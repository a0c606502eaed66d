/**
 * A fake of where the Bot Framework publishes the keys its tokens are signed with, on 127.0.0.1:
 * OpenID metadata documents and their JWKS, with RSA key pairs made here, and a signer of tokens
 * as Azure Bot Service (or the Emulator) makes them. Given to the service as
 * `ServiceOverrides.botFrameworkTokenKeys`, botbuilder fetches keys from here, never from
 * login.botframework.com: tests do not reach the internet, and a genuinely signed token can be
 * shown to pass where a forged one fails.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { BotFrameworkTokenKeys } from '../../src/channels/webchat/botframework.channel.js';

/** The issuer of channels' tokens (botbuilder's ToBotFromChannelTokenIssuer). */
export const CHANNEL_ISSUER = 'https://api.botframework.com';
/** One of the issuers botbuilder takes for Emulator tokens (the Bot Framework's AAD tenant, v1). */
export const EMULATOR_ISSUER = 'https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/';

/** A key pair and the id (`kid`) it is published under. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface FakeTokenKeys {
  url: string;
  /** What the service is given: both metadata documents here. */
  tokenKeys: BotFrameworkTokenKeys;
  /** The published key for channels' tokens, endorsed for `msteams` and `emulator` only. */
  channelKey: SigningKey;
  /** The published key for Emulator tokens. */
  emulatorKey: SigningKey;
  /** Paths fetched, in order. */
  requests: string[];
  /** A JWT with these claims, signed RS256 with `key` (default: the channel key). */
  sign(claims: Record<string, unknown>, key?: SigningKey): string;
  close(): Promise<void>;
}

/** A new RSA key pair under an id. */
export function newSigningKey(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey };
}

export async function startFakeTokenKeys(): Promise<FakeTokenKeys> {
  const channelKey = newSigningKey('civicline-test-channel-key');
  const emulatorKey = newSigningKey('civicline-test-emulator-key');
  const jwk = (key: SigningKey, extra: Record<string, unknown> = {}) => ({ ...key.publicKey.export({ format: 'jwk' }), kid: key.kid, use: 'sig', ...extra });
  const requests: string[] = [];
  let url = '';
  const documents: Record<string, unknown> = {};
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = documents[req.url ?? ''];
    if (req.method !== 'GET' || body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The shapes login.botframework.com and login.microsoftonline.com publish (only what botbuilder reads).
  documents['/v1/.well-known/openidconfiguration'] = { issuer: CHANNEL_ISSUER, jwks_uri: `${url}/v1/keys`, id_token_signing_alg_values_supported: ['RS256'] };
  documents['/v1/keys'] = { keys: [jwk(channelKey, { endorsements: ['msteams', 'emulator'] })] };
  documents['/common/v2.0/.well-known/openid-configuration'] = { issuer: EMULATOR_ISSUER, jwks_uri: `${url}/common/discovery/v2.0/keys` };
  documents['/common/discovery/v2.0/keys'] = { keys: [jwk(emulatorKey)] };

  return {
    url,
    tokenKeys: {
      channelOpenIdMetadataUrl: `${url}/v1/.well-known/openidconfiguration`,
      emulatorOpenIdMetadataUrl: `${url}/common/v2.0/.well-known/openid-configuration`,
    },
    channelKey,
    emulatorKey,
    requests,
    sign(claims, key = channelKey) {
      const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const signed = `${part({ alg: 'RS256', typ: 'JWT', kid: key.kid })}.${part(claims)}`;
      return `${signed}.${createSign('RSA-SHA256').update(signed).sign(key.privateKey, 'base64url')}`;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

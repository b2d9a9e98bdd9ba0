#!/usr/bin/env node
// Fake Amazon Bedrock control-plane endpoint for copyjobd's tests: ListModelCopyJobs and
// GetModelCopyJob over HTTP and HTTPS with SigV4 checked by the AWS SDK's signer, a seeded data
// set, fault injection and an unsigned admin API under /__admin on the HTTP listener; STS
// (AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity) and IAM Identity Center (the
// portal's GetRoleCredentials, OIDC CreateToken) on the same listeners.
// Prints one JSON line to stdout when ready; diagnostics go to stderr.

import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { USAGE, parseArgs } from './lib/args.mjs';
import { Datasets } from './lib/datasets.mjs';
import { FaultQueue } from './lib/faults.mjs';
import { Stats } from './lib/stats.mjs';
import { SigV4Verifier } from './lib/sigv4.mjs';
import { createBedrockHandler } from './lib/bedrock.mjs';
import { handleAdmin } from './lib/admin.mjs';
import { makeCertificates } from './lib/tls.mjs';
import { Identity } from './lib/identity.mjs';
import { createStsHandler } from './lib/sts.mjs';
import { handleCreateToken, handleGetRoleCredentials } from './lib/sso.mjs';

const MAX_BODY = { admin: 1 << 20, bedrock: 64 << 10 };

const log = (msg) => process.stderr.write(`fake-bedrock[${process.pid}]: ${msg}\n`);

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function fail(res, status, type, message) {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify({ message });
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-ErrorType': type,
    'x-amzn-RequestId': randomUUID(),
  });
  res.end(body);
}

function makeDispatcher(app, protocol, withAdmin) {
  const bedrock = createBedrockHandler(app, protocol);
  const sts = createStsHandler(app);
  return async (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const isAdmin = withAdmin && (path === '/__admin' || path.startsWith('/__admin/'));
    let body;
    try {
      body = await readBody(req, isAdmin ? MAX_BODY.admin : MAX_BODY.bedrock);
    } catch {
      return fail(res, 413, 'ValidationException', 'Request body too large');
    }
    try {
      if (isAdmin) return handleAdmin(app, req, res, body);
      // STS (POST / with a form body), the SSO portal and OIDC share the listener with Bedrock.
      if (req.method === 'POST' && path === '/') return await sts(req, res, body, protocol);
      if (req.method === 'GET' && path === '/federation/credentials') return handleGetRoleCredentials(app, req, res);
      if (req.method === 'POST' && path === '/token') return handleCreateToken(app, req, res, body);
      return await bedrock(req, res, body);
    } catch (err) {
      log(`internal error: ${err.stack ?? err}`);
      return fail(res, 500, 'InternalServerException', 'Internal server error in the fake');
    }
  };
}

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

async function main() {
  let config;
  try {
    config = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`fake-bedrock: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (config.help) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(0);
  }

  const datasets = new Datasets(config);
  const { factory, store } = datasets.default;
  const app = {
    config,
    datasets,
    factory, // the default data set's (the caller's account in --region)
    store,
    faults: new FaultQueue(),
    stats: new Stats(),
    log,
  };
  app.identity = new Identity(config, factory.account);
  app.verifier = new SigV4Verifier(config, { lookup: (id) => app.identity.lookup(id), regionOk: (r) => datasets.servesRegion(r) });

  let certDir = null;
  const cleanup = () => {
    if (certDir) rmSync(certDir, { recursive: true, force: true });
    certDir = null;
  };
  process.on('exit', cleanup);

  const servers = [];
  const shutdown = (signal) => {
    log(`${signal}: shutting down`);
    for (const s of servers) {
      s.close();
      s.closeAllConnections();
    }
    cleanup();
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.stdout.on('error', () => {}); // a reader that went away must not kill the fake

  const hostInUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  const http = createHttpServer({ keepAliveTimeout: 30_000 }, makeDispatcher(app, 'http:', true));
  servers.push(http);
  const httpPort = await listen(http, config.port, config.host);

  let httpsUrl = null;
  let caFile = null;
  if (config.httpsPort !== -1) {
    certDir = mkdtempSync(join(config.tmpDir, 'fake-bedrock-'));
    const certs = await makeCertificates(certDir);
    const https = createHttpsServer(
      { cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile), keepAliveTimeout: 30_000 },
      makeDispatcher(app, 'https:', false),
    );
    servers.push(https);
    const httpsPort = await listen(https, config.httpsPort, config.host);
    httpsUrl = `https://${hostInUrl}:${httpsPort}`;
    caFile = certs.caFile;
  }

  const httpUrl = `http://${hostInUrl}:${httpPort}`;
  log(`serving ${store.size} jobs (seed ${config.seed}, region ${config.region}, account ${factory.account})` +
    (datasets.map.size > 1 ? ` and ${datasets.map.size - 1} more data sets (regions ${[...datasets.regions].join(',')})` : ''));
  process.stdout.write(
    `${JSON.stringify({ http: httpUrl, https: httpsUrl, caFile, admin: `${httpUrl}/__admin`, pid: process.pid })}\n`,
  );
}

main().catch((err) => {
  log(`fatal: ${err.stack ?? err}`);
  process.exit(1);
});

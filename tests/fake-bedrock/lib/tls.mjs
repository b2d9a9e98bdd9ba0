// A throwaway CA and a server certificate for 127.0.0.1/localhost, made with the openssl
// command line at startup. Clients trust ca.pem (libcurl: CURLOPT_CAINFO).

import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(args, cwd) {
  try {
    await run('openssl', args, { cwd, timeout: 30_000 });
  } catch (err) {
    throw new Error(`openssl ${args[0]} failed: ${(err.stderr || err.message).toString().trim()}`);
  }
}

/** Creates ca.pem, server.pem and server.key in dir. Returns their absolute paths. */
export async function makeCertificates(dir) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    [
      'req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-sha256',
      '-subj', '/O=copyjobd tests/CN=copyjobd fake Bedrock CA',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  await openssl(['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/O=copyjobd tests/CN=localhost'], dir);
  await writeFile(
    join(dir, 'server.ext'),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid,issuer',
      '',
    ].join('\n'),
  );
  await openssl(
    [
      'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', 'server.pem', '-days', '30', '-sha256', '-extfile', 'server.ext',
    ],
    dir,
  );
  return { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key') };
}

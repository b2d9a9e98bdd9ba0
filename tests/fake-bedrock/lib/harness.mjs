// Starts server.mjs as a child process and waits for its ready line; for tests.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const SERVER = fileURLToPath(new URL('../server.mjs', import.meta.url));

/**
 * Resolves { info, proc, stop(), stderr(), stdoutAfterReady() } once the fake is ready.
 * info is the parsed ready line. Rejects if it exits first or is not ready within timeoutMs.
 */
export function startFake(args = [], { timeoutMs = 60_000 } = {}) {
  const proc = spawn(process.execPath, [SERVER, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let readyLine = null;
  proc.stderr.on('data', (c) => {
    stderr += c;
  });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const stop = async (signal = 'SIGTERM') => {
    if (proc.exitCode !== null || proc.signalCode !== null) return exited;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    const result = await exited;
    clearTimeout(timer);
    return result;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop('SIGKILL');
      reject(new Error(`fake not ready within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    proc.stdout.on('data', (c) => {
      stdout += c;
      const nl = stdout.indexOf('\n');
      if (readyLine === null && nl >= 0) {
        readyLine = stdout.slice(0, nl);
        clearTimeout(timer);
        try {
          const info = JSON.parse(readyLine);
          resolve({ info, proc, stop, exited, stderr: () => stderr, stdoutAfterReady: () => stdout.slice(nl + 1) });
        } catch (err) {
          stop('SIGKILL');
          reject(new Error(`bad ready line ${readyLine}: ${err.message}`));
        }
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      if (readyLine === null) reject(new Error(`fake exited (${code ?? signal}) before ready; stderr: ${stderr}`));
    });
  });
}

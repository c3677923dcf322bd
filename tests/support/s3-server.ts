// A real S3-protocol server (s3rver) on 127.0.0.1 for tests, run as a child process so a test can
// SIGKILL it mid-upload and start it again on the same folder and port. s3rver 3.7.1 on Node 20 needs
// --openssl-legacy-provider (its paginated listing hashes with MD4 otherwise: ERR_OSSL_EVP_UNSUPPORTED).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

const S3RVER_BIN = join(dirname(createRequire(import.meta.url).resolve('s3rver/package.json')), 'bin', 's3rver.js');

export interface S3Server {
  readonly endpoint: string;
  readonly port: number;
  /** Folder s3rver keeps buckets in. */
  readonly dir: string;
  /** Client settings for an S3Store in this process. */
  readonly clientConfig: S3ClientConfig;
  /** Environment for a child process (the CLI) to reach this server through the standard AWS variables. */
  readonly env: Record<string, string>;
  createBucket(name: string): Promise<void>;
  /** SIGKILL the server (a crash: open connections die mid-request). */
  kill(): void;
  /** Start again on the same folder and port after kill(). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

// s3rver accepts these fixed credentials and checks request signatures against them.
const ACCESS_KEY = 'S3RVER';
const SECRET_KEY = 'S3RVER';

async function launch(dir: string, port: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', S3RVER_BIN, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '-s'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listening = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on [\d.]+:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code, signal) => reject(new Error(`s3rver exited (${code ?? signal}) before listening:\n${output}`)));
    setTimeout(() => reject(new Error(`s3rver did not start within 20 s:\n${output}`)), 20_000).unref();
  });
  child.removeAllListeners('exit');
  child.stdout!.resume();
  child.stderr!.resume();
  return { child, port: listening };
}

export async function startS3Server(options: { dir?: string } = {}): Promise<S3Server> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'emoforge-s3rver-')));
  let { child, port } = await launch(dir, 0);
  const endpoint = `http://127.0.0.1:${port}`;
  const clientConfig: S3ClientConfig = {
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
  };
  const env = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY };
  const stopChild = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  };
  return {
    endpoint,
    port,
    dir,
    clientConfig,
    env,
    async createBucket(name) {
      const client = new S3Client(clientConfig);
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        client.destroy();
      }
    },
    kill() {
      child.kill('SIGKILL');
    },
    async restart() {
      await stopChild('SIGKILL');
      ({ child } = await launch(dir, port));
    },
    async stop() {
      await stopChild('SIGTERM');
    },
  };
}

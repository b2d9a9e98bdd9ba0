// The seeded data set: realistic model copy jobs that obey the service model's patterns.
//
// Everything is drawn from Rng(seed), in a fixed order, so the same --seed and --jobs give
// the same jobs byte for byte. Jobs added later through the admin API use their own stream.

import { Rng } from './prng.mjs';
import { formatIso, parseIso } from './timestamps.mjs';
import { PATTERNS } from './patterns.mjs';

const DAY_NS = 86_400n * 1_000_000_000n;
const SPREAD_DAYS = 400;
const BASE_EPOCH_MS = Date.UTC(2025, 0, 1);
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

const SOURCE_REGIONS = ['us-east-1', 'us-west-2', 'eu-central-1', 'eu-west-1', 'ap-northeast-1', 'ap-southeast-2'];

const FOUNDATION_MODELS = [
  'amazon.titan-text-express-v1:0:8k',
  'amazon.titan-text-lite-v1:0:4k',
  'amazon.titan-embed-text-v2:0:8k',
  'amazon.nova-micro-v1:0:128k',
  'amazon.nova-lite-v1:0:300k',
  'anthropic.claude-3-haiku-20240307-v1:0:200k',
  'meta.llama3-1-8b-instruct-v1:0:128k',
  'meta.llama3-2-11b-instruct-v1:0:128k',
  'cohere.command-light-text-v14:7:4k',
];

const DOMAINS = ['claims', 'support', 'legal', 'fraud', 'invoice', 'medical', 'retail', 'hr', 'finance', 'search', 'chat', 'code'];
const TASKS = ['summarizer', 'classifier', 'extractor', 'assistant', 'ranker', 'translator', 'tagger', 'qa'];
const TARGET_SUFFIXES = ['', '', '', '-copy', '-prod', '-staging', '-eu', '-use1', '-dr', '2'];

const TAG_KEYS = ['team', 'env', 'cost-center', 'project', 'owner', 'data-classification', 'created-by', 'compliance'];
const TAG_VALUES = {
  team: ['ml-platform', 'claims-ai', 'search relevance', 'trust.safety'],
  env: ['prod', 'staging', 'dev', 'dr'],
  'cost-center': ['cc:4410', 'cc:5120', 'cc:7781'],
  project: ['genai/claims', 'genai/support', 'q3 launch', 'migration=2025'],
  owner: ['alice@example.com', 'bob@example.com', 'ml-ops@example.com'],
  'data-classification': ['internal', 'confidential', 'PII+restricted'],
  'created-by': ['copy-pipeline', 'terraform', 'console'],
  compliance: ['hipaa', 'soc2', 'gdpr', ''],
};

function failureMessages(job, rng) {
  const templates = [
    () => `The source model ${job.sourceModelArn} could not be found or you do not have permission to access it.`,
    () => `Access denied when using KMS key ${job.targetModelKmsKeyArn ?? 'the default AWS managed key'}. Grant Amazon Bedrock kms:Decrypt and kms:GenerateDataKey.`,
    () => 'An internal error occurred while copying the model artifacts. Retry the request.',
    () => `The number of custom models in the account exceeds the service quota for region ${job.region}. Request a quota increase and try again.`,
    () => `Cross-account copy from account ${job.sourceAccountId} is not allowed by the source model's resource policy.`,
    () => 'The model copy job timed out after 24 hours.',
  ];
  return rng.pick(templates)();
}

/** Makes jobs. One instance per store; its pools are fixed by the seed. */
export class JobFactory {
  /** account: the owner of every job; drawn from the seed when absent (the caller's data set). */
  constructor({ seed, region, newestMs, account }) {
    this.region = region;
    const rng = new Rng(seed, 0);
    this.rng = rng;
    this.epochNs = BigInt(BASE_EPOCH_MS + rng.int(0, 179) * 86_400_000 + rng.int(0, 86_399) * 1000) * 1_000_000n;
    if (newestMs !== undefined) this.epochNs = BigInt(newestMs) * 1_000_000n;
    this.account = rng.digits(12); // drawn even when given, so the rest of the stream stays the same
    if (account !== undefined) this.account = account;
    this.kmsKeys = Array.from({ length: 4 }, () => `arn:aws:kms:${region}:${this.account}:key/${rng.uuid()}`);
    this.sourceAccounts = [this.account];
    while (this.sourceAccounts.length < 20) {
      const acct = rng.digits(12);
      if (!this.sourceAccounts.includes(acct)) this.sourceAccounts.push(acct);
    }
    this.sourceModels = [];
    for (let i = 0; i < 60; i++) {
      const acct = rng.pick(this.sourceAccounts);
      const srcRegion = rng.pick(SOURCE_REGIONS.filter((r) => r !== region));
      const fm = rng.pick(FOUNDATION_MODELS);
      let name = `${rng.pick(DOMAINS)}-${rng.pick(TASKS)}-v${rng.int(1, 5)}`;
      if (rng.chance(0.1)) name = name.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('_');
      this.sourceModels.push({
        arn: `arn:aws:bedrock:${srcRegion}:${acct}:custom-model/${fm}/${rng.string(12, ID_ALPHABET)}`,
        account: acct,
        fm,
        name,
      });
    }
    this.usedIds = new Set();
    this.addRng = new Rng(seed, 1);
  }

  newJobId(rng) {
    for (;;) {
      const id = rng.string(12, ID_ALPHABET);
      if (!this.usedIds.has(id)) {
        this.usedIds.add(id);
        return id;
      }
    }
  }

  /** Formats an instant with Bedrock's mix of precisions (s, ms, µs), never with trailing zero groups. */
  formatTime(rng, secondsNs) {
    const r = rng.float();
    if (r < 0.4) return formatIso(secondsNs, 0);
    if (r < 0.9) return formatIso(secondsNs + BigInt(rng.int(1, 999)) * 1_000_000n, 3);
    let micros = rng.int(1, 999_999);
    if (micros % 1000 === 0) micros += 1;
    return formatIso(secondsNs + BigInt(micros) * 1000n, 6);
  }

  /**
   * One job. status and creationTime may be forced; otherwise drawn.
   * Returns the fields in the model's order, absent optional fields left out.
   */
  makeJob(rng, { status, creationTime }) {
    const id = this.newJobId(rng);
    status ??= (() => {
      const r = rng.float();
      return r < 0.1 ? 'InProgress' : r < 0.85 ? 'Completed' : 'Failed';
    })();
    const source = rng.pick(this.sourceModels);
    const targetName = `${source.name}${rng.pick(TARGET_SUFFIXES)}`;
    const job = {
      jobArn: `arn:aws:bedrock:${this.region}:${this.account}:model-copy-job/${id}`,
      status,
      creationTime,
      targetModelArn: `arn:aws:bedrock:${this.region}:${this.account}:custom-model/${source.fm}/${rng.string(12, ID_ALPHABET)}`,
      targetModelName: targetName,
      sourceAccountId: source.account,
      sourceModelArn: source.arn,
    };
    if (rng.chance(0.3)) job.targetModelKmsKeyArn = rng.pick(this.kmsKeys);
    const tagCount = rng.int(0, 5);
    if (tagCount > 0 || rng.chance(0.5)) {
      const keys = [...TAG_KEYS];
      job.targetModelTags = [];
      for (let i = 0; i < tagCount; i++) {
        const key = keys.splice(rng.int(0, keys.length - 1), 1)[0];
        job.targetModelTags.push({ key, value: rng.pick(TAG_VALUES[key]) });
      }
    }
    if (status === 'Failed') job.failureMessage = failureMessages({ ...job, region: this.region }, rng);
    if (rng.chance(0.7)) job.sourceModelName = source.name;
    return job;
  }

  /** The initial data set, in generation order (not sorted). */
  generate(count) {
    const rng = this.rng;
    const jobs = [];
    const spreadSeconds = SPREAD_DAYS * 86_400;
    for (let i = 0; i < count; i++) {
      let creationTime;
      if (i > 0 && rng.chance(0.07)) {
        creationTime = jobs[rng.int(0, i - 1)].creationTime; // a deliberate tie
      } else {
        const seconds = this.epochNs - BigInt(rng.int(1, spreadSeconds)) * 1_000_000_000n;
        creationTime = this.formatTime(rng, seconds);
      }
      jobs.push(this.makeJob(rng, { creationTime }));
    }
    return jobs;
  }

  /** A job added through the admin API: newer than `newestNs` unless a creationTime is given. */
  makeAddedJob({ newestNs, status, creationTime }) {
    const rng = this.addRng;
    if (!creationTime) {
      const base = newestNs === null ? this.epochNs : newestNs - (newestNs % 1_000_000_000n);
      creationTime = this.formatTime(rng, base + BigInt(rng.int(1, 30)) * 1_000_000_000n);
    }
    return this.makeJob(rng, { status: status ?? 'InProgress', creationTime });
  }

  failureMessageFor(job) {
    return failureMessages({ ...job, region: this.region }, this.addRng);
  }
}

export const SPREAD_NS = BigInt(SPREAD_DAYS) * DAY_NS;

/** Checks a job's fields against the model; returns a list of problems (empty = valid). */
export function validateJob(job) {
  const problems = [];
  const check = (cond, what) => cond || problems.push(what);
  check(PATTERNS.ModelCopyJobArn.test(job.jobArn ?? ''), 'jobArn');
  check(['InProgress', 'Completed', 'Failed'].includes(job.status), 'status');
  check(parseIso(job.creationTime) !== null, 'creationTime');
  check(PATTERNS.CustomModelArn.test(job.targetModelArn ?? ''), 'targetModelArn');
  check(job.targetModelName === undefined || PATTERNS.CustomModelName.test(job.targetModelName), 'targetModelName');
  check(PATTERNS.AccountId.test(job.sourceAccountId ?? ''), 'sourceAccountId');
  check(PATTERNS.ModelArn.test(job.sourceModelArn ?? ''), 'sourceModelArn');
  check(job.targetModelKmsKeyArn === undefined || PATTERNS.KmsKeyArn.test(job.targetModelKmsKeyArn), 'targetModelKmsKeyArn');
  check(
    job.targetModelTags === undefined ||
      (Array.isArray(job.targetModelTags) &&
        job.targetModelTags.length <= 200 &&
        job.targetModelTags.every(
          (t) =>
            t &&
            typeof t.key === 'string' &&
            typeof t.value === 'string' &&
            t.key.length >= 1 &&
            t.key.length <= 128 &&
            t.value.length <= 256 &&
            PATTERNS.TagText.test(t.key) &&
            PATTERNS.TagText.test(t.value) &&
            Object.keys(t).length === 2,
        )),
    'targetModelTags',
  );
  check(job.failureMessage === undefined || (typeof job.failureMessage === 'string' && job.failureMessage.length <= 2048), 'failureMessage');
  check(job.sourceModelName === undefined || PATTERNS.CustomModelName.test(job.sourceModelName), 'sourceModelName');
  return problems;
}

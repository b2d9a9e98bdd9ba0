// The service model's constraints (service-2.json, bedrock 2023-04-20), anchored: Smithy
// patterns are searched, but every one of these is meant to describe the whole value.

const anchored = (source) => new RegExp(`^(?:${source})$`);

export const PATTERNS = {
  ModelCopyJobArn: anchored('arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-copy-job/[a-z0-9]{12}'),
  ModelArn: anchored(
    'arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:(([0-9]{12}:custom-model/((imported)|([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}))' +
      '(([:][a-z0-9-]{1,63}){0,2})?/[a-z0-9]{12})|(:foundation-model/[a-z0-9-]{1,63}[.]{1}([a-z0-9-]{1,63}[.]){0,2}' +
      '[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}))',
  ),
  CustomModelArn: anchored(
    'arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model/(imported|[a-z0-9-]{1,63}[.]{1}' +
      '[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2})/[a-z0-9]{12}',
  ),
  CustomModelName: anchored('([0-9a-zA-Z][_-]?){1,63}'),
  AccountId: anchored('[0-9]{12}'),
  KmsKeyArn: anchored('arn:aws(-[^:]+)?:kms:[a-zA-Z0-9-]*:[0-9]{12}:key/[a-zA-Z0-9-]{36}'),
  TagText: anchored('[a-zA-Z0-9\\s._:/=+@-]*'),
  PaginationToken: anchored('\\S*'),
};

export const LENGTHS = {
  ModelCopyJobArn: [0, 1011],
  ModelArn: [20, 1011],
  CustomModelArn: [20, 1011],
  CustomModelName: [1, 63],
  KmsKeyArn: [1, 2048],
  TagKey: [1, 128],
  TagValue: [0, 256],
  PaginationToken: [1, 2048],
  ErrorMessage: [0, 2048],
};

export const STATUSES = ['InProgress', 'Completed', 'Failed'];

// The order of ModelCopyJobSummary's members in the model; JSON is written in this order.
export const JOB_FIELDS = [
  'jobArn',
  'status',
  'creationTime',
  'targetModelArn',
  'targetModelName',
  'sourceAccountId',
  'sourceModelArn',
  'targetModelKmsKeyArn',
  'targetModelTags',
  'failureMessage',
  'sourceModelName',
];

export const REQUIRED_JOB_FIELDS = [
  'jobArn',
  'status',
  'creationTime',
  'targetModelArn',
  'sourceAccountId',
  'sourceModelArn',
];

export function lengthOk(value, [min, max]) {
  return typeof value === 'string' && value.length >= min && value.length <= max;
}

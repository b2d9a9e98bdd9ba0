// Bedrock's error shape (restJson1): status, x-amzn-ErrorType header, {"message": ...} body.

export const ERROR_STATUS = {
  ValidationException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ThrottlingException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
  UnrecognizedClientException: 403,
  MissingAuthenticationTokenException: 403,
  InvalidSignatureException: 403,
  ExpiredTokenException: 403,
  UnknownOperationException: 404,
};

export class AwsError extends Error {
  constructor(type, message, status = ERROR_STATUS[type] ?? 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

/** AWS's wording for failed constraints, one clause per problem. */
export function validationError(problems) {
  const n = problems.length;
  const head = `${n} validation error${n === 1 ? '' : 's'} detected: `;
  return new AwsError('ValidationException', head + problems.join('; '));
}

export const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

export const INVALID_TOKEN = 'The security token included in the request is invalid.';

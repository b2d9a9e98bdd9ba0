// Counters and the log of recent Bedrock requests, for the admin API.

const LOG_SIZE = 2000;

export class Stats {
  constructor() {
    this.reset();
  }

  reset() {
    this.requests = 0;
    this.byOperation = { ListModelCopyJobs: 0, GetModelCopyJob: 0 };
    this.badSignatures = 0;
    this.faultsInjected = 0;
    this.maxRequestsInAnySecond = 0;
    this.currentSecond = -1;
    this.inCurrentSecond = 0;
    this.log = [];
  }

  countRequest(nowMs) {
    this.requests += 1;
    const second = Math.floor(nowMs / 1000);
    if (second !== this.currentSecond) {
      this.currentSecond = second;
      this.inCurrentSecond = 0;
    }
    this.inCurrentSecond += 1;
    this.maxRequestsInAnySecond = Math.max(this.maxRequestsInAnySecond, this.inCurrentSecond);
  }

  record(entry) {
    this.log.push(entry);
    if (this.log.length > LOG_SIZE) this.log.splice(0, this.log.length - LOG_SIZE);
  }

  snapshot() {
    return {
      requests: this.requests,
      byOperation: { ...this.byOperation },
      badSignatures: this.badSignatures,
      faultsInjected: this.faultsInjected,
      maxRequestsInAnySecond: this.maxRequestsInAnySecond,
    };
  }
}

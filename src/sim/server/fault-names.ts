// The simulator's fault names as `btcbot sim --help` lists them, without loading the simulator.
// test/cli/startup.test.ts checks they are faults.ts's FAULT_NAMES.
export const FAULT_NAMES: readonly string[] = [
  'timeout-after-accept',
  'reset-before-accept',
  'error-5xx',
  'error-5xx-after-accept',
  'reply-200-failure',
  'rate-limit-storm',
  'ws-gap',
  'ws-drop-every',
  'ws-silence-every',
  'clock-skew-ms',
  'latency-ms',
  'cancel-delay-ms',
  'visibility-delay-ms',
];

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { classifyReply, type CallContext } from '../../src/btcturk/common/errors.ts';
import { rejections } from '../../src/sim/engine/rejections.ts';

// Two readings of the same refusals must agree: the simulator states what each of its BTCTurk-worded
// refusals means (read in-process by dry-run mode), and the BTCTurk adapter reads the same words off
// the wire. Where BTCTurk uses one message for two meanings, the adapter cannot tell them apart.

const CALL: CallContext = { operation: 'POST /api/v1/order', effect: 'write', secrets: [] };

/** Refusals whose wire words are shared with another meaning: [name, what the adapter reads]. */
const INDISTINGUISHABLE: Readonly<Record<string, string>> = {
  // FAILED_ORDER_PARAMETER, as for any bad parameter: see the ASSUMPTION in src/btcturk/common/errors.ts.
  unknownPair: 'invalid-order',
};

it("the adapter reads every simulator refusal's wire words as the reason the simulator gives it", () => {
  for (const [name, make] of Object.entries(rejections)) {
    const rejection = make('detail');
    const body = JSON.stringify({
      success: false,
      message: rejection.venueMessage,
      code: rejection.code,
      data: null,
    });
    const result = classifyReply({ status: rejection.httpStatus, retryAfter: undefined, text: body }, CALL, {
      serverNow: 0,
      fallbackMs: 1_000,
    });
    assert.ok(!result.ok, name);
    assert.equal(
      result.error.reason,
      INDISTINGUISHABLE[name] ?? rejection.reason,
      `${name}: ${rejection.message}`,
    );
  }
});

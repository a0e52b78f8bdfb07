// The child of journal-durability.test.ts: journals submits from several symbols at once, the way
// the OMS does (journal, then the `sent` mark, each durable before the POST would go), prints each
// client id the moment its write resolves, and kills itself with SIGKILL right after the
// `killAfter`-th journal resolves — between the journal and its send, the narrowest window.
// Run: node --import tsx test/store/journal-kill-child.ts <db> <seed> <lanes> <killAfter>
import { writeSync } from 'node:fs';
import { Dec } from '../../src/domain/decimal.ts';
import { seededRandom } from '../../src/domain/random.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';

const [path, seedText, lanesText, killAfterText] = process.argv.slice(2);
if (path === undefined || seedText === undefined || lanesText === undefined || killAfterText === undefined)
  throw new Error('usage: journal-kill-child.ts <db> <seed> <lanes> <killAfter>');
const seed = Number(seedText);
const lanes = Number(lanesText);
const killAfter = Number(killAfterText);
const random = seededRandom(seed);
const store = await openSqliteStore({ path });

let journaled = 0;
let next = 0;
// Synchronous writes: nothing printed is still in a buffer when the kill lands.
const say = (line: string) => writeSync(1, `${line}\n`);

async function lane(symbol: string): Promise<void> {
  for (;;) {
    const n = next++;
    const clientOrderId = `kill-${seed}-${n}`;
    const order = await store.journalOrder({
      clientOrderId,
      symbol,
      side: random.next() < 0.5 ? 'buy' : 'sell',
      method: 'limit',
      quantity: new Dec('0.001'),
      price: new Dec(1_000_000 + n),
    });
    journaled += 1;
    say(`journaled ${clientOrderId}`);
    if (journaled >= killAfter) process.kill(process.pid, 'SIGKILL');
    const sent = await store.applyEvent(order.id, { type: 'sent' }, order.version);
    if (!sent.ok) throw new Error(sent.message);
    say(`sent ${clientOrderId}`);
    // The POST would go here; a pause as long as a network round trip lets the other symbols' writes
    // group with this one's next.
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random.next() * 3)));
  }
}

say('ready');
await Promise.all(Array.from({ length: lanes }, (_, i) => lane(`S${i}TRY`)));

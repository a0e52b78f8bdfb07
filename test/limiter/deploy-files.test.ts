import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.ts';

// Sanity of the deployment files (deploy/): no secret written inline, every published port on
// loopback, and every command line made of flags `btcbot run --help` lists.

const file = (path: string) =>
  readFileSync(fileURLToPath(new URL(`../../deploy/${path}`, import.meta.url)), 'utf8');
const COMPOSE = file('docker-compose.yml');
const UNIT = file('systemd/btcbot@.service');
const PROMETHEUS = file('prometheus/prometheus.yml');
const ENV_EXAMPLE = file('btcbot.env.example');

const SECRET_NAMES = /(API_?KEY|API_?SECRET|PASSWORD|LIVE_ACK|TOKEN|PRIVATE_KEY)/i;

/** The `command:` flow sequences of the compose file, by service (a line `  name:` two spaces in). */
function composeCommands(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let service = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    const header = /^ {2}([a-z0-9-]+):\s*$/.exec(line);
    if (header?.[1] !== undefined) service = header[1];
    const command = /^\s+command:\s*(.*)$/.exec(line);
    if (command === null) continue;
    let flow = command[1] ?? '';
    while (!flow.includes(']') && i + 1 < lines.length) {
      i += 1;
      flow += lines[i] ?? '';
    }
    if (flow.trim().startsWith('['))
      out.set(service, JSON.parse(flow.replace(/'/g, '"').replace(/,\s*]/, ']')) as string[]);
  }
  return out;
}

async function runFlags(): Promise<Set<string>> {
  const help = await runCli(['run', '--help']);
  assert.equal(help.code, 0, help.stderr);
  return new Set(help.stdout.match(/--[a-z][a-z-]*/g) ?? []);
}

describe('deployment files', () => {
  it('compose: PostgreSQL, Redis, Prometheus and several bots, each bot with its settings from env_file', () => {
    const commands = composeCommands(COMPOSE);
    const bots = [...commands.entries()].filter(([, args]) => args[0] === 'run');
    assert.ok(bots.length >= 2, `bot services: ${bots.map(([s]) => s).join(', ')}`);
    for (const service of ['postgres', 'redis', 'prometheus'])
      assert.match(COMPOSE, new RegExp(`^ {2}${service}:`, 'm'));
    assert.match(COMPOSE, /env_file: btcbot\.env/);
    // Every bot on the shared budget, each on a metrics port of its own that Prometheus scrapes.
    const ports = bots.map(([, args]) => args[args.indexOf('--metrics-port') + 1]);
    assert.equal(new Set(ports).size, bots.length);
    for (const [service, args] of bots) {
      assert.ok(args.includes('--redis-url'), `${service} shares the budget in Redis`);
      const port = args[args.indexOf('--metrics-port') + 1];
      assert.ok(PROMETHEUS.includes(`127.0.0.1:${port}`), `Prometheus scrapes ${service} on ${port}`);
    }
  });

  it('compose: every published port is on loopback, and no secret is written inline', () => {
    // A port mapping: [ip:]host:container, as a list item.
    const published = [...COMPOSE.matchAll(/^\s+-\s*['"]?((?:[\d.]+:)?\d+:\d+)['"]?\s*(#.*)?$/gm)].map(
      (m) => m[1] ?? '',
    );
    assert.ok(published.length > 0, 'Prometheus is published');
    for (const port of published)
      assert.match(port, /^127\.0\.0\.1:\d+:\d+$/, `port ${port} must bind 127.0.0.1`);
    for (const line of COMPOSE.split('\n').filter((l) => !l.trim().startsWith('#')))
      assert.doesNotMatch(
        line,
        new RegExp(`${SECRET_NAMES.source}\\s*[:=]\\s*\\S`, 'i'),
        `inline secret: ${line}`,
      );
    assert.doesNotMatch(COMPOSE, /redis:\/\/[^@\s]*:[^@\s]*@/, 'no password in a Redis URL');
    assert.doesNotMatch(
      COMPOSE,
      /postgres(ql)?:\/\//,
      'the database URL (with its password) lives in the env file',
    );
  });

  it('systemd unit: settings from EnvironmentFile, hardened, no secret inline', () => {
    assert.match(UNIT, /^EnvironmentFile=\/etc\/btcbot\/common\.env$/m);
    assert.match(UNIT, /^EnvironmentFile=\/etc\/btcbot\/%i\.env$/m);
    for (const option of [
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'CapabilityBoundingSet=',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
      'RestartPreventExitStatus=2',
      'UMask=0077',
    ])
      assert.ok(UNIT.split('\n').includes(option), `missing ${option}`);
    assert.doesNotMatch(UNIT, /^Environment=/m, 'settings come from the environment files only');
    assert.doesNotMatch(UNIT, /^MemoryDenyWriteExecute=yes/m, "Node's JIT needs writable code pages");
  });

  it('the env example leaves every secret empty', () => {
    for (const line of ENV_EXAMPLE.split('\n').filter((l) => /^[A-Z_]+=/.test(l))) {
      const [name = '', value = ''] = line.split(/=(.*)/s);
      if (SECRET_NAMES.test(name)) assert.equal(value, '', `${name} must be empty in the example`);
    }
    assert.match(ENV_EXAMPLE, /^BTCBOT_DB=postgres:\/\/btcbot:CHANGE_ME@/m);
  });

  it('every command line uses flags `btcbot run --help` lists', async () => {
    const flags = await runFlags();
    const lines = [...composeCommands(COMPOSE).values()].filter((args) => args[0] === 'run');
    const exec = /^ExecStart=\S+ \S+btcbot\.js (.*)$/m.exec(UNIT)?.[1];
    assert.ok(exec !== undefined, 'ExecStart runs bin/btcbot.js');
    lines.push(exec.split(/\s+/));
    for (const args of lines) {
      assert.equal(args[0], 'run');
      for (const arg of args.filter((a) => a.startsWith('--')))
        assert.ok(
          flags.has(arg),
          `${arg} is not a flag of btcbot run (run --help lists: ${[...flags].join(' ')})`,
        );
    }
  });
});

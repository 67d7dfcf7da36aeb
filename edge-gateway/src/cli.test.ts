import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliIo, GATEWAY_USAGE, noClientCanConnect, runGatewayCli } from './cli.js';
import { gatewayConfigSchema } from './config/index.js';
import { hashPassword, verifyPassword } from './mqtt/index.js';

function io(stdin = ''): CliIo & { out: (l: string) => void; lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    out: (l) => lines.push(l),
    err: (l) => errors.push(l),
    waitForStop: () => new Promise(() => {}),
    readStdin: () => Promise.resolve(stdin),
  };
}

describe('pdm gateway command', () => {
  it('prints its help', async () => {
    const t = io();
    expect(await runGatewayCli(['--help'], t)).toBe(0);
    const help = t.lines.join('\n');
    expect(help).toMatch(/pdm gateway \[--config FILE\]/);
    // What each signal does, as an operator or systemd sends them.
    expect(help).toMatch(/SIGTERM, SIGINT \(Ctrl-C\) +stop gracefully/);
    expect(help).toMatch(/SIGHUP +reload the users file/);
  });

  it('hashes a password from the flag or from standard input', async () => {
    const fromFlag = io();
    expect(await runGatewayCli(['hash-password', '--password', 'pw-1'], fromFlag)).toBe(0);
    expect(await verifyPassword('pw-1', fromFlag.lines[0]!)).toBe(true);
    const fromStdin = io('pw-2\n');
    expect(await runGatewayCli(['hash-password'], fromStdin)).toBe(0);
    expect(await verifyPassword('pw-2', fromStdin.lines[0]!)).toBe(true);
    const empty = io('');
    expect(await runGatewayCli(['hash-password'], empty)).toBe(2);
    expect(empty.errors.join('\n')).toMatch(/password is empty/);
  });

  it('prints the effective configuration, env overrides included', async () => {
    const t = io();
    process.env.PDM_GATEWAY_SITE_ID = 'plant-env';
    try {
      expect(await runGatewayCli(['--print-config'], t)).toBe(0);
    } finally {
      delete process.env.PDM_GATEWAY_SITE_ID;
    }
    expect((JSON.parse(t.lines.join('\n')) as { siteId: string }).siteId).toBe('plant-env');
  });

  it('prints every window key, the engine defaults of those left out, as JSON that loads back to the same configuration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-gateway-cli-'));
    try {
      const file = join(dir, 'gateway.yaml');
      writeFileSync(file, 'windows:\n  windowMs: 5s\n  lateMode: revise\n');
      const t = io();
      expect(await runGatewayCli(['--config', file, '--print-config'], t)).toBe(0);
      const printed = JSON.parse(t.lines.join('\n')) as { windows: Record<string, unknown> };
      // The two set in the file, the rest the window engine's documented defaults (window/options.ts).
      expect(printed.windows).toEqual({
        windowMs: 5_000,
        lateMode: 'revise',
        allowedLatenessMs: 2_000,
        idleTimeoutMs: 30_000,
        reviseHorizonMs: 60_000,
        maxSensorLagMs: 60_000,
        sensorRates: {},
        evictAfterMs: 600_000,
        tickMs: 1_000,
      });
      const again = join(dir, 'printed.json');
      writeFileSync(again, t.lines.join('\n'));
      const reloaded = io();
      expect(await runGatewayCli(['--config', again, '--print-config'], reloaded)).toBe(0);
      expect(reloaded.lines).toEqual(t.lines);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hides bridge passwords when it prints the configuration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-gateway-cli-'));
    try {
      const file = join(dir, 'gateway.yaml');
      writeFileSync(
        file,
        'bridge:\n  upstreams:\n    - { name: plant, url: "mqtt://broker", password: s3cret-pw, mappings: [{ topic: "p/{machine}/{sensor}" }] }\n    - { name: other, url: "mqtt://plc:url-pw@other:1883", mappings: [{ topic: "q/{machine}/{sensor}" }] }\n',
      );
      const t = io();
      expect(await runGatewayCli(['--config', file, '--print-config'], t)).toBe(0);
      const printed = t.lines.join('\n');
      const upstreams = (JSON.parse(printed) as { bridge: { upstreams: Array<{ password?: string; url: string }> } }).bridge.upstreams;
      expect(upstreams[0]?.password).toBe('(hidden)');
      expect(upstreams[1]?.url).toBe('mqtt://plc:(hidden)@other:1883');
      expect(printed).not.toContain('s3cret-pw');
      expect(printed).not.toContain('url-pw');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 naming the key of a bad configuration and the flag of a bad option', async () => {
    const badEnv = io();
    process.env.PDM_GATEWAY_OUTBOX__MAX_BYTES = '"lots"';
    try {
      expect(await runGatewayCli(['--print-config'], badEnv)).toBe(2);
    } finally {
      delete process.env.PDM_GATEWAY_OUTBOX__MAX_BYTES;
    }
    expect(badEnv.errors.join('\n')).toMatch(/outbox\.maxBytes \(from PDM_GATEWAY_OUTBOX__MAX_BYTES\): .*expected number/);
    const badFlag = io();
    expect(await runGatewayCli(['--cofnig', 'x.yaml'], badFlag)).toBe(2);
    // The flag, then the usage, as the other pdm commands print it.
    expect(badFlag.errors).toEqual([expect.stringMatching(/^pdm gateway: .*--cofnig/)]);
    expect(badFlag.errors[0]).toContain(`\n\n${GATEWAY_USAGE}`);
  });

  it('exits 2 naming mqtt.usersFile when the users file cannot be read, before connecting anywhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-gateway-cli-'));
    try {
      const file = join(dir, 'gateway.yaml');
      writeFileSync(file, `mqtt:\n  usersFile: ${join(dir, 'users.yaml')}\n`);
      const t = io();
      expect(await runGatewayCli(['--config', file], t)).toBe(2);
      expect(t.errors).toEqual([expect.stringMatching(new RegExp(`^pdm gateway: mqtt\\.usersFile: cannot read users file ${join(dir, 'users.yaml')}: ENOENT`))]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits 2 naming the window key that breaks the window engine's rules, before printing or starting", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-gateway-cli-'));
    try {
      const file = join(dir, 'gateway.yaml');
      // 3 s hops do not divide a 10 s window; a 5 s eviction is shorter than the default 30 s idle timeout.
      writeFileSync(file, 'windows:\n  windowMs: 10000\n  hopMs: 3000\n  evictAfterMs: 5000\n');
      for (const args of [['--print-config'], []]) {
        const t = io();
        expect(await runGatewayCli(['--config', file, ...args], t)).toBe(2);
        const message = t.errors.join('\n');
        expect(message).toMatch(/windows\.hopMs: windowMs must be a multiple of hopMs/);
        expect(message).toMatch(/windows\.evictAfterMs: evictAfterMs must be at least idleTimeoutMs/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the warning that no MQTT client can connect', () => {
  const mqtt = (input: Record<string, unknown>) => gatewayConfigSchema.parse({ mqtt: input }).mqtt;
  const tls = { port: 0, cert: 'c.pem', key: 'k.pem' };

  it('names what is missing, and stays quiet when a password, a certificate or anonymity lets someone in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-cli-reach-'));
    try {
      const hash = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
      const both = join(dir, 'both.yaml');
      writeFileSync(both, ['users:', '  - username: plc-1', `    passwordHash: "${hash}"`, '  - username: plc-2'].join('\n'));
      const certificateOnly = join(dir, 'cert-only.yaml');
      writeFileSync(certificateOnly, ['users:', '  - username: plc-2'].join('\n'));
      const empty = join(dir, 'empty.yaml');
      writeFileSync(empty, 'users: []\n');

      expect(noClientCanConnect(mqtt({}))).toBe('anonymous clients are refused (mqtt.allowAnonymous) and there is no users file (mqtt.usersFile)');
      expect(noClientCanConnect(mqtt({ allowAnonymous: true }))).toBeUndefined();
      expect(noClientCanConnect(mqtt({ usersFile: both }))).toBeUndefined();
      expect(noClientCanConnect(mqtt({ usersFile: certificateOnly }))).toBe(
        `anonymous clients are refused (mqtt.allowAnonymous) and ${certificateOnly} has no user with a password (users without one need mqtt.tls.ca)`,
      );
      expect(noClientCanConnect(mqtt({ usersFile: certificateOnly, tls: { ...tls, ca: 'ca.pem' } }))).toBeUndefined();
      expect(noClientCanConnect(mqtt({ usersFile: empty, tls: { ...tls, ca: 'ca.pem' } }))).toBe(`anonymous clients are refused (mqtt.allowAnonymous) and ${empty} has no user at all`);
      // TLS only with a certificate required: a password is asked nowhere.
      expect(noClientCanConnect(mqtt({ usersFile: both, plain: false, tls: { ...tls, ca: 'ca.pem', requireClientCert: true } }))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a TLS-only configuration without TLS, and a required certificate without a CA bundle', () => {
    const problems = (input: Record<string, unknown>) => gatewayConfigSchema.safeParse({ mqtt: input }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(problems({ plain: false })).toEqual(['mqtt.plain: plain: false (TLS-only) needs mqtt.tls']);
    expect(problems({ tls: { ...tls, requireClientCert: true } })).toEqual(['mqtt.tls.requireClientCert: requireClientCert needs ca (the CA bundle that verifies client certificates)']);
  });
});

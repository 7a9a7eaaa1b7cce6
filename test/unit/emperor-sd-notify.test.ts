// sd_notify against a real UNIX datagram socket (a tiny Python receiver),
// for a path and for an abstract name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { notifyAddress, sdNotify, SystemdNotifier } from '../../src/util/sd-notify';
import { NuwsgiError } from '../../src/util/errors';
import { makeTempDir } from '../helpers/tmp';

/** Binds a datagram socket and prints every message it gets as one JSON line. */
const RECEIVER = `
import json, socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + addr[1:] if addr.startswith("@") else addr)
print("bound", flush=True)
while True:
    print(json.dumps(s.recv(65536).decode()), flush=True)
`;

class Receiver {
  readonly messages: string[] = [];
  private buffered = '';
  private constructor(private readonly proc: ChildProcess) {
    proc.stdout?.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString();
      const lines = this.buffered.split('\n');
      this.buffered = lines.pop() ?? '';
      for (const line of lines) if (line !== 'bound') this.messages.push(JSON.parse(line) as string);
    });
  }

  static async start(address: string): Promise<Receiver> {
    const proc = spawn('python3', ['-c', RECEIVER, address], { stdio: ['ignore', 'pipe', 'inherit'] });
    const receiver = new Receiver(proc);
    await new Promise<void>((resolve, reject) => {
      proc.stdout?.once('data', () => resolve());
      proc.once('exit', (code) => reject(new Error(`receiver exited with ${code}`)));
    });
    return receiver;
  }

  async waitFor(count: number): Promise<string[]> {
    const deadline = Date.now() + 5000;
    while (this.messages.length < count) {
      assert.ok(Date.now() < deadline, `only ${this.messages.length} of ${count} messages arrived`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.messages;
  }

  stop(): void {
    this.proc.kill('SIGKILL');
  }
}

test('sd_notify reaches a socket named by a path', async () => {
  const path = join(makeTempDir('nuwsgi-notify-'), 'notify.sock');
  const receiver = await Receiver.start(path);
  try {
    sdNotify(path, 'READY=1\nSTATUS=serving');
    assert.deepEqual(await receiver.waitFor(1), ['READY=1\nSTATUS=serving']);
  } finally {
    receiver.stop();
  }
});

test('sd_notify reaches an abstract socket (@name)', async () => {
  const name = `@nuwsgi-test-notify-${process.pid}`;
  const receiver = await Receiver.start(name);
  try {
    sdNotify(name, 'STOPPING=1');
    assert.deepEqual(await receiver.waitFor(1), ['STOPPING=1']);
  } finally {
    receiver.stop();
  }
});

test('the notifier takes NOTIFY_SOCKET out of the environment and sends READY, RELOADING, STATUS (once per change), STOPPING', async () => {
  const path = join(makeTempDir('nuwsgi-notify-'), 'notify.sock');
  const receiver = await Receiver.start(path);
  try {
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: path };
    const notifier = SystemdNotifier.fromEnv(env, () => undefined);
    assert.equal(env['NOTIFY_SOCKET'], undefined, 'children never see it');
    assert.equal(notifier.enabled, true);
    notifier.ready('The Emperor is governing 2 vassals');
    notifier.status('a');
    notifier.status('a');
    notifier.reloading();
    notifier.stopping();
    const got = await receiver.waitFor(4);
    assert.equal(got[0], 'READY=1\nSTATUS=The Emperor is governing 2 vassals');
    assert.equal(got[1], 'STATUS=a');
    assert.match(got[2] ?? '', /^RELOADING=1\nMONOTONIC_USEC=\d+$/);
    assert.equal(got[3], 'STOPPING=1');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(receiver.messages.length, 4, 'the repeated status was not sent');
  } finally {
    receiver.stop();
  }
});

test('without NOTIFY_SOCKET the notifier does nothing; a dead socket is logged once, never thrown', () => {
  const silent = SystemdNotifier.fromEnv({}, () => assert.fail('nothing to log'));
  assert.equal(silent.enabled, false);
  silent.ready();
  const logs: string[] = [];
  const broken = SystemdNotifier.fromEnv({ NOTIFY_SOCKET: '/nonexistent-nuwsgi/notify' }, (l) => logs.push(l));
  broken.ready();
  broken.stopping();
  assert.equal(logs.length, 1);
  assert.match(logs[0] ?? '', /^sd_notify: sendto\(\/nonexistent-nuwsgi\/notify\): errno 2 /);
});

test('addresses: abstract names keep their exact length, relative paths and overlong names are refused', () => {
  const abstract = notifyAddress('@abc');
  assert.equal(abstract.length, 2 + 1 + 3);
  assert.equal(abstract.addr[2], 0);
  assert.equal(abstract.addr.subarray(3, 6).toString(), 'abc');
  assert.equal(notifyAddress('/run/x').length, 2 + 6);
  const refused = (value: string): void =>
    assert.throws(() => notifyAddress(value), (e: unknown) => e instanceof NuwsgiError && e.code === 'E_SD_NOTIFY');
  refused('relative/notify');
  refused('vsock:2:1234');
  refused(`/${'x'.repeat(200)}`);
});

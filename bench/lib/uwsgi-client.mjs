// A minimal uwsgi-protocol client for the benches that talk to a vassal's socket
// directly (density.mjs, cold-start.mjs): one GET per connection, as nginx's uwsgi_pass.
import { connect } from 'node:net';

/** A uwsgi packet (modifier 0) carrying the CGI variables of a GET of `path`. */
export function uwsgiPacket(path) {
  const vars = {
    REQUEST_METHOD: 'GET', REQUEST_URI: path, PATH_INFO: path, QUERY_STRING: '', SERVER_NAME: 'localhost',
    SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.1', HTTP_HOST: 'localhost', REMOTE_ADDR: '127.0.0.1',
  };
  const parts = [];
  for (const [k, v] of Object.entries(vars)) {
    for (const s of [k, v]) {
      const b = Buffer.from(s);
      const len = Buffer.alloc(2);
      len.writeUInt16LE(b.length);
      parts.push(len, b);
    }
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([0, body.length & 0xff, body.length >> 8, 0]), body]);
}

/**
 * One request over a fresh connection; resolves with the HTTP status the app
 * answered and when (process.hrtime, ms) the first byte of the answer came.
 */
export function uwsgiGet(socketPath, path, timeoutMs) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let firstByteMs;
    const sock = connect(socketPath);
    const timer = setTimeout(() => sock.destroy(new Error('timeout')), timeoutMs);
    sock.on('connect', () => sock.write(uwsgiPacket(path)));
    sock.on('data', (c) => {
      firstByteMs ??= Number(process.hrtime.bigint()) / 1e6;
      chunks.push(c);
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'))?.[1];
      if (status === undefined) reject(new Error('no response'));
      else resolve({ status: Number(status), firstByteMs });
    });
  });
}

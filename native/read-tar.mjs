// A small streaming ustar reader (POSIX ustar, pax 'x' path/size records, GNU 'L' long names) for
// native/provision-cuda.mjs: Node built-ins only. Entries are handed out as they stream; nothing is buffered
// beyond a header block, except pax/long-name records.

/** A malformed or truncated archive. */
export class TarFormatError extends Error {
  constructor(message) {
    super(message);
    this.name = 'TarFormatError';
  }
}

const BLOCK = 512;

function octal(header, start, length) {
  if (header[start] & 0x80) { // base-256 (GNU) for sizes ≥ 8 GiB
    let n = header[start] & 0x7f;
    for (let i = start + 1; i < start + length; i++) n = n * 256 + header[i];
    return n;
  }
  const text = header.toString('latin1', start, start + length).replace(/[\0 ]+$/g, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`corrupt tar header (field '${text}' is not octal)`);
  return parseInt(text, 8);
}

function cString(header, start, length) {
  const end = header.indexOf(0, start);
  return header.toString('utf8', start, end < 0 || end > start + length ? start + length : end);
}

function parseHeader(header) {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
  if (sum !== octal(header, 148, 8)) throw new TarFormatError('corrupt tar header (checksum mismatch)');
  const magic = header.toString('latin1', 257, 262);
  const prefix = magic === 'ustar' ? cString(header, 345, 155) : '';
  const name = cString(header, 0, 100);
  return {
    name: prefix ? `${prefix}/${name}` : name,
    size: octal(header, 124, 12),
    mode: octal(header, 100, 8),
    type: String.fromCharCode(header[156] || 0x30), // NUL means a regular file
  };
}

function parsePax(body) {
  const out = {};
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(body.toString('latin1', pos, space), 10);
    if (!(len > 0)) throw new TarFormatError('corrupt pax header');
    const record = body.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

/**
 * Reads a tar stream chunk by chunk. For each file entry `onEntry({ name, size, mode, type })` returns
 * undefined (skip it) or a sink `{ write(chunk), end() }` that receives the entry's bytes.
 */
export async function readTar(source, onEntry) {
  let pending = Buffer.alloc(0);
  let body; // { remaining, padding, write, end }
  let nextPax = {};
  let nextLongName;
  let ended = false;
  const meta = (collect) => {
    const parts = [];
    return { write: (c) => parts.push(Buffer.from(c)), end: () => collect(Buffer.concat(parts)) };
  };
  for await (const chunk of source) {
    pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    let off = 0;
    while (!ended) {
      if (body) {
        const n = Math.min(body.remaining, pending.length - off);
        if (n > 0) body.write(pending.subarray(off, off + n));
        off += n;
        body.remaining -= n;
        if (body.remaining > 0) break;
        const pad = Math.min(body.padding, pending.length - off);
        off += pad;
        body.padding -= pad;
        if (body.padding > 0) break;
        body.end();
        body = undefined;
        continue;
      }
      if (pending.length - off < BLOCK) break;
      const header = pending.subarray(off, off + BLOCK);
      off += BLOCK;
      if (header.every((b) => b === 0)) {
        ended = true;
        break;
      }
      const h = parseHeader(header);
      let sink;
      if (h.type === 'x') {
        sink = meta((b) => { nextPax = parsePax(b); });
      } else if (h.type === 'g') {
        sink = undefined; // global pax header: nothing we use
      } else if (h.type === 'L') {
        sink = meta((b) => { nextLongName = b.toString('utf8').replace(/\0+$/, ''); });
      } else {
        const entry = {
          ...h,
          name: nextPax.path ?? nextLongName ?? h.name,
          size: nextPax.size !== undefined ? Number(nextPax.size) : h.size,
        };
        nextPax = {};
        nextLongName = undefined;
        h.size = entry.size;
        sink = onEntry(entry);
      }
      const sinkOrDrop = sink ?? { write() {}, end() {} };
      body = { remaining: h.size, padding: (BLOCK - (h.size % BLOCK)) % BLOCK, ...sinkOrDrop };
    }
    pending = pending.subarray(off);
  }
  if (!ended) throw new TarFormatError('truncated tar archive (no end-of-archive block)');
}

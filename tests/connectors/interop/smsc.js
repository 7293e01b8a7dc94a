'use strict';
// An SMSC built on node-smpp, an SMPP 3.4 implementation we did not write, so that our connector
// is checked against someone else's reading of the spec rather than only against our simulator.
//
//   node smsc.js SYSTEM_ID PASSWORD
//
// Listens on a free 127.0.0.1 port. Tells the test what happens as JSON lines on stdout, the first
// being {"event":"listening","port":N}. Takes JSON-line commands on stdin:
//   {"cmd":"mo","source":"...","destination":"...","text":"..."}  a mobile-originated message
//   {"cmd":"enquire_link"}                                         a link test to every bound session
//   {"cmd":"unbind"}                                               ask every bound session to unbind
// Exits when stdin closes, so a test run that dies leaves no server behind.

const readline = require('readline');
const smpp = require('smpp');

const [SYSTEM_ID, PASSWORD] = process.argv.slice(2);
const RECEIPT_DELAY_MS = 30; // receipts come after the submit_sm_resp, as from a real handset
const ROLES = {
  bind_transceiver: { transmits: true, receives: true },
  bind_transmitter: { transmits: true, receives: false },
  bind_receiver: { transmits: false, receives: true },
};

const bound = new Set();
const pending = new Map(); // source/destination/reference -> segments of a concatenated submit
let nextId = 0x5a3c0000; // message ids as lower-case hex, as many SMSCs write them
let nextMoRef = 0;

function emit(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function stamp(date) {
  const two = (n) => String(n).padStart(2, '0');
  return (
    two(date.getFullYear() % 100) +
    two(date.getMonth() + 1) +
    two(date.getDate()) +
    two(date.getHours()) +
    two(date.getMinutes())
  );
}

function receiver() {
  for (const session of bound) {
    if (session.role.receives) return session;
  }
  return null;
}

// The concatenation header of a segment (8- or 16-bit reference, or the sar_* TLVs), or null.
function segmentOf(pdu, body) {
  for (const ie of body.udh || []) {
    if (ie[0] === 0x00 && ie[1] === 3) return { ref: ie[2], total: ie[3], seq: ie[4] };
    if (ie[0] === 0x08 && ie[1] === 4) return { ref: ie.readUInt16BE(2), total: ie[4], seq: ie[5] };
  }
  if (pdu.sar_msg_ref_num !== undefined) {
    return { ref: pdu.sar_msg_ref_num, total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum };
  }
  return null;
}

function onBind(session, pdu) {
  const role = ROLES[pdu.command];
  let status = 0;
  if (session.role) status = smpp.ESME_RALYBND;
  else if (pdu.system_id !== SYSTEM_ID) status = smpp.ESME_RINVSYSID;
  else if (pdu.password !== PASSWORD) status = smpp.ESME_RINVPASWD;
  emit({ event: 'bind', command: pdu.command, system_id: pdu.system_id, status });
  if (status) {
    session.send(pdu.response({ command_status: status }));
    if (!session.role) session.close();
    return;
  }
  session.role = role;
  bound.add(session);
  session.send(pdu.response({ system_id: 'NODESMSC' }));
}

function onSubmit(session, pdu) {
  if (!session.role || !session.role.transmits) {
    session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
    return;
  }
  const id = (nextId++).toString(16);
  session.send(pdu.response({ message_id: id }));
  const body = pdu.message_payload || pdu.short_message;
  const text = typeof body.message === 'string' ? body.message : null;
  const segment = segmentOf(pdu, body);
  emit({
    event: 'submit_sm',
    id,
    source: pdu.source_addr,
    destination: pdu.destination_addr,
    data_coding: pdu.data_coding,
    esm_class: pdu.esm_class,
    registered_delivery: pdu.registered_delivery,
    segment,
    text,
  });
  let whole = { texts: [text], ids: [id] };
  if (segment) {
    const key = `${pdu.source_addr}/${pdu.destination_addr}/${segment.ref}`;
    const parts = pending.get(key) || new Map();
    pending.set(key, parts);
    parts.set(segment.seq, { text, id });
    whole = null;
    if (parts.size === segment.total) {
      pending.delete(key);
      const ordered = [...parts.keys()].sort((a, b) => a - b).map((seq) => parts.get(seq));
      whole = { texts: ordered.map((p) => p.text), ids: ordered.map((p) => p.id) };
    }
  }
  if (whole) {
    const complete = whole.texts.every((t) => t !== null);
    emit({
      event: 'message',
      source: pdu.source_addr,
      destination: pdu.destination_addr,
      text: complete ? whole.texts.join('') : null,
      ids: whole.ids,
    });
  }
  if (pdu.registered_delivery & 0x01) {
    const submitted = new Date();
    setTimeout(() => sendReceipt(pdu, id, text || '', submitted), RECEIPT_DELAY_MS);
  }
}

function sendReceipt(submit, id, text, submitted) {
  const target = receiver();
  if (!target) {
    emit({ event: 'receipt_undeliverable', id });
    return;
  }
  const preview = text.slice(0, 20).replace(/[^\x20-\x7e]/g, '?');
  const receipt =
    `id:${id} sub:001 dlvrd:001 submit date:${stamp(submitted)} done date:${stamp(new Date())}` +
    ` stat:DELIVRD err:000 text:${preview}`;
  target.deliver_sm(
    {
      source_addr: submit.destination_addr,
      destination_addr: submit.source_addr,
      esm_class: smpp.ESM_CLASS.MC_DELIVERY_RECEIPT,
      data_coding: 0,
      short_message: Buffer.from(receipt, 'ascii'), // receipt text is plain ASCII octets
    },
    (resp) => emit({ event: 'deliver_sm_resp', kind: 'receipt', id, status: resp.command_status })
  );
}

// One deliver_sm, or UCS-2 segments with a concatenation header when the text is long.
function sendMo({ source, destination, text }) {
  const target = receiver();
  if (!target) {
    emit({ event: 'mo_undeliverable' });
    return;
  }
  const single = text.length <= 70 || /^[\x20-\x7e]{0,160}$/.test(text);
  const chunks = [];
  if (single) chunks.push(text);
  else for (let at = 0; at < text.length; at += 67) chunks.push(text.slice(at, at + 67));
  const ref = nextMoRef++ & 0xff;
  chunks.forEach((chunk, i) => {
    const fields = { source_addr: source, destination_addr: destination };
    if (single) {
      fields.short_message = chunk; // node-smpp picks GSM 03.38 or UCS-2
    } else {
      fields.data_coding = smpp.ENCODING.UCS2;
      fields.short_message = { udh: Buffer.from([5, 0, 3, ref, chunks.length, i + 1]), message: chunk };
    }
    target.deliver_sm(fields, (resp) =>
      emit({ event: 'deliver_sm_resp', kind: 'mo', part: i + 1, status: resp.command_status })
    );
  });
}

const server = smpp.createServer((session) => {
  session.role = null;
  session.on('error', (error) => emit({ event: 'error', message: error.message }));
  session.on('close', () => {
    bound.delete(session);
    emit({ event: 'closed' });
  });
  for (const command of Object.keys(ROLES)) session.on(command, (pdu) => onBind(session, pdu));
  session.on('submit_sm', (pdu) => onSubmit(session, pdu));
  session.on('enquire_link', (pdu) => {
    session.send(pdu.response());
    emit({ event: 'enquire_link' });
  });
  session.on('unbind', (pdu) => {
    bound.delete(session);
    emit({ event: 'unbind' });
    session.send(pdu.response(), () => session.close());
  });
  session.on('unbind_resp', (pdu) => {
    emit({ event: 'unbind_resp', status: pdu.command_status });
    session.close();
  });
  session.on('pdu', (pdu) => {
    if (pdu.command === 'unknown') session.send(pdu.response());
  });
});

const commands = {
  mo: sendMo,
  enquire_link: () => {
    for (const session of bound) {
      session.enquire_link({}, (resp) => emit({ event: 'enquire_link_resp', status: resp.command_status }));
    }
  },
  unbind: () => {
    for (const session of [...bound]) {
      bound.delete(session);
      session.unbind();
    }
  },
};

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line);
  commands[command.cmd](command);
});
process.stdin.on('end', () => process.exit(0));

server.listen(0, '127.0.0.1', () => emit({ event: 'listening', port: server.address().port }));

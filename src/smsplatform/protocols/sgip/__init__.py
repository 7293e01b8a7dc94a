"""SGIP 1.2 (China Unicom) as sans-IO bytes: PDUs, framing, sequence numbers, result codes.

SGIP differs from its siblings in two ways a link must plan for:

- Each side only ever sends commands on connections it opened itself. The SP binds to the SMG to
  submit; the SMG binds back to the SP's own listener (login type 2) to deliver MO and Reports. An SP
  therefore runs a client and a server at the same time.
- There is no heartbeat PDU (no enquire_link / active_test). A server closes a connection that has
  been idle for a while (60 s by default), so a client opens links when it has work, unbinds when it
  is done, and treats a close after idleness as normal rather than as a failure. The connector, not
  this package, owns those timers; `defaults` holds the figures the specification gives.

Modules: `pdu` (PDU values, code tables, `SgipSequence`, whose text form is our message id),
`codec` (encode/decode/PduReader), `errors`, `responses` (answers, including to undecodable
commands), `sequence` (issuing sequence numbers), `results` (Result/ErrorCode table),
`report_state` (Report State ↔ receipt stat words), `coding` (MessageCoding ↔ text encodings).
"""

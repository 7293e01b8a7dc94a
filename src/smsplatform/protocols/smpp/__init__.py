"""SMPP 3.4 as sans-IO bytes: PDUs, framing, optional parameters, receipts, long messages.

`codec` turns PDUs into frames and frames back into PDUs (`PduReader` for a byte stream); the link
engine owns sockets, windows and timers. Text and segmenting live in `smsplatform.protocols.text` and
`.concat`; `coding` maps them onto data_coding, `segmenting` builds submit_sm PDUs for a text, and
`reassembly` puts incoming parts back together.
"""

"""SMGP 3.0 (China Telecom) as sans-IO bytes: PDUs, framing, login digests, MsgIDs, status reports.

The link engine owns sockets and timers; this package only turns bytes into PDUs and back:

- `pdu` holds the PDU dataclasses and the enumerated values of their fields, `tlv` the optional
  parameters that follow Submit and Deliver bodies, `codec` the frames and the `PduReader`.
- `errors` is the error for one undecodable frame, `responses` the answers a link gives to requests.
- `auth` computes and checks the Login digests, `msgid` reads and makes the 10-octet BCD MsgIDs,
  `report` reads and writes the status report carried in a Deliver with IsReport = 1.
- `status` names the result codes, `defaults` the link figures the specification recommends.
"""

"""The operator's room: the operations an operator performs, once, and their three faces.

`operations` modules hold each action (create a customer, approve a template, stop a link, search
messages) as a function `fn(conn, actor, ...)` that checks the actor's role, does the work through
`store/` and writes the audit log in the same transaction. The web console (`console/`), the
management API (`api/`) and the command line (`smsplatform.cli`) call those functions and nothing
else: none of them writes SQL of its own.
"""

"""The outbox and its stream: every change writes an event in the same transaction; consoles follow."""

"""Notices: rendering, channels and delivery.

- `kinds.py`      the notice kinds and the names of their templates (the one list)
- `context.py`    what a template sees (NoticeContext, TaskLine)
- `compose.py`    that context built from an outbox row and the store
- `render.py`     Jinja: strict names, HTML autoescape, WeCom escaping and the 4,096-byte split
- `samples.py`    a sample notice of every kind (preview without data, template tests)
- `channels/`     one module per channel behind `base.Channel`: email, wecom, file
- `ratelimit.py`  the per-robot token bucket (defers, never sleeps)
- `queue.py`      the dispatcher's side of the outbox: claims with a lease, outcomes, requeue
- `dispatcher.py` one pass: claim, render, send, record; backoff, dead letters, failure reports
- `secrets.py`    masking of passwords, robot keys and ${…} values in logs and errors
- `directory.py`  which channels reach a unit (the contact directory)
"""

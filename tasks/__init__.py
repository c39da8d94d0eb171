"""Background work on taskiq: the broker, jobs, schedules, and (with real-time) the outbox relay.

The word "job" is used for taskiq work; a collector's "task" lives in domain/worklist.
"""

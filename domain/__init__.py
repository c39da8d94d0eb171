"""Business logic and persistence: Piccolo tables and one service package per area.

Knows nothing of HTTP, WebSockets or taskiq; takes from ``channels`` only the
channel names it writes on outbox events.
"""

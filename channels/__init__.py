"""The real-time layer: channel names and who may hear them, the wire protocol, fan-out and resume.

Knows nothing of the domain beyond event envelopes.
"""

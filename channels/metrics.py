"""Prometheus metrics of the real-time layer (served by each web process's /metrics)."""

from prometheus_client import Counter, Gauge

SOCKETS = Gauge("recoup_ws_sockets", "Open WebSocket connections")
CHANNELS = Gauge("recoup_ws_channels", "Channels this process is subscribed to")
DELIVERIES = Counter("recoup_ws_deliveries_total", "Event frames handed to sockets")
CUT_SLOW = Counter("recoup_ws_cut_slow_total", "Sockets closed for falling behind")
PUBSUB_RECONNECTS = Counter("recoup_pubsub_reconnects_total", "Pub/sub connections re-established")

"""Outbound webhooks: endpoints a tenant registers, and the signed deliveries of its events."""

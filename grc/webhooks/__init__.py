"""Webhook subscriptions (J5): per-tenant, per event type, signed the Standard Webhooks way."""

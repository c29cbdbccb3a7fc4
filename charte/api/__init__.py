"""The REST API (v1) for partners' and clubs' tools: same data and same scoping policy as the portal.

Per-app serializers, filters and viewsets live in each app's `api.py`; this package holds what every
endpoint shares: authentication by API key, permissions, throttling, pagination, the error body and the
OpenAPI schema.
"""

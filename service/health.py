"""``GET /health``: is the service up and can it read its ledger? For monitoring; no token."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from service.context import store

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
def health() -> tuple[Response, int]:
    """200 with the ledger's head position when the store answers; 503 when it does not."""
    try:
        position = store().position()
    except Exception as exc:  # noqa: BLE001 - a store that fails in any way is unhealthy
        return jsonify({"status": "unavailable", "error": type(exc).__name__}), 503
    return jsonify({"status": "ok", "position": position}), 200

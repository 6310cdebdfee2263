"""``GET /docs``: the API's reference page, rendered on the server from the OpenAPI document.

No script or stylesheet is fetched from anywhere (flask-smorest's Swagger UI and ReDoc pages
load theirs from a CDN), so the page works on a machine without internet access.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template_string

blueprint = Blueprint("docs", __name__)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ info.title }} API {{ info.version }}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code,pre{font:13px ui-monospace,monospace}
.op{border-top:1px solid #ccc;padding:.6rem 0}
.m{display:inline-block;min-width:3.5rem;font-weight:bold}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
</style></head><body>
<h1>{{ info.title }} API {{ info.version }}</h1>
<p>{{ info.description }}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI {{ openapi }}).
Send a token as <code>Authorization: Bearer TOKEN</code> (made with
<code>corledger tokens create</code>). Errors are RFC 9457 <code>application/problem+json</code>.
Responses carry an <code>ETag</code>; send it back in <code>If-None-Match</code> for a 304.</p>
{% for path, item in paths %}{% for method, op in item %}
<div class="op" id="{{ op.operationId }}">
<div><span class="m">{{ method|upper }}</span> <code>{{ path }}</code>
 &mdash; {{ op.summary }}</div>
{% if op.description %}<p>{{ op.description }}</p>{% endif %}
{% if op.parameters %}<table><tr><th>parameter</th><th>in</th><th>type</th><th>required</th>
</tr>{% for p in op.parameters %}<tr><td><code>{{ p.name }}</code></td><td>{{ p.in }}</td>
<td>{{ p.schema.type if p.schema else '' }}</td><td>{{ 'yes' if p.required else '' }}</td>
</tr>{% endfor %}</table>{% endif %}
<p>Responses: {% for code, r in op.responses.items() %}<code>{{ code }}</code>
{{ r.description }}{{ '; ' if not loop.last }}{% endfor %}</p>
</div>{% endfor %}{% endfor %}
</body></html>"""


@blueprint.get("/docs")
def docs() -> str:
    """The reference page of every endpoint, its parameters and its responses."""
    api = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    spec: dict[str, Any] = api.spec.to_dict()
    paths = [(path, [(m, op) for m, op in item.items() if isinstance(op, dict)
                     and m in ("get", "post", "put", "delete", "patch")])
             for path, item in sorted(spec.get("paths", {}).items())]
    return render_template_string(PAGE, info=spec["info"], openapi=spec["openapi"],
                                  paths=paths)

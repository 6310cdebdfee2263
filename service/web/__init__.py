"""The server-rendered pages (issue 14): an employer's bitemporal timeline drawn as SVG, the
roll, lapses, incentives, public verification and a browser sign-in, on the service's app.

The app registers :data:`blueprint`; templates and static files ship inside this package.
"""

from service.web.views import blueprint

__all__ = ["blueprint"]

"""/docs and /redoc: the API documentation pages, from the package's own copies of Swagger UI and ReDoc.

FastAPI's default pages load Swagger UI and ReDoc from a CDN (and a favicon and Google fonts from the web): on an
offline network they stay blank. foncier ships both as package data (``foncier/maps/_assets``, see
:mod:`foncier.maps.assets`) and serves them at :data:`DOCS_ASSETS_URL`; the pages refer to nothing else. When the
copies are missing (a development checkout without ``make assets``) the pages fall back to the CDN, with a
warning.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from foncier.maps.assets import ASSETS, assets_root

logger = logging.getLogger(__name__)

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
#: where the API serves its copies of Swagger UI and ReDoc
DOCS_ASSETS_URL = "/docs/assets"
_OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def install_docs(app: FastAPI) -> None:
    """Add ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) to ``app`` (created with ``docs_url=None, redoc_url=None``).

    The pages load their JavaScript, CSS and favicon from :data:`DOCS_ASSETS_URL` (the package's copies) and
    the document from ``app.openapi_url``.
    """
    root = assets_root()
    files = [ASSETS[key] for key in ("swagger_ui_js", "swagger_ui_css", "redoc_js")]
    local = all((root / a.package / a.path).is_file() for a in files)
    if local:
        app.mount(DOCS_ASSETS_URL, StaticFiles(directory=root), name="docs_assets")

        def url(key: str, path: str | None = None) -> str:
            asset = ASSETS[key]
            return f"{DOCS_ASSETS_URL}/{asset.package}/{path or asset.path}"

        swagger_js, swagger_css, redoc_js = url("swagger_ui_js"), url("swagger_ui_css"), url("redoc_js")
        favicon = url("swagger_ui_js", "favicon-32x32.png")
    else:
        logger.warning("Swagger UI / ReDoc copies not found in %s (make assets): /docs loads them from the CDN", root)
        swagger_js, swagger_css, redoc_js = (
            ASSETS[k].cdn_url() for k in ("swagger_ui_js", "swagger_ui_css", "redoc_js")
        )
        favicon = ASSETS["swagger_ui_js"].cdn_url().rsplit("/", 1)[0] + "/favicon-32x32.png"
    openapi_url = app.openapi_url or "/openapi.json"
    title = app.title

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=swagger_js,
            swagger_css_url=swagger_css,
            swagger_favicon_url=favicon,
            oauth2_redirect_url=_OAUTH2_REDIRECT_URL,
            # no badge asking validator.swagger.io about the document
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(_OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=redoc_js,
            redoc_favicon_url=favicon,
            with_google_fonts=False,
        )

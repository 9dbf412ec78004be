"""/docs and /redoc: Swagger UI and ReDoc from the package's own copies, nothing from the web."""

from __future__ import annotations

import re

import httpx

from foncier.api.routers.docs import DOCS_ASSETS_URL
from foncier.maps.assets import ASSETS, package_version


def _loaded_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html) + re.findall(r"url:\s*'([^']+)'", html)


def test_docs_pages_load_only_local_assets(client: httpx.Client) -> None:
    for page, needed in (("/docs", ("swagger_ui_js", "swagger_ui_css")), ("/redoc", ("redoc_js",))):
        response = client.get(page)
        assert response.status_code == 200
        urls = _loaded_urls(response.text)
        assert urls, page
        assert not [u for u in urls if re.match(r"^(https?:)?//", u)], (page, urls)
        for key in needed:
            asset = ASSETS[key]
            url = f"{DOCS_ASSETS_URL}/{asset.package}/{asset.path}"
            assert url in urls, (page, url)
            served = client.get(url)
            assert served.status_code == 200 and len(served.content) > 10_000
        for url in urls:
            if url.startswith("/"):
                assert client.get(url).status_code == 200, url
    assert "fonts.googleapis.com" not in client.get("/redoc").text


def test_swagger_ui_is_the_pinned_version(client: httpx.Client) -> None:
    asset = ASSETS["swagger_ui_js"]
    body = client.get(f"{DOCS_ASSETS_URL}/{asset.package}/{asset.path}").text
    assert package_version("swagger-ui-dist").startswith("5.")
    assert "SwaggerUIBundle" in body

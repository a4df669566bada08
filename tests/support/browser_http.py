"""A browser's HTTP, for flows that cross hosts (an admin, the issuer, back): each host keeps
its own cookies, every request goes to one local server with the URL's host in `Host`, and
redirects are followed one at a time so a test can look at each."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urljoin, urlsplit

import httpx


class BrowserHttp:
    def __init__(self, port: int):
        self.port = port
        self._clients: dict[str, httpx.Client] = {}

    def get(self, url: str) -> httpx.Response:
        return self._request("GET", url)

    def post(self, url: str, data: dict) -> httpx.Response:
        return self._request("POST", url, data=data)

    def follow(self, response: httpx.Response) -> httpx.Response:
        assert response.is_redirect, (response.status_code, response.text[:500])
        return self.get(urljoin(str(response.url_as_sent), response.headers["location"]))

    def _request(self, method: str, url: str, **kwargs) -> httpx.Response:
        parts = urlsplit(url)
        client = self._clients.setdefault(
            parts.netloc,
            httpx.Client(
                base_url=f"http://127.0.0.1:{self.port}",
                headers={"Host": parts.netloc},
                timeout=30,
            ),
        )
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = client.request(method, path, **kwargs)
        response.url_as_sent = url
        return response

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def csrf_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def link(page: str, text: str) -> str:
    """The href of the first link whose text holds `text`."""
    for href, label in re.findall(r'<a [^>]*href="([^"]+)"[^>]*>(.*?)</a>', page, re.S):
        if text in label:
            return unescape(href)
    raise AssertionError(f"no link {text!r} on the page")

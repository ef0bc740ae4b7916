"""The client's requests: built once per endpoint, handed straight to the transport.

httpx's client layer rebuilds and re-parses the URL of every request (the base URL
merged, then the query), runs its auth and redirect machinery and offers every answer
to its cookie jar: about 0.6 ms of CPU per call here, more than the transport under it
(bench/notes.md). The client needs none of that per call: it talks to one API URL with
fixed headers, no auth flow and no redirect followed (a 3xx is an error,
:mod:`reconciler.client._http`). :class:`Requests` does what httpx would do, once:

* the URL of each path and query is built by the ``AsyncClient`` itself (its merge and
  encoding rules) and kept for the next request to the same endpoint;
* the headers are the client's, merged once (with ``Content-Type`` for a JSON body);
* requests go to the transport httpx would pick for the API URL (a transport mounted
  for it, else the client's own: the one handed in for tests and the in-process
  emulator, or :class:`~reconciler.client._wire.WireTransport`);
* cookies as under httpx: an answer that sets one goes to the client's jar, and while
  the jar holds any, requests are built by httpx in full, so they carry them back;
* a failure of the transport names its request, as httpx's own exceptions do.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

__all__ = ["Requests"]

# Batch mode calls a handful of endpoints; single mode names a subscriber in every path,
# so its URLs are built each time rather than kept without bound.
_MAX_URLS = 64


class Requests:
    """Builds and sends the requests of one ``httpx.AsyncClient`` (see the module)."""

    __slots__ = ("_extensions", "_http", "_json_headers", "_plain_headers", "_transport", "_urls")

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        # The transport httpx itself would send a request for the API URL through.
        self._transport = http._transport_for_url(http.base_url)
        self._plain_headers = httpx.Headers(http.headers)
        self._json_headers = httpx.Headers(http.headers)
        self._json_headers.update({"Content-Type": "application/json"})
        self._extensions = {"timeout": http.timeout.as_dict()}
        self._urls: dict[tuple[str, tuple[tuple[str, str | int], ...]], httpx.URL] = {}

    def build(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        content: bytes | None,
    ) -> httpx.Request:
        """The request ``AsyncClient.build_request`` would build (``content`` is JSON)."""
        if self._http.cookies:
            return self._http.build_request(
                method,
                path,
                params=params,
                content=content,
                headers={"Content-Type": "application/json"} if content else None,
            )
        return httpx.Request(
            method,
            self._url(method, path, params),
            headers=self._json_headers if content else self._plain_headers,
            content=content,
            extensions=self._extensions,
        )

    def _url(self, method: str, path: str, params: Mapping[str, str | int] | None) -> httpx.URL:
        key = (path, tuple(params.items()) if params else ())
        url = self._urls.get(key)
        if url is None:
            url = self._http.build_request(method, path, params=params).url
            if len(self._urls) < _MAX_URLS:
                self._urls[key] = url
        return url

    async def send(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; the answer's body is left to read (a stream)."""
        try:
            response = await self._transport.handle_async_request(request)
        except httpx.RequestError as exc:
            exc.request = request
            raise
        response.request = request
        if "set-cookie" in response.headers:
            self._http.cookies.extract_cookies(response)
        return response

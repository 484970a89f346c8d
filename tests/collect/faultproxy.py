"""A fault-injecting HTTP proxy for the moto server: forwards every request, and per AWS operation (the
``X-Amz-Target`` header of JSON protocols, or the ``Action`` form parameter of query protocols) can answer
HTTP 200 with an empty, truncated or garbage body, answer 400 ThrottlingException in the protocol's shape,
reset the connection, or stall past the client's read timeout.

Use as a context manager; ``stop`` unblocks stalled handlers, closes every client connection and joins
every handler thread."""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("empty", "truncated", "garbage", "throttle", "reset", "stall")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade"}
GARBAGE = b'<html><body>502 Bad Gateway</body></html>\x00\xff{"not": json'


@dataclass
class Rule:
    fault: str
    times: int | None = None  # None: every request; N: the first N requests, then pass through
    stall: float = 5.0  # seconds a stalled request is held (it is released early on stop)


def operation_of(headers: Any, body: bytes, path: str) -> tuple[str, str]:
    """(operation, protocol) of one request: ("GetKeyPolicy", "json") or ("GetRole", "query")."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1], "json"
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace")) if body else {}
    if "Action" not in form:
        form = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    return (form.get("Action") or [""])[0], "query"


def throttling(protocol: str, json_content_type: str) -> tuple[bytes, str]:
    if protocol == "json":
        body = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
        return body, json_content_type
    body = (
        b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
        b"</Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
    )
    return body, "text/xml"


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        parts = urllib.parse.urlsplit(upstream)
        assert parts.hostname and parts.port, upstream
        self.upstream = (parts.hostname, parts.port)
        self.rules: dict[str, Rule] = {}
        self.seen: Counter[str] = Counter()  # operation -> requests
        self.hits: Counter[str] = Counter()  # operation -> requests faulted
        self.passed: Counter[str] = Counter()  # operation -> requests forwarded (after any fault)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = False
        self._server.block_on_close = True  # server_close joins every handler thread
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def set(self, operation: str, fault: str, times: int | None = None, stall: float = 5.0) -> None:
        assert fault in FAULTS, fault
        with self._lock:
            self.rules[operation] = Rule(fault, times, stall)

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.seen.clear()
            self.hits.clear()
            self.passed.clear()

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._thread.join()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:  # idle keep-alive connections: unblock their handler threads
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ request handling

    def _decide(self, operation: str) -> Rule | None:
        with self._lock:
            self.seen[operation] += 1
            rule = self.rules.get(operation)
            if rule is None or (rule.times is not None and self.hits[operation] >= rule.times):
                self.passed[operation] += 1
                return None
            self.hits[operation] += 1
            return rule

    def _forward(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            out = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
            conn.request(method, path, body=body, headers=out)
            response = conn.getresponse()
            data = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return response.status, kept, data
        finally:
            conn.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with proxy._lock:
                    proxy._sockets.add(self.connection)

            def finish(self) -> None:
                with proxy._lock:
                    proxy._sockets.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def log_message(self, *_: Any) -> None:
                pass

            def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def _reset(self) -> None:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                operation, protocol = operation_of(self.headers, body, self.path)
                rule = proxy._decide(operation)
                if rule is None:
                    self._send(*proxy._forward(self.command, self.path, self.headers, body))
                    return
                content_type = self.headers.get("Content-Type", "application/x-amz-json-1.0")
                if protocol == "query":
                    content_type = "text/xml"
                if rule.fault == "reset":
                    self._reset()
                elif rule.fault == "stall":
                    proxy._stopping.wait(rule.stall)
                    self._reset()
                elif rule.fault == "throttle":
                    data, ctype = throttling(protocol, content_type)
                    self._send(400, [("Content-Type", ctype), ("x-amzn-RequestId", "fault-proxy")], data)
                elif rule.fault == "empty":
                    self._send(200, [("Content-Type", content_type)], b"")
                elif rule.fault == "garbage":
                    self._send(200, [("Content-Type", content_type)], GARBAGE)
                else:  # truncated: the real answer, cut in half
                    _status, headers, data = proxy._forward(self.command, self.path, self.headers, body)
                    self._send(200, [h for h in headers if h[0].lower() != "content-length"], data[: len(data) // 2])

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        return Handler

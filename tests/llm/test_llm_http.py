"""The LLM client's HTTP/1.1 layer (agents/llm/http.py) against real servers on 127.0.0.1: framing, keep-alive, failures.

Each server is ``http.server`` (the standard library's, an outside implementation of the protocol) or a raw
socket that misbehaves on purpose; every reply the client returns must be the bytes the server sent.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agents.llm.client import run_sync
from agents.llm.http import ConnectFailed, Disconnected, HTTPClient, MalformedReply
from agents.llm.local import free_port


def serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Echo(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive; the reply (framed as the path asks) says which connection and what came."""

    protocol_version = "HTTP/1.1"
    peers: list[tuple[str, int]] = []

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Echo.peers.append(self.client_address)
        reply = b'{"got":' + body + b',"auth":"' + (self.headers.get("Authorization") or "").encode() + b'"}'
        self.send_response(200 if "teapot" not in self.path else 418)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "7")
        if self.path.endswith("/chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(reply), 5):
                part = reply[i : i + 5]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path.endswith("/close"):
            self.send_header("Content-Length", str(len(reply)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(reply)
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)


class OldStyle(BaseHTTPRequestHandler):
    """HTTP/1.0 with no Content-Length: the reply ends when the server closes the connection."""

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"old": true}' * 1000)


@pytest.fixture
def echo():
    Echo.peers = []
    server = serve(Echo)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def post(client: HTTPClient, path: str, body: bytes, headers: dict[str, str] | None = None):
    async def go():
        return await client.post(client.head(path, headers or {"Content-Type": "application/json"}), body)

    return run_sync(go())


def test_keep_alive_reuses_one_connection_and_returns_the_exact_reply(echo):
    client = HTTPClient(echo, timeout=30)
    replies = [post(client, "/v1/x", b'{"n":%d}' % i, {"Authorization": "Bearer k"}) for i in range(5)]
    assert [r.body for r in replies] == [b'{"got":{"n":%d},"auth":"Bearer k"}' % i for i in range(5)]
    assert {r.status for r in replies} == {200} and replies[0].headers["retry-after"] == "7"  # names in lower case
    assert len(set(Echo.peers)) == 1  # one TCP connection served all five
    run_sync(client.aclose())


def test_chunked_replies_are_reassembled(echo):
    client = HTTPClient(echo, timeout=30)
    body = b'{"text":"' + b"abc" * 100 + b'"}'
    assert post(client, "/v1/chunked", body).body == b'{"got":' + body + b',"auth":""}'
    assert post(client, "/v1/chunked", b"1").body == b'{"got":1,"auth":""}'  # the connection is still usable
    run_sync(client.aclose())


def test_connection_close_and_http10_replies_are_complete_and_not_reused(echo):
    client = HTTPClient(echo, timeout=30)
    assert post(client, "/v1/close", b"1").body == b'{"got":1,"auth":""}'
    assert post(client, "/v1/close", b"2").body == b'{"got":2,"auth":""}'
    assert len(set(Echo.peers)) == 2  # a new connection after the server said close
    old = serve(OldStyle)
    legacy = HTTPClient(f"http://127.0.0.1:{old.server_port}", timeout=30)
    reply = post(legacy, "/", b"{}")
    assert reply.status == 200 and reply.body == b'{"old": true}' * 1000
    old.shutdown()
    old.server_close()


def test_an_error_status_is_a_reply_not_an_exception(echo):
    reply = post(HTTPClient(echo, timeout=30), "/v1/teapot", b"3")
    assert reply.status == 418 and reply.body == b'{"got":3,"auth":""}'


def test_a_refused_connection_is_connect_failed():
    with pytest.raises(ConnectFailed):
        post(HTTPClient(f"http://127.0.0.1:{free_port()}", timeout=5), "/", b"{}")


def raw_server(answer: bytes | None, hold: float = 0.0) -> tuple[int, threading.Event]:
    """A socket server that reads one request, then sends ``answer`` (None: nothing) and closes, after ``hold`` seconds."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def run() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        if hold:
            done.wait(hold)
        if answer:
            conn.sendall(answer)
        conn.close()
        listener.close()

    threading.Thread(target=run, daemon=True).start()
    return listener.getsockname()[1], done


def test_a_server_that_hangs_up_mid_reply_is_disconnected():
    port, _ = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\"")
    with pytest.raises(Disconnected):
        post(HTTPClient(f"http://127.0.0.1:{port}", timeout=10), "/", b"{}")
    port, _ = raw_server(None)
    with pytest.raises(Disconnected):
        post(HTTPClient(f"http://127.0.0.1:{port}", timeout=10), "/", b"{}")


def test_bytes_that_are_not_http_are_a_malformed_reply():
    port, _ = raw_server(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    with pytest.raises(MalformedReply):
        post(HTTPClient(f"http://127.0.0.1:{port}", timeout=10), "/", b"{}")


def test_a_slow_server_times_out():
    port, done = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", hold=30.0)
    with pytest.raises(TimeoutError):
        post(HTTPClient(f"http://127.0.0.1:{port}", timeout=0.3), "/", b"{}")
    done.set()


def test_only_http_urls_are_taken():
    with pytest.raises(ValueError, match="not an http"):
        HTTPClient("ftp://example.org/v1")

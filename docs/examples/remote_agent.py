"""A remote agent for Agora in 30 lines of stdlib Python: a conditional cooperator in the public goods game.

Run it, then seat it (the wire format is in docs/remote_agents.md):
    python docs/examples/remote_agent.py 9000
    agents: {default: {policy: remote, params: {url: "http://127.0.0.1:9000/act"}}}
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def decide(request: dict) -> dict:
    """Give half the endowment first, then what the others gave on average last round."""
    obs = request["observation"]
    others = {k: v for k, v in ((obs.get("last_round") or {}).get("group_contributions") or {}).items() if k != obs["me"]}
    give = sum(others.values()) / len(others) if others else obs["endowment"] / 2
    step = obs["step"] or 1e-9  # contributions come in multiples of step
    return {"v": 1, "action": {"contribution": round(give / step) * step}, "reason": f"matching {give:g}"}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps(decide(request)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    ThreadingHTTPServer.request_queue_size = 64  # the default 5 drops same-time connections (Agora sends them together)
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 9000), Handler).serve_forever()

"""Remote agents: ``policy: remote`` sends each decision to an HTTP endpoint and plays the action it returns.

Modules: ``config`` (seat params and the run's ``remote:`` block), ``wire``
(the versioned JSON request and reply, the action model's shape), ``client``
(the HTTP POST with retries), ``policy`` (the registered policy and what a
run's remote seats share), ``reference`` (a schema-only agent to test wiring
against). The wire format and an example agent: docs/remote_agents.md.
"""

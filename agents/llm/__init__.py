"""LLM agents: one OpenAI-compatible policy (``policy: llm``) for every world.

Modules: ``config`` (settings), ``client`` (async chat client with
retries), ``http`` (its keep-alive HTTP/1.1 connections), ``structured`` (action schema in, validated action out), ``cache``
(SQLite record / replay), ``budget`` (calls and tokens per run), ``session``
(what a run's LLM seats share), ``policy`` (the registered policy),
``prompts`` (templates), ``local`` (serve the packaged SmolLM2 model).
"""

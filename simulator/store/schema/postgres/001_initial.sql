-- Version 1: the same tables as SQLite's 001. JSON stays TEXT (byte-identical to SQLite, so a migrated
-- store checksums equal); REAL is DOUBLE PRECISION, INTEGER seeds and counters are BIGINT; the listing
-- order comes from a sequence, because concurrent servers cannot each take MAX(rowid_order) + 1.
CREATE SEQUENCE IF NOT EXISTS runs_order_seq;
CREATE TABLE IF NOT EXISTS runs (
    id            TEXT PRIMARY KEY,
    rowid_order   BIGINT NOT NULL DEFAULT nextval('runs_order_seq'),
    scenario_name TEXT NOT NULL,
    world         TEXT NOT NULL,
    scenario_text TEXT NOT NULL,
    seed          BIGINT NOT NULL,
    overrides     TEXT NOT NULL DEFAULT '[]',
    version       TEXT NOT NULL,
    status        TEXT NOT NULL,
    progress      DOUBLE PRECISION NOT NULL DEFAULT 0,
    created_at    DOUBLE PRECISION NOT NULL,
    started_at    DOUBLE PRECISION,
    finished_at   DOUBLE PRECISION,
    error         TEXT,
    host          TEXT,
    pid           BIGINT,
    sweep_id      TEXT,
    summary       TEXT
);
CREATE INDEX IF NOT EXISTS runs_order ON runs (rowid_order);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE INDEX IF NOT EXISTS runs_sweep ON runs (sweep_id);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq    BIGINT NOT NULL,
    t      DOUBLE PRECISION NOT NULL,
    agent  TEXT,
    kind   TEXT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS exchanges (
    run_id            TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq               BIGINT NOT NULL,
    agent             TEXT NOT NULL,
    decision          BIGINT NOT NULL,
    attempt           BIGINT NOT NULL,
    t                 DOUBLE PRECISION NOT NULL,
    error_kind        TEXT,
    prompt_tokens     BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    latency_ms        DOUBLE PRECISION NOT NULL DEFAULT 0,
    cached            BIGINT NOT NULL DEFAULT 0,
    data              TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS exchanges_agent ON exchanges (run_id, agent, decision);
CREATE TABLE IF NOT EXISTS sweeps (
    id            TEXT PRIMARY KEY,
    scenario_name TEXT NOT NULL,
    world         TEXT NOT NULL,
    source        TEXT NOT NULL,
    scenario_text TEXT NOT NULL,
    spec          TEXT NOT NULL,
    cells         TEXT NOT NULL,
    n_cells       BIGINT NOT NULL,
    status        TEXT NOT NULL,
    created_at    DOUBLE PRECISION NOT NULL,
    finished_at   DOUBLE PRECISION,
    host          TEXT,
    pid           BIGINT,
    error         TEXT
);

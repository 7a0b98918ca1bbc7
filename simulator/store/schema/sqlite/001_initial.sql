-- Version 1: the tables of the first SQLite store (IF NOT EXISTS: a store made before versioning is already at 1).
CREATE TABLE IF NOT EXISTS runs (
    id            TEXT PRIMARY KEY,
    rowid_order   INTEGER NOT NULL,
    scenario_name TEXT NOT NULL,
    world         TEXT NOT NULL,
    scenario_text TEXT NOT NULL,
    seed          INTEGER NOT NULL,
    overrides     TEXT NOT NULL DEFAULT '[]',
    version       TEXT NOT NULL,
    status        TEXT NOT NULL,
    progress      REAL NOT NULL DEFAULT 0,
    created_at    REAL NOT NULL,
    started_at    REAL,
    finished_at   REAL,
    error         TEXT,
    host          TEXT,
    pid           INTEGER,
    sweep_id      TEXT,
    summary       TEXT
);
CREATE INDEX IF NOT EXISTS runs_order ON runs (rowid_order);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    t      REAL NOT NULL,
    agent  TEXT,
    kind   TEXT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS runs_sweep ON runs (sweep_id);
CREATE TABLE IF NOT EXISTS exchanges (
    run_id            TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq               INTEGER NOT NULL,
    agent             TEXT NOT NULL,
    decision          INTEGER NOT NULL,
    attempt           INTEGER NOT NULL,
    t                 REAL NOT NULL,
    error_kind        TEXT,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    latency_ms        REAL NOT NULL DEFAULT 0,
    cached            INTEGER NOT NULL DEFAULT 0,
    data              TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS exchanges_agent ON exchanges (run_id, agent, decision);
CREATE TABLE IF NOT EXISTS sweeps (
    id            TEXT PRIMARY KEY,
    scenario_name TEXT NOT NULL,
    world         TEXT NOT NULL,
    source        TEXT NOT NULL,
    scenario_text TEXT NOT NULL,
    spec          TEXT NOT NULL,
    cells         TEXT NOT NULL,
    n_cells       INTEGER NOT NULL,
    status        TEXT NOT NULL,
    created_at    REAL NOT NULL,
    finished_at   REAL,
    host          TEXT,
    pid           INTEGER,
    error         TEXT
);

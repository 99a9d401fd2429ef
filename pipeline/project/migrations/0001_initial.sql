-- Mote project store, schema 1. Applied by mote-project on open; never edit a released migration,
-- add a new one.

CREATE TABLE samples (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,                     -- e.g. `wave.01`
    label     TEXT NOT NULL,
    split     TEXT NOT NULL CHECK (split IN ('train', 'test')),
    sensor    TEXT NOT NULL,
    axes      TEXT NOT NULL,                            -- JSON list of axis names
    units     TEXT NOT NULL,                            -- JSON list, one unit per axis ('' if unknown)
    scales    TEXT NOT NULL,                            -- JSON list of numbers: physical = raw * scale
    rate_hz   REAL NOT NULL CHECK (rate_hz > 0),
    device    TEXT NOT NULL,                            -- device id, or the import source
    created   TEXT NOT NULL,                            -- UTC ISO-8601
    n_steps   INTEGER NOT NULL CHECK (n_steps > 0),     -- time steps; data holds n_steps * n_axes values
    data      BLOB NOT NULL,                            -- little-endian i16, interleaved by time step
    hash      TEXT NOT NULL UNIQUE                      -- sha256 over axes, units, scales, rate and data
);
CREATE INDEX samples_label ON samples (label);
CREATE INDEX samples_split ON samples (split);

CREATE TABLE training_runs (
    id             INTEGER PRIMARY KEY,
    created        TEXT NOT NULL,
    finished       TEXT,
    config         TEXT NOT NULL,                       -- JSON
    status         TEXT NOT NULL CHECK (status IN ('running', 'completed', 'cancelled', 'failed')),
    final_metrics  TEXT,                                -- JSON
    artifacts      TEXT NOT NULL DEFAULT '[]'           -- JSON list of paths relative to the project
);

CREATE TABLE run_epochs (
    run_id   INTEGER NOT NULL REFERENCES training_runs (id) ON DELETE CASCADE,
    epoch    INTEGER NOT NULL,
    metrics  TEXT NOT NULL,                             -- JSON
    PRIMARY KEY (run_id, epoch)
);

CREATE TABLE models (
    id       INTEGER PRIMARY KEY,
    run_id   INTEGER REFERENCES training_runs (id) ON DELETE SET NULL,
    created  TEXT NOT NULL,
    kind     TEXT NOT NULL,
    path     TEXT NOT NULL,                             -- folder relative to the project: models/<id>
    metrics  TEXT NOT NULL                              -- JSON
);

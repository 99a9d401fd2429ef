-- Mote project store, schema 2: impulse searches (`mote tune`, the app's Tuner) and their trials,
-- so a search that was stopped — Ctrl-C, a crash, kill -9 — resumes without repeating a trial.

CREATE TABLE tunes (
    id        INTEGER PRIMARY KEY,
    created   TEXT NOT NULL,
    key       TEXT NOT NULL,                            -- hash of the settings: equal settings resume
    settings  TEXT NOT NULL                             -- JSON: target, budgets, search space, seed
);
CREATE INDEX tunes_key ON tunes (key);

CREATE TABLE tune_trials (
    tune_id   INTEGER NOT NULL REFERENCES tunes (id) ON DELETE CASCADE,
    key       TEXT NOT NULL,                            -- hash of the trial's impulse
    created   TEXT NOT NULL,
    impulse   TEXT NOT NULL,                            -- JSON: window, dsp and learn tables
    status    TEXT NOT NULL CHECK (status IN ('completed', 'failed')),
    result    TEXT NOT NULL,                            -- JSON: accuracy, costs, or the error
    PRIMARY KEY (tune_id, key)
);

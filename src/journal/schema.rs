//! The journal's schema and its migrations.
//!
//! `PRAGMA user_version` holds the number of migrations applied. Each
//! migration runs in one transaction together with the version bump, so a
//! power cut leaves the database either before or after it, never halfway.
//! A database from a newer matcoach (a higher version than we know) is left
//! alone and reported.

/// The migrations, in order. Never edit a published one: add another.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1. Times are local wall-clock milliseconds (see `Stamp`); `day` is
/// the local date the session started on.
const V1: &str = r#"
CREATE TABLE sessions (
    id               INTEGER PRIMARY KEY,
    program          TEXT    NOT NULL,
    lang             TEXT    NOT NULL,
    -- 'session', or 'max_test' (the startgetal calibration)
    kind             TEXT    NOT NULL DEFAULT 'session' CHECK (kind IN ('session', 'max_test')),
    -- who ran it: 'coach' (the daemon or the demo) or 'sim'
    source           TEXT    NOT NULL DEFAULT 'coach',
    -- why this program today (rotation, phase, request)
    note             TEXT    NOT NULL DEFAULT '',
    day              TEXT    NOT NULL,
    started_ms       INTEGER NOT NULL,
    ended_ms         INTEGER,
    -- NULL while it runs, or when it was cut off (power cut, crash)
    outcome          TEXT CHECK (outcome IN ('completed', 'ended_by_user', 'ended_for_pain')),
    exercises_done   INTEGER NOT NULL DEFAULT 0,
    pain_events      INTEGER NOT NULL DEFAULT 0,
    commands_heard   INTEGER NOT NULL DEFAULT 0,
    commands_ignored INTEGER NOT NULL DEFAULT 0,
    button_presses   INTEGER NOT NULL DEFAULT 0,
    pauses           INTEGER NOT NULL DEFAULT 0,
    device_faults    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_day ON sessions (day);

-- Every exercise of a session: done, skipped (and why), or left out by the
-- adaptation before the session began (and why, and what replaced it).
CREATE TABLE exercises (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions (id),
    position    INTEGER,   -- 1, 2, … in the session; NULL when left out
    exercise    TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('started', 'done', 'skipped', 'left_out')),
    complete    INTEGER,   -- done: every set in full (1) or some cut short (0)
    reason      TEXT,
    replaced_by TEXT,
    started_ms  INTEGER,
    ended_ms    INTEGER,
    UNIQUE (session_id, position)
);
CREATE INDEX exercises_session ON exercises (session_id);

-- What was actually done, set by set.
CREATE TABLE sets (
    id           INTEGER PRIMARY KEY,
    session_id   INTEGER NOT NULL REFERENCES sessions (id),
    exercise_id  INTEGER NOT NULL REFERENCES exercises (id),
    exercise     TEXT    NOT NULL,
    set_no       INTEGER NOT NULL,
    side         TEXT    NOT NULL DEFAULT '' CHECK (side IN ('', 'left', 'right')),
    reps_done    INTEGER NOT NULL,
    reps_planned INTEGER NOT NULL,
    secs_done    INTEGER NOT NULL,
    complete     INTEGER NOT NULL,
    at_ms        INTEGER NOT NULL
);
CREATE INDEX sets_exercise ON sets (exercise_id);

CREATE TABLE pain (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions (id),
    exercise    TEXT,
    set_no      INTEGER,
    side        TEXT,
    at_ms       INTEGER NOT NULL
);
CREATE INDEX pain_session ON pain (session_id);

-- Every journal event as it came, as JSON: nothing the session reports is
-- lost in the mapping to the tables above. (session_id, seq) is unique, so
-- an event is never stored twice.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER REFERENCES sessions (id),
    seq         INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    data        TEXT    NOT NULL,
    UNIQUE (session_id, seq)
);

-- McKenzie phase changes, made by the user only. NULL: not following it.
CREATE TABLE phases (
    id      INTEGER PRIMARY KEY,
    at_ms   INTEGER NOT NULL,
    phase   TEXT CHECK (phase IN ('acute', 'improving', 'stiff', 'maintenance')),
    reason  TEXT    NOT NULL
);

-- Tested maxima for the startgetal exercises (004): from a max test, or
-- entered by hand. The latest per exercise counts.
CREATE TABLE maxima (
    id          INTEGER PRIMARY KEY,
    exercise    TEXT    NOT NULL,
    max_reps    INTEGER NOT NULL CHECK (max_reps >= 0),
    at_ms       INTEGER NOT NULL,
    source      TEXT    NOT NULL CHECK (source IN ('max_test', 'manual')),
    session_id  INTEGER REFERENCES sessions (id)
);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
"#;

/// Version 2 (issue 13): where a pain reported in a McKenzie program is, as
/// the user answered the coach's question (`PainLocated`): 'central' (it
/// stayed in the back), 'spreading' (into the buttock or leg, or worse with
/// every repetition) or 'unanswered'. NULL: not asked (other programs, or
/// before version 2).
const V2: &str = r#"
ALTER TABLE pain ADD COLUMN location TEXT
    CHECK (location IN ('central', 'spreading', 'unanswered'));
"#;

/// Version 3 (issue 16, item 3): what became of the spoken commands, for
/// `matcoach voice-report`: each command heard and acted on, each one
/// ignored (as the coach's own word: 'self_heard'; otherwise 'ignored'),
/// each likely miss (the button did what the command word would have done,
/// just after the user spoke) and each likely false accept (a command
/// undone within seconds). `clip`: the file name of the audio kept for it
/// (`[voice] keep_misses`), in the folder `misses` beside the journal.
const V3: &str = r#"
CREATE TABLE voice (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER REFERENCES sessions (id),
    at_ms       INTEGER NOT NULL,
    day         TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('heard', 'self_heard', 'ignored', 'miss', 'false_accept')),
    command     TEXT    NOT NULL,
    word        TEXT,
    confidence  REAL,
    engine      TEXT    NOT NULL DEFAULT '',
    lang        TEXT    NOT NULL DEFAULT '',
    what        TEXT    NOT NULL DEFAULT '',
    clip        TEXT
);
CREATE INDEX voice_day ON voice (day);
"#;

/// Version 4 (issue 16, item 1): the voice checks (`matcoach voice-check`).
/// `results` is the whole report as JSON (per word: each take's outcome,
/// confidence, speech level, SNR, clipping; the advice); the counts and
/// the verdict are columns for `doctor` and `history`.
const V4: &str = r#"
CREATE TABLE voice_checks (
    id               INTEGER PRIMARY KEY,
    at_ms            INTEGER NOT NULL,
    day              TEXT NOT NULL,
    engine           TEXT NOT NULL,
    model            TEXT NOT NULL,
    lang             TEXT NOT NULL,
    verdict          TEXT NOT NULL CHECK (verdict IN ('good', 'usable', 'poor')),
    commands_heard   INTEGER NOT NULL,
    commands_asked   INTEGER NOT NULL,
    false_accepts    INTEGER NOT NULL,
    noise_floor_dbfs REAL NOT NULL,
    echo_residue_db  REAL,
    results          TEXT NOT NULL
);
CREATE INDEX voice_checks_lang ON voice_checks (lang, at_ms);
"#;

/// Version 5 (issue 16, item 2): personal voice calibrations, per language
/// and engine, from the voice check. The latest row for a language and
/// engine is the one that applies. `data` is the `voice::calibrate::
/// Calibration` as JSON (per-word thresholds and priors, the speech level
/// the VAD expects, the before/after scores on the takes).
const V5: &str = r#"
CREATE TABLE calibrations (
    id      INTEGER PRIMARY KEY,
    at_ms   INTEGER NOT NULL,
    lang    TEXT    NOT NULL,
    engine  TEXT    NOT NULL,
    data    TEXT    NOT NULL
);
CREATE INDEX calibrations_lang ON calibrations (lang, engine, at_ms);
"#;

/// Version 6 (issue 15, item 3): time that cannot be trusted. `seq` is the
/// monotonic session sequence (the order the sessions really came in,
/// whatever the wall clock said); `boot_id` and `uptime_ms` (time since
/// boot, counting suspend) say which boot a session began in and when in
/// it, so that a clock that went backwards, jumped, or stood still while the
/// Pi was off can be told; `clock` is the verdict on the wall clock when the
/// session was planned ('trusted', 'implausible', 'backwards',
/// 'stood_still', 'jumped'; 'unknown' before version 6 or when not
/// planned). A phase change remembers the last session before it
/// (`after_seq`), so that the phase clock can count sessions.
const V6: &str = r#"
ALTER TABLE sessions ADD COLUMN seq INTEGER;
UPDATE sessions SET seq = id;
CREATE UNIQUE INDEX sessions_seq ON sessions (seq);
ALTER TABLE sessions ADD COLUMN boot_id TEXT;
ALTER TABLE sessions ADD COLUMN uptime_ms INTEGER;
ALTER TABLE sessions ADD COLUMN clock TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE phases ADD COLUMN after_seq INTEGER;
UPDATE phases SET after_seq = (SELECT MAX(s.seq) FROM sessions s WHERE s.started_ms <= phases.at_ms);
"#;

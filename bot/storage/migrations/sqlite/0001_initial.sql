-- Users, photo checks, questionnaires, advice, question intents and reminders. Released steps are never
-- edited: a change of schema is a new numbered file (and its twin under postgres/).
CREATE TABLE users (
    user_id INTEGER PRIMARY KEY,
    language TEXT,
    consent_at REAL,
    created_at REAL NOT NULL
);
CREATE TABLE assessments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    image_sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    issues TEXT NOT NULL,
    lesion_score REAL,
    malignancy REAL,
    risk TEXT,
    model_version TEXT NOT NULL,
    latency_ms REAL NOT NULL
);
CREATE INDEX assessments_user ON assessments(user_id, created_at);
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    chat_id INTEGER NOT NULL,
    assessment_id INTEGER NOT NULL REFERENCES assessments(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('open', 'done', 'cancelled', 'superseded')),
    message_id INTEGER,
    started_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id, status);
CREATE TABLE answers (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL CHECK (answer IN ('yes', 'no', 'unsure')),
    answered_at REAL NOT NULL,
    PRIMARY KEY (session_id, position)
);
CREATE TABLE advice (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL UNIQUE REFERENCES sessions(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    level TEXT NOT NULL,
    score INTEGER NOT NULL,
    possible_score INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE question_intents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    intent TEXT NOT NULL,
    score REAL NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE reminders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    chat_id INTEGER NOT NULL,
    due_at REAL NOT NULL,
    created_at REAL NOT NULL,
    sent_at REAL
);
CREATE INDEX reminders_pending ON reminders(sent_at, due_at);

-- The update journal (every update is recorded before Telegram is told it arrived, and replayed on start
-- until handled), the update each photo check came from (so a replayed photo is not checked twice), and how
-- a reminder ended ('sent', or 'undeliverable' when Telegram refused it for good).
CREATE TABLE updates (
    update_id INTEGER PRIMARY KEY,
    user_id INTEGER,
    payload TEXT,
    received_at REAL NOT NULL,
    done_at REAL
);
CREATE INDEX updates_pending ON updates(done_at, update_id);
CREATE INDEX updates_user ON updates(user_id);
ALTER TABLE assessments ADD COLUMN update_id INTEGER;
CREATE INDEX assessments_update ON assessments(update_id);
ALTER TABLE reminders ADD COLUMN outcome TEXT;

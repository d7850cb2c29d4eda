-- Model v2 details of each check (what the spot resembles, rash) and spots: a spot exists once the user says a
-- later photo shows the same spot as an earlier one; its checks are the assessments that point to it.
CREATE TABLE spots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    created_at REAL NOT NULL
);
CREATE INDEX spots_user ON spots(user_id);
ALTER TABLE assessments ADD COLUMN modality TEXT;
ALTER TABLE assessments ADD COLUMN lesion_type TEXT;
ALTER TABLE assessments ADD COLUMN type_probability REAL;
ALTER TABLE assessments ADD COLUMN rash INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assessments ADD COLUMN spot_id INTEGER REFERENCES spots(id) ON DELETE SET NULL;
ALTER TABLE assessments ADD COLUMN followup INTEGER NOT NULL DEFAULT 0;
CREATE INDEX assessments_spot ON assessments(spot_id, created_at);

-- Albums (the first photo's update answers for the album, the others are ignored) and the photos the per-user
-- rate limit admitted: kept in the database rather than in one process's memory, so that webhook replicas agree.
CREATE TABLE albums (
    chat_id INTEGER NOT NULL,
    media_group_id TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    update_id INTEGER NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (chat_id, media_group_id)
);
CREATE INDEX albums_user ON albums(user_id);
CREATE INDEX albums_created ON albums(created_at);
CREATE TABLE photo_admissions (
    user_id INTEGER NOT NULL,
    admitted_at REAL NOT NULL
);
CREATE INDEX photo_admissions_user ON photo_admissions(user_id, admitted_at);
-- The code before schema_version knew only PRAGMA user_version, up to 4: 5 makes it refuse this database.
PRAGMA user_version = 5;

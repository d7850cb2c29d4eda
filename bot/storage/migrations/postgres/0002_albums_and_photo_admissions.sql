-- As SQLite's 0005: albums (the first photo's update answers for the album) and the photos the per-user rate
-- limit admitted, shared by every webhook replica.
CREATE TABLE albums (
    chat_id BIGINT NOT NULL,
    media_group_id TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    update_id BIGINT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (chat_id, media_group_id)
);
CREATE INDEX albums_user ON albums(user_id);
CREATE INDEX albums_created ON albums(created_at);
CREATE TABLE photo_admissions (
    user_id BIGINT NOT NULL,
    admitted_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX photo_admissions_user ON photo_admissions(user_id, admitted_at);

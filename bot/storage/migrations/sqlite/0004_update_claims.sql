-- Webhook replicas handle an update before answering Telegram; the replica handling it holds a claim, so that a
-- copy Telegram re-sends to another replica meanwhile is not handled twice (`Storage.claim_update`).
ALTER TABLE updates ADD COLUMN claimed_at REAL;

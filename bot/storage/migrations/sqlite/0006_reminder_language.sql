-- The language a reminder is sent in when the user chose none (it falls due with no update to take it from).
ALTER TABLE reminders ADD COLUMN language TEXT;

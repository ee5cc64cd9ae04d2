-- Search (API-v2 "Search"): each message's searchable form (chat_core::search::index_text: the
-- folded text and the initials of its Hangul words), matched by substring within the rooms of
-- the one who searches, read through messages_room. NULL until it is written: messages
-- stored before this migration get theirs from the backfill that runs at start, which walks
-- the ids up to search_backfill.up_to (the newest message when this ran: every later one is
-- written with its form) and then deletes the row, so later starts scan nothing.
ALTER TABLE messages ADD COLUMN search_text TEXT NULL;
CREATE TABLE search_backfill (up_to BIGINT NOT NULL PRIMARY KEY);
INSERT INTO search_backfill (up_to) SELECT COALESCE(MAX(id), 0) FROM messages;

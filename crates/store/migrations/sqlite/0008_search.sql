-- Search (API-v2 "Search"): each message's searchable form (chat_core::search::index_text: the
-- folded text and the initials of its Hangul words), matched by substring within the rooms of
-- the one who searches, read through messages_room. NULL until it is written: messages
-- stored before this migration get theirs from the backfill that runs at start.
ALTER TABLE messages ADD COLUMN search_text TEXT NULL;

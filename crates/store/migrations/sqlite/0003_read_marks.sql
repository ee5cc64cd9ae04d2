-- Read marks and unread counts (API-v2 "Read marks and unread counts") without a scan of a
-- room's history: every message carries its ordinal in its room (`seq`, 1, 2, 3, …), every room
-- its message count, and every member's mark is the id it reads up to with the ordinal of that
-- message. Unread = message_count - read_count: a subtraction. Messages written before this
-- migration count as read (nobody sees a badge of last year's messages after an upgrade).
ALTER TABLE messages ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET seq = (
    SELECT COUNT(*) FROM messages AS earlier
    WHERE earlier.room_uuid = messages.room_uuid AND earlier.id <= messages.id
);
ALTER TABLE rooms ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN buyer_read_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN buyer_read_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN seller_read_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN seller_read_count INTEGER NOT NULL DEFAULT 0;
UPDATE rooms SET message_count = (SELECT COUNT(*) FROM messages WHERE messages.room_uuid = rooms.uuid);
UPDATE rooms SET buyer_read_id = COALESCE(last_message_id, 0), buyer_read_count = message_count,
                 seller_read_id = COALESCE(last_message_id, 0), seller_read_count = message_count;

-- Read marks and unread counts (API-v2 "Read marks and unread counts") without a scan of a
-- room's history: every message carries its ordinal in its room (`seq`, 1, 2, 3, …), every room
-- its message count, and every member's mark is the id it reads up to with the ordinal of that
-- message. Unread = message_count - read_count: a subtraction. Messages written before this
-- migration count as read (nobody sees a badge of last year's messages after an upgrade).
ALTER TABLE messages ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE messages m
    JOIN (SELECT id, ROW_NUMBER() OVER (PARTITION BY room_uuid ORDER BY id) AS n FROM messages) o
    ON o.id = m.id
SET m.seq = o.n;
ALTER TABLE rooms
    ADD COLUMN message_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN buyer_read_id BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN buyer_read_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN seller_read_id BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN seller_read_count BIGINT NOT NULL DEFAULT 0;
UPDATE rooms r
    JOIN (SELECT room_uuid, COUNT(*) AS n FROM messages GROUP BY room_uuid) c ON c.room_uuid = r.uuid
SET r.message_count = c.n;
UPDATE rooms SET buyer_read_id = COALESCE(last_message_id, 0), buyer_read_count = message_count,
                 seller_read_id = COALESCE(last_message_id, 0), seller_read_count = message_count;

-- reuse-chat schema, SQLite dialect. Times are milliseconds since the Unix epoch (UTC).
CREATE TABLE rooms (
    uuid             TEXT    NOT NULL PRIMARY KEY,
    pair_key         TEXT    NOT NULL UNIQUE,
    name             TEXT    NOT NULL,
    product_id       TEXT    NULL,
    buyer            TEXT    NOT NULL,
    seller           TEXT    NOT NULL,
    buyer_active     INTEGER NOT NULL,
    seller_active    INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL,
    last_message_id  INTEGER NULL
);
CREATE INDEX rooms_buyer ON rooms (buyer, last_activity_at);
CREATE INDEX rooms_seller ON rooms (seller, last_activity_at);

-- AUTOINCREMENT: ids are never reused, even after the newest rows are deleted with their room.
CREATE TABLE messages (
    id                INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    room_uuid         TEXT    NOT NULL,
    sender            TEXT    NOT NULL,
    content           TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    client_message_id TEXT    NULL
);
CREATE INDEX messages_room ON messages (room_uuid, id);
CREATE UNIQUE INDEX messages_idempotency ON messages (room_uuid, sender, client_message_id);

CREATE TABLE inquiries (
    id              INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    email           TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    content         TEXT    NOT NULL,
    user_id         TEXT    NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_by      TEXT    NULL,
    claimed_until   INTEGER NULL,
    sent_at         INTEGER NULL,
    last_error      TEXT    NULL
);
CREATE INDEX inquiries_pending ON inquiries (sent_at, next_attempt_at);

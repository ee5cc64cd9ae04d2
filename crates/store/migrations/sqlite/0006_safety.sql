-- Safety (API-v2 "Safety"). `messages.warnings`: what the scam detector found in a message, a
-- bit mask (1 phone number, 2 bank account, 4 messenger, 8 prepayment). `blocks`: who blocks
-- whom; the commit checks it for every room it writes to, both directions, through the primary
-- key and `blocks_blocked`. `reports`: members' reports with a JSON copy of the room's last
-- messages at that moment, kept whatever becomes of the room. Times are milliseconds since the
-- Unix epoch.
ALTER TABLE messages ADD COLUMN warnings INTEGER NOT NULL DEFAULT 0;
CREATE TABLE blocks (
    blocker     TEXT NOT NULL,
    blocked     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (blocker, blocked)
);
CREATE INDEX blocks_blocked ON blocks (blocked, blocker);
CREATE TABLE reports (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    room_uuid   TEXT NOT NULL,
    reporter    TEXT NOT NULL,
    reason      VARCHAR(16) NOT NULL,
    detail      TEXT NULL,
    message_id  BIGINT NULL,
    created_at  BIGINT NOT NULL,
    messages    TEXT NOT NULL
);

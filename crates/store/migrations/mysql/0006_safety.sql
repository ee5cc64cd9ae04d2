-- Safety (API-v2 "Safety"). `messages.warnings`: what the scam detector found in a message, a
-- bit mask (1 phone number, 2 bank account, 4 messenger, 8 prepayment). `blocks`: who blocks
-- whom; the commit checks it for every room it writes to, both directions, through the primary
-- key and `blocks_blocked`. `reports`: members' reports with a JSON copy of the room's last
-- messages at that moment, kept whatever becomes of the room. Times are milliseconds since the
-- Unix epoch.
ALTER TABLE messages ADD COLUMN warnings SMALLINT NOT NULL DEFAULT 0;
CREATE TABLE blocks (
    blocker     VARCHAR(128) NOT NULL,
    blocked     VARCHAR(128) NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (blocker, blocked)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX blocks_blocked ON blocks (blocked, blocker);
CREATE TABLE reports (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    room_uuid   CHAR(36) NOT NULL,
    reporter    VARCHAR(128) NOT NULL,
    reason      VARCHAR(16) NOT NULL,
    detail      TEXT NULL,
    message_id  BIGINT NULL,
    created_at  BIGINT NOT NULL,
    messages    MEDIUMTEXT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

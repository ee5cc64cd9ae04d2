-- When each user was last online (API-v2 "Typing and online status": `lastSeenAt`), kept when a
-- user's last session ends (or its node is found dead) so it survives restarts. Milliseconds
-- since the Unix epoch, UTC.
CREATE TABLE last_seen (
    user_id VARCHAR(128) NOT NULL PRIMARY KEY,
    seen_at BIGINT       NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

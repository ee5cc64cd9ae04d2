-- When each user was last online (API-v2 "Typing and online status": `lastSeenAt`), kept when a
-- user's last session ends (or its node is found dead) so it survives restarts. Milliseconds
-- since the Unix epoch, UTC.
CREATE TABLE last_seen (
    user_id TEXT   NOT NULL PRIMARY KEY,
    seen_at BIGINT NOT NULL
);

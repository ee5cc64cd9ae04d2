-- Photos (API-v2 "Photos"). A message's photos are stored with it as JSON (what every reader
-- shows); `attachments` keeps each upload's record and lifecycle: recorded before its bytes are
-- written ('uploading'), 'ready' to send, 'claimed' by a send being committed, 'sent', or
-- 'doomed' when its room was deleted. The janitor deletes the bytes of doomed uploads and of
-- uploads never sent after 24 h, then the record. Times are milliseconds since the Unix epoch.
ALTER TABLE messages ADD COLUMN attachments MEDIUMTEXT NULL;
CREATE TABLE attachments (
    id              CHAR(32)     NOT NULL PRIMARY KEY,
    room_uuid       CHAR(36)     NOT NULL,
    uploader        VARCHAR(128) NOT NULL,
    content_type    VARCHAR(32)  NOT NULL,
    size            BIGINT       NOT NULL,
    width           BIGINT       NOT NULL,
    height          BIGINT       NOT NULL,
    thumbnail_type  VARCHAR(32)  NOT NULL,
    state           VARCHAR(16)  NOT NULL,
    created_at      BIGINT       NOT NULL,
    claim_key       CHAR(64)     NULL,
    claimed_at      BIGINT       NULL,
    KEY attachments_room (room_uuid),
    KEY attachments_uploader (uploader, state),
    KEY attachments_state (state, created_at),
    KEY attachments_claim (claim_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
